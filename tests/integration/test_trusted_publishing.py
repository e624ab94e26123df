"""Trusted publishing and attestations through ``safe-publish`` (the first test as a subprocess, the others
in this process, ``cli.main`` with the same environment, so that they count for coverage), offline: a fake CI identity
(GitHub's token endpoint, GitLab's variable, Buildkite's and CircleCI's CLIs) and a fake PyPI OIDC
service in front of a real pypiserver, which takes uploads only with a token it minted and records the
``attestations`` field it received."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.integration.cli_support import run_cli, run_main
from tests.support.attestations import write_attestation
from tests.support.dists import DistFactory
from tests.support.oidc import FakeGitHubTokenService, FakePyPI, gitlab_env, stub_ci_cli
from tests.support.proxy import FaultProxy

pytestmark = pytest.mark.integration


def _secrets(fake: FakePyPI, github: FakeGitHubTokenService | None = None) -> list[str]:
    """Every secret of a run: the CI's request token, each OIDC token, each minted token."""
    found = [*fake.mint_requests, *(minted.token for minted in fake.minted)]
    if github is not None:
        found += [github.request_token, *github.issued]
    return [secret for secret in found if secret]


def _assert_hidden(texts: list[str], secrets: list[str]) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_github_actions_publishes_with_a_minted_token_and_attestations(
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    files = dists.release(unique_name, "1.0")
    attestations = [write_attestation(path) for path in files]
    report = tmp_path / "report.json"
    args = ["--repository-url", fake_pypi.url, "--report", str(report), *map(str, files)]

    result = run_cli(args, cwd=tmp_path, env=github_oidc.env())

    assert result.returncode == 0, result.stderr
    (minted,) = fake_pypi.minted
    assert [upload.token for upload in fake_pypi.uploads] == [minted.token, minted.token]
    for upload, attestation in zip(fake_pypi.uploads, attestations, strict=True):
        assert json.loads(upload.attestations or "") == [json.loads(attestation.read_text())]
    # Masked in GitHub's log first: the first line of stdout, and the token nowhere else.
    assert result.stdout.splitlines()[0] == f"::add-mask::{minted.token}"
    assert result.stdout.count(minted.token) == 1
    assert "trusted publishing: minted an upload token at" in result.stderr
    assert "for GitHub Actions, valid 15 minutes" in result.stderr
    assert f"{files[0].name}: uploaded with 1 attestation" in result.stderr
    data = json.loads(report.read_text())
    assert [entry["attestations"] for entry in data["files"]] == [
        [
            {
                "path": str(path),
                "predicate_type": "https://docs.pypi.org/attestations/publish/v1",
                "sent": True,
            }
        ]
        for path in attestations
    ]
    _assert_hidden([result.stderr, report.read_text()], _secrets(fake_pypi, github_oidc))

    # The re-run: both files identical, nothing to upload, so nothing minted; the attestations stay unsent.
    again = run_cli(args, cwd=tmp_path, env=github_oidc.env())

    assert again.returncode == 0, again.stderr
    assert len(fake_pypi.mint_requests) == 1
    assert len(fake_pypi.uploads) == 2
    assert "::add-mask::" not in again.stdout
    assert (
        f"{files[0].name}: its attestation was not sent: the file is already on the index, and attestations "
        "cannot be added to a published file"
    ) in again.stderr
    entries = json.loads(report.read_text())["files"]
    assert [entry["action"] for entry in entries] == ["skipped-identical", "skipped-identical"]
    assert all(entry["attestations"][0]["sent"] is False for entry in entries)
    assert "its attestation was not sent" in entries[0]["reason"]


def test_a_token_about_to_expire_is_minted_again_before_the_next_upload(
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    """PyPI's tokens live 15 minutes; one with less than 5 minutes left is replaced before an upload."""
    fake_pypi.ttl = 120
    files = [*dists.release(unique_name, "1.0"), dists.wheel(unique_name, "1.0", tag="py2-none-any")]

    result = run_main(
        ["--repository-url", fake_pypi.url, *map(str, files)], cwd=tmp_path, env=github_oidc.env()
    )

    assert result.returncode == 0, result.stderr
    tokens = [minted.token for minted in fake_pypi.minted]
    assert len(tokens) == 4  # one to start with, then one before each upload
    assert [upload.token for upload in fake_pypi.uploads] == tokens[1:]
    assert result.stderr.count("trusted publishing: minted a new upload token") == 3
    assert all(result.stdout.count(f"::add-mask::{token}") == 1 for token in tokens)
    _assert_hidden([result.stderr], _secrets(fake_pypi, github_oidc))


def test_a_renewal_refused_keeps_the_token_while_it_is_valid(
    fake_pypi: FakePyPI, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """GitLab gives one OIDC token per job: minting again reuses it, which PyPI refuses."""
    fake_pypi.ttl = 120
    files = dists.release(unique_name, "1.0")

    result = run_main(["--repository-url", fake_pypi.url, *map(str, files)], cwd=tmp_path, env=gitlab_env())

    assert result.returncode == 0, result.stderr
    (minted,) = fake_pypi.minted
    assert [upload.token for upload in fake_pypi.uploads] == [minted.token, minted.token]
    assert "invalid-reuse-token" in result.stderr
    assert "the current upload token stays valid" in result.stderr
    _assert_hidden([result.stdout, result.stderr], _secrets(fake_pypi))


def test_a_refused_mint_shows_the_codes_and_claims_and_uploads_nothing(
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    fake_pypi.mint_error = ("invalid-publisher", "valid token, but no corresponding publisher")
    files = dists.release(unique_name, "1.0")

    result = run_main(
        ["--repository-url", fake_pypi.url, "--trusted-publishing", "always", *map(str, files)],
        cwd=tmp_path,
        env=github_oidc.env(),
    )

    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert (
        "refused to mint an upload token (invalid-publisher: valid token, but no corresponding publisher)"
        in line
    )
    assert "repository=octo-org/octo-repo" in line
    assert "environment=pypi" in line
    assert "job_workflow_ref=octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0" in line
    assert fake_pypi.uploads == []
    assert fake_pypi.pypiserver.stored_files() == {} or not any(
        name.startswith(unique_name.replace("-", "_")) for name in fake_pypi.pypiserver.stored_files()
    )
    assert len(fake_pypi.mint_requests) == 1
    _assert_hidden([result.stdout, result.stderr], _secrets(fake_pypi, github_oidc))


@pytest.mark.parametrize("ci", ["gitlab", "buildkite", "circleci"])
def test_other_cis_publish_without_a_stored_token(
    ci: str, fake_pypi: FakePyPI, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    env = gitlab_env() if ci == "gitlab" else stub_ci_cli(tmp_path / "bin", ci)  # type: ignore[arg-type]
    fake_pypi.issuers = None  # PyPI takes no Buildkite or CircleCI publisher: the exchange is what is tested
    files = dists.release(unique_name, "1.0")

    result = run_main(["--repository-url", fake_pypi.url, *map(str, files)], cwd=tmp_path, env=env)

    assert result.returncode == 0, result.stderr
    (minted,) = fake_pypi.minted
    assert {upload.token for upload in fake_pypi.uploads} == {minted.token}
    name = {"gitlab": "GitLab CI", "buildkite": "Buildkite", "circleci": "CircleCI"}[ci]
    assert f"for {name}, valid 15 minutes" in result.stderr
    _assert_hidden([result.stdout, result.stderr], _secrets(fake_pypi))


def test_automatic_outside_a_ci_uploads_with_what_was_given(
    fake_pypi: FakePyPI, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """No CI, no credentials: no request to the OIDC service; the refusal says why trusted publishing
    was not used."""
    result = run_main(
        ["--repository-url", fake_pypi.url, "-v", str(dists.wheel(unique_name, "1.0"))], cwd=tmp_path
    )

    assert result.returncode == 1
    assert "trusted publishing not used: no CI with an OIDC identity detected" in result.stderr
    assert not [seen for seen in fake_pypi.seen if seen.path.startswith("/_/oidc/")]
    assert "needs credentials and none were given (trusted publishing not used: no CI" in result.stderr


@pytest.mark.parametrize(
    ("status", "said"),
    [(404, "does not support trusted publishing"), (403, "has trusted publishing turned off")],
)
def test_an_index_without_trusted_publishing(  # noqa: PLR0917 (fixtures)
    status: int,
    said: str,
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    """automatic goes on without it (and the refused upload says why); always stops before any upload."""
    fake_pypi.audience_status = status
    wheel = str(dists.wheel(unique_name, "1.0"))

    automatic = run_main(["--repository-url", fake_pypi.url, wheel], cwd=tmp_path, env=github_oidc.env())
    always = run_main(
        ["--repository-url", fake_pypi.url, "--trusted-publishing", "always", wheel],
        cwd=tmp_path,
        env=github_oidc.env(),
    )

    assert automatic.returncode == 1
    assert f"trusted publishing not used: {fake_pypi.url.rstrip('/')} {said}" in automatic.stderr
    assert len(fake_pypi.uploads) == 0  # refused before it reached the index: no minted token
    assert always.returncode == 1
    assert f"error: trusted publishing is required ('always'), but {fake_pypi.url.rstrip('/')} {said}" in (
        always.stderr
    )
    assert github_oidc.issued == []  # no OIDC token asked for where it could not be used


def test_never_and_always_with_credentials(
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    wheel = str(dists.wheel(unique_name, "1.0"))
    never = run_main(
        ["--repository-url", fake_pypi.url, "--trusted-publishing", "never", wheel],
        cwd=tmp_path,
        env=github_oidc.env(),
    )
    both = run_main(
        ["--repository-url", fake_pypi.url, "--trusted-publishing", "always", "-p", "pypi-s3cr3t", wheel],
        cwd=tmp_path,
        env=github_oidc.env(),
    )
    outside = run_main(
        ["--repository-url", fake_pypi.url, "--trusted-publishing", "always", wheel], cwd=tmp_path
    )

    assert never.returncode == 1
    assert not [seen for seen in fake_pypi.seen if seen.path.startswith("/_/oidc/")]
    assert both.returncode == 2
    assert both.stderr.splitlines() == [
        "error: --trusted-publishing always: trusted publishing mints its own upload token, but a password "
        "or token was given too; remove it, or use --trusted-publishing automatic"
    ]
    assert "pypi-s3cr3t" not in both.stderr
    assert outside.returncode == 1
    assert "no CI with an OIDC identity was detected" in outside.stderr
    assert fake_pypi.uploads == []


def test_github_without_id_token_permission_says_what_to_add(
    fake_pypi: FakePyPI, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    result = run_main(
        ["--repository-url", fake_pypi.url, str(dists.wheel(unique_name, "1.0"))],
        cwd=tmp_path,
        env={"GITHUB_ACTIONS": "true"},
    )

    assert result.returncode == 1
    assert "give the job permissions: id-token: write" in result.stderr
    assert fake_pypi.uploads == []


def test_a_stale_attestation_stops_the_run_naming_both_files(
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    wheel, sdist = dists.release(unique_name, "1.0")
    write_attestation(wheel)
    stale = write_attestation(sdist, sha256="0" * 64)

    result = run_main(
        ["--repository-url", fake_pypi.url, str(dists.directory)], cwd=tmp_path, env=github_oidc.env()
    )

    assert result.returncode == 2
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: {stale}: it attests sha256 {'0' * 64}, but {sdist.name} has sha256 ")
    assert f"(the attestation of {sdist}); nothing was uploaded" in error
    assert fake_pypi.seen == [] or not [seen for seen in fake_pypi.seen if seen.method == "POST"]


def test_attestations_turned_off_or_alone_are_listed_as_ignored(
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    wheel = dists.wheel(unique_name, "1.0")
    attestation = write_attestation(wheel)
    orphan = dists.directory / f"{unique_name}-0.9.tar.gz.publish.attestation"
    orphan.write_text("{}")

    result = run_main(
        ["--repository-url", fake_pypi.url, "--no-attestations", str(dists.directory)],
        cwd=tmp_path,
        env=github_oidc.env(),
    )

    assert result.returncode == 0, result.stderr
    assert [upload.attestations for upload in fake_pypi.uploads] == [None]
    assert f"{attestation}: ignored, attestations are turned off for this run" in result.stderr
    assert f"{orphan}: ignored, attestations are turned off for this run" in result.stderr
    assert f"{wheel.name}: uploaded\n" in result.stderr + "\n"

    attestation.unlink()
    rerun = run_main(
        ["--repository-url", fake_pypi.url, str(dists.directory)], cwd=tmp_path, env=github_oidc.env()
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"{orphan}: ignored, an attestation with no distribution beside it" in rerun.stderr


def test_a_busy_oidc_service_is_tried_again_with_a_fresh_oidc_token(  # noqa: PLR0917 (fixtures)
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    fault_proxy: Callable[[str], FaultProxy],
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    """503 from the audience and from the mint (a proxy in front of PyPI): each is retried; the mint's
    retry asks the CI for a new OIDC token (each is good for one mint)."""
    proxy = fault_proxy(fake_pypi.url)
    proxy.status(503, method="GET", path="/_/oidc/audience")
    proxy.status(503, method="POST", path="/_/oidc/mint-token")
    wheel = str(dists.wheel(unique_name, "1.0"))

    result = run_main(["--repository-url", proxy.url, wheel], cwd=tmp_path, env=github_oidc.env())

    assert result.returncode == 0, result.stderr
    assert "trusted publishing (" in result.stderr
    assert "503 Service Unavailable; retry 1 in" in result.stderr
    assert len(github_oidc.issued) == 2  # the first went to the 503, unused
    assert len(fake_pypi.minted) == 1
    assert [upload.filename for upload in fake_pypi.uploads] == [Path(wheel).name]


def test_a_dry_run_checks_trusted_publishing_and_mints_nothing(
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    wheel = str(dists.wheel(unique_name, "1.0"))
    args = ["--repository-url", fake_pypi.url, "--dry-run", "--trusted-publishing", "always", "-v", wheel]

    in_ci = run_main(args, cwd=tmp_path, env=github_oidc.env())
    outside = run_main(args, cwd=tmp_path)

    assert in_ci.returncode == 0, in_ci.stderr
    assert "dry run: an upload token would be minted at" in in_ci.stderr
    assert github_oidc.issued == []
    assert fake_pypi.mint_requests == []
    assert outside.returncode == 1  # as the real run would
    assert "no CI with an OIDC identity was detected" in outside.stderr
