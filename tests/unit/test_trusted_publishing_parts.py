"""Trusted publishing's pure parts: which CI, the token's claims shown after a refusal, the token's
lifetime, the option's values and the GitHub log mask."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from publish_plugins import _ci
from publish_plugins._trusted_publishing import TOKEN_LIFETIME, _lifetime, token_claims
from publish_plugins.errors import UsageError
from publish_plugins.events import Event, FileUploaded, TokenMinted
from publish_plugins.frontends._shared import Endpoint, Setting, mask_in_ci_log, trusted_publishing
from publish_plugins.options import Repository, parse_trusted_publishing


def _jwt(claims: object) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    return f"{part(b'{}')}.{part(json.dumps(claims).encode())}.signature"


@pytest.mark.parametrize(
    ("variable", "name"),
    [
        ("GITHUB_ACTIONS", "GitHub Actions"),
        ("GITLAB_CI", "GitLab CI"),
        ("BUILDKITE", "Buildkite"),
        ("CIRCLECI", "CircleCI"),
        ("GOOGLE_SERVICE_ACCOUNT_NAME", "Google Cloud"),
    ],
)
def test_each_supported_ci_is_detected_by_its_variable(variable: str, name: str) -> None:
    assert _ci.detected_ci({variable: "true"}) == name


def test_no_ci_is_detected_elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_ci, "_GOOGLE_PRODUCT_FILE", tmp_path / "missing")
    assert _ci.detected_ci({"CI": "true", "TRAVIS": "true", "GITHUB_ACTIONS": ""}) is None


def test_a_google_vm_is_detected_by_its_product_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    product = tmp_path / "product_name"
    product.write_text("Google Compute Engine\n")
    monkeypatch.setattr(_ci, "_GOOGLE_PRODUCT_FILE", product)
    assert _ci.detected_ci({}) == "Google Cloud"
    product.write_text("Some Laptop\n")
    assert _ci.detected_ci({}) is None


def test_the_claims_shown_are_the_ones_an_index_matches_on_and_never_the_token() -> None:
    jwt = _jwt(
        {
            "aud": "pypi",
            "jti": "one-time-id",
            "repository": "octo-org/octo-repo",
            "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
            "environment": "pypi",
            "ref": "refs/tags/v1",
            "repository_owner_id": 42,
            "runner_environment": "github-hosted",
            "project_path": "group/\x1b[31mproject",
        }
    )
    claims = dict(token_claims(jwt))
    assert claims == {
        "repository": "octo-org/octo-repo",
        "repository_owner_id": "42",
        "job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1",
        "ref": "refs/tags/v1",
        "environment": "pypi",
        "project_path": "group/project",  # server text: escape sequences out
    }


@pytest.mark.parametrize("jwt", ["", "a", "a.!!!.c", "a.W10.c", _jwt("text"), _jwt([1, 2])])
def test_a_token_that_is_not_a_jwt_has_no_claims(jwt: str) -> None:
    assert token_claims(jwt) == ()


@pytest.mark.parametrize(
    ("expires", "now", "lifetime"),
    [
        (1900, 1000, 900.0),
        (1600, 1000, 600.0),
        (2000000, 1000, TOKEN_LIFETIME),  # never longer than PyPI's 15 minutes
        (900, 1000, 0.0),  # already expired by this machine's clock
        (None, 1000, TOKEN_LIFETIME),
        ("1900", 1000, TOKEN_LIFETIME),
        (True, 1000, TOKEN_LIFETIME),
        (float("nan"), 1000, TOKEN_LIFETIME),
    ],
)
def test_a_minted_token_lives_until_it_expires_at_most_15_minutes(
    expires: object, now: float, lifetime: float
) -> None:
    assert _lifetime(expires, now) == lifetime


@pytest.mark.parametrize(
    ("text", "mode"), [("automatic", "automatic"), (" Always ", "always"), ("never", "never")]
)
def test_the_modes_are_uvs(text: str, mode: str) -> None:
    assert parse_trusted_publishing(text) == mode
    assert trusted_publishing(Setting(text, "-o trusted-publishing")) == mode


def test_an_unknown_mode_names_the_setting_and_the_choices() -> None:
    with pytest.raises(UsageError) as caught:
        trusted_publishing(Setting("sometimes", "-o trusted-publishing"))
    assert str(caught.value) == (
        "-o trusted-publishing: choose one of automatic, always, never, got 'sometimes'"
    )
    assert trusted_publishing(None) == "automatic"
    assert trusted_publishing(Setting(None, "--trusted-publishing")) == "automatic"


def test_always_with_credentials_is_refused_naming_the_option() -> None:
    endpoint = Endpoint("https://upload.pypi.org/legacy/")
    with pytest.raises(UsageError) as caught:
        endpoint.repository(
            "__token__", "pypi-secret", user_from="-u", trusted=Setting("always", "--trusted-publishing")
        )
    message = str(caught.value)
    assert message == (
        "--trusted-publishing always: trusted publishing mints its own upload token, but the user name "
        "'__token__' (from -u) was given too; remove it, or use --trusted-publishing automatic"
    )
    assert "pypi-secret" not in message
    with pytest.raises(UsageError, match="trusted publishing 'always' mints its own upload token"):
        Repository("https://upload.pypi.org/legacy/", password="pypi-secret", trusted_publishing="always")
    repository = endpoint.repository(None, None, trusted=Setting("always", "--trusted-publishing"))
    assert repository.trusted_publishing == "always"


def test_the_minted_token_is_masked_in_a_github_log_before_the_event_is_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stdout = io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    shown: list[tuple[str, Event]] = []

    def listener(event: Event) -> None:
        shown.append((stdout.getvalue(), event))

    masked = mask_in_ci_log(listener)
    minted = TokenMinted("https://upload.pypi.org", "GitHub Actions", 900.0, token="pypi-minted-secret")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    masked(minted)
    assert shown[-1] == ("", minted)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    masked(minted)
    masked(FileUploaded("a.whl", 1))
    assert shown[1] == ("::add-mask::pypi-minted-secret\n", minted)  # written before the listener runs
    assert stdout.getvalue() == "::add-mask::pypi-minted-secret\n"  # once: other events carry no token
    assert "pypi-minted-secret" not in minted.message
    assert "pypi-minted-secret" not in repr(minted)


@pytest.mark.parametrize(
    ("audience", "url", "refused"),
    [
        ("pypi", "https://upload.pypi.org/legacy/", False),
        ("testpypi", "https://test.pypi.org/legacy/", False),
        ("pypi", "https://pypi.example.com/legacy/", True),  # would get a token PyPI accepts
        ("testpypi", "https://upload.pypi.org/legacy/", True),
        ("pypi", "http://127.0.0.1:8080/", False),  # this machine: a local fake or relay
        ("warehouse.example.com", "https://warehouse.example.com/legacy/", False),  # its own audience
    ],
)
def test_only_pypi_may_ask_for_pypis_audience(audience: str, url: str, refused: bool) -> None:
    from publish_plugins._trusted_publishing import borrowed_audience

    reason = borrowed_audience(audience, url)
    assert (reason is not None) is refused
    if reason is not None:
        assert reason.startswith("trusted publishing: ")
        assert f"asks for an OIDC token for the audience {audience!r}" in reason


def test_a_minted_token_must_be_one_line_of_token_characters() -> None:
    """A hostile index's "token" with a line break would give a GitHub job's log commands (review)."""
    from publish_plugins._trusted_publishing import _TOKEN

    assert _TOKEN.fullmatch("pypi-AgEIcHlwaS5vcmcCJGUxZjQ4ZmQ2LTk0YjAtNDc5My1hYmM1LTg4ZjQ2ZTk2ZjQ4MQ_-=")
    for hostile in ["pypi-x\n::set-output name=v::evil", "pypi x", "pypi-x\r", "", "p" * 8193]:
        assert not _TOKEN.fullmatch(hostile)


def test_the_log_mask_never_writes_a_line_break(monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    shown: list[Event] = []
    hostile = TokenMinted("https://upload.pypi.org", "GitHub Actions", 900.0, token="x\n::stop-commands::y")
    mask_in_ci_log(shown.append)(hostile)
    assert stdout.getvalue() == ""
    assert shown == [hostile]


def test_json_nested_beyond_reason_is_no_answer_not_a_crash() -> None:
    from publish_plugins._trusted_publishing import _json

    assert _json(b"[" * 100_000) == {}
