"""What a simple index page says: PEP 503 HTML and PEP 691 JSON, a project's page or the root's list.

Parsing only, no network. Every rule here errs on the side of "this is not a page I can trust": a page
that does not prove it is the project's (or the index root) is an error, never "no files". Parsing is
bounded too: HTML is fed in pieces against the request's deadline, and only links that can be
distributions are kept.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any, NoReturn
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import canonicalize_name

from ._hashing import strongest_hash
from ._identity import Identity, is_distribution_filename, remote_identity_of
from ._text import clean_server_text
from ._urls import redact
from .errors import IndexQueryError, UsageError

__all__ = [
    "JSON_TYPES",
    "ProjectFiles",
    "RemoteFile",
    "RootListing",
    "parse_root",
    "parse_simple_html",
    "parse_simple_json",
]

JSON_TYPES = ("application/vnd.pypi.simple.v1+json", "application/json")
_HEX = re.compile(r"[0-9a-f]+")
_FEED = 256 * 1024  # HTML fed to the parser this much at a time, the deadline checked in between
_MAX_LINKS = 1_000_000  # distribution links kept from one page (PyPI's largest projects list ~50,000)


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file an index lists for a project."""

    filename: str
    url: str
    hashes: Mapping[str, str] = field(default_factory=dict)
    yanked: bool = False
    # PEP 700's ``upload-time`` (JSON pages of API version 1.1), for PyPI's 14-day rule; None when not given
    # or not readable (the rule is then skipped, never guessed).
    upload_time: datetime | None = None

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

    @property
    def identities(self) -> list[Identity]:
        return list(self._by_identity)


@dataclass(frozen=True)
class RootListing:
    """A simple index root; ``projects`` (normalized names) when the whole page was read."""

    url: str
    projects: frozenset[str] | None


# ---- HTML -------------------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The parts of a PEP 503 page the rules need: links with their text, <base>, headings, the meta."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.headings: list[str] = []  # text of <title> and <h1>
        self.repository_version = False  # <meta name="pypi:repository-version">
        self._in_heading = False
        self._anchor: dict[str, str | None] | None = None
        self._anchor_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._end_anchor()
            self._anchor, self._anchor_text = dict(attrs), ""
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")
        elif tag in ("title", "h1"):
            self._in_heading = True
            self.headings.append("")
        elif tag == "meta" and dict(attrs).get("name") == "pypi:repository-version":
            self.repository_version = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._end_anchor()
        elif tag in ("title", "h1"):
            self._in_heading = False

    def handle_data(self, data: str) -> None:
        if self._in_heading and len(self.headings[-1]) < 1000:
            self.headings[-1] += data
        if self._anchor is not None and len(self._anchor_text) < 300:
            self._anchor_text += data

    def close(self) -> None:
        super().close()
        self._end_anchor()

    def _end_anchor(self) -> None:
        if self._anchor is not None:
            anchor, self._anchor = self._anchor, None
            self.link(anchor, self._anchor_text.strip())

    def link(self, attrs: dict[str, str | None], text: str) -> None:
        raise NotImplementedError


class _ProjectPage(_Page):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[dict[str, str | None]] = []
        self.other_links = 0

    def link(self, attrs: dict[str, str | None], text: str) -> None:
        if is_distribution_filename(_last_segment(attrs.get("href") or "")):
            if len(self.files) >= _MAX_LINKS:
                raise ValueError(f"more than {_MAX_LINKS} file links")
            self.files.append(attrs)
        else:
            self.other_links += 1

    def names(self, project: str) -> bool:
        """Whether the page says it is ``project``'s: a title "Links for <project>" (as PEP 503 indexes
        write it, devpi with "<user>/<index>: " before it), or PyPI's meta tag on a page with no link."""
        wanted = re.compile(rf"(?:.*\s)?links for {re.escape(project)}")
        if any(wanted.fullmatch(_normalized(heading)) for heading in self.headings):
            return True
        return self.repository_version and not self.files and not self.other_links


class _RootPage(_Page):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.names: set[str] = set()
        self.links = 0
        self.file_link: str | None = None  # a link to a distribution: this is a project page
        self.foreign_link: str | None = None  # a link that is not a project page under the root

    def link(self, attrs: dict[str, str | None], text: str) -> None:
        href = attrs.get("href") or ""
        self.links += 1
        last = _last_segment(href)
        if is_distribution_filename(last):
            self.file_link = self.file_link or last
            return
        try:
            target = urljoin(urljoin(self.url, self.base) if self.base else self.url, href)
        except ValueError:
            target = ""
        child = target.split("#", 1)[0].split("?", 1)[0].removeprefix(self.url).rstrip("/")
        if not target.startswith(self.url) or not child or "/" in child:
            self.foreign_link = self.foreign_link or href
            return
        self.names.add(canonicalize_name(unquote(child)))
        if text:  # PEP 503: the anchor's text is the project's name
            self.names.add(canonicalize_name(text))


def _last_segment(href: str) -> str:
    return unquote(href.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1])


def _normalized(text: str) -> str:
    return " ".join(re.sub(r"[-_.]+", "-", text.lower()).split())


def _feed(parser: _Page, text: str, page_url: str, deadline: float | None) -> None:
    try:
        for start in range(0, len(text), _FEED):
            parser.feed(text[start : start + _FEED])
            if deadline is not None and time.monotonic() > deadline:
                raise IndexQueryError(
                    f"reading the page at {redact(page_url)} took longer than the time limit (--timeout)"
                )
        parser.close()
    except (AssertionError, ValueError) as exc:  # html.parser raises these on some malformed input
        raise IndexQueryError(
            f"malformed simple page at {redact(page_url)}: {clean_server_text(str(exc), 200)}"
        ) from None


def _cut_short(text: str) -> bool:
    """Indexes close their pages: a page that opens <html> and never closes it was cut short."""
    return "<html" in text[:1024].lower() and "</html>" not in text[-1024:].lower()


def parse_simple_html(
    text: str, page_url: str, project: str = "", *, deadline: float | None = None
) -> ProjectFiles:
    """Parse a PEP 503 project page; hashes come from the URL fragment (``#sha256=…``).

    With ``project``, the page must be that project's: it may list no file of another project, and a page
    listing none of its files must name it (see ``_ProjectPage.names``), since a proxy's or a portal's
    HTML page with no links would otherwise read as "no files here".
    """
    if _cut_short(text):
        raise IndexQueryError(f"truncated simple page at {redact(page_url)} (no closing </html>)")
    parser = _ProjectPage()
    _feed(parser, text, page_url, deadline)
    try:
        base = urljoin(page_url, parser.base) if parser.base else page_url
    except ValueError as exc:
        raise IndexQueryError(
            f"malformed <base> on the simple page at {redact(page_url)}: {clean_server_text(str(exc))}"
        ) from None
    files = []
    for attrs in parser.files:
        try:
            url = urljoin(base, attrs.get("href") or "")
            parts = urlsplit(url)
        except ValueError as exc:  # e.g. "Invalid IPv6 URL": a link we cannot read could be our file
            raise IndexQueryError(
                f"malformed link on the simple page at {redact(page_url)}: {clean_server_text(str(exc))}"
            ) from None
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        if not filename:
            continue
        hashes = _fragment_hashes(parts.fragment)
        files.append(RemoteFile(filename, url.split("#", 1)[0], hashes, "data-yanked" in attrs))
    page = ProjectFiles(project, page_url, tuple(files))
    if project:
        _check_files_belong(page, project)
        if not page.identities and not parser.names(project):
            raise IndexQueryError(
                f"the answer from {redact(page_url)} is an HTML page that is not the simple page of "
                f"{project}: it lists no file and does not name the project"
            )
    return page


def _fragment_hashes(fragment: str) -> dict[str, str]:
    # "sha256=<hex>"; old Gitea wrote "sha256-<hex>": accept both, ignore anything else.
    match = re.fullmatch(r"([A-Za-z0-9_]+)[=-]([0-9A-Fa-f]+)", fragment)
    return {match.group(1).lower(): match.group(2).lower()} if match else {}


# ---- JSON -------------------------------------------------------------------------------------------


def parse_simple_json(data: bytes | str, page_url: str, project: str = "") -> ProjectFiles:
    """Parse a PEP 691 project page; with ``project``, it must be that project's (``name``)."""
    try:
        document: Any = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise IndexQueryError(
            f"malformed JSON simple page at {redact(page_url)}: {clean_server_text(str(exc), 200)}"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("files"), list):
        is_root = isinstance(document, dict) and "projects" in document
        what = "the index root's project list" if is_root else ""
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
        raise IndexQueryError(
            f"unsupported simple API version {clean_server_text(version, 40)} at {redact(page_url)}"
        )
    files = [_json_file(entry, page_url) for entry in document["files"]]
    page = ProjectFiles(project, page_url, tuple(files))
    if project:
        _check_files_belong(page, project)
        if not page.identities and name is None:
            # PEP 691 requires the name; without it and without a file of ours, nothing says whose page.
            raise IndexQueryError(
                f"the JSON answer from {redact(page_url)} lists no file of {project} and does not name "
                "its project: not a simple page of it"
            )
    return page


def _json_file(entry: object, page_url: str) -> RemoteFile:
    if not isinstance(entry, dict):
        raise IndexQueryError(f"malformed JSON simple page at {redact(page_url)}: a file is not an object")
    filename, url, hashes = entry.get("filename"), entry.get("url"), entry.get("hashes", {})
    if not isinstance(filename, str) or not isinstance(url, str) or not isinstance(hashes, dict):
        raise IndexQueryError(f"malformed JSON simple page at {redact(page_url)}: bad file entry")
    clean = {str(k).lower(): v.lower() for k, v in hashes.items() if isinstance(v, str)}
    if any(not _HEX.fullmatch(value) for value in clean.values()):
        raise IndexQueryError(
            f"malformed JSON simple page at {redact(page_url)}: a hash of "
            f"{clean_server_text(filename, 120)} is not hexadecimal"
        )
    try:
        absolute = urljoin(page_url, url)
    except ValueError as exc:
        raise IndexQueryError(
            f"malformed JSON simple page at {redact(page_url)}: {clean_server_text(str(exc), 200)}"
        ) from None
    return RemoteFile(
        filename, absolute, clean, bool(entry.get("yanked", False)), _upload_time(entry.get("upload-time"))
    )


def _upload_time(value: object) -> datetime | None:
    """PEP 700's ISO 8601 UTC time (``2023-01-02T03:04:05.123456Z``), or None when absent or unreadable."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _check_files_belong(page: ProjectFiles, project: str) -> None:
    """A project page that lists another project's files is not that project's page (a wrong check URL, a
    proxy answering with another page): nothing on it can be trusted to say what this index holds."""
    for identity in page.identities:
        if identity.name != project:
            remote = page.matching(identity)[0]
            raise IndexQueryError(
                f"the simple page at {redact(page.page_url)} lists "
                f"{clean_server_text(remote.filename, 120)}, a file of another project "
                f"({identity.name}): it is not the page of {project}"
            )


# ---- the root ---------------------------------------------------------------------------------------


def parse_root(
    text: str, check_url: str, *, json_page: bool, complete: bool, deadline: float | None = None
) -> RootListing:
    """Make sure a page is a simple index root; its project names when ``complete`` (the whole page).

    A partial page (the start of a large root) is classified by what it shows; anything that is not
    clearly a root is a :class:`UsageError` (the check URL is wrong) that says what to pass instead.
    """
    root = check_url if check_url.endswith("/") else check_url + "/"
    if json_page:
        return _parse_json_root(text, check_url, complete)
    if complete and _cut_short(text):
        raise UsageError(f"the check URL {redact(check_url)} answered a page that was cut short")
    page = _RootPage(root)
    _feed(page, text, check_url, deadline)
    if page.file_link is not None:
        _refuse_project_page(check_url)
    if page.foreign_link is not None:
        raise UsageError(
            f"the check URL {redact(check_url)} is not a simple index: its page links to "
            f"{clean_server_text(page.foreign_link, 100)}, not to project pages; pass the index's simple "
            "URL as --check-url"
        )
    if not page.links and not (
        page.repository_version or any(re.search(r"simple|index", h, re.I) for h in page.headings)
    ):
        # An empty index says so in its title (pypiserver "Simple Index", devpi "… simple list …").
        raise UsageError(
            f"the check URL {redact(check_url)} is not a simple index: an HTML page with no project "
            "links that does not call itself an index; pass the index's simple URL as --check-url"
        )
    return RootListing(check_url, frozenset(page.names) if complete else None)


def _parse_json_root(text: str, check_url: str, complete: bool) -> RootListing:
    if not complete:
        # The start of a large page: PyPI's begins {"meta": {...}, "projects": [...
        key = re.search(r'"(projects|files)"\s*:', text)
        if key is None:
            _refuse_json_root(check_url, "no project list")
        if key.group(1) == "files":
            _refuse_project_page(check_url)
        return RootListing(check_url, None)
    try:
        document: Any = json.loads(text)
    except (ValueError, RecursionError):
        _refuse_json_root(check_url, "not valid JSON")
    if isinstance(document, dict) and "files" in document and "projects" not in document:
        _refuse_project_page(check_url)
    projects = document.get("projects") if isinstance(document, dict) else None
    if not isinstance(projects, list):
        _refuse_json_root(check_url, "no project list")
    names = set()
    for entry in projects:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str):
            _refuse_json_root(check_url, "a project without a name")
        names.add(canonicalize_name(name))
    return RootListing(check_url, frozenset(names))


def _refuse_json_root(check_url: str, what: str) -> NoReturn:
    raise UsageError(
        f"the check URL {redact(check_url)} is not a simple index: its JSON answer has {what}; pass the "
        "index's simple URL as --check-url"
    )


def _refuse_project_page(check_url: str) -> NoReturn:
    parent = check_url.rstrip("/").rsplit("/", 1)[0] + "/"
    raise UsageError(
        f"the check URL {redact(check_url)} is a project page (it lists files), not the index's simple "
        f"root: pass the root, such as {redact(parent)}, as --check-url"
    )
