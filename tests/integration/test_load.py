"""Load: many small files across many projects, and one 2 GiB wheel; memory must stay flat.

Marked slow: ``make test-slow`` runs them (CI too). Each test has a pypiserver of its own, so request
counts are exact and the 2 GiB copy on the server can be deleted afterwards without touching others.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from tests.conftest import PypiServerFactory
from tests.integration.cli_support import guard_secret, run_cli
from tests.support.commands import SAFE_PUBLISH, SHORT_WAITS, cli_env, creds
from tests.support.dists import DistFactory, file_sha256, make_large_wheel
from tests.support.index_state import assert_published_once
from tests.support.proxy import FaultProxy

pytestmark = pytest.mark.slow

GIB = 1024**3
MAX_RSS_MIB = 200  # a memory bound: streaming keeps a few MiB of buffers whatever the file size
PROJECTS = 20
FILES_PER_PROJECT = 10

# Runs the command as its only child and writes the child's peak RSS (KiB on Linux) to a file.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[2:]).returncode\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


def run_measured(args: Sequence[str], *, cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run safe-publish under a fresh parent, so RUSAGE_CHILDREN holds this run alone; return (result, KiB)."""
    rss_file = cwd / f"rss-{secrets.token_hex(4)}.txt"
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(rss_file), str(SAFE_PUBLISH), *SHORT_WAITS, *args],
        cwd=cwd,
        env=cli_env(cwd),
        capture_output=True,
        text=True,
        timeout=1800,  # a bound for hangs: 2 GiB through pypiserver takes a minute or two
        check=False,
    )
    guard_secret(result, args)
    return result, int(rss_file.read_text())


def test_200_files_across_20_projects(
    pypiserver_factory: PypiServerFactory, fault_proxy: Callable[[str], FaultProxy], tmp_path: Path
) -> None:
    """200 small files of 20 projects: all published with one index request per project, each file once
    with the local bytes; the re-run uploads nothing and again reads the index once per project."""
    server = pypiserver_factory()
    dists = DistFactory(tmp_path / "dist")
    names = [f"load-{secrets.token_hex(3)}-{i:02d}" for i in range(PROJECTS)]
    by_project = {
        name: [dists.wheel(name, "1.0", tag=f"py3{i}-none-any") for i in range(FILES_PER_PROJECT - 1)]
        + [dists.sdist(name, "1.0")]
        for name in names
    }
    total = PROJECTS * FILES_PER_PROJECT
    proxy = fault_proxy(server.url)
    report = tmp_path / "report.json"
    args = [*creds(server, proxy.url), "--jobs", "4", "--report", str(report), str(dists.directory)]

    first = run_cli(args, cwd=tmp_path)

    assert first.returncode == 0, first.stderr
    assert f"{total} uploaded, 0 skipped" in first.stderr
    gets = [path for method, path in proxy.requests if method == "GET"]
    assert sorted(gets) == sorted(["/simple/", *(f"/simple/{name}/" for name in names)])
    assert len(proxy.posts) == total
    for name, files in by_project.items():
        assert_published_once(server, name, files)

    proxy.reset_counters()
    again = run_cli(args, cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    assert f"0 uploaded, {total} skipped" in again.stderr
    assert [method for method, _ in proxy.requests] == ["GET"] * (PROJECTS + 1)  # and the root's start
    assert proxy.upload_bytes == 0
    assert json.loads(report.read_text())["totals"]["skipped-identical"] == total


def test_2_gib_wheel_publishes_and_republishes_with_flat_memory(
    pypiserver_factory: PypiServerFactory,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    """A 2 GiB wheel is streamed to the index (the copy there has exactly the local bytes) and its
    re-publish sends nothing; the peak RSS of safe-publish stays under a small bound both times."""
    # waitress, pypiserver's default server, refuses bodies over 1 GiB (max_request_body_size): wsgiref
    # has no such limit.
    server = pypiserver_factory(backend="wsgiref")
    name = f"large-{secrets.token_hex(3)}"
    wheel = make_large_wheel(tmp_path / "dist", name, "1.0", 2 * GIB)
    on_index = server.packages_dir / wheel.name
    try:
        proxy = fault_proxy(server.url)
        args = [*creds(server, proxy.url), "--timeout", "600", str(wheel)]

        first, first_rss = run_measured(args, cwd=tmp_path)

        assert first.returncode == 0, first.stderr
        assert "1 uploaded" in first.stderr
        assert proxy.upload_bytes > wheel.stat().st_size  # the file plus the form fields, once
        assert proxy.upload_bytes < wheel.stat().st_size + 64 * 1024
        assert file_sha256(on_index) == file_sha256(wheel)

        proxy.reset_counters()
        again, again_rss = run_measured(args, cwd=tmp_path)

        assert again.returncode == 0, again.stderr
        assert "0 uploaded, 1 skipped" in again.stderr
        assert proxy.posts == []
        assert proxy.upload_bytes == 0
        record_property("peak_rss_kib_upload", first_rss)
        record_property("peak_rss_kib_republish", again_rss)
        print(f"peak RSS: upload {first_rss // 1024} MiB, re-publish {again_rss // 1024} MiB")
        assert first_rss < MAX_RSS_MIB * 1024
        assert again_rss < MAX_RSS_MIB * 1024
    finally:
        wheel.unlink(missing_ok=True)
        on_index.unlink(missing_ok=True)
