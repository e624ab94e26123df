"""Faults on the wire between ``safe-publish`` and a real index, injected by the fault proxy.

For every fault: the exit code and the one ``error:`` line a user sees, what the index holds afterwards
(bytes compared), and that a re-run once the fault has cleared exits 0 with every file on the index
exactly once. Transient faults must be absorbed by the retries without uploading anything twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from tests.integration.cli_support import error_line, has_line, run_cli, run_main
from tests.support.commands import creds
from tests.support.dists import DistFactory
from tests.support.index_state import assert_published_once, listed, stored
from tests.support.origin import RecordingServer
from tests.support.proxy import FaultProxy
from tests.support.servers import PEP691_JSON, Index, PypiServer, free_port

RETRIES_1 = ["--retries", "1"]


@dataclass(frozen=True)
class Ctx:
    """What a fault rule and its expected message need to know about the test."""

    project: str
    wheel: str
    origin: str  # the proxy's origin, e.g. http://127.0.0.1:PORT
    other: str  # the other origin's root URL

    def fill(self, text: str) -> str:
        return text.format(project=self.project, wheel=self.wheel, origin=self.origin, other=self.other)


Install = Callable[[FaultProxy, Ctx, "int | None"], object]


@dataclass(frozen=True)
class Fault:
    """A fault and what the user must see when it persists through every retry."""

    id: str
    install: Install
    message: tuple[str, ...]  # fragments of the one error line ({project}, {wheel}, {origin}, {other})
    retry: str | None = None  # fragment of the retry warning, when the fault is worth retrying
    args: tuple[str, ...] = ()
    upload_fault: bool = True  # the fault hits the upload (a transient one costs one extra POST)


def _status(code: int, where: str, retry_after: str | None = None) -> Install:
    headers = {"Retry-After": retry_after} if retry_after else {}
    if where == "upload":
        return lambda proxy, ctx, times: proxy.status(code, headers=headers, method="POST", times=times)
    return lambda proxy, ctx, times: proxy.status(
        code, headers=headers, method="GET", path=ctx.fill("/simple/{project}/"), times=times
    )


def _upload_status(code: int, phrase: str, retry_after: str | None = None) -> Fault:
    suffix = "-retry-after" if retry_after else ""
    return Fault(
        f"upload-{code}{suffix}",
        _status(code, "upload", retry_after),
        (f"{{wheel}}: {code} {phrase} (gave up after 2 tries)",),
        # Retry-After: 1 shows as a 1 s wait; without it the test backoff (0.01 s) shows as 0.0 s.
        retry=f"{{wheel}}: {code} {phrase}; retry 1 in {'1.0' if retry_after else '0.0'} s",
    )


def _check_status(code: int, phrase: str, retry_after: str | None = None) -> Fault:
    suffix = "-retry-after" if retry_after else ""
    page = "{origin}/simple/{project}/"
    return Fault(
        f"check-{code}{suffix}",
        _status(code, "check", retry_after),
        (f"the index answered {code} {phrase} for {page} (gave up after 2 tries)",),
        retry=f"checking {{project}}: the index answered {code} {phrase} for {page}; "
        f"retry 1 in {'1.0' if retry_after else '0.0'} s",
        upload_fault=False,
    )


FAULTS = [
    Fault(
        "reset-mid-upload-body",
        lambda proxy, ctx, times: proxy.reset_mid_body(2048, method="POST", times=times),
        ("{wheel}: the connection broke", "(gave up after 2 tries)"),
        retry="{wheel}: the connection broke",
    ),
    Fault(
        "connection-reset-on-connect",
        lambda proxy, ctx, times: proxy.refuse(times=times),
        # The first connection reads the start of the index root (is the check URL one?); "2 tries": the
        # read was retried on a connection of its own.
        ("cannot read {origin}/simple/:", "(gave up after 2 tries)"),
        # No retry line to expect once the fault clears: the run's first connections are opened while it
        # starts (_early_connections), and a reset one is replaced before any request is sent on it.
        retry=None,
        upload_fault=False,
    ),
    _upload_status(502, "Bad Gateway"),
    _upload_status(502, "Bad Gateway", retry_after="1"),
    _upload_status(503, "Service Unavailable"),
    _upload_status(503, "Service Unavailable", retry_after="1"),
    _upload_status(429, "Too Many Requests", retry_after="1"),
    _check_status(502, "Bad Gateway"),
    _check_status(502, "Bad Gateway", retry_after="1"),
    _check_status(503, "Service Unavailable"),
    _check_status(503, "Service Unavailable", retry_after="1"),
    _check_status(429, "Too Many Requests", retry_after="1"),
    Fault(
        "upload-read-timeout",
        lambda proxy, ctx, times: proxy.stall(method="POST", times=times),
        ("{wheel}: the server did not answer in time", "(gave up after 2 tries)"),
        retry="{wheel}: the server did not answer in time",
        args=("--timeout", "1"),
    ),
    Fault(
        "check-read-timeout",
        lambda proxy, ctx, times: proxy.stall(method="GET", path=ctx.fill("/simple/{project}/"), times=times),
        (
            "no complete answer from {origin}/simple/{project}/ within 1 s (--timeout)",
            "(gave up after 2 tries)",
        ),
        retry="checking {project}: no complete answer from {origin}/simple/{project}/ within 1 s",
        args=("--timeout", "1"),
        upload_fault=False,
    ),
    Fault(
        "check-401",
        _status(401, "check"),
        ("the index refused to list {project} (401 Unauthorized)", "check the credentials"),
        upload_fault=False,
    ),
    Fault(
        "check-403",
        _status(403, "check"),
        ("the index refused to list {project} (403 Forbidden)", "check the credentials"),
        upload_fault=False,
    ),
    Fault(
        "check-redirect-to-a-login-page",
        lambda proxy, ctx, times: proxy.redirect(
            ctx.fill("{other}login?next=/simple/{project}/"),
            code=302,
            method="GET",
            path=ctx.fill("/simple/{project}/"),
            times=times,
        ),
        (
            "{origin}/simple/{project}/ redirected to another origin ({other}login?next=/simple/{project}/)",
            "refusing",
        ),
        upload_fault=False,
    ),
    Fault(
        "upload-redirect-307",
        lambda proxy, ctx, times: proxy.redirect(ctx.other + "legacy/", method="POST", times=times),
        ("{wheel}: the upload URL redirected to {other}legacy/", "uploads never follow redirects"),
    ),
    Fault(
        "upload-redirect-301",
        lambda proxy, ctx, times: proxy.redirect(ctx.other, code=301, method="POST", times=times),
        ("{wheel}: the upload URL redirected to {other}", "uploads never follow redirects"),
    ),
]


def _context(proxy: FaultProxy, project: str, wheel: Path, other: RecordingServer) -> Ctx:
    return Ctx(project, wheel.name, proxy.url.rstrip("/"), other.url)


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.id for fault in FAULTS])
def test_fault_fails_in_one_line_and_rerun_completes(
    fault: Fault,
    *,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    other_origin: RecordingServer,
    tmp_path: Path,
) -> None:
    """A fault that outlasts the retries: exit 1, one line naming the file or page and the cause,
    nothing on the index, nothing sent to another origin.

    Then the re-run, while the fault is clearing (a retried fault strikes once more, and must be absorbed
    by a retry that honours Retry-After): exit 0, every file once with the local bytes, and the only
    extra POST is the one the fault ate, so nothing was uploaded twice.
    """
    files = dists.release(unique_name, "1.0")
    proxy = fault_proxy(pypiserver.url)
    ctx = _context(proxy, unique_name, files[0], other_origin)
    fault.install(proxy, ctx, None)
    args = [*creds(pypiserver, proxy.url), *fault.args, *map(str, files)]

    result = run_cli([*args, "--retries", "1"], cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    line = error_line(result)
    for fragment in fault.message:
        assert ctx.fill(fragment) in line
    if fault.retry is not None:
        assert ctx.fill(fault.retry) in result.stderr
    assert stored(pypiserver, unique_name) == {}
    assert other_origin.seen == []

    proxy.clear_faults()
    proxy.reset_counters()
    if fault.retry is not None:
        fault.install(proxy, ctx, 1)
    again = run_main([*args, "--retries", "2"], cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    assert "2 uploaded" in again.stderr
    if fault.retry is not None:
        assert ctx.fill(fault.retry) in again.stderr
    extra = 1 if fault.retry is not None and fault.upload_fault else 0
    assert len(proxy.posts) == len(files) + extra
    assert_published_once(pypiserver, unique_name, files)


def test_connection_refused_on_check(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """Nothing listens at the index URL: exit 1, one line naming the page and the refusal; re-run OK."""
    files = dists.release(unique_name, "1.0")
    closed = f"http://127.0.0.1:{free_port()}/"

    result = run_cli([*creds(pypiserver, closed), *RETRIES_1, *map(str, files)], cwd=tmp_path)

    assert result.returncode == 1
    line = error_line(result)
    assert f"cannot read {closed}simple/:" in line  # the first read: the start of the index root
    assert "refused" in line.lower()
    assert "(gave up after 2 tries)" in line
    assert stored(pypiserver, unique_name) == {}
    again = run_main([*creds(pypiserver), *map(str, files)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert_published_once(pypiserver, unique_name, files)


def test_connection_refused_on_upload(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """The check answers but the upload URL refuses connections: exit 1 naming the file; re-run OK."""
    files = dists.release(unique_name, "1.0")
    closed = f"http://127.0.0.1:{free_port()}/"
    check = ["--check-url", pypiserver.simple_url]

    result = run_cli([*creds(pypiserver, closed), *check, *RETRIES_1, *map(str, files)], cwd=tmp_path)

    assert result.returncode == 1
    line = error_line(result)
    assert f"{files[0].name}: cannot connect" in line
    assert "refused" in line.lower()
    assert "(gave up after 2 tries)" in line
    assert stored(pypiserver, unique_name) == {}
    again = run_main([*creds(pypiserver), *map(str, files)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert_published_once(pypiserver, unique_name, files)


# ---- the check reads a broken page ---------------------------------------------------------------


def _truncated(page: bytes) -> bytes:
    return page[: len(page) // 2]


def _bad_link_html(page: bytes) -> bytes:
    # A link whose URL cannot even be parsed (an unclosed IPv6 host), inside an otherwise fine page.
    return page.replace(b'href="', b'href="http://[', 1)


def _files_not_a_list(page: bytes) -> bytes:
    document = json.loads(page)
    document["files"] = {"not": "a list"}
    return json.dumps(document).encode()


def _bad_file_url_json(page: bytes) -> bytes:
    document = json.loads(page)
    document["files"][0]["url"] = "http://[::1/unclosed"
    return json.dumps(document).encode()


def _hashes_not_an_object(page: bytes) -> bytes:
    document = json.loads(page)
    document["files"][0]["hashes"] = ["sha256", "0" * 64]
    return json.dumps(document).encode()


@dataclass(frozen=True)
class BrokenPage:
    id: str
    index: str  # fixture name: pypiserver serves HTML, devpi JSON
    mangle: Callable[[bytes], bytes]
    message: tuple[str, ...]


BROKEN_PAGES = [
    BrokenPage("truncated-html", "pypiserver", _truncated, ("truncated simple page at {page}",)),
    BrokenPage("unparsable-link-html", "pypiserver", _bad_link_html, ("malformed", "{page}")),
    BrokenPage("truncated-json", "devpi_index", _truncated, ("malformed JSON simple page at {page}",)),
    BrokenPage("files-not-a-list-json", "devpi_index", _files_not_a_list, ("no 'files' list", "{page}")),
    BrokenPage(
        "hashes-not-an-object-json", "devpi_index", _hashes_not_an_object, ("bad file entry", "{page}")
    ),
    BrokenPage("unparsable-url-json", "devpi_index", _bad_file_url_json, ("malformed", "{page}")),
]


@pytest.mark.parametrize("broken", BROKEN_PAGES, ids=[b.id for b in BROKEN_PAGES])
def test_broken_simple_page_stops_before_uploading(
    broken: BrokenPage,
    *,
    request: pytest.FixtureRequest,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """The project page is cut short or malformed: no decision can be trusted, so exit 1 naming the
    page, no upload at all, the index unchanged; the re-run with the real page publishes the rest."""
    index: Index = request.getfixturevalue(broken.index)
    wheel, sdist = dists.release(unique_name, "1.0")
    first = run_main([*creds(index), str(wheel)], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    page_url = f"{index.simple_url}{unique_name}/"
    with httpx.Client(trust_env=False, timeout=30) as client:
        page = client.get(page_url, headers={"Accept": f"{PEP691_JSON}, text/html;q=0.1"}).content
    proxy = fault_proxy(index.url)
    path = urlsplit(page_url).path
    proxy.replace_body(broken.mangle(page), status=200, method="GET", path=path, times=None)
    args = [*creds(index, proxy.url_for(index.url)), *RETRIES_1, str(wheel), str(sdist)]

    result = run_cli(args, cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    line = error_line(result)
    for fragment in broken.message:
        assert fragment.format(page=proxy.url_for(page_url)) in line
    assert proxy.posts == []
    assert proxy.upload_bytes == 0
    assert stored(index, unique_name) == {wheel.name: wheel.read_bytes()}

    proxy.clear_faults()
    again = run_main(args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "1 uploaded, 1 skipped" in again.stderr
    assert_published_once(index, unique_name, [wheel, sdist])


# ---- the answer to an upload is lost ------------------------------------------------------------


def test_lost_upload_answer_counts_as_done(
    any_index: Index,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """The server stores each file but the answer never arrives: the re-check finds the identical file
    and counts it as done. Exit 0, one POST per file (never uploaded twice), each file once."""
    files = dists.release(unique_name, "1.0")
    proxy = fault_proxy(any_index.url)
    proxy.drop_response(method="POST", times=None)
    report = tmp_path / "report.json"
    args = [*creds(any_index, proxy.url_for(any_index.url)), "--report", str(report), *map(str, files)]

    result = run_cli(args, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for path in files:
        assert has_line(result.stderr, path.name, "the index holds the identical file now")
    assert len(proxy.posts) == len(files)
    assert_published_once(any_index, unique_name, files)
    data = json.loads(report.read_text())
    assert data["exit_code"] == 0
    assert [entry["action"] for entry in data["files"]] == ["skipped-identical"] * len(files)
    assert all("after the upload attempt" in entry["reason"] for entry in data["files"])

    proxy.clear_faults()
    proxy.reset_counters()
    again = run_main(args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 uploaded, 2 skipped" in again.stderr
    assert proxy.posts == []
    assert sorted(listed(any_index, unique_name)) == sorted(path.name for path in files)
