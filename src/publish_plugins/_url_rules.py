"""Whether a URL given by the user (option, variable, host config) is one the run can use; safe display.

Standard library only, without httpx: front ends and ``Repository`` check URLs when the command starts, and
the HTTP stack loads later, while the files are being hashed (run.py). ``urls`` re-exports both names.

A URL that does not parse may still hold a password (``https://user:p@ss/word@host/`` puts part of it in the
path, ``https://user:p/ss@host/`` in the port), so messages never quote the parser's own error and show the
URL only through :func:`redact_text`, which works on the text without parsing it.
"""

from __future__ import annotations

import ipaddress
import re

from .errors import UsageError

__all__ = ["SCHEMES", "redact_text", "url_problem", "validate_url"]

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
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
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
