"""``poetry publish`` with trusted publishing (OIDC) and PEP 740 attestations: the real poetry, a fake
GitHub Actions token endpoint and a fake PyPI (tests/support/oidc.py) in front of a real pypiserver.

The fake PyPI takes uploads only with a token it minted, so an upload that got through proves the token was
minted and used. ``--trusted-publishing`` and ``--no-attestations`` imply ``--skip-existing-strict``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.e2e.test_poetry import PoetryProject, local_repo, new_project
from tests.support.attestations import write_attestation
from tests.support.commands import Ran
from tests.support.index_state import local_files, stored
from tests.support.oidc import FakeGitHubTokenService, FakePyPI, gitlab_env
from tests.support.servers import PypiServer

REFUSAL = ("invalid-publisher", "valid token, but no corresponding publisher")


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> PoetryProject:
    return new_project(tmp_path, unique_name, host_venv)


def publish(project: PoetryProject, fake_pypi: FakePyPI, *args: str, env: dict[str, str]) -> Ran:
    """``poetry publish -r local ARGS`` to the fake PyPI, with no credentials configured."""
    return project.poetry("publish", "-r", "local", *args, env={**local_repo(fake_pypi.url), **env})


def assert_no_secret(result: Ran, github: FakeGitHubTokenService) -> None:
    """Neither the job's request token nor any OIDC token (JWT) the job was given is shown."""
    for secret in (github.request_token, *github.issued):
        assert secret not in result.stdout + result.stderr


def test_github_actions_publish_masks_the_token_sends_attestations_and_reruns(
    project: PoetryProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """No credentials in a GitHub Actions job: the token is minted, masked first and never shown; each
    file's attestation goes with it. The re-run skips both, says the attestations were not sent, mints
    nothing."""
    files = project.release()
    attestations = {path.name: json.loads(write_attestation(path).read_text()) for path in files}
    first = publish(project, fake_pypi, "--skip-existing-strict", env=github_oidc.env())
    assert first.returncode == 0, first
    assert len(fake_pypi.minted) == 1
    token = fake_pypi.minted[0].token
    assert [upload.token for upload in fake_pypi.uploads] == [token, token]
    # The mask comes before any other line that could hold the token; the token is nowhere else.
    mentioning = [line for line in first.stdout.splitlines() if token in line]
    assert mentioning == [f"::add-mask::{token}"], first
    assert (first.stdout + first.stderr).count(token) == 1, first
    assert_no_secret(first, github_oidc)
    assert "trusted publishing: minted an upload token" in first.stdout
    for upload in fake_pypi.uploads:
        assert upload.attestations is not None
        assert json.loads(upload.attestations) == [attestations[upload.filename]]
        assert f" - Uploading {upload.filename} 100%" in first.stderr
        assert f"{upload.filename}: uploaded with 1 attestation" in first.stdout
    assert stored(fake_pypi, project.name) == local_files(files)

    fake_pypi.reset()
    again = publish(project, fake_pypi, "--skip-existing-strict", env=github_oidc.env())
    assert again.returncode == 0, again
    for path in files:
        assert f"{path.name}: skipped, identical" in again.stdout
        assert f"{path.name}: its attestation was not sent" in again.stdout
    assert (fake_pypi.mint_requests, fake_pypi.uploads) == ([], [])
    assert "::add-mask::" not in again.stdout


def test_gitlab_ci_publish_with_trusted_publishing_alone(project: PoetryProject, fake_pypi: FakePyPI) -> None:
    """GitLab CI's ``PYPI_ID_TOKEN``: ``--trusted-publishing`` alone takes the safe path (it implies
    ``--skip-existing-strict``); no GitHub mask command outside GitHub Actions."""
    files = project.release()
    env = gitlab_env()
    result = publish(project, fake_pypi, "--trusted-publishing", "always", env=env)
    assert result.returncode == 0, result
    assert "2 uploaded, 0 skipped" in result.stdout  # the safe path's summary, not poetry's own
    assert len(fake_pypi.minted) == 1
    assert {upload.token for upload in fake_pypi.uploads} == {fake_pypi.minted[0].token}
    assert "::add-mask::" not in result.stdout
    for secret in (fake_pypi.minted[0].token, *env.values()):
        assert secret not in result.stdout + result.stderr
    assert stored(fake_pypi, project.name) == local_files(files)


def test_always_with_a_refused_mint_shows_why_and_uploads_nothing(
    project: PoetryProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """``always``: a configured token (POETRY_PYPI_TOKEN_LOCAL) is not read; the index's refusal is exit 1
    with its code, its description and the token's claims, and no secret."""
    configured = "pypi-configured-token-never-read"
    fake_pypi.mint_error = REFUSAL
    project.release()
    env = {**github_oidc.env(), "POETRY_PYPI_TOKEN_LOCAL": configured}
    result = publish(project, fake_pypi, "--skip-existing-strict", "--trusted-publishing", "always", env=env)
    assert result.returncode == 1, result
    for shown in (*REFUSAL, "repository=octo-org/octo-repo", "environment=pypi"):
        assert shown in result.stderr
    assert len(fake_pypi.mint_requests) == 1
    assert_no_secret(result, github_oidc)
    assert configured not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert fake_pypi.uploads == []
    assert [seen for seen in fake_pypi.seen if seen.method == "POST" and seen.path == "/"] == []
    assert stored(fake_pypi, project.name) == {}


def test_automatic_in_ci_uses_the_configured_credentials(
    project: PoetryProject, pypiserver: PypiServer, github_oidc: FakeGitHubTokenService
) -> None:
    """``automatic`` (implied by ``--no-attestations`` here) in a GitHub Actions job with http-basic
    credentials configured: they are used, and no OIDC token is even asked for."""
    files = project.release()
    env = {
        **local_repo(pypiserver.url),
        **github_oidc.env(),
        "POETRY_HTTP_BASIC_LOCAL_USERNAME": pypiserver.username,
        "POETRY_HTTP_BASIC_LOCAL_PASSWORD": pypiserver.password,
    }
    result = project.poetry("publish", "-r", "local", "--no-attestations", env=env)
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(files)
    assert github_oidc.requests == []
    assert "trusted publishing" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--trusted-publishing", "always", "-u", "__token__", "-p", "pypi-given-secret"],
            [
                "--trusted-publishing always:",
                "'__token__' (from -u/--username)",
                "--trusted-publishing automatic",
            ],
        ),
        (
            ["--trusted-publishing", "sometimes"],
            ["--trusted-publishing: choose one of automatic, always, never, got 'sometimes'"],
        ),
        (
            ["--trusted-publishing="],
            ["--trusted-publishing needs a value: automatic, always or never"],
        ),
    ],
    ids=["always-with-credentials", "bad-mode", "empty-mode"],
)
def test_usage_errors_are_one_line_exit_2(
    project: PoetryProject,
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    args: list[str],
    message: list[str],
) -> None:
    """Credentials given with ``always``, a mode that is none of the choices, or none: exit 2, one line,
    nothing asked or sent."""
    project.release()
    result = publish(project, fake_pypi, *args, env=github_oidc.env())
    assert result.returncode == 2, result
    assert [line for line in result.stderr.splitlines() if line.strip()] != [], result
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1, result
    for part in message:
        assert part in result.stderr
    assert result.stdout.strip() == ""
    assert "pypi-given-secret" not in result.stderr
    assert (fake_pypi.mint_requests, fake_pypi.uploads) == ([], [])


def test_a_stale_attestation_stops_the_run_and_no_attestations_leaves_them_out(
    project: PoetryProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """An attestation naming other content: exit 2 naming the file and the attestation, nothing minted or
    uploaded. ``--no-attestations`` (alone: it implies the strict mode): the files go up without them."""
    wheel, sdist = project.release()
    stale = write_attestation(wheel, sha256="0" * 64)
    refused = publish(project, fake_pypi, "--skip-existing-strict", env=github_oidc.env())
    assert refused.returncode == 2, refused
    assert stale.name in refused.stderr
    assert wheel.name in refused.stderr.replace(stale.name, "")
    assert (fake_pypi.mint_requests, fake_pypi.uploads) == ([], [])

    without = publish(project, fake_pypi, "--no-attestations", env=github_oidc.env())
    assert without.returncode == 0, without
    assert sorted(upload.filename for upload in fake_pypi.uploads) == sorted([wheel.name, sdist.name])
    assert [upload.attestations for upload in fake_pypi.uploads] == [None, None]
    assert stored(fake_pypi, project.name) == local_files([wheel, sdist])


def test_skip_existing_with_trusted_publishing_is_the_checked_lenient_mode(
    project: PoetryProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """poetry's ``--skip-existing`` with ``--trusted-publishing always`` (an option that implies the plugin's
    checked publish): a file with other content on the index is skipped with a warning, the run exits 0,
    and with nothing left to upload no token is minted."""
    wheel, sdist = files = project.release()
    first = publish(project, fake_pypi, "--trusted-publishing", "always", env=github_oidc.env())
    assert first.returncode == 0, first
    published = stored(fake_pypi, project.name)
    assert published == local_files(files)
    project.dist.wheel(project.name, project.version, payload=b"rebuilt with other content\n")
    fake_pypi.reset()

    again = publish(
        project, fake_pypi, "--skip-existing", "--trusted-publishing", "always", env=github_oidc.env()
    )

    assert again.returncode == 0, again
    assert f"{wheel.name}: skipped, the index has different content" in again.stderr
    assert f"{sdist.name}: skipped, identical" in again.stdout
    assert (fake_pypi.mint_requests, fake_pypi.uploads) == ([], [])
    assert stored(fake_pypi, project.name) == published
