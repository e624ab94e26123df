"""Check URLs derived from upload URLs, same-origin rules, and redaction."""

from __future__ import annotations

import pytest

from publish_plugins._urls import check_url_for, devpi_check_url, is_loopback, redact, same_origin
from publish_plugins.errors import UsageError


@pytest.mark.parametrize(
    ("upload", "check"),
    [
        ("https://upload.pypi.org/legacy/", "https://pypi.org/simple/"),
        ("https://upload.pypi.org/legacy", "https://pypi.org/simple/"),
        ("https://test.pypi.org/legacy/", "https://test.pypi.org/simple/"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/simple/"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/simple/"),
        (
            "https://nexus.example/repository/pypi-internal/",
            "https://nexus.example/repository/pypi-internal/simple/",
        ),
        (
            "https://gitlab.example/api/v4/projects/7/packages/pypi",
            "https://gitlab.example/api/v4/projects/7/packages/pypi/simple/",
        ),
        (
            "https://a.example/artifactory/api/pypi/repo",
            "https://a.example/artifactory/api/pypi/repo/simple/",
        ),
        (
            "https://pkgs.dev.azure.com/o/_packaging/feed/pypi/upload/",
            "https://pkgs.dev.azure.com/o/_packaging/feed/pypi/simple/",
        ),
        ("https://alice:secret@host.example/", "https://host.example/simple/"),
    ],
)
def test_derived_check_urls(upload: str, check: str) -> None:
    """The table of research/indexes.md §0; user info never carries over."""
    assert check_url_for(upload) == check


@pytest.mark.parametrize(
    "upload",
    [
        "https://python.cloudsmith.io/owner/repo/",
        "https://example.org/legacy/",
        "http://127.0.0.1:8080/simple/",
        "ftp://example.org/",
        "not a url",
    ],
)
def test_underivable_check_urls_are_usage_errors(upload: str) -> None:
    """Where the check URL cannot be derived with confidence the run stops with exit 2 and asks for it."""
    with pytest.raises(UsageError) as info:
        check_url_for(upload)
    assert info.value.exit_code == 2


def test_devpi_candidate() -> None:
    """Two-segment upload paths may be devpi's /user/index/; Nexus's /repository/x/ is not."""
    assert devpi_check_url("http://h:3141/alice/dev/") == "http://h:3141/alice/dev/+simple/"
    assert devpi_check_url("http://h:3141/alice/dev") == "http://h:3141/alice/dev/+simple/"
    assert devpi_check_url("https://n/repository/pypi/") is None
    assert devpi_check_url("http://h/") is None


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("http://h:80/a", "http://h/b", True),
        ("https://h/a", "https://H:443/b", True),
        ("http://h/a", "https://h/a", False),
        ("http://h:8080/", "http://h:8081/", False),
        ("http://h/", "http://evil.example/", False),
    ],
)
def test_same_origin(first: str, second: str, same: bool) -> None:
    """Scheme, host and port decide whether credentials may go to a URL."""
    assert same_origin(first, second) is same


def test_redact_hides_user_info() -> None:
    """A URL with credentials is shown without them."""
    shown = redact("https://__token__:pypi-AgEIcHlwaS5vcmc@upload.example/legacy/")
    assert "pypi-AgEI" not in shown
    assert "upload.example/legacy/" in shown


def test_loopback() -> None:
    """Plain HTTP to loopback is not warned about; other hosts are."""
    assert is_loopback("http://127.0.0.1:1/")
    assert is_loopback("http://localhost/")
    assert is_loopback("http://[::1]:8080/")
    assert not is_loopback("http://10.0.0.1/")
    assert not is_loopback("http://example.org/")
