"""A hostile or misconfigured index: every answer that is not a verified "not here" stops the run.

The index is a real pypiserver that accepts overwrites (``--overwrite``, as devpi volatile indexes and
many company indexes do), already holding the release; the local file has the same name and other
content. The fault proxy in front of it answers the project page (or the check URL) the way a broken
proxy, a CDN, a login portal or an attacker would. Had any of these answers been read as "absent", the
run would have uploaded and replaced the published file with exit 0. Each test asserts the exit code, the
one error line, that no upload was sent and that the index still holds the original bytes.
"""

from __future__ import annotations

import gzip
import json
import secrets
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.conftest import PypiServerFactory
from tests.integration.cli_support import error_line, run_cli, run_main
from tests.support.commands import SAFE_PUBLISH, SHORT_WAITS, cli_env, creds
from tests.support.dists import DistFactory, file_sha256
from tests.support.index_state import local_files, stored
from tests.support.origin import RecordingServer
from tests.support.proxy import FaultProxy
from tests.support.servers import DevpiIndex, DevpiServer, Index, PypiServer

HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/vnd.pypi.simple.v1+json"}
FAST = ["--retries", "0", "--timeout", "3"]


@dataclass
class Published:
    """The index (through a proxy) holding ``original``; ``changed`` has the same name, other bytes."""

    index: Index
    proxy: FaultProxy
    project: str
    original: Path
    changed: Path
    cwd: Path

    @property
    def upload_url(self) -> str:
        return self.proxy.url_for(self.index.url)

    @property
    def root(self) -> str:
        """The simple index root's path (pypiserver ``/simple/``, devpi ``/alice/<index>/+simple/``)."""
        return urlsplit(self.index.simple_url).path

    @property
    def page(self) -> str:
        return f"{self.root}{self.project}/"

    def run(self, *extra: str, check_url: str | None = None) -> subprocess.CompletedProcess[str]:
        args = [*creds(self.index, self.upload_url), *FAST, *extra]
        if check_url is not None:
            args += ["--check-url", check_url]
        self.proxy.reset_counters()
        return run_cli([*args, str(self.changed)], cwd=self.cwd)

    def assert_untouched(self) -> None:
        """Nothing was sent, and the index holds the published bytes, not the local ones."""
        assert self.proxy.posts == []
        assert self.proxy.upload_bytes == 0
        assert stored(self.index, self.project) == {self.original.name: self.original.read_bytes()}


@pytest.fixture(params=["pypiserver-overwrite", "devpi-volatile"])
def published(
    request: pytest.FixtureRequest,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> Published:
    """Both kinds of index that replace a file on upload: pypiserver ``--overwrite`` (HTML pages) and a
    volatile devpi index (devpi's default; PEP 691 JSON pages)."""
    if request.param == "devpi-volatile":
        devpi: DevpiServer = request.getfixturevalue("devpi")
        index: Index = DevpiIndex.create(devpi, f"v-{secrets.token_hex(4)}", volatile=True)
    else:
        index = request.getfixturevalue("pypiserver_overwrite")
    original = dists.wheel(unique_name, "1.0")
    done = run_main([*creds(index), str(original)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    changed = DistFactory(tmp_path / "changed").wheel(unique_name, "1.0", payload=b"changed\n")
    assert changed.name == original.name
    assert changed.read_bytes() != original.read_bytes()
    proxy = fault_proxy(index.url)
    return Published(index, proxy, unique_name, original, changed, tmp_path)


def _gzip_bomb(size: int) -> bytes:
    """``size`` bytes of spaces, gzip-compressed (about 1000:1), built without holding them in memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, compressor.flush()])


def _cut_in_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


OTHER_PROJECT_HTML = (
    b"<!DOCTYPE html><html><head><title>Links for other-project</title></head><body>"
    b'<a href="/packages/other_project-1.0-py3-none-any.whl#sha256=' + b"ab" * 32 + b'">x</a>'
    b"</body></html>"
)

# (id, how the project page answers, a fragment of the error line)
PAGE_ANSWERS: list[tuple[str, Callable[[FaultProxy, str], object], str]] = [
    ("empty-200", lambda proxy, page: proxy.status(200, headers=HTML, path=page), "an empty body"),
    (
        "text-plain-error",
        lambda proxy, page: proxy.status(
            200, headers={"Content-Type": "text/plain"}, body=b"upstream unavailable\n", path=page
        ),
        "with text/plain, not a simple page",
    ),
    (
        "proxy-html-error-page",
        lambda proxy, page: proxy.status(
            200,
            headers=HTML,
            body=b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>",
            path=page,
        ),
        "is an HTML page that is not the simple page of",
    ),
    (
        "json-of-another-shape",
        lambda proxy, page: proxy.status(
            200, headers={"Content-Type": "application/json"}, body=b'{"error": "not found"}', path=page
        ),
        "is not a simple project page",
    ),
    (
        "json-index-root",
        lambda proxy, page: proxy.status(
            200, headers=JSON, body=b'{"meta": {"api-version": "1.0"}, "projects": []}', path=page
        ),
        "the index root's project list",
    ),
    (
        "another-projects-page",
        lambda proxy, page: proxy.status(200, headers=HTML, body=OTHER_PROJECT_HTML, path=page),
        "a file of another project (other-project)",
    ),
    (
        "another-projects-json",
        lambda proxy, page: proxy.status(
            200,
            headers=JSON,
            body=b'{"meta": {"api-version": "1.0"}, "name": "other", "files": []}',
            path=page,
        ),
        "is the page of another project (other)",
    ),
    (
        "redirect-to-a-login-page",
        lambda proxy, page: proxy.redirect("https://sso.example.invalid/login?next=x", code=302, path=page),
        "redirected to another origin (https://sso.example.invalid/login?next=x)",
    ),
    (
        "redirect-to-a-404-elsewhere",
        lambda proxy, page: proxy.redirect("/login?next=x", code=302, path=page),
        "which answered 404: that is not the page of",
    ),
    (
        "json-without-a-name",
        lambda proxy, page: proxy.status(
            200, headers={"Content-Type": "application/json"}, body=b'{"files": [], "total": 0}', path=page
        ),
        "does not name its project",
    ),
    (
        "page-of-a-similar-name",
        lambda proxy, page: proxy.status(
            200,
            headers=HTML,
            body=b"<html><head><title>Links for demo-extra</title></head><body></body></html>",
            path=page,
        ),
        "does not name the project",
    ),
    (
        "unsupported-encoding",
        lambda proxy, page: proxy.status(
            200, headers={**HTML, "Content-Encoding": "br"}, body=b"\x1b\x00\x00", path=page
        ),
        "unsupported Content-Encoding",
    ),
    (
        "gzip-cut-short",
        lambda proxy, page: proxy.status(
            200,
            headers={**HTML, "Content-Encoding": "gzip"},
            body=_cut_in_half(gzip.compress(b"<html><body>" + b"<a>x</a>" * 5000 + b"</body></html>")),
            path=page,
        ),
        "ends early",
    ),
    (
        "endless-page",
        lambda proxy, page: proxy.endless(headers=HTML, path=page),
        "is larger than 64 MiB (decompressed)",
    ),
    (
        "trickling-body",
        lambda proxy, page: proxy.trickle(b"<html>" + b" " * 100, seconds=0.2, headers=HTML, path=page),
        "no complete answer from",
    ),
    (
        "trickling-headers",
        lambda proxy, page: proxy.trickle(
            b"<html></html>", seconds=0.2, headers=HTML, in_head=True, path=page
        ),
        "no complete answer from",
    ),
]


@pytest.mark.parametrize(
    ("answer", "message"), [case[1:] for case in PAGE_ANSWERS], ids=[c[0] for c in PAGE_ANSWERS]
)
def test_an_answer_that_is_not_a_simple_page_stops_the_run(
    published: Published, answer: Callable[[FaultProxy, str], object], message: str
) -> None:
    """Exit 1 with one line naming the page and what came back; nothing uploaded, nothing replaced."""
    answer(published.proxy, published.page)

    result = published.run()

    assert result.returncode == 1, result.stderr
    line = error_line(result)
    assert message in line
    assert "\x1b" not in line
    published.assert_untouched()


def test_a_gzip_bomb_is_refused_in_bounded_memory(published: Published) -> None:
    """A page that inflates to 1 GiB: refused at the 64 MiB cap, and the process never holds the whole."""
    published.proxy.status(
        200, headers={**HTML, "Content-Encoding": "gzip"}, body=_gzip_bomb(1024**3), path=published.page
    )
    args = [*creds(published.index, published.upload_url), *FAST, str(published.changed)]
    # A fresh interpreter whose only child is the command: its children's peak RSS is the command's.
    measure = (
        "import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:]).returncode; "
        "print('maxrss', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(code)"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, str(SAFE_PUBLISH), *SHORT_WAITS, *args],
        cwd=published.cwd,
        env=cli_env(published.cwd),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert "is larger than 64 MiB (decompressed)" in error_line(result)
    peak_kib = int(result.stderr.rsplit("maxrss", 1)[1].split()[0])
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib} KiB: the page was inflated into memory"
    published.assert_untouched()


def test_one_filename_listed_twice_with_different_digests_is_a_conflict(published: Published) -> None:
    """The index lists the name twice, once with the local file's digest: ambiguous, so exit 3 (naming
    both digests), not "identical"."""
    name = published.changed.name
    local = file_sha256(published.changed)
    other = file_sha256(published.original)
    page = (
        f"<!DOCTYPE html><html><head><title>Links for {published.project}</title></head><body>"
        f'<a href="/packages/{name}#sha256={local}">{name}</a>'
        f'<a href="/packages/{name}#sha256={other}">{name}</a>'
        "</body></html>"
    ).encode()
    published.proxy.status(200, headers=HTML, body=page, path=published.page)

    result = published.run()

    assert result.returncode == 3, result.stderr
    assert f"sha256:{local}" in result.stderr
    assert f"sha256:{other}" in result.stderr
    assert "2 times with different content" in result.stderr
    published.assert_untouched()


# ---- the check URL itself --------------------------------------------------------------------------------


def test_check_url_that_is_a_project_page_stops_before_any_upload(published: Published) -> None:
    """``--check-url`` naming the project page: exit 2, and the message names the root to pass."""
    root = published.proxy.url_for(published.index.simple_url)
    result = published.run(check_url=f"{root}{published.project}/")

    assert result.returncode == 2, result.stderr
    line = error_line(result)
    assert "is a project page (it lists files), not the index's simple root" in line
    assert f"pass the root, such as {root}, as --check-url" in line
    published.assert_untouched()


@pytest.mark.parametrize("path", ["simpel/", "pypi/simple/"])
def test_check_url_with_a_misspelled_path_stops_before_any_upload(published: Published, path: str) -> None:
    """A check URL where no index is (pypiserver sends unknown paths to /simple/<x>/, a 404): exit 2."""
    result = published.run(check_url=published.proxy.url + path)

    assert result.returncode == 2, result.stderr
    assert "there is no simple index at the check URL" in error_line(result)
    published.assert_untouched()


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({"Content-Type": "text/plain"}, b"hello", "is not a simple index: it answers text/plain"),
        (HTML, b"<html><body><h1>Welcome</h1><a href='/login'>Log in</a></body></html>", "links to /login"),
        (HTML, b"", "it answers 200 with an empty body"),
        (HTML, b"<html><body><h1>Welcome</h1></body></html>", "does not call itself an index"),
        (JSON, b'{"status": "ok"}', "its JSON answer has no project list"),
        ({"Content-Type": "text/html; charset=bogus"}, b"<html></html>", "does not call itself an index"),
    ],
    ids=["text", "portal", "empty", "no-links", "json-health-check", "unknown-charset"],
)
def test_check_url_that_is_no_index_at_all_stops_before_any_upload(
    published: Published, headers: dict[str, str], body: bytes, message: str
) -> None:
    """A portal, an empty answer, a health check: not an index root, so a 404 below it means nothing."""
    published.proxy.status(200, headers=headers, body=body, path="/portal/", times=None)

    result = published.run(check_url=published.proxy.url + "portal/")

    assert result.returncode == 2, result.stderr
    assert message in error_line(result)
    published.assert_untouched()


def test_check_url_redirecting_to_another_origin_stops_before_any_upload(
    published: Published, other_origin: RecordingServer
) -> None:
    published.proxy.redirect(other_origin.url + "simple/", code=301, path=published.root, times=None)

    result = published.run(check_url=published.proxy.url_for(published.index.simple_url))

    assert result.returncode == 2, result.stderr
    assert f"redirects to another origin ({other_origin.url}simple/)" in error_line(result)
    assert other_origin.seen == []
    published.assert_untouched()


def test_devpi_index_that_does_not_exist_stops_before_any_upload(
    devpi_index: DevpiIndex, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """An upload URL naming a devpi index that does not exist: exit 2 before any upload."""
    missing = devpi_index.url.rstrip("/").rsplit("/", 1)[0] + "/no-such-index/"
    wheel = dists.wheel(unique_name, "1.0")

    result = run_cli(
        ["--repository-url", missing, "-u", "alice", "-p", devpi_index.password, str(wheel)], cwd=tmp_path
    )

    assert result.returncode == 2, result.stderr
    assert "there is no simple index at the check URL" in error_line(result)


# ---- pypiserver as people start it: unknown projects redirected to PyPI ---------------------------------


@pytest.fixture
def fallback_server(pypiserver_factory: PypiServerFactory, other_origin: RecordingServer) -> PypiServer:
    """pypiserver without ``--disable-fallback``: unknown projects get 303 to another index's page."""
    return pypiserver_factory(fallback_url=other_origin.url + "simple/")


def test_first_publish_to_pypiserver_with_its_fallback_works(
    fallback_server: PypiServer,
    other_origin: RecordingServer,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    """The project page of a new project redirects to PyPI (here: a recording server). The root does not
    list the project, so it is verifiably absent: the run publishes, never follows the redirect, and the
    other origin sees no request (so no credential); the re-run skips."""
    files = dists.release(unique_name, "1.0")
    args = [*creds(fallback_server), "-v", *map(str, files)]

    first = run_cli(args, cwd=tmp_path)
    again = run_cli(args, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert "2 uploaded, 0 skipped" in first.stderr
    assert "forwards the request to" in first.stderr  # said at -v
    assert again.returncode == 0, again.stderr
    assert "0 uploaded, 2 skipped" in again.stderr
    assert other_origin.seen == []
    assert stored(fallback_server, unique_name) == local_files(files)


def test_a_listed_project_redirected_to_another_origin_is_an_error(
    fallback_server: PypiServer,
    *,
    other_origin: RecordingServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """The root lists the project, but its page redirects elsewhere: that is not "absent" (exit 1)."""
    wheel = dists.wheel(unique_name, "1.0")
    assert run_main([*creds(fallback_server), str(wheel)], cwd=tmp_path).returncode == 0
    proxy = fault_proxy(fallback_server.url)
    proxy.redirect(f"{other_origin.url}simple/{unique_name}/", code=303, path=f"/simple/{unique_name}/")
    changed = DistFactory(tmp_path / "changed").wheel(unique_name, "1.0", payload=b"changed\n")

    result = run_cli([*creds(fallback_server, proxy.url), *FAST, str(changed)], cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert f"the index lists {unique_name} but sends its page to another origin" in error_line(result)
    assert proxy.posts == []
    assert other_origin.seen == []


def test_report_of_a_refused_answer_says_nothing_was_uploaded(published: Published) -> None:
    published.proxy.status(200, headers=HTML, path=published.page)
    report = published.cwd / "report.json"

    result = published.run("--report", str(report))

    assert result.returncode == 1, result.stderr
    data = json.loads(report.read_text())
    assert data["exit_code"] == 1
    assert data["totals"]["uploaded"] == 0
    published.assert_untouched()


# ---- the answer to an upload --------------------------------------------------------------------------


@pytest.fixture
def fresh(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, fault_proxy: Callable[[str], FaultProxy]
) -> tuple[FaultProxy, Path]:
    return fault_proxy(pypiserver.url), dists.wheel(unique_name, "1.0")


def _upload(
    pypiserver: PypiServer, proxy: FaultProxy, wheel: Path, cwd: Path
) -> subprocess.CompletedProcess[str]:
    return run_cli([*creds(pypiserver, proxy.url), *FAST, str(wheel)], cwd=cwd)


def test_an_upload_answer_that_never_ends_is_cut(
    pypiserver: PypiServer, fresh: tuple[FaultProxy, Path], tmp_path: Path
) -> None:
    """A refusal whose body never ends: its start gives the message (one short line), the rest is not read."""
    proxy, wheel = fresh
    proxy.endless(status=400, headers={"Content-Type": "text/plain"}, piece=b"no " * 20000, method="POST")

    result = _upload(pypiserver, proxy, wheel, tmp_path)

    assert result.returncode == 1, result.stderr
    line = error_line(result)
    assert "the server refused the upload: 400 Bad Request: no no no" in line
    assert len(line) < 600


def test_an_upload_answer_that_trickles_is_timed_out(
    pypiserver: PypiServer, fresh: tuple[FaultProxy, Path], tmp_path: Path
) -> None:
    """The server's answer to an upload, a byte at a time: bounded by --timeout as a whole."""
    proxy, wheel = fresh
    proxy.trickle(b"x" * 200, seconds=0.2, in_head=True, method="POST", times=None)

    result = _upload(pypiserver, proxy, wheel, tmp_path)

    assert result.returncode == 1, result.stderr
    assert "the server did not answer in time" in error_line(result)


def test_server_text_cannot_drive_the_terminal(
    pypiserver: PypiServer, fresh: tuple[FaultProxy, Path], tmp_path: Path
) -> None:
    """Escape sequences and control characters in a refusal (reason phrase, body) are removed."""
    proxy, wheel = fresh
    body = b"<html><body><pre>\x1b]0;pwned\x07\x1b[2J\x1b[31mFile\rname\x08 exists\x9b1m</pre></body></html>"
    proxy.status(400, headers=HTML, body=body, method="POST")

    result = _upload(pypiserver, proxy, wheel, tmp_path)

    assert result.returncode == 1, result.stderr
    line = error_line(result)
    assert "File name exists" in line
    for control in ("\x1b", "\x07", "\x08", "\x9b", "\r", "pwned"):
        assert control not in result.stderr


def test_a_no_hash_download_that_trickles_is_timed_out(
    pypiserver_nohash: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """The index lists the file without a hash, so its copy is downloaded to hash it: that download is
    bounded by --timeout as a whole too, and its failure stops the run (never "absent", never "same")."""
    wheel = dists.wheel(unique_name, "1.0")
    assert run_main([*creds(pypiserver_nohash), str(wheel)], cwd=tmp_path).returncode == 0
    proxy = fault_proxy(pypiserver_nohash.url)
    proxy.trickle(wheel.read_bytes(), seconds=0.2, method="GET", path="/packages/", times=None)

    result = run_cli([*creds(pypiserver_nohash, proxy.url), *FAST, str(wheel)], cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert f"cannot download {wheel.name} from the index to compare it: no complete answer within 3 s" in (
        error_line(result)
    )
    assert proxy.posts == []


def test_a_project_the_root_names_only_in_its_link_text_is_listed(
    fallback_server: PypiServer,
    *,
    other_origin: RecordingServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """PEP 503: the anchor's text is the project's name. A root that lists the project that way (its href
    says something else) lists it: the forward of its page is not "absent" (exit 1)."""
    proxy = fault_proxy(fallback_server.url)
    root = f'<html><body><a href="p-1/">{unique_name}</a></body></html>'.encode()
    # Rules match by path prefix, in the order they were added: the project page's first.
    proxy.redirect(f"{other_origin.url}simple/{unique_name}/", code=303, path=f"/simple/{unique_name}/")
    proxy.status(200, headers=HTML, body=root, path="/simple/", times=None)
    wheel = dists.wheel(unique_name, "1.0")

    result = run_cli([*creds(fallback_server, proxy.url), *FAST, str(wheel)], cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    assert f"the index lists {unique_name} but sends its page to another origin" in error_line(result)
    assert proxy.posts == []


def test_a_credential_echoed_by_the_check_is_never_printed(published: Published) -> None:
    """A proxy that echoes the Authorization header (or the password) in its reason phrase: masked in the
    error line and the report (run_cli also scans all output for every form of the password)."""
    import base64

    basic = base64.b64encode(f"{published.index.username}:{published.index.password}".encode()).decode()
    reason = f"Forbidden for Basic {basic} ({published.index.password})"
    published.proxy.status(403, reason=reason, path=published.page, times=None)
    report = published.cwd / "report.json"

    result = published.run("--report", str(report))

    assert result.returncode == 1, result.stderr
    assert "Forbidden for Basic *****" in error_line(result)
    assert basic not in report.read_text()
    assert published.index.password not in report.read_text()
    published.assert_untouched()


def test_a_download_labelled_gzip_is_hashed_as_stored(
    pypiserver_nohash: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """A server that labels a .tar.gz "Content-Encoding: gzip" (Apache's AddEncoding, S3 metadata): the
    copy is asked for and hashed as stored, as pip does, so an identical sdist is identical (exit 0), not
    a conflict with its inner tar."""
    sdist = dists.sdist(unique_name, "1.0")
    assert run_main([*creds(pypiserver_nohash), str(sdist)], cwd=tmp_path).returncode == 0
    proxy = fault_proxy(pypiserver_nohash.url)
    proxy.status(
        200,
        headers={"Content-Type": "application/octet-stream", "Content-Encoding": "gzip"},
        body=sdist.read_bytes(),
        path=f"/packages/{sdist.name}",
        times=None,
    )

    result = run_cli([*creds(pypiserver_nohash, proxy.url), *FAST, str(sdist)], cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "skipped, identical" in result.stderr
    assert ("GET", f"/packages/{sdist.name}") in proxy.requests
    assert proxy.posts == []
