"""URL rules: the check URL derived from the upload URL, same-origin tests, and redaction for display."""

from __future__ import annotations

import ipaddress

from ._httpx import httpx
from ._url_rules import redact_text, validate_url
from .errors import UsageError

__all__ = [
    "KNOWN_SIMPLE_ROOTS",
    "check_url_for",
    "devpi_check_url",
    "is_loopback",
    "project_page_url",
    "redact",
    "redact_text",
    "same_origin",
    "validate_url",
]

# Upload URL → simple index root, for indexes whose two URLs are not siblings (research/indexes.md §0).
_KNOWN = {
    "https://upload.pypi.org/legacy/": "https://pypi.org/simple/",
    "https://test.pypi.org/legacy/": "https://test.pypi.org/simple/",
}
# Simple roots known to be roots: the run does not read their first page to make sure (PyPI's is 30 MB).
KNOWN_SIMPLE_ROOTS = frozenset(_KNOWN.values())


def check_url_for(upload_url: str) -> str:
    """Derive the simple index root from an upload URL, or raise UsageError asking for ``--check-url``."""
    url = httpx.URL(upload_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise UsageError(f"not an http(s) upload URL: {redact(upload_url)}")
    bare = str(url.copy_with(username=None, password=None, query=None, fragment=None))
    normalized = bare if bare.endswith("/") else bare + "/"
    if normalized in _KNOWN:
        return _KNOWN[normalized]
    host = url.host.lower()
    path = url.path.rstrip("/")
    # Cloudsmith uploads to python.cloudsmith.io but serves from dl.cloudsmith.io with a token path.
    if host.endswith("cloudsmith.io") or host.endswith("pypi.org") or path.endswith("/legacy"):
        raise UsageError(
            f"cannot tell where {redact(upload_url)} lists its files; "
            "pass --check-url with the index's simple URL"
        )
    if path.endswith(("/simple", "/+simple")):
        raise UsageError(
            f"{redact(upload_url)} looks like a simple index, not an upload URL; "
            "pass the upload URL, and the simple URL as --check-url"
        )
    if path.endswith("/pypi/upload"):  # Azure Artifacts
        return str(
            url.copy_with(path=path.removesuffix("/upload") + "/simple/", username=None, password=None)
        )
    # devpi: /<user>/<index>/ is served at /<user>/<index>/+simple/; detected by the server, not guessed.
    return str(url.copy_with(path=path + "/simple/", username=None, password=None, query=None, fragment=None))


def devpi_check_url(upload_url: str) -> str | None:
    """``/<user>/<index>/+simple/`` when the upload URL has devpi's shape; the caller confirms it exists.

    devpi serves its simple pages under ``+simple``; the same two-segment shape is also Nexus's
    ``/repository/<name>/``, which keeps ``…/simple/``.
    """
    url = httpx.URL(upload_url)
    segments = [part for part in url.path.split("/") if part]
    if len(segments) != 2 or segments[0] == "repository" or segments[1] in ("legacy", "simple"):
        return None
    return str(url.copy_with(path="/" + "/".join(segments) + "/+simple/", username=None, password=None))


def project_page_url(check_url: str, project: str) -> str:
    """The project page under a simple index root (normalized name, trailing slash, PEP 503)."""
    return check_url.rstrip("/") + "/" + project + "/"


def same_origin(first: str | httpx.URL, second: str | httpx.URL) -> bool:
    """Scheme, host and port equal: the only case where credentials may travel to the second URL."""
    a, b = httpx.URL(str(first)), httpx.URL(str(second))
    return (a.scheme, a.host.lower(), _port(a)) == (b.scheme, b.host.lower(), _port(b))


def _port(url: httpx.URL) -> int | None:
    return url.port or {"http": 80, "https": 443}.get(url.scheme)


def is_loopback(url: str | httpx.URL) -> bool:
    host = httpx.URL(str(url)).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact(url: str | httpx.URL) -> str:
    """The URL with any user info replaced, for messages and reports."""
    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"
    if parsed.userinfo:
        return str(parsed.copy_with(username="***", password=None))
    return str(parsed)
