"""Simple index pages (PEP 503 HTML and PEP 691 JSON) → the files an index lists, with hashes."""

from __future__ import annotations

import json

import pytest

from publish_plugins._simple_index import serves_a_root
from publish_plugins._simple_pages import parse_simple_html, parse_simple_json
from publish_plugins.errors import IndexQueryError

PAGE = "http://127.0.0.1:8080/simple/tiny-pkg-demo/"

PYPISERVER_HTML = """<!DOCTYPE html>
<html>
  <head><title>Links for tiny-pkg-demo</title></head>
  <body>
    <h1>Links for tiny-pkg-demo</h1>
    <a href="/packages/tiny_pkg_demo-0.1.0-py3-none-any.whl#sha256=bc2852aa">tiny_pkg_demo-0.1.0-py3-none-any.whl</a><br>
    <a href="/packages/tiny_pkg_demo-0.1.0.tar.gz#sha256=C7B0F1">tiny_pkg_demo-0.1.0.tar.gz</a><br>
  </body>
</html>
"""

DEVPI_HTML = """<!DOCTYPE html><html><body>
alice/dev <a href="../../+f/bc2/85263dbe9305d/tiny_pkg_demo-0.1.0-py3-none-any.whl#sha256=bc28" data-requires-python="&gt;=3.8">tiny_pkg_demo-0.1.0-py3-none-any.whl</a><br/>
</body></html>"""


def test_pypiserver_page() -> None:
    """Absolute-path links resolve against the page; the fragment gives a lowercase hash."""
    files = parse_simple_html(PYPISERVER_HTML, PAGE).files
    assert [f.filename for f in files] == [
        "tiny_pkg_demo-0.1.0-py3-none-any.whl",
        "tiny_pkg_demo-0.1.0.tar.gz",
    ]
    assert files[0].url == "http://127.0.0.1:8080/packages/tiny_pkg_demo-0.1.0-py3-none-any.whl"
    assert files[0].hashes == {"sha256": "bc2852aa"}
    assert files[1].hashes == {"sha256": "c7b0f1"}


def test_devpi_relative_links_and_surrounding_text() -> None:
    """Relative hrefs and text outside the anchors (devpi) are handled."""
    files = parse_simple_html(DEVPI_HTML, "http://h/alice/dev/+simple/tiny-pkg-demo/").files
    assert files[0].url == "http://h/alice/dev/+f/bc2/85263dbe9305d/tiny_pkg_demo-0.1.0-py3-none-any.whl"


def test_links_without_hash_and_odd_fragments() -> None:
    """No fragment, an old Gitea ``sha256-`` fragment and garbage fragments never break parsing."""
    html = (
        '<html><body><a href="a-1.0.tar.gz">a</a><a href="b-1.0.tar.gz#sha256-ABCD">b</a>'
        '<a href="c-1.0.tar.gz#nonsense">c</a><a>no href</a><a href="d-1.0.tar.gz" data-yanked="">d</a></body></html>'
    )
    files = parse_simple_html(html, PAGE).files
    assert [(f.filename, dict(f.hashes)) for f in files] == [
        ("a-1.0.tar.gz", {}),
        ("b-1.0.tar.gz", {"sha256": "abcd"}),
        ("c-1.0.tar.gz", {}),
        ("d-1.0.tar.gz", {}),
    ]
    assert files[3].yanked


def test_percent_encoded_filename() -> None:
    """The file name is the unquoted last path component of the URL."""
    files = parse_simple_html('<a href="/p/a%2Bb-1.0.tar.gz">x</a>', PAGE).files
    assert files[0].filename == "a+b-1.0.tar.gz"


def test_truncated_html_is_an_error() -> None:
    """A page that opens <html> and never closes it was cut short: an error, not an empty listing."""
    with pytest.raises(IndexQueryError, match="truncated"):
        parse_simple_html(PYPISERVER_HTML[: len(PYPISERVER_HTML) // 2], PAGE)


def test_json_page() -> None:
    """PEP 691 JSON: files with hashes dicts, relative URLs resolved, yanked kept."""
    document = {
        "meta": {"api-version": "1.1"},
        "name": "tiny-pkg-demo",
        "files": [
            {"filename": "tiny_pkg_demo-0.1.0.tar.gz", "url": "../../f/x.tar.gz", "hashes": {"sha256": "AB"}},
            {
                "filename": "tiny_pkg_demo-0.2.0.tar.gz",
                "url": "https://files.example/y",
                "hashes": {},
                "yanked": "bad",
            },
        ],
    }
    files = parse_simple_json(json.dumps(document), PAGE).files
    assert files[0].url == "http://127.0.0.1:8080/f/x.tar.gz"
    assert files[0].hashes == {"sha256": "ab"}
    assert files[1].hashes == {}
    assert files[1].yanked


@pytest.mark.parametrize(
    "document",
    [
        "{",
        "[]",
        '{"files": 3}',
        '{"files": [1]}',
        '{"files": [{"filename": 1, "url": "u", "hashes": {}}]}',
        '{"files": [{"filename": "a", "url": "u", "hashes": []}]}',
        '{"meta": {"api-version": "2.0"}, "files": []}',
    ],
    ids=["truncated", "list", "files-not-list", "file-not-object", "bad-filename", "bad-hashes", "api-v2"],
)
def test_malformed_json_is_an_error(document: str) -> None:
    """Malformed JSON pages raise the project's own IndexQueryError, never anything else."""
    with pytest.raises(IndexQueryError):
        parse_simple_json(document, PAGE)


def test_matching_finds_files_by_identity_and_parses_each_listed_name_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A project with a long history lists thousands of files; a release compares each of its files
    # against the page, so parsing the listed names again for every local file grows as files x listed.
    from publish_plugins import _identity as identity_module
    from publish_plugins._identity import identity_of

    parsed: list[str] = []
    real = identity_module.identity_of

    def counting(filename: str) -> identity_module.Identity:
        parsed.append(filename)
        return real(filename)

    monkeypatch.setattr(identity_module, "identity_of", counting)
    listed = [f"demo-1.{minor}.0-py3-none-any.whl" for minor in range(50)] + [
        "Demo-1.7.0.tar.gz",
        "demo-1.7.0.zip",
        "not a distribution.txt",
    ]
    links = "".join(f'<a href="/packages/{name}#sha256={"0" * 64}">{name}</a>' for name in listed)
    page = parse_simple_html(f"<html><body>{links}</body></html>", "http://127.0.0.1/simple/demo/")

    wheel = page.matching(identity_of("demo-1.7.0-py3-none-any.whl"))
    sdist = page.matching(identity_of("demo-1.7.0.tar.gz"))
    assert [remote.filename for remote in wheel] == ["demo-1.7.0-py3-none-any.whl"]
    # PEP 625 spelling and the legacy .zip sdist are both the release's sdist.
    assert [remote.filename for remote in sdist] == ["Demo-1.7.0.tar.gz", "demo-1.7.0.zip"]
    assert page.matching(identity_of("demo-9.0.0-py3-none-any.whl")) == []
    for minor in range(50):
        page.matching(identity_of(f"demo-1.{minor}.0-py3-none-any.whl"))
    # Once per listed distribution name, however many local files look it up; a link that is no
    # distribution (the .txt) is not even kept.
    assert len(parsed) == len(listed) - 1


@pytest.mark.parametrize(
    ("check_url", "expected"),
    [
        ("https://pypi.example.com/simple/", True),
        ("http://127.0.0.1:3141/alice/dev/+simple/", True),
        ("https://gitlab.example.com/api/v4/projects/42/packages/pypi/simple", True),
        ("https://gitea.example.com/api/packages/alice/pypi/simple/", False),
        ("https://codeberg.org/api/packages/alice/pypi/simple", False),
    ],
)
def test_only_gitea_and_forgejo_serve_no_root_page(check_url: str, expected: bool) -> None:
    assert serves_a_root(check_url) is expected
