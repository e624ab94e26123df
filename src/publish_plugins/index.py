"""Query a simple index: PEP 691 JSON preferred, PEP 503 HTML accepted, one request per project."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from ._httpx import httpx
from .errors import IndexQueryError
from .hashing import strongest_hash
from .identity import Identity, remote_identity_of
from .retry import RETRYABLE_STATUS
from .urls import project_page_url, redact, same_origin

__all__ = [
    "ACCEPT",
    "ProjectFiles",
    "RemoteFile",
    "RetryableIndexError",
    "fetch_project_files",
    "parse_simple_html",
    "parse_simple_json",
]

# uv's header, as PEP 691 recommends: JSON first, HTML accepted.
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_MAX_REDIRECTS = 5
_JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file an index lists for a project."""

    filename: str
    url: str
    hashes: Mapping[str, str] = field(default_factory=dict)
    yanked: bool = False

    @property
    def identity(self) -> Identity | None:
        return remote_identity_of(self.filename)

    @property
    def strongest_hash(self) -> tuple[str, str] | None:
        return strongest_hash(self.hashes)


@dataclass(frozen=True, slots=True)
class ProjectFiles:
    """What an index lists for one project (``page_url`` is where it was read)."""

    project: str
    page_url: str
    files: tuple[RemoteFile, ...]
    # Each listed name is parsed once per page, not once per local file: a project with a long history
    # lists thousands of files, and a release compares each of its files against all of them.
    _by_identity: dict[Identity, list[RemoteFile]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        for remote in self.files:
            identity = remote.identity
            if identity is not None:
                self._by_identity.setdefault(identity, []).append(remote)

    def matching(self, identity: Identity) -> list[RemoteFile]:
        return list(self._by_identity.get(identity, ()))


class RetryableIndexError(IndexQueryError):
    """A failure worth another try: connection trouble, 429 or a 5xx (``response`` carries Retry-After)."""

    def __init__(self, message: str, response: httpx.Response | None = None) -> None:
        self.response = response
        super().__init__(message)


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")


def parse_simple_html(text: str, page_url: str, project: str = "") -> ProjectFiles:
    """Parse a PEP 503 project page; hashes come from the URL fragment (``#sha256=…``)."""
    head = text.lstrip()[:200].lower()
    if (head.startswith("<!doctype html") or head.startswith("<html")) and "</html>" not in text[
        -200:
    ].lower():
        # Indexes close their pages; a page that opens <html> and never closes it was cut short.
        raise IndexQueryError(f"truncated simple page at {redact(page_url)} (no closing </html>)")
    collector = _LinkCollector()
    try:
        collector.feed(text)
        collector.close()
    except (AssertionError, ValueError) as exc:  # html.parser raises these on some malformed input
        raise IndexQueryError(f"malformed simple page at {redact(page_url)}: {exc}") from None
    try:
        base = urljoin(page_url, collector.base) if collector.base else page_url
    except ValueError as exc:
        raise IndexQueryError(
            f"malformed <base> on the simple page at {redact(page_url)}: {_short(exc)}"
        ) from None
    files = []
    for attrs in collector.links:
        href = attrs.get("href")
        if not href:
            continue
        try:
            url = urljoin(base, href)
            parts = urlsplit(url)
        except ValueError as exc:  # e.g. "Invalid IPv6 URL": a link we cannot read could be our file
            raise IndexQueryError(
                f"malformed link on the simple page at {redact(page_url)}: {_short(exc)}"
            ) from None
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        if not filename:
            continue
        hashes = _fragment_hashes(parts.fragment)
        yanked = "data-yanked" in attrs
        files.append(RemoteFile(filename, url.split("#", 1)[0], hashes, yanked))
    return ProjectFiles(project, page_url, tuple(files))


def _fragment_hashes(fragment: str) -> dict[str, str]:
    # "sha256=<hex>"; old Gitea wrote "sha256-<hex>": accept both, ignore anything else.
    match = re.fullmatch(r"([A-Za-z0-9_]+)[=-]([0-9A-Fa-f]+)", fragment)
    return {match.group(1).lower(): match.group(2).lower()} if match else {}


def parse_simple_json(data: bytes | str, page_url: str, project: str = "") -> ProjectFiles:
    """Parse a PEP 691 project page."""
    try:
        document: Any = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise IndexQueryError(f"malformed JSON simple page at {redact(page_url)}: {_short(exc)}") from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        raise IndexQueryError(f"malformed JSON simple page at {redact(page_url)}: no 'files' list")
    meta = document.get("meta")
    version = meta.get("api-version") if isinstance(meta, dict) else None
    if isinstance(version, str) and version.split(".", 1)[0] not in ("1", ""):
        raise IndexQueryError(f"unsupported simple API version {version} at {redact(page_url)}")
    files = []
    for entry in document["files"]:
        if not isinstance(entry, dict):
            raise IndexQueryError(
                f"malformed JSON simple page at {redact(page_url)}: a file is not an object"
            )
        filename, url, hashes = entry.get("filename"), entry.get("url"), entry.get("hashes", {})
        if not isinstance(filename, str) or not isinstance(url, str) or not isinstance(hashes, dict):
            raise IndexQueryError(f"malformed JSON simple page at {redact(page_url)}: bad file entry")
        clean = {str(k).lower(): v.lower() for k, v in hashes.items() if isinstance(v, str)}
        yanked = entry.get("yanked", False)
        try:
            absolute = urljoin(page_url, url)
        except ValueError as exc:
            raise IndexQueryError(
                f"malformed JSON simple page at {redact(page_url)}: {_short(exc)}"
            ) from None
        files.append(RemoteFile(filename, absolute, clean, bool(yanked)))
    return ProjectFiles(project, page_url, tuple(files))


def fetch_project_files(
    client: httpx.Client,
    check_url: str,
    project: str,
    *,
    auth: httpx.Auth | None,
    auth_origin: str | None,
) -> ProjectFiles | None:
    """Read one project's page; None if the index does not have the project (404).

    Redirects are followed by hand and only within the check URL's origin: an index that sends an unknown
    project to PyPI (pypiserver without ``--disable-fallback``) must not make PyPI's files look like ours.
    Credentials go only to the origin they were given for.
    """
    url = project_page_url(check_url, project)
    for _ in range(_MAX_REDIRECTS + 1):
        send_auth = auth if auth_origin is not None and same_origin(url, auth_origin) else None
        try:
            response = client.get(
                url,
                headers={"Accept": ACCEPT, "Cache-Control": "no-cache"},
                auth=send_auth if send_auth is not None else httpx.USE_CLIENT_DEFAULT,
                follow_redirects=False,
            )
        except httpx.TransportError as exc:
            raise RetryableIndexError(f"cannot read {redact(url)}: {_short(exc)}") from None
        except httpx.HTTPError as exc:
            raise IndexQueryError(f"cannot read {redact(url)}: {_short(exc)}") from None
        if response.is_redirect:
            target = response.headers.get("Location")
            if not target:
                raise IndexQueryError(f"{redact(url)} redirected without a Location")
            following = urljoin(url, target)
            if not same_origin(following, check_url):
                raise IndexQueryError(
                    f"{redact(url)} redirected to another host ({redact(following)}); "
                    "refusing to trust it: pass the index's own simple URL as --check-url"
                )
            url = following
            continue
        return _project_from_response(response, url, project)
    raise IndexQueryError(f"too many redirects reading {redact(url)}")


def _project_from_response(response: httpx.Response, url: str, project: str) -> ProjectFiles | None:
    status = response.status_code
    if status == 404:
        return None
    if status in (401, 403):
        raise IndexQueryError(
            f"the index refused to list {project} ({status} {response.reason_phrase}) at {redact(url)}: "
            "check the credentials, or pass --check-url"
        )
    if status in RETRYABLE_STATUS:
        raise RetryableIndexError(
            f"the index answered {status} {response.reason_phrase} for {redact(url)}", response
        )
    if status != 200:
        raise IndexQueryError(f"the index answered {status} {response.reason_phrase} for {redact(url)}")
    content_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type in _JSON_TYPES:
        return parse_simple_json(response.content, url, project)
    try:
        text = response.text
    except (UnicodeError, LookupError) as exc:  # UnicodeError: e.g. utf-16 without a BOM
        raise IndexQueryError(f"undecodable simple page at {redact(url)}: {_short(exc)}") from None
    if text.lstrip().startswith("{"):  # a JSON page with an odd Content-Type
        return parse_simple_json(text, url, project)
    return parse_simple_html(text, url, project)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__
