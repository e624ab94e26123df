"""The simple-page parsers, fuzzed: whatever an index (or a proxy in front of it) sends, reading it either
works or raises the project's own IndexQueryError (exit 1, one line), never anything else.

Examples are derandomized, so every run tries the same inputs (a failure is reproducible, not a flake),
and counts are modest to keep the suite fast. The consumers of a parsed page (a file's identity and
strongest hash) are exercised too: a page that parses into something that crashes later is no better.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from publish_plugins._simple_index import fetch_project_files, verify_index_root
from publish_plugins._simple_pages import ProjectFiles, RootListing, parse_simple_html, parse_simple_json
from publish_plugins.errors import IndexQueryError, PublishError

PAGE = "http://127.0.0.1:8080/simple/demo/"
FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)

# ---- building blocks of near-valid pages ------------------------------------------------------------

FILENAMES = st.one_of(
    st.sampled_from(
        [
            "demo-1.0-py3-none-any.whl",
            "demo-1.0.tar.gz",
            "Demo_Pkg-1.0.zip",
            "demo-1.0-1build-cp311-cp311-manylinux_2_17_x86_64.whl",
            "demo-1.0!!-py3-none-any.whl",
            "demo-.whl",
            "-1.0.tar.gz",
            ".tar.gz",
            "demo-1.0-py3-none-any.whl.metadata",
            "démo-1.0.tar.gz",
            "demo-1.0.TAR.GZ",
            "",
        ]
    ),
    st.text(max_size=40),
)
URL_STARTS = st.sampled_from(
    ["", "/packages/", "../../", "http://127.0.0.1:8080/", "https://files.example/", "//cdn.example/",
     "http://[", "http://[::1]/", "http://[::1/", "https://[fe80::1%25eth0]/", "http://host:99999/",
     "http://user:pw@host/", "file:///", "javascript:", "data:,", "http://ex ample/", "\\\\host\\share\\",
     "%", "%zz/", "%ff%fe/", " ", "\x00", "http://xn--/"]
)  # fmt: skip
FRAGMENTS = st.sampled_from(
    ["", "#sha256=" + "ab" * 32, "#SHA256=" + "AB" * 32, "#md5=" + "0" * 32, "#sha256-" + "cd" * 32,
     "#sha512=" + "ef" * 64, "#blake2b=" + "12" * 32, "#sha256=xyz", "#sha256=", "#=", "#", "#sha256=a",
     "#" + "a" * 300]
)  # fmt: skip
HREFS = st.builds(lambda start, name, fragment: start + name + fragment, URL_STARTS, FILENAMES, FRAGMENTS)
ATTRS = st.sampled_from(
    ["", " data-yanked", ' data-yanked=""', ' data-yanked="reason"', ' data-requires-python="&gt;=3.8"',
     ' data-dist-info-metadata="sha256=' + "ab" * 32 + '"', " rel=internal", ' href="second"', " x=\"unclosed"]
)  # fmt: skip
JUNK = st.sampled_from(
    ["<!--", "-->", "<![CDATA[x]]>", "<!", "<!x", "</a", "<a", "<a href>", "<a href=>", "&#xffffffff;", "&#0;",
     "&#x110000;", "&amp", "<?php ?>", "<script>", "</script>", "\x00", "\ufffd", "<br/>", "<base href=\"http://[\">",
     '<base href="/other/">', "<html>", "</html>", "<!DOCTYPE html>", "<meta charset=utf-16>", "<a/>", "</>"]
)  # fmt: skip


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    """A PEP 503 page with odd links, odd markup and maybe cut short."""
    parts = [
        draw(st.sampled_from(["", "<!DOCTYPE html>", "<html>", "<!DOCTYPE html><html><head></head><body>"]))
    ]
    if draw(st.booleans()):
        parts.append(f'<base href="{draw(URL_STARTS)}">')
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 3)) == 0:
            parts.append(draw(JUNK))
        else:
            href = draw(HREFS).replace('"', "&quot;") if draw(st.booleans()) else draw(HREFS)
            parts.append(f'<a href="{href}"{draw(ATTRS)}>{draw(FILENAMES)}</a><br/>\n')
    parts.append(draw(st.sampled_from(["", "</body></html>", "</html>\n", "</body>"])))
    page = "".join(parts)
    cut = draw(st.integers(0, len(page)))
    return page[:cut] if draw(st.booleans()) else page


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def json_documents(draw: st.DrawFn) -> Any:
    """A PEP 691 project document with entries of the right and the wrong types."""
    document: dict[str, Any] = {}
    if draw(st.booleans()):
        document["meta"] = draw(
            st.one_of(
                st.fixed_dictionaries(
                    {"api-version": st.sampled_from(["1.0", "1.1", "1.4", "2.0", "", "x", "1", 1, None])}
                ),
                JSON_VALUES,
            )
        )
    if draw(st.integers(0, 5)):
        document["name"] = draw(st.one_of(st.just("demo"), JSON_VALUES))
    entry = st.fixed_dictionaries(
        {},
        optional={
            "filename": st.one_of(FILENAMES, JSON_VALUES),
            "url": st.one_of(HREFS, JSON_VALUES),
            "hashes": st.one_of(
                st.dictionaries(
                    st.sampled_from(["sha256", "SHA256", "md5", "sha512", "blake2b", "", "x"]),
                    st.one_of(st.sampled_from(["ab" * 32, "0" * 32, "zz", ""]), JSON_VALUES),
                    max_size=3,
                ),
                JSON_VALUES,
            ),
            "yanked": JSON_VALUES,
            "requires-python": JSON_VALUES,
            "core-metadata": JSON_VALUES,
        },
    )
    files = st.lists(st.one_of(entry, JSON_VALUES), max_size=4)
    if draw(st.integers(0, 5)):
        document["files"] = draw(st.one_of(files, JSON_VALUES))
    return document if draw(st.integers(0, 7)) else draw(JSON_VALUES)


@st.composite
def json_bytes(draw: st.DrawFn) -> bytes:
    """A document serialized in one of the encodings JSON allows, maybe cut short or nested absurdly."""
    text = json.dumps(draw(json_documents()), ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:
        depth = draw(st.integers(1, 100_000))
        text = '{"files": ' + "[" * depth + "]" * depth + "}"
    data = text.encode(draw(st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-32", "latin-1"])), "replace")
    cut = draw(st.integers(0, len(data)))
    return data[:cut] if draw(st.integers(0, 3)) == 0 else data


class WireBody(httpx.SyncByteStream):
    """A body that arrives as from a socket (httpx reads an in-memory ``content=`` body at once)."""

    def __init__(self, *pieces: bytes) -> None:
        self.pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces


def parses_or_refuses(parse: Callable[[], ProjectFiles]) -> None:
    """Parse; IndexQueryError is an acceptable answer, any other exception is a defect."""
    try:
        files = parse()
    except IndexQueryError as error:
        refusal = str(error)
    else:
        for remote in files.files:
            _ = (remote.identity, remote.strongest_hash, remote.filename, remote.url)
        return
    assert "\n" not in refusal  # one line for the user


# ---- the fuzz tests ---------------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=4096))
def test_json_parser_on_arbitrary_bytes(data: bytes) -> None:
    """Any bytes at all into the JSON parser."""
    parses_or_refuses(lambda: parse_simple_json(data, PAGE, "demo"))


@FUZZ
@given(st.text(max_size=2048))
def test_html_parser_on_arbitrary_text(text: str) -> None:
    """Any text at all into the HTML parser."""
    parses_or_refuses(lambda: parse_simple_html(text, PAGE, "demo"))


@FUZZ
@given(html_pages())
@example('<!DOCTYPE html><html><body><a href="http://[/demo-1.0.tar.gz">demo-1.0.tar.gz</a></body></html>')
@example('<html><head><base href="http://[::1/"></head><body><a href="x.whl">x</a></body></html>')
def test_html_parser_on_near_valid_pages(page: str) -> None:
    """Pages that look like an index's but are cut short, malformed or link oddly."""
    parses_or_refuses(lambda: parse_simple_html(page, PAGE, "demo"))


@FUZZ
@given(json_bytes())
@example(
    b'{"meta": {"api-version": "1.1"}, "files": [{"filename": "demo-1.0.tar.gz", "url": "http://[::1/x"}]}'
)
def test_json_parser_on_near_valid_documents(data: bytes) -> None:
    """PEP 691 documents with wrong types, odd URLs, odd encodings, cut short or nested deeply."""
    parses_or_refuses(lambda: parse_simple_json(data, PAGE, "demo"))


CONTENT_TYPES = st.sampled_from(
    ["application/vnd.pypi.simple.v1+json", "application/json", "text/html", "text/html; charset=utf-16",
     "text/html; charset=no-such-charset", "application/vnd.pypi.simple.v1+html", "text/plain", "",
     "application/octet-stream", "APPLICATION/JSON; charset=utf-8"]
)  # fmt: skip


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    CONTENT_TYPES,
    st.one_of(
        json_bytes(), html_pages().map(lambda page: page.encode("utf-8", "surrogatepass")), st.binary()
    ),
)
@example("text/html; charset=utf-16", b"\x00\x00")
def test_reading_a_page_answer_of_any_type(content_type: str, body: bytes) -> None:
    """A 200 answer with any Content-Type (charset included) and any body, through the reading code the
    run uses (an in-memory transport stands in for the server: this is about decoding, not the wire)."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type else {}
        return httpx.Response(200, headers=headers, stream=WireBody(body))

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        parses_or_refuses(
            lambda: (
                fetch_project_files(
                    client, "http://127.0.0.1:8080/simple/", "demo", auth=None, auth_origin=None, timeout=5
                )
                or ProjectFiles("demo", PAGE, ())
            )
        )


@pytest.mark.parametrize(
    "page",
    [
        '<!DOCTYPE html><html><body><a href="/p/demo-1.0.tar.gz#sha256=' + "ab" * 32 + '">d</a>',
        '{"meta": {"api-version": "1.0"}, "files": [{"filename": "demo-1.0.tar.gz", "url": "x", "hashes": {}}',
    ],
    ids=["html", "json"],
)
def test_a_page_cut_short_is_refused_not_read_as_fewer_files(page: str) -> None:
    """A page cut short must not pass for a complete one: a missing file would look "not on the index"."""
    parse = parse_simple_json if page.startswith("{") else parse_simple_html
    with pytest.raises(IndexQueryError):
        parse(page, PAGE, "demo")


# ---- the whole check path: status, headers and body of the answer ----------------------------------------

STATUSES = st.sampled_from(
    [200, 200, 200, 203, 204, 301, 302, 303, 307, 308, 400, 401, 403, 404, 410, 418, 429, 500, 503]
)
ENCODINGS = st.sampled_from(["", "identity", "gzip", "x-gzip", "deflate", "br", "gzip, gzip", "zstd", "GZIP"])
LOCATIONS = st.sampled_from(
    ["", "/simple/demo/", "../demo/", "http://127.0.0.1:8080/simple/demo/", "http://other.example/simple/demo/",
     "https://pypi.org/simple/demo/", "https://sso.example/login?next=/simple/demo/", "http://[::1/x", "ftp://x/",
     "javascript:alert(1)", "http://other.example/simple/other/", "\x1b[31m", "http://other.example/"]
)  # fmt: skip


def _encode(body: bytes, encoding: str, cut: bool) -> bytes:
    import gzip
    import zlib

    if encoding.strip().lower() in ("gzip", "x-gzip"):
        body = gzip.compress(body)
    elif encoding == "deflate":
        body = zlib.compress(body)
    return body[: len(body) // 2] if cut else body


def _outcome(call: Callable[[], Any]) -> Any:
    """What a call returned, or the PublishError it raised (which must be one clean line)."""
    try:
        return call()
    except PublishError as error:
        outcome = error
    assert "\n" not in str(outcome)
    assert "\x1b" not in str(outcome)
    return outcome


def _server(status: int, content_type: str, encoding: str, location: str, body: bytes) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type else {}
        if encoding:
            headers["Content-Encoding"] = encoding
        if location:
            headers["Location"] = location
        return httpx.Response(status, headers=headers, stream=WireBody(body))

    return httpx.MockTransport(answer)


@settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    STATUSES,
    CONTENT_TYPES,
    ENCODINGS,
    LOCATIONS,
    st.one_of(
        json_bytes(), html_pages().map(lambda page: page.encode("utf-8", "surrogatepass")), st.binary()
    ),
    st.booleans(),
)
def test_only_404_410_or_a_verified_forward_reads_as_absent(  # noqa: PLR0917 (hypothesis draws them)
    status: int, content_type: str, encoding: str, location: str, body: bytes, cut: bool
) -> None:
    """Whatever a server answers, through the reading code the run uses: a project page, "absent", or the
    project's own one-line error. "Absent" comes only from 404/410, or from a redirect to the same project
    on another origin that the caller has verified (here: the callback was called and did not raise)."""
    forwards: list[str] = []
    server = _server(status, content_type, encoding, location, _encode(body, encoding, cut))
    with httpx.Client(transport=server) as client:
        page = _outcome(
            lambda: fetch_project_files(
                client,
                "http://127.0.0.1:8080/simple/",
                "demo",
                auth=None,
                auth_origin=None,
                timeout=5,
                forwarded=lambda project, target: forwards.append(target),
            )
        )
    if page is None:
        assert status in (404, 410) or (forwards and status in (301, 302, 303, 307, 308)), status
    elif isinstance(page, ProjectFiles):
        assert status == 200
        for remote in page.files:
            assert remote.identity is None or remote.identity.name == "demo"
    else:
        assert isinstance(page, IndexQueryError)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    STATUSES,
    CONTENT_TYPES,
    ENCODINGS,
    LOCATIONS,
    st.one_of(json_bytes(), html_pages().map(str.encode), st.binary()),
)
@example(200, "text/html; charset=no-such-charset", "", "", b"<html><a href='demo/'>demo</a></html>")
@example(200, "text/html", "", "", b"<html><body><a href='/login'>Log in</a></body></html>")
def test_the_check_url_is_an_index_root_or_the_run_stops(
    status: int, content_type: str, encoding: str, location: str, body: bytes
) -> None:
    """The root check: an RootListing only from a 200; otherwise a usage error or an index error, one line."""
    server = _server(status, content_type, encoding, location, _encode(body, encoding, False))
    with httpx.Client(transport=server) as client:
        root = _outcome(
            lambda: verify_index_root(
                client, "http://127.0.0.1:8080/simple/", auth=None, auth_origin=None, timeout=5
            )
        )
    if isinstance(root, RootListing):
        assert status == 200
    else:
        assert isinstance(root, PublishError)
