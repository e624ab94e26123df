"""Read a simple index: PEP 691 JSON preferred, PEP 503 HTML accepted, one request per project.

Only a verified "not here" lets a file go up: a project is absent when its own page answers 404 or 410
under an index root verified once per run (:func:`verify_index_root`), or when the index forwards the
request to another index's page for the same project and its root does not list it (pypiserver's
fallback to PyPI; the caller decides, see ``forwarded``). Any other answer that is not a parsable simple
page of that project is an error. Every read is bounded: one deadline for a request and its redirects,
a cap on the page's size (decompressed), and the parsing itself against the same deadline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from urllib.parse import unquote, urljoin, urlsplit

from packaging.utils import canonicalize_name

from ._bounded import MAX_PAGE_BYTES, Answer, BadAnswer, BodyTooLarge, read_answer
from ._httpx import httpx
from ._retry import RETRYABLE_STATUS
from ._simple_pages import (
    JSON_TYPES,
    ProjectFiles,
    RemoteFile,
    RootListing,
    parse_root,
    parse_simple_html,
    parse_simple_json,
)
from ._text import clean_server_text
from ._urls import project_page_url, redact, same_origin
from .errors import IndexQueryError, UsageError

__all__ = [
    "ACCEPT",
    "ProjectFiles",
    "RemoteFile",
    "RetryableIndexError",
    "RootListing",
    "fetch_project_files",
    "resolve_location",
    "serves_a_root",
    "verify_index_root",
]

# uv's header, as PEP 691 recommends: JSON first, HTML accepted.
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_MAX_REDIRECTS = 5
# devpi answers an HTML request with the misspelled "text_html" (research/indexes.md §2).
_HTML_TYPES = ("text/html", "application/vnd.pypi.simple.v1+html", "application/xhtml+xml", "text_html", "")
# The start of the index root read to tell a root from a project page: PyPI's whole root is 30 MB.
ROOT_PROBE_BYTES = 64 * 1024
_ROOTLESS = re.compile(r"/api/packages/[^/]+/pypi/simple/?$")


class RetryableIndexError(IndexQueryError):
    """A failure worth another try: connection trouble, 429 or a 5xx (``response`` carries Retry-After)."""

    def __init__(self, message: str, response: Answer | httpx.Response | None = None) -> None:
        self.response = response
        super().__init__(message)


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
    origin they were given for. A 404 means "absent" only for the project's own page: a redirect to some
    other path (a login page) that then answers 404 says nothing. An index may send a project it does not
    have to another index's page for it (pypiserver without ``--disable-fallback`` sends it to PyPI):
    that other index's files are not ours. Such a forward is handed to ``forwarded(project, target)``,
    which returns when the project is verifiably not on this index and raises otherwise; without it, and
    for any other redirect to another origin, the answer is an error.
    """
    page_url = project_page_url(check_url, project)
    url = page_url
    ends = time.monotonic() + timeout  # one deadline for the page and its redirects
    for _ in range(_MAX_REDIRECTS + 1):
        send_auth = auth if auth_origin is not None and same_origin(url, auth_origin) else None
        answer = _read(client, url, auth=send_auth, ends=ends, timeout=timeout)
        if not answer.is_redirect:
            if answer.status in (404, 410) and not _same_page(url, page_url):
                raise IndexQueryError(
                    f"{redact(page_url)} redirected to {_shown(url)}, which answered {answer.status}: that "
                    f"is not the page of {project}; pass the index's own simple URL as --check-url"
                )
            return _project_from_answer(answer, url, project, deadline=ends)
        following = resolve_location(answer, url)
        if same_origin(following, check_url):
            url = following
            continue
        if forwarded is not None and _forwards_project(following, project):
            forwarded(project, clean_server_text(redact(following), 200))
            return None
        raise IndexQueryError(
            f"{redact(url)} redirected to another origin ({_shown(following)}); refusing to take that "
            "as the index's answer: pass the index's own simple URL as --check-url"
        )
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
) -> RootListing:
    """Make sure ``check_url`` is a simple index root, from the start of its page (at most 64 KiB read).

    A 404 on a project page means "absent" only under a real root: a misspelled path, a devpi index that
    does not exist, or a project page given as the root would otherwise make every file look new.
    ``whole`` reads the whole page (within the page cap) so that it lists every project.
    """
    url = check_url if check_url.endswith("/") else check_url + "/"
    limit = MAX_PAGE_BYTES if whole else ROOT_PROBE_BYTES
    ends = time.monotonic() + timeout
    for _ in range(_MAX_REDIRECTS + 1):
        send_auth = auth if auth_origin is not None and same_origin(url, auth_origin) else None
        answer = _read(
            client, url, auth=send_auth, ends=ends, timeout=timeout, max_bytes=limit, partial=not whole
        )
        if not answer.is_redirect:
            break
        following = resolve_location(answer, url)
        if not same_origin(following, check_url):
            raise UsageError(
                f"the check URL {redact(check_url)} redirects to another origin ({_shown(following)}): "
                "pass the index's simple URL itself as --check-url"
            )
        url = following
    else:
        raise IndexQueryError(f"too many redirects reading {redact(check_url)}")
    _check_root_status(answer, check_url)
    if not answer.body.strip():
        raise UsageError(
            f"the check URL {redact(check_url)} is not a simple index: it answers 200 with an empty body; "
            "pass the index's simple URL as --check-url"
        )
    try:
        text = answer.body.decode(answer.charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset
        text = answer.body.decode("utf-8", errors="replace")
    json_page = answer.content_type in JSON_TYPES or text.lstrip().startswith("{")
    if not json_page and answer.content_type not in _HTML_TYPES:
        raise UsageError(
            f"the check URL {redact(check_url)} is not a simple index: it answers "
            f"{clean_server_text(answer.content_type, 60)}; pass the index's simple URL as --check-url"
        )
    return parse_root(text, check_url, json_page=json_page, complete=answer.complete, deadline=ends)


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


def _read(
    client: httpx.Client,
    url: str,
    *,
    auth: httpx.Auth | None,
    ends: float,
    timeout: float,
    max_bytes: int = MAX_PAGE_BYTES,
    partial: bool = False,
) -> Answer:
    """One GET within what is left until ``ends``; ``timeout`` is the whole budget, for messages."""
    try:
        remaining = ends - time.monotonic()
        if remaining <= 0:
            raise httpx.ReadTimeout("no time left")
        return read_answer(
            client,
            "GET",
            url,
            headers={"Accept": ACCEPT, "Cache-Control": "no-cache"},
            auth=auth,
            timeout=remaining,
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


def resolve_location(answer: Answer, url: str) -> str:
    """The absolute http(s) URL a redirect points to, or an IndexQueryError."""
    try:
        following = urljoin(url, answer.headers["Location"].strip())
        httpx.URL(following)
    except (ValueError, httpx.InvalidURL):
        raise IndexQueryError(f"{redact(url)} redirected to an invalid URL") from None
    if urlsplit(following).scheme not in ("http", "https"):
        raise IndexQueryError(f"{redact(url)} redirected to a URL that is not http(s)")
    return following


def _same_page(url: str, page_url: str) -> bool:
    """The project's own page, whatever the slash at its end (the path is compared, origins are equal)."""
    return urlsplit(url).path.rstrip("/") == urlsplit(page_url).path.rstrip("/")


def _forwards_project(target: str, project: str) -> bool:
    """Whether a redirect goes to the same project's page on another simple index (a fallback)."""
    segments = [part for part in urlsplit(target).path.split("/") if part]
    return bool(segments) and canonicalize_name(unquote(segments[-1])) == project


def _project_from_answer(answer: Answer, url: str, project: str, *, deadline: float) -> ProjectFiles | None:
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
    if content_type in JSON_TYPES:
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
    text = text.removeprefix("\ufeff")
    if text.lstrip().startswith("{"):  # a JSON page with an odd Content-Type
        return parse_simple_json(text, url, project)
    return parse_simple_html(text, url, project, deadline=deadline)


def _reason(answer: Answer) -> str:
    return clean_server_text(answer.reason, 80)


def _shown(url: str) -> str:
    return clean_server_text(redact(url), 200)


def _short(exc: BaseException) -> str:
    return clean_server_text(str(exc), 200) or type(exc).__name__
