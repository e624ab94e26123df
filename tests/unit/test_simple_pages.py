"""The rules a page must pass before it is trusted: the index root, and a project page with no file of
the project (which would otherwise read as "not on the index")."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

import pytest

from publish_plugins._simple_pages import parse_root, parse_simple_html, parse_simple_json
from publish_plugins.errors import IndexQueryError, UsageError

ROOT = "http://127.0.0.1:8080/simple/"
PAGE = ROOT + "demo/"


# ---- the root ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page", "names"),
    [
        ('<html><body><a href="demo/">demo</a><a href="other/">other</a></body></html>', {"demo", "other"}),
        ('<html><body><a href="/simple/Demo_Pkg/">Demo_Pkg</a></body></html>', {"demo-pkg"}),
        ('<html><body><a href="http://127.0.0.1:8080/simple/x/">x</a></body></html>', {"x"}),
        # PEP 503: the anchor's text is the name, whatever the href's last segment says.
        ('<html><body><a href="/simple/p/1/">demo</a></body></html>', None),
        ("<html><head><title>Simple Index</title></head><body></body></html>", set()),
        ('<html><head><meta name="pypi:repository-version" content="1.1"></head><body></body></html>', set()),
        ("<html><head><title>alice/dev: simple list</title></head><body></body></html>", set()),
    ],
)
def test_a_root_lists_its_projects(page: str, names: set[str] | None) -> None:
    if names is None:  # a link below a project page is not a project page: not a root
        with pytest.raises(UsageError, match="not to project pages"):
            parse_root(page, ROOT, json_page=False, complete=True)
        return
    assert parse_root(page, ROOT, json_page=False, complete=True).projects == names


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ("<html><body><h1>Welcome</h1><a href='/login'>Log in</a></body></html>", "links to /login"),
        ("<html><body><h1>Welcome</h1></body></html>", "does not call itself an index"),
        ("<html><body>It works!</body></html>", "does not call itself an index"),
        ('<html><body><a href="/packages/demo-1.0.tar.gz">x</a></body></html>', "is a project page"),
        ('<html><body><a href="https://nginx.org/">nginx</a></body></html>', "links to https://nginx.org/"),
        ('<html><body><a href="demo/">demo</a>', "cut short"),
    ],
)
def test_a_page_that_is_no_root_stops_the_run(page: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_root(page, ROOT, json_page=False, complete=True)


@pytest.mark.parametrize(
    "document",
    [
        {"projects": ["demo"]},
        {"projects": {"demo": {}}},
        {"projects": [{"name": 1}]},
        {"meta": {"api-version": "1.0"}},
    ],
)
def test_a_json_root_must_list_named_projects(document: object) -> None:
    """A root whose list cannot be read is never "does not list the project"."""
    with pytest.raises(UsageError, match="its JSON answer has"):
        parse_root(json.dumps(document), ROOT, json_page=True, complete=True)


def test_a_json_root_cut_short_is_refused() -> None:
    with pytest.raises(UsageError, match="not valid JSON"):
        parse_root('{"projects": [{"name": "demo"}', ROOT, json_page=True, complete=True)


def test_the_start_of_a_large_root_is_classified_without_names() -> None:
    start = '{"meta": {"_last-serial": 1, "api-version": "1.4"}, "projects": [{"name": "0"}, {"na'
    assert parse_root(start, ROOT, json_page=True, complete=False).projects is None
    with pytest.raises(UsageError, match="is a project page"):
        parse_root('{"meta": {}, "name": "demo", "files": [{"filen', ROOT, json_page=True, complete=False)


# ---- a project page with none of the project's files --------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        "<html><head><title>Links for demo</title></head><body></body></html>",
        "<html><head><title>alice/dev: links for demo</title></head><body></body></html>",
        "<html><body><h1>Links for Demo</h1></body></html>",
        '<html><head><meta name="pypi:repository-version" content="1.0"></head><body></body></html>',
    ],
)
def test_an_empty_project_page_that_names_the_project(page: str) -> None:
    assert parse_simple_html(page, PAGE, "demo").files == ()


@pytest.mark.parametrize(
    "page",
    [
        "<html><head><title>Links for demo-extra</title></head><body></body></html>",
        "<html><head><title>Links for demonstration</title></head><body></body></html>",
        "<html><head><title>No links for demo here, sorry</title></head><body></body></html>",
        # A root page carries the meta too: with its links, it is no empty project page.
        '<html><head><meta name="pypi:repository-version" content="1.1"></head>'
        '<body><a href="/simple/a/">a</a></body></html>',
    ],
)
def test_a_page_that_does_not_name_exactly_this_project_is_refused(page: str) -> None:
    with pytest.raises(IndexQueryError, match="does not name the project"):
        parse_simple_html(page, PAGE, "demo")


def test_a_json_page_with_no_file_of_ours_must_name_the_project() -> None:
    with pytest.raises(IndexQueryError, match="does not name its project"):
        parse_simple_json('{"files": [], "total": 0}', PAGE, "demo")
    assert parse_simple_json('{"name": "demo", "files": []}', PAGE, "demo").files == ()


@pytest.mark.parametrize("prefix", ["\ufeff", '<?xml version="1.0"?>\n', "<!-- generated -->\n"])
def test_a_page_cut_short_is_refused_whatever_comes_before_html(prefix: str) -> None:
    page = prefix + '<html><body><a href="/p/demo-1.0.tar.gz#sha256=' + "ab" * 32 + '">x</a>'
    with pytest.raises(IndexQueryError, match="truncated"):
        parse_simple_html(page, PAGE, "demo")


def test_parsing_a_page_stops_at_the_deadline() -> None:
    """Parsing is bounded like the read: 16 MB of links is not parsed past the request's deadline."""
    page = "<html><body>" + '<a href="a/">a</a>' * 1_000_000 + "</body></html>"
    with pytest.raises(IndexQueryError, match="took longer than the time limit"):
        parse_simple_html(page, PAGE, "demo", deadline=time.monotonic())


@pytest.mark.parametrize(
    ("value", "when"),
    [
        ("2026-11-02T10:20:30.123456Z", datetime(2026, 11, 2, 10, 20, 30, 123456, tzinfo=timezone.utc)),
        ("2026-11-02T10:20:30+00:00", datetime(2026, 11, 2, 10, 20, 30, tzinfo=timezone.utc)),
        ("2026-11-02T10:20:30", datetime(2026, 11, 2, 10, 20, 30, tzinfo=timezone.utc)),
        ("yesterday", None),
        (1767225600, None),
        ("9" * 100, None),
        (None, None),
    ],
)
def test_pep_700_upload_times_are_read_and_never_guessed(value: object, when: datetime | None) -> None:
    entry = {"filename": "demo-1.0.tar.gz", "url": "demo-1.0.tar.gz", "hashes": {}, "upload-time": value}
    page = parse_simple_json(json.dumps({"name": "demo", "files": [entry]}), PAGE, "demo")
    assert page.files[0].upload_time == when
