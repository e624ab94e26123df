"""Query a simple index: PEP 691 JSON preferred, PEP 503 HTML accepted, one request per project.

Only a verified "not here" lets a file go up: a project is absent when its page answers 404 or 410 on an
index root verified once per run (:func:`verify_index_root`), or when the index forwards the request to
another index's page for the same project (pypiserver's fallback to PyPI). Any other answer that is not a
parsable simple page of that project is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import canonicalize_name

from ._bounded import MAX_PAGE_BYTES, Answer, BadAnswer, BodyTooLarge, read_answer
from ._httpx import httpx
from ._text import clean_server_text
from .errors import IndexQueryError, UsageError
from .hashing import strongest_hash
from .identity import Identity, is_distribution_filename, remote_identity_of
from .retry import RETRYABLE_STATUS
from .urls import project_page_url, redact, same_origin

__all__ = [
    "ACCEPT",
    "IndexRoot",
    "ProjectFiles",
    "RemoteFile",
    "RetryableIndexError",
    "fetch_project_files",
    "parse_simple_html",
    "parse_simple_json",
    "serves_a_root",
    "verify_index_root",
]

# uv's header, as PEP 691 recommends: JSON first, HTML accepted.
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_MAX_REDIRECTS = 5
_JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")
# devpi answers an HTML request with the misspelled "text_html" (research/indexes.md §2).
_HTML_TYPES = ("text/html", "application/vnd.pypi.simple.v1+html", "application/xhtml+xml", "text_html", "")
# The start of the index root read to tell a root from a project page: PyPI's whole root is 30 MB.
ROOT_PROBE_BYTES = 64 * 1024
_HEX = re.compile(r"[0-9a-f]+")
_ROOTLESS = re.compile(r"/api/packages/[^/]+/pypi/simple/?$")


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

    def __init__(self, message: str, response: Answer | httpx.Response | None = None) -> None:
        self.response = response
        super().__init__(message)


class _LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[dict[str, str | None]] = []
        self.base: str | None = None
        self.headings: list[str] = []  # text of <title> and <h1>
        self.repository_version = False  # <meta name="pypi:repository-version">
        self._in_heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag in ("title", "h1"):
            self._in_heading = True
            self.headings.append("")
        elif tag == "meta" and dict(attrs).get("name") == "pypi:repository-version":
            self.repository_version = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "h1"):
            self._in_heading = False

    def handle_data(self, data: str) -> None:
        if self._in_heading and len(self.headings[-1]) < 1000:
            self.headings[-1] += data

    def names(self, project: str) -> bool:
        """Whether the page says it is about ``project`` (PEP 503 pages title themselves "Links for X")."""
        wanted = f"links for {project}"
        return self.repository_version or any(
            wanted in re.sub(r"[-_.]+", "-", heading.lower()) for heading in self.headings
        )


def parse_simple_html(text: str, page_url: str, project: str = "") -> ProjectFiles:
    """Parse a PEP 503 project page; hashes come from the URL fragment (``#sha256=…``).

    With ``project``, the page must be that project's: it may list no file of another project, and a page
    listing none of its files must name it (title "Links for …" or the repository-version meta), since a
    proxy's or a portal's HTML page with no links would otherwise read as "no files here".
    """
    files, collector = _parse_html(text, page_url)
    page = ProjectFiles(project, page_url, tuple(files))
    if project:
        _check_files_belong(page, project)
        if not page._by_identity and not collector.names(project):
            raise IndexQueryError(
                f"the answer from {redact(page_url)} is an HTML page that is not the simple page of "
                f"{project}: it lists no file and does not name the project"
            )
    return page


def _parse_html(text: str, page_url: str) -> tuple[list[RemoteFile], _LinkCollector]:
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
    return files, collector


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
        what = (
            "the index root's project list" if isinstance(document, dict) and "projects" in document else ""
        )
        raise IndexQueryError(
            f"the JSON answer from {redact(page_url)} is not a simple project page"
            + (f" but {what}" if what else ": no 'files' list")
        )
    name = document.get("name")
    if project and name is not None and (not isinstance(name, str) or canonicalize_name(name) != project):
        raise IndexQueryError(
            f"the JSON answer from {redact(page_url)} is the page of another project "
            f"({clean_server_text(str(name), 80)}), not of {project}"
        )
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
        if any(not _HEX.fullmatch(value) for value in clean.values()):
            raise IndexQueryError(
                f"malformed JSON simple page at {redact(page_url)}: a hash of "
                f"{clean_server_text(filename, 120)} is not hexadecimal"
            )
        yanked = entry.get("yanked", False)
        try:
            absolute = urljoin(page_url, url)
        except ValueError as exc:
            raise IndexQueryError(
                f"malformed JSON simple page at {redact(page_url)}: {_short(exc)}"
            ) from None
        files.append(RemoteFile(filename, absolute, clean, bool(yanked)))
    page = ProjectFiles(project, page_url, tuple(files))
    if project:
        _check_files_belong(page, project)
    return page


def _check_files_belong(page: ProjectFiles, project: str) -> None:
    """A project page that lists another project's files is not that project's page (a wrong check URL, a
    proxy answering with another page): nothing on it can be trusted to say what this index holds."""
    for identity, remotes in page._by_identity.items():
        if identity.name != project:
            raise IndexQueryError(
                f"the simple page at {redact(page.page_url)} lists "
                f"{clean_server_text(remotes[0].filename, 120)}, a file of another project "
                f"({identity.name}): it is not the page of {project}"
            )


def fetch_project_files(
    client: httpx.Client,
    check_url: str,
    project: str,
    *,
    auth: httpx.Auth | None,
    auth_origin: str | None,
    timeout: float,
    forwarded: Callable[[str, str], None] | None = None,
) -> ProjectFiles | None:
    """Read one project's page; None if the index does not have the project.

    Redirects are followed by hand and only within the check URL's origin, and credentials go only to the
    origin they were given for. An index may send a project it does not have to another index's page for
    it (pypiserver without ``--disable-fallback`` sends it to PyPI): that other index's files are not
    ours. Such a forward is handed to ``forwarded(project, target)``, which returns when the project is
    verifiably not on this index (its root does not list it) and raises otherwise; without it, and for
    any other redirect to another origin (a login page, a moved index), the answer is an error.
    """
    url = project_page_url(check_url, project)
    for _ in range(_MAX_REDIRECTS + 1):
        send_auth = auth if auth_origin is not None and same_origin(url, auth_origin) else None
        answer = _read(client, url, auth=send_auth, timeout=timeout)
        if answer.is_redirect:
            following = _location(answer, url)
            if same_origin(following, check_url):
                url = following
                continue
            if forwarded is not None and _forwards_project(following, project):
                forwarded(project, redact(following))
                return None
            raise IndexQueryError(
                f"{redact(url)} redirected to another origin ({_shown(following)}); refusing to take that "
                "as the index's answer: pass the index's own simple URL as --check-url"
            )
        return _project_from_answer(answer, url, project)
    raise IndexQueryError(f"too many redirects reading {redact(url)}")


def serves_a_root(check_url: str) -> bool:
    """Whether the index at ``check_url`` serves a root page to verify.

    Gitea and Forgejo serve only project pages (``/api/packages/<owner>/pypi/simple/<name>``, their
    router has no root route; research/indexes.md §6): their check URL is taken as given. They refuse a
    second upload of a file name anyway, so no published file can be replaced there.
    """
    return _ROOTLESS.search(urlsplit(check_url).path) is None


def verify_index_root(
    client: httpx.Client,
    check_url: str,
    *,
    auth: httpx.Auth | None,
    auth_origin: str | None,
    timeout: float,
    whole: bool = False,
) -> IndexRoot:
    """Make sure ``check_url`` is a simple index root, from the start of its page (at most 64 KiB read).

    A 404 on a project page means "absent" only under a real root: a misspelled path, a devpi index that
    does not exist, or a project page given as the root would otherwise make every file look new.
    ``whole`` reads the whole page (within the page cap) so that it lists every project.
    """
    url = check_url if check_url.endswith("/") else check_url + "/"
    limit = MAX_PAGE_BYTES if whole else ROOT_PROBE_BYTES
    for _ in range(_MAX_REDIRECTS + 1):
        send_auth = auth if auth_origin is not None and same_origin(url, auth_origin) else None
        answer = _read(client, url, auth=send_auth, timeout=timeout, max_bytes=limit, partial=not whole)
        if not answer.is_redirect:
            break
        following = _location(answer, url)
        if not same_origin(following, check_url):
            raise UsageError(
                f"the check URL {redact(check_url)} redirects to another origin ({_shown(following)}): "
                "pass the index's simple URL itself as --check-url"
            )
        url = following
    else:
        raise IndexQueryError(f"too many redirects reading {redact(check_url)}")
    _check_root_status(answer, check_url)
    text = answer.body.decode(answer.charset or "utf-8", errors="replace")
    if answer.content_type in _JSON_TYPES or text.lstrip().startswith("{"):
        key = re.search(r'"(projects|files)"\s*:', text)
        if key is None:
            raise UsageError(
                f"the check URL {redact(check_url)} is not a simple index: its JSON answer has no project "
                "list; pass the index's simple URL as --check-url"
            )
        if key.group(1) == "files":
            _refuse_project_page(check_url)
        return IndexRoot(check_url, _json_project_names(text) if answer.complete else None)
    if answer.content_type not in _HTML_TYPES:
        raise UsageError(
            f"the check URL {redact(check_url)} is not a simple index: it answers "
            f"{clean_server_text(answer.content_type, 60)}; pass the index's simple URL as --check-url"
        )
    collector = _LinkCollector()
    try:
        collector.feed(text)
    except (AssertionError, ValueError):
        raise UsageError(
            f"the check URL {redact(check_url)} does not answer with a readable simple index page"
        ) from None
    names = set()
    for attrs in collector.links:
        last = unquote((attrs.get("href") or "").split("#", 1)[0].split("?", 1)[0].rstrip("/"))
        last = last.rsplit("/", 1)[-1]
        if is_distribution_filename(last):
            _refuse_project_page(check_url)
        names.add(canonicalize_name(last))
    return IndexRoot(check_url, frozenset(names) if answer.complete else None)


@dataclass(frozen=True)
class IndexRoot:
    """A verified simple index root; ``projects`` (normalized names) when its whole page was read."""

    url: str
    projects: frozenset[str] | None


def _json_project_names(text: str) -> frozenset[str] | None:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    projects = document.get("projects") if isinstance(document, dict) else None
    if not isinstance(projects, list):
        return None
    return frozenset(
        canonicalize_name(entry["name"])
        for entry in projects
        if isinstance(entry, dict) and isinstance(entry.get("name"), str)
    )


def _check_root_status(answer: Answer, check_url: str) -> None:
    status = answer.status
    if status in (404, 410):
        raise UsageError(
            f"there is no simple index at the check URL {redact(check_url)} ({status} "
            f"{_reason(answer)}): pass the index's simple URL as --check-url (pypiserver and most indexes: "
            "the upload URL + simple/; devpi: /USER/INDEX/+simple/)"
        )
    if status in (401, 403):
        raise IndexQueryError(
            f"the index refused to be read ({status} {_reason(answer)}) at {redact(check_url)}: "
            "check the credentials, or pass --check-url"
        )
    if status in RETRYABLE_STATUS:
        raise RetryableIndexError(
            f"the index answered {status} {_reason(answer)} for {redact(check_url)}", answer
        )
    if status != 200:
        raise IndexQueryError(f"the index answered {status} {_reason(answer)} for {redact(check_url)}")


def _refuse_project_page(check_url: str) -> None:
    parent = check_url.rstrip("/").rsplit("/", 1)[0] + "/"
    raise UsageError(
        f"the check URL {redact(check_url)} is a project page (it lists files), not the index's simple "
        f"root: pass the root, such as {redact(parent)}, as --check-url"
    )


def _read(
    client: httpx.Client,
    url: str,
    *,
    auth: httpx.Auth | None,
    timeout: float,
    max_bytes: int = MAX_PAGE_BYTES,
    partial: bool = False,
) -> Answer:
    try:
        return read_answer(
            client,
            "GET",
            url,
            headers={"Accept": ACCEPT, "Cache-Control": "no-cache"},
            auth=auth,
            timeout=timeout,
            max_bytes=max_bytes,
            partial=partial,
        )
    except httpx.TimeoutException:
        raise RetryableIndexError(
            f"no complete answer from {redact(url)} within {timeout:g} s (--timeout)"
        ) from None
    except httpx.TransportError as exc:
        raise RetryableIndexError(f"cannot read {redact(url)}: {_short(exc)}") from None
    except httpx.HTTPError as exc:
        raise IndexQueryError(f"cannot read {redact(url)}: {_short(exc)}") from None
    except BodyTooLarge:
        raise IndexQueryError(
            f"the answer from {redact(url)} is larger than {max_bytes // (1024 * 1024)} MiB (decompressed), "
            "more than any simple page; is the check URL right?"
        ) from None
    except BadAnswer as exc:
        raise IndexQueryError(f"cannot read the answer from {redact(url)}: {_short(exc)}") from None


def _location(answer: Answer, url: str) -> str:
    try:
        following = urljoin(url, answer.headers["Location"].strip())
        httpx.URL(following)
    except (ValueError, httpx.InvalidURL):
        raise IndexQueryError(f"{redact(url)} redirected to an invalid URL") from None
    if urlsplit(following).scheme not in ("http", "https"):
        raise IndexQueryError(f"{redact(url)} redirected to a URL that is not http(s)")
    return following


def _forwards_project(target: str, project: str) -> bool:
    """Whether a redirect goes to the same project's page on another simple index (a fallback)."""
    segments = [part for part in urlsplit(target).path.split("/") if part]
    return bool(segments) and canonicalize_name(unquote(segments[-1])) == project


def _project_from_answer(answer: Answer, url: str, project: str) -> ProjectFiles | None:
    status = answer.status
    if status in (404, 410):
        return None
    if status in (401, 403):
        raise IndexQueryError(
            f"the index refused to list {project} ({status} {_reason(answer)}) at {redact(url)}: "
            "check the credentials, or pass --check-url"
        )
    if status in RETRYABLE_STATUS:
        raise RetryableIndexError(f"the index answered {status} {_reason(answer)} for {redact(url)}", answer)
    if status != 200:
        raise IndexQueryError(f"the index answered {status} {_reason(answer)} for {redact(url)}")
    content_type = answer.content_type
    if not answer.body.strip():
        raise IndexQueryError(
            f"the index answered 200 with an empty body for {redact(url)}: not a simple page, so nothing "
            f"tells whether {project} is there"
        )
    if content_type in _JSON_TYPES:
        return parse_simple_json(answer.body, url, project)
    if content_type not in _HTML_TYPES:
        raise IndexQueryError(
            f"the index answered {redact(url)} with {clean_server_text(content_type, 60)}, not a simple "
            f"page: nothing tells whether {project} is there"
        )
    try:
        text = answer.body.decode(answer.charset or "utf-8")
    except (UnicodeError, LookupError) as exc:  # UnicodeError: e.g. utf-16 without a BOM
        raise IndexQueryError(f"undecodable simple page at {redact(url)}: {_short(exc)}") from None
    if text.lstrip().startswith("{"):  # a JSON page with an odd Content-Type
        return parse_simple_json(text, url, project)
    return parse_simple_html(text, url, project)


def _reason(answer: Answer) -> str:
    return clean_server_text(answer.reason, 80)


def _shown(url: str) -> str:
    return clean_server_text(redact(url), 200)


def _short(exc: BaseException) -> str:
    return clean_server_text(str(exc), 200) or type(exc).__name__
