"""``hatch publish -p safe`` with trusted publishing (OIDC) and PEP 740 attestations: the real hatch, a fake
GitHub Actions token endpoint and a fake PyPI (tests/support/oidc.py) in front of a real pypiserver.

The fake PyPI takes uploads only with a token it minted, so an upload that got through proves the token was
minted and used. Runs pass no ``-n`` and an empty stdin: a prompt would end the run ("Aborted!", exit 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.e2e.test_hatch import HatchProject, new_project
from tests.support.attestations import write_attestation
from tests.support.commands import Ran
from tests.support.index_state import local_files, stored
from tests.support.oidc import FakeGitHubTokenService, FakePyPI, gitlab_env
from tests.support.servers import TEST_PASSWORD, TEST_USERNAME, PypiServer

REFUSAL = ("invalid-publisher", "valid token, but no corresponding publisher")


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> HatchProject:
    return new_project(tmp_path, unique_name, host_venv)


def to(fake_pypi: FakePyPI, *options: str) -> list[str]:
    """``-o repo=<the fake PyPI>`` and more ``-o`` options: no credentials, no ``-n``."""
    args = ["-o", f"repo={fake_pypi.url}"]
    for option in options:
        args += ["-o", option]
    return args


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_no_secret(result: Ran, github: FakeGitHubTokenService) -> None:
    """Neither the job's request token nor any OIDC token (JWT) the job was given is shown."""
    for secret in (github.request_token, *github.issued):
        assert secret not in result.output


def test_github_actions_publish_masks_the_token_sends_attestations_and_reruns(
    project: HatchProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """No credentials in a GitHub Actions job: the token is minted, masked first and never shown; each
    file's attestation goes with it. The re-run skips both, says the attestations were not sent, mints
    nothing."""
    files = project.release()
    attestations = {path.name: json.loads(write_attestation(path).read_text()) for path in files}
    first = project.publish(*to(fake_pypi), env=github_oidc.env())
    assert first.returncode == 0, first
    assert "Username for" not in first.output
    assert "Password" not in first.output
    assert len(fake_pypi.minted) == 1
    token = fake_pypi.minted[0].token
    assert [upload.token for upload in fake_pypi.uploads] == [token, token]
    # The mask comes before any other line that could hold the token; the token is nowhere else.
    mentioning = [line for line in first.stdout.splitlines() if token in line]
    assert mentioning == [f"::add-mask::{token}"], first
    assert first.output.count(token) == 1, first
    assert_no_secret(first, github_oidc)
    assert "trusted publishing: minted an upload token" in first.output
    for upload in fake_pypi.uploads:
        assert upload.attestations is not None
        assert json.loads(upload.attestations) == [attestations[upload.filename]]
        assert f"{upload.filename}: uploaded with 1 attestation" in first.output
    assert stored(fake_pypi, project.name) == local_files(files)

    fake_pypi.reset()
    again = project.publish(*to(fake_pypi), env=github_oidc.env())
    assert again.returncode == 0, again
    for path in files:
        assert f"{path.name}: skipped, identical" in again.output
        assert f"{path.name}: its attestation was not sent" in again.output
    assert (fake_pypi.mint_requests, fake_pypi.uploads) == ([], [])
    assert "::add-mask::" not in again.output


def test_gitlab_ci_publish_without_a_stored_token(project: HatchProject, fake_pypi: FakePyPI) -> None:
    """GitLab CI's ``PYPI_ID_TOKEN``: minted and used; no GitHub mask command outside GitHub Actions."""
    files = project.release()
    env = gitlab_env()
    result = project.publish(*to(fake_pypi), env=env)
    assert result.returncode == 0, result
    assert len(fake_pypi.minted) == 1
    assert {upload.token for upload in fake_pypi.uploads} == {fake_pypi.minted[0].token}
    assert "::add-mask::" not in result.output
    for secret in (fake_pypi.minted[0].token, *env.values()):
        assert secret not in result.output
    assert stored(fake_pypi, project.name) == local_files(files)


def test_always_with_a_refused_mint_shows_why_and_uploads_nothing(
    project: HatchProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """``always``: the configured credentials are not read (not even tried); the index's refusal is exit 1
    with its code, its description and the token's claims, and no secret."""
    configured = "pypi-configured-token-never-read"
    project.config_file.write_text(
        f'[publish.index.repos.fake]\nurl = "{fake_pypi.url}"\nuser = "__token__"\nauth = "{configured}"\n'
    )
    fake_pypi.mint_error = REFUSAL
    project.release()
    result = project.publish("-o", "repo=fake", "-o", "trusted-publishing=always", env=github_oidc.env())
    assert result.returncode == 1, result
    for shown in (*REFUSAL, "repository=octo-org/octo-repo", "environment=pypi"):
        assert shown in result.output
    assert len(fake_pypi.mint_requests) == 1
    assert_no_secret(result, github_oidc)
    assert configured not in result.output
    assert "Traceback" not in result.output
    assert fake_pypi.uploads == []
    assert [seen for seen in fake_pypi.seen if seen.method == "POST" and seen.path == "/"] == []
    assert stored(fake_pypi, project.name) == {}


def test_automatic_in_ci_uses_the_credentials_found_and_never_prompts(
    project: HatchProject, pypiserver: PypiServer, github_oidc: FakeGitHubTokenService
) -> None:
    """``automatic`` in a GitHub Actions job: hatch's credentials, when found, are used (no OIDC token is even
    asked for); a user name found without its password is a one-line error (exit 2), not a prompt."""
    files = project.release()
    env = {**github_oidc.env(), "HATCH_INDEX_USER": TEST_USERNAME, "HATCH_INDEX_AUTH": TEST_PASSWORD}
    given = project.publish("-o", f"repo={pypiserver.url}", env=env)
    assert given.returncode == 0, given
    assert stored(pypiserver, project.name) == local_files(files)
    assert github_oidc.requests == []
    assert "trusted publishing" not in given.output

    project.dist.wheel(project.name, "1.1")
    no_password = project.publish(
        "-o", f"repo={pypiserver.url}", "-o", f"user={TEST_USERNAME}", env=github_oidc.env()
    )
    assert no_password.returncode == 2, no_password
    assert lines(no_password.output) == [
        f"the user name '{TEST_USERNAME}' (from -o user) was given without a password: give -o auth=..., "
        "HATCH_INDEX_AUTH or `auth` in the repository's hatch config"
    ]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["-o", "trusted-publishing=always", "-o", "user=__token__", "-o", "auth=pypi-given-secret"],
            {},
            [
                "-o trusted-publishing always:",
                "'__token__' (from -o user)",
                "use -o trusted-publishing automatic",
            ],
        ),
        (
            ["-o", "trusted-publishing=always"],
            {"HATCH_INDEX_AUTH": "pypi-given-secret"},
            ["-o trusted-publishing always:", "a password or token was given too"],
        ),
        (
            ["-o", "trusted-publishing=sometimes"],
            {},
            ["-o trusted-publishing: choose one of automatic, always, never, got 'sometimes'"],
        ),
        (
            ["-o", "attestations=perhaps"],
            {},
            ["-o attestations: expected true or false (or 1/0, yes/no), got 'perhaps'"],
        ),
    ],
    ids=["always-with-options", "always-with-hatch-variable", "bad-mode", "bad-attestations"],
)
def test_usage_errors_are_one_line_exit_2(  # noqa: PLR0917 (fixtures and parameters)
    project: HatchProject,
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    args: list[str],
    env: dict[str, str],
    message: list[str],
) -> None:
    """Credentials given with ``always``, or a value that is not one of the choices: exit 2, one line."""
    project.release()
    result = project.publish("-o", f"repo={fake_pypi.url}", *args, env={**github_oidc.env(), **env})
    assert result.returncode == 2, result
    assert len(lines(result.output)) == 1, result
    for part in message:
        assert part in result.output
    assert "pypi-given-secret" not in result.output
    assert (fake_pypi.mint_requests, fake_pypi.uploads) == ([], [])


def test_a_stale_attestation_stops_the_run_and_attestations_false_leaves_them_out(
    project: HatchProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """An attestation naming other content: exit 2 naming the file and the attestation, nothing minted or
    uploaded. ``-o attestations=false``: the files go up without the field."""
    wheel, sdist = project.release()
    stale = write_attestation(wheel, sha256="0" * 64)
    refused = project.publish(*to(fake_pypi), env=github_oidc.env())
    assert refused.returncode == 2, refused
    assert str(stale.name) in refused.output
    assert wheel.name in refused.output.replace(stale.name, "")
    assert (fake_pypi.mint_requests, fake_pypi.uploads) == ([], [])

    without = project.publish(*to(fake_pypi, "attestations=false"), env=github_oidc.env())
    assert without.returncode == 0, without
    assert sorted(upload.filename for upload in fake_pypi.uploads) == sorted([wheel.name, sdist.name])
    assert [upload.attestations for upload in fake_pypi.uploads] == [None, None]
    assert stored(fake_pypi, project.name) == local_files([wheel, sdist])
