"""Races: concurrent publishers of one release, two publishers of one filename, a file rewritten mid-upload.

The races are made deterministic by a gate in the proxy that holds uploads at the door: every publisher
has then finished its index check (and found nothing) before any upload reaches the server, so the
rejection → re-check path is really taken, not just possible.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.integration.cli_support import (
    GatedProxy,
    error_line,
    finish,
    has_line,
    run_cli,
    run_main,
    start_cli,
)
from tests.support.commands import creds
from tests.support.dists import DistFactory, file_sha256, make_large_wheel
from tests.support.index_state import assert_published_once, stored
from tests.support.proxy import FaultProxy, started_proxies
from tests.support.servers import Index, PypiServer

LARGE = 64 * 1024 * 1024  # far more than socket buffers hold: the upload is mid-file while the gate is shut


@pytest.fixture
def gated() -> Iterator[Callable[..., GatedProxy]]:
    """Start gated proxies in front of a server URL; all are stopped (their gates released) at the end."""
    with started_proxies(GatedProxy) as start:
        yield start


@pytest.mark.parametrize("count", [2, 4])
def test_concurrent_publishers_of_one_release_all_succeed(
    count: int,
    *,
    any_index: Index,
    dists: DistFactory,
    unique_name: str,
    gated: Callable[..., GatedProxy],
    tmp_path: Path,
) -> None:
    """N strict-mode runs of the same release at once, all past their check before any upload: each
    exits 0, each file is on the index once with the local bytes, and every run reports every file as
    uploaded or identical."""
    files = dists.release(unique_name, "1.0")
    proxy = gated(any_index.url, hold=count)
    url = proxy.url_for(any_index.url)
    reports = [tmp_path / f"report-{i}.json" for i in range(count)]
    processes = [
        start_cli(
            [*creds(any_index, url), "--retries", "3", "--report", str(report), *map(str, files)],
            cwd=tmp_path,
        )
        for report in reports
    ]
    results = [finish(process) for process in processes]

    for result in results:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    # The gate opened only when all N wheel uploads were waiting: every run planned both uploads.
    assert proxy.waiting >= count
    assert len(proxy.posts) >= count * len(files)
    assert_published_once(any_index, unique_name, files)
    for report in reports:
        data = json.loads(report.read_text())
        assert {entry["action"] for entry in data["files"]} <= {"uploaded", "skipped-identical"}
        assert len(data["files"]) == len(files)


def test_two_publishers_of_different_content_one_wins(
    any_index: Index, unique_name: str, gated: Callable[..., GatedProxy], tmp_path: Path
) -> None:
    """Both publishers find nothing on the index; A's upload lands first. B's upload of the same filename
    with other bytes is refused, its re-check sees A's file: exit 3 naming the file, and B's sdist, which
    came after, is never sent. The index holds A's bytes only."""
    wheel_a = DistFactory(tmp_path / "a").wheel(unique_name, "1.0", payload=b"publisher A")
    b = DistFactory(tmp_path / "b")
    wheel_b, sdist_b = b.wheel(unique_name, "1.0", payload=b"publisher B"), b.sdist(unique_name, "1.0")
    assert wheel_a.name == wheel_b.name
    proxy_a, proxy_b = gated(any_index.url), gated(any_index.url)
    report_b = tmp_path / "report-b.json"
    run_a = start_cli([*creds(any_index, proxy_a.url_for(any_index.url)), str(wheel_a)], cwd=tmp_path)
    run_b = start_cli(
        [
            *creds(any_index, proxy_b.url_for(any_index.url)),
            "--report",
            str(report_b),
            str(wheel_b),
            str(sdist_b),
        ],
        cwd=tmp_path,
    )
    try:
        assert proxy_a.wait_for_posts(1), "publisher A never started its upload"
        assert proxy_b.wait_for_posts(1), "publisher B never started its upload"
    finally:
        proxy_a.gate.set()
        result_a = finish(run_a)
        proxy_b.gate.set()
        result_b = finish(run_b)

    assert result_a.returncode == 0, result_a.stderr
    assert result_b.returncode == 3, result_b.stderr
    line = error_line(result_b)
    assert "conflict" in line
    assert wheel_b.name in line
    assert "another publisher uploaded different content" in result_b.stderr
    assert len(proxy_b.posts) == 1  # the wheel only: the sdist after the conflict is never sent
    assert stored(any_index, unique_name) == {wheel_a.name: wheel_a.read_bytes()}
    actions = {entry["filename"]: entry["action"] for entry in json.loads(report_b.read_text())["files"]}
    assert actions[wheel_b.name] == "conflict"
    assert actions[sdist_b.name] == "failed"


def _rewrite_tail(path: Path) -> None:
    with path.open("r+b") as stream:
        stream.seek(-1024 * 1024, os.SEEK_END)
        stream.write(b"\0" * 1024 * 1024)


def _truncate(path: Path) -> None:
    with path.open("r+b") as stream:
        stream.truncate(path.stat().st_size // 2)


def _append(path: Path) -> None:
    with path.open("ab") as stream:
        stream.write(b"\0" * 1024 * 1024)


CHANGES = {
    "rewritten-in-place": (_rewrite_tail, "changed while it was being uploaded"),
    "truncated": (_truncate, "became shorter while it was being uploaded"),
    "appended-to": (_append, "grew while it was being uploaded"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_file_changed_during_upload_fails_and_leaves_nothing(
    change: str, pypiserver: PypiServer, unique_name: str, gated: Callable[..., GatedProxy], tmp_path: Path
) -> None:
    """The file changes while its body streams out (after its digests were sent in the form): the run
    fails with exit 1 and one line naming the file, and the index holds no file whose bytes differ from
    the digests sent (here: nothing at all). After the change settles, a re-run publishes the new bytes."""
    mutate, message = CHANGES[change]
    wheel = make_large_wheel(tmp_path / "dist", unique_name, "1.0", LARGE)
    proxy = gated(pypiserver.url)
    run = start_cli([*creds(pypiserver, proxy.url), str(wheel)], cwd=tmp_path)
    try:
        assert proxy.wait_for_posts(1), "the upload never started"
        mutate(wheel)
    finally:
        proxy.gate.set()
        result = finish(run)

    assert result.returncode == 1, result.stderr
    line = error_line(result)
    assert str(wheel) in line
    assert message in line
    assert stored(pypiserver, unique_name) == {}


def test_file_replaced_during_upload_sends_the_bytes_it_hashed(
    pypiserver: PypiServer, unique_name: str, gated: Callable[..., GatedProxy], tmp_path: Path
) -> None:
    """A rebuild that replaces the file (new inode) while the old one streams: the upload keeps reading
    the file it hashed, so the index holds exactly the bytes of the digests sent, and exit 0. The next
    run sees that the local file now differs from the index: a conflict, exit 3, nothing sent."""
    wheel = make_large_wheel(tmp_path / "dist", unique_name, "1.0", LARGE)
    original = file_sha256(wheel)
    proxy = gated(pypiserver.url)
    run = start_cli([*creds(pypiserver, proxy.url), str(wheel)], cwd=tmp_path)
    try:
        assert proxy.wait_for_posts(1), "the upload never started"
        rebuilt = make_large_wheel(tmp_path / "rebuild", unique_name, "1.0", LARGE, seed=1)
        rebuilt.replace(wheel)
    finally:
        proxy.gate.set()
        result = finish(run)

    assert result.returncode == 0, result.stderr
    on_index = pypiserver.packages_dir / wheel.name
    assert file_sha256(on_index) == original
    again = run_main([*creds(pypiserver), str(wheel)], cwd=tmp_path)
    assert again.returncode == 3, again.stderr
    assert file_sha256(on_index) == original


def test_recheck_that_glimpses_a_half_written_file_looks_again(
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """Another publisher's identical upload is still being written when this run's upload is refused:
    pypiserver then lists the file with the digest of its first bytes (here: of no bytes at all). That
    glimpse is not a conflict; the run must look again and find the identical file. Exit 0.

    The concurrent-publishers test above hits this for real, but only now and then; the proxy makes
    it certain: the first read of the page says "absent", the re-check after the 409 sees the
    half-written file, later reads see the finished one.
    """
    wheel = dists.wheel(unique_name, "1.0")
    assert run_main([*creds(pypiserver), str(wheel)], cwd=tmp_path).returncode == 0
    proxy = fault_proxy(pypiserver.url)
    page = f"/simple/{unique_name}/"
    half_written = (
        f'<!DOCTYPE html><html><body><a href="/packages/{wheel.name}#sha256={hashlib.sha256().hexdigest()}">'
        f"{wheel.name}</a><br></body></html>"
    ).encode()
    proxy.replace_body(b"", status=404, method="GET", path=page, times=1)
    proxy.replace_body(half_written, status=200, method="GET", path=page, times=1)

    result = run_cli([*creds(pypiserver, proxy.url), str(wheel)], cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert has_line(result.stderr, wheel.name, "the index holds the identical file now")
    assert_published_once(pypiserver, unique_name, [wheel])
