"""``pdm safe-publish`` with trusted publishing (OIDC) and PEP 740 attestations, through the real ``pdm``.

Offline: GitHub Actions' token endpoint and GitLab CI's token variable are fakes (tests/support/oidc.py),
and the index is :class:`FakePyPI`, which mints upload tokens for them and accepts uploads only with one,
in front of a real pypiserver. Every run has no stored credentials (an isolated HOME and PDM config).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.e2e.test_pdm import BUILD_TIMEOUT, PdmProject, new_project
from tests.support.attestations import write_attestation
from tests.support.dists import file_sha256
from tests.support.index_state import local_files, stored
from tests.support.oidc import FakeGitHubTokenService, FakePyPI, gitlab_env, gitlab_token_variable

SECRET = "pypi-AgEIcHlwaS5vcmcGIVENTOO"


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> PdmProject:
    return new_project(tmp_path, unique_name, host_venv)


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def test_gitlab_ci_publishes_with_a_minted_token_and_attestations_then_reruns(
    project: PdmProject, fake_pypi: FakePyPI
) -> None:
    """GitLab CI, no credentials anywhere: a dry run mints nothing; the publish mints one token and sends
    each file's attestation with it; the re-run skips both, says their attestations were not sent (line and
    report), and mints nothing."""
    files = project.dists.release(project.name, project.version)
    attestations = {path.name: write_attestation(path) for path in files}
    ci = gitlab_env()
    jwt = ci[gitlab_token_variable("pypi")]

    dry = project.publish("-r", fake_pypi.url, "--dry-run", env=ci)
    assert dry.returncode == 0, dry
    assert "dry run: would upload 2 file(s)" in dry.stdout
    assert fake_pypi.mint_requests == []

    first = project.publish("-r", fake_pypi.url, env=ci)
    assert first.returncode == 0, first
    assert len(fake_pypi.minted) == 1
    token = fake_pypi.minted[0].token
    host = fake_pypi.url.rstrip("/")
    assert f"trusted publishing: minted an upload token at {host} for GitLab CI" in first.stdout
    assert sorted(upload.filename for upload in fake_pypi.uploads) == sorted(path.name for path in files)
    for upload in fake_pypi.uploads:
        assert upload.token == token
        assert upload.status == 200
        assert upload.attestations is not None
        assert json.loads(upload.attestations) == [json.loads(attestations[upload.filename].read_text())]
        assert f"{upload.filename}: uploaded with 1 attestation" in first.stdout
    assert stored(fake_pypi, project.name) == local_files(files)
    assert token not in first.output
    assert jwt not in first.output
    assert "Username and password are required" not in first.output

    again = project.publish("-r", fake_pypi.url, "--report", "report.json", env=ci)
    assert again.returncode == 0, again
    assert "0 uploaded, 2 skipped" in again.stdout
    for path in files:
        assert f"{path.name}: skipped, identical" in again.stdout
        assert f"{path.name}: its attestation was not sent" in again.stdout
    records = {
        record["filename"]: record
        for record in json.loads((project.root / "report.json").read_text())["files"]
    }
    for path in files:
        assert records[path.name]["action"] == "skipped-identical"
        assert "not sent" in records[path.name]["reason"]
        assert [item["sent"] for item in records[path.name]["attestations"]] == [False]
    assert len(fake_pypi.mint_requests) == 1  # the first run's only
    assert len(fake_pypi.uploads) == 2


def test_github_actions_build_then_publish_masks_the_token_first(
    project: PdmProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """PDM's build, then a publish with GitHub's OIDC identity: `::add-mask::<token>` on stdout before any
    other line about the token, and the token, the JWT and the request token nowhere else."""
    result = project.run("safe-publish", "-r", fake_pypi.url, env=github_oidc.env(), timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, result
    assert "Built wheel at" in result.output
    assert github_oidc.requests == ["pypi"]
    assert len(fake_pypi.minted) == 1
    token = fake_pypi.minted[0].token
    lines = result.stdout.splitlines()
    mask = lines.index(f"::add-mask::{token}")
    minted = next(i for i, line in enumerate(lines) if line.startswith("trusted publishing: minted"))
    uploading = next(i for i, line in enumerate(lines) if line.startswith("Uploading "))
    assert mask < minted < uploading, result
    assert result.output.count(token) == 1, result
    for secret in (*github_oidc.issued, github_oidc.request_token):
        assert secret not in result.output
    assert len(fake_pypi.uploads) == 2
    assert all(upload.token == token and upload.attestations is None for upload in fake_pypi.uploads)
    built = sorted(path.name for path in (project.root / "dist").iterdir())
    assert sorted(stored(fake_pypi, project.name)) == built


def test_always_with_a_refused_mint_shows_the_reason_and_uploads_nothing(
    project: PdmProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """`--trusted-publishing always`, PyPI refuses to mint: exit 1 with PyPI's code and description and the
    token's claims; no secret shown, nothing uploaded. The credentials configured for the repository in
    PDM are not read (they would be refused with "always")."""
    Path(project.env["PDM_CONFIG_FILE"]).write_text(
        f'[repository.fake]\nurl = "{fake_pypi.url}"\nusername = "alice"\npassword = "{SECRET}"\n'
    )
    description = "valid token, but no corresponding publisher (Publisher with matching claims was not found)"
    fake_pypi.mint_error = ("invalid-publisher", description)
    project.dists.wheel(project.name, project.version)

    result = project.publish("-r", "fake", "--trusted-publishing", "always", env=github_oidc.env())

    assert result.returncode == 1, result
    assert "invalid-publisher" in result.stderr
    assert description in result.stderr
    assert "repository=octo-org/octo-repo" in result.stderr
    assert "workflow_ref=octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0" in result.stderr
    assert "Traceback" not in result.output
    assert len(fake_pypi.mint_requests) == 1
    for secret in (*fake_pypi.mint_requests, github_oidc.request_token, SECRET):
        assert secret not in result.output
    assert fake_pypi.minted == []
    assert fake_pypi.uploads == []


@pytest.mark.parametrize(
    ("args", "env", "shown"),
    [
        (
            ["--trusted-publishing", "always", "-u", "alice", "-P", SECRET],
            {},
            "--trusted-publishing always: trusted publishing mints its own upload token, but the user name "
            "'alice' (from -u/--username) was given too; remove it, or use --trusted-publishing automatic",
        ),
        (
            ["--trusted-publishing", "always"],
            {"PDM_PUBLISH_PASSWORD": SECRET},
            "but a password or token was given too; remove it",
        ),
        (
            ["--trusted-publishing", "sometimes"],
            {},
            "argument --trusted-publishing: invalid choice: 'sometimes'",
        ),
    ],
    ids=["always-with-options", "always-with-variable", "unknown-mode"],
)
def test_bad_trusted_publishing_settings_exit_2_with_one_line(  # noqa: PLR0917 - fixtures and parameters
    project: PdmProject,
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    args: list[str],
    env: dict[str, str],
    shown: str,
) -> None:
    """Credentials given with "always", or a mode that does not exist: exit 2, one line, nothing asked of
    the CI or the index."""
    project.dists.wheel(project.name, project.version)
    result = project.publish("-r", fake_pypi.url, *args, env={**github_oidc.env(), **env})
    assert result.returncode == 2, result
    assert shown in result.stderr
    assert len(error_lines(result.stderr)) == 1, result
    assert SECRET not in result.output
    assert github_oidc.requests == []
    assert fake_pypi.mint_requests == []
    assert fake_pypi.uploads == []


def test_never_in_ci_without_credentials_keeps_pdms_error(
    project: PdmProject, fake_pypi: FakePyPI, github_oidc: FakeGitHubTokenService
) -> None:
    """`--trusted-publishing never` in a CI with an OIDC identity and no credentials, not on a terminal:
    PDM's own error (exit 2), no token asked for."""
    project.dists.wheel(project.name, project.version)
    result = project.publish("-r", fake_pypi.url, "--trusted-publishing", "never", env=github_oidc.env())
    assert result.returncode == 2, result
    assert "Username and password are required" in result.stderr
    assert len(error_lines(result.stderr)) == 1, result
    assert github_oidc.requests == []
    assert fake_pypi.mint_requests == []
    assert fake_pypi.uploads == []


def test_a_stale_attestation_stops_the_run_and_no_attestations_leaves_them_out(
    project: PdmProject, fake_pypi: FakePyPI
) -> None:
    """An attestation of an earlier build of the wheel: exit 2 naming the attestation and the wheel, nothing
    minted or uploaded. With --no-attestations the files go up without the field, the attestation ignored."""
    wheel = project.dists.wheel(project.name, project.version)
    stale = write_attestation(wheel, sha256="0" * 64)
    ci = gitlab_env()

    refused = project.publish("-r", fake_pypi.url, env=ci)
    assert refused.returncode == 2, refused
    assert stale.name in refused.stderr
    assert f"{wheel.name} has sha256 {file_sha256(wheel)}" in refused.stderr
    assert "stale attestation" in refused.stderr
    assert fake_pypi.mint_requests == []
    assert fake_pypi.uploads == []

    result = project.publish("-r", fake_pypi.url, "--no-attestations", env=ci)
    assert result.returncode == 0, result
    assert f"{stale.name}: ignored, attestations are turned off for this run" in result.stdout
    assert [(upload.filename, upload.attestations) for upload in fake_pypi.uploads] == [(wheel.name, None)]
    assert stored(fake_pypi, project.name) == local_files([wheel])
