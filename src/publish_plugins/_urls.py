"""URLs: whether one given by the user (option, variable, host config) can be used, the check URL derived
from the upload URL, the same-origin rule, and redaction for display.

Front ends and ``Repository`` check URLs when the command starts, and the HTTP stack loads later, while the
files are being hashed (``_run``): validation is standard library only, and httpx is imported by the
functions that need it, on first use.

A URL that does not parse may still hold a password (``https://user:p@ss/word@host/`` puts part of it in the
path, ``https://user:p/ss@host/`` in the port), so messages never quote the parser's own error and show the
URL only through :func:`redact_text`, which works on the text without parsing it.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from ._httpx import httpx

__all__ = [
    "KNOWN_SIMPLE_ROOTS",
    "SCHEMES",
    "check_url_for",
    "devpi_check_url",
    "is_loopback",
    "project_page_url",
    "redact",
    "redact_text",
    "same_origin",
    "url_problem",
    "validate_url",
]

SCHEMES = ("http", "https")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# RFC 3986 userinfo: unreserved, percent-encoded, sub-delims and ':'.
_USERINFO = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,;=:]*")


def validate_url(url: object, *, what: str) -> str:
    """``url`` when the run can use it as an index URL; else UsageError ``WHAT: reason: <redacted URL>``.

    ``what`` names where the URL came from (``--check-url``, ``'url' in [repository.x] of pdm.toml``), so
    the one-line error tells the user what to change.
    """
    if not isinstance(url, str):
        raise UsageError(f"{what}: must be a URL (text), got {type(url).__name__}")
    problem = url_problem(url)
    if problem is not None:
        shown = redact_text(url)
        raise UsageError(f"{what}: {problem} (got {shown})" if shown.strip() else f"{what}: {problem}")
    return url


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable http(s) URL, in words that quote no part of it (None: it is usable)."""
    if not url.strip() or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return "contains a space or a control character" if url.strip() else "is empty"
    scheme, sep, rest = url.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        return "has no scheme; write it with https:// (or http://)"
    if scheme.lower() not in SCHEMES:
        return f"unsupported scheme {scheme.lower()!r}; only http:// and https:// index URLs work"
    authority, tail = _split_authority(rest)
    # '@' is legal in a path, but in an index URL it means a password with an unencoded '/', '?' or '#'
    # cut the URL short: what the parser calls the host and path would be parts of the password.
    if "@" in tail:
        return (
            "has '@' after the host; a user name or password containing '/', '?', '#' or '@' must be "
            "percent-encoded (%2F, %3F, %23, %40)"
        )
    userinfo, at, host_port = authority.rpartition("@")
    if at and not _USERINFO.fullmatch(userinfo):
        return (
            "the user name or password contains a character that must be percent-encoded "
            "('@' as %40, '[' as %5B, ...)"
        )
    return _host_problem(host_port)


def _host_problem(host_port: str) -> str | None:
    """Why ``host[:port]`` (user info removed) is not usable; None when it is."""
    broken_ipv6 = "has a broken IPv6 address; write it in brackets, as in http://[::1]:8080/"
    if host_port.startswith("["):
        literal, bracket, after = host_port[1:].partition("]")
        if not bracket or not _is_ipv6(literal):
            return broken_ipv6
        if after and not after.startswith(":"):
            return "has text after the IPv6 address's ']' that is not a :port"
        host, port = literal, after[1:]
    else:
        if "[" in host_port or "]" in host_port:
            return broken_ipv6
        host, _, port = host_port.partition(":")
    if not host:
        return "has no host name"
    # Never quote the port: in "https://user:token/..." (the '@' forgotten) it is the token.
    if port and (not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536):
        return "the port after ':' is not a number from 1 to 65535"
    return None


def redact_text(url: str) -> str:
    """The URL for a message without its user info, from the text alone (it need not parse).

    Everything from the scheme to the last '@' becomes ``***``, and a port that is not a number (a password
    written without its user name's '@') is hidden too; control characters are dropped and the result is
    capped, as it goes into a one-line message.
    """
    text = "".join(char for char in url if char.isprintable())[:300]
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "", text
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    authority, tail = _split_authority(rest)
    if authority.startswith(("[", "***@[")):
        host, bracket, after = authority.partition("]")
        host += bracket
    else:
        host, after = authority, ""
        if ":" in authority:
            host, colon, port = authority.rpartition(":")
            after = colon + port
    if after not in ("", ":") and not after[1:].isdigit():
        authority = f"{host}:***" if after.startswith(":") else f"{host}***"
    return f"{scheme}{sep}{authority}{tail}"


def _split_authority(rest: str) -> tuple[str, str]:
    """(authority, the rest): the authority ends at the first '/', '?' or '#' (RFC 3986)."""
    match = re.search(r"[/?#]", rest)
    if match is None:
        return rest, ""
    return rest[: match.start()], rest[match.start() :]


def _is_ipv6(text: str) -> bool:
    address = text.split("%25", 1)[0].split("%", 1)[0]  # a zone id (fe80::1%25eth0) is not checked
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return False
    return True


# Upload URL → simple index root, for indexes whose two URLs are not siblings (research/indexes.md §0).
_KNOWN = {
    "https://upload.pypi.org/legacy/": "https://pypi.org/simple/",
    "https://test.pypi.org/legacy/": "https://test.pypi.org/simple/",
}
# Simple roots known to be roots: the run does not read their first page to make sure (PyPI's is 30 MB).
KNOWN_SIMPLE_ROOTS = frozenset(_KNOWN.values())


def first_read_url(repository_check_url: str | None, upload_url: str) -> str:
    """A URL on the origin the index check reads first, without httpx (which is not loaded yet when the
    run opens its first connections): the check URL given, PyPI's or TestPyPI's, or else the upload URL,
    whose origin every other derived check URL shares."""
    if repository_check_url:
        return repository_check_url
    return _KNOWN.get(upload_url if upload_url.endswith("/") else upload_url + "/", upload_url)


def check_url_for(upload_url: str) -> str:
    """Derive the simple index root from an upload URL, or raise UsageError asking for ``--check-url``."""
    from ._httpx import httpx

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
    from ._httpx import httpx

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
    from ._httpx import httpx

    a, b = httpx.URL(str(first)), httpx.URL(str(second))
    return (a.scheme, a.host.lower(), _port(a)) == (b.scheme, b.host.lower(), _port(b))


def _port(url: httpx.URL) -> int | None:
    return url.port or {"http": 80, "https": 443}.get(url.scheme)


def is_loopback(url: str | httpx.URL) -> bool:
    from ._httpx import httpx

    host = httpx.URL(str(url)).host
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact(url: str | httpx.URL) -> str:
    """The URL with any user info replaced, for messages and reports."""
    from ._httpx import httpx

    try:
        parsed = httpx.URL(str(url))
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"
    if parsed.userinfo:
        return str(parsed.copy_with(username="***", password=None))
    return str(parsed)
