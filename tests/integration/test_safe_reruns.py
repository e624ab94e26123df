"""Safe re-runs of real builds (issue 14) through the real ``safe-publish`` against real servers: rebuilt
archives holding the same files are "equivalent"; PyPI's upload rules are checked before the first
upload; with ``--per-project`` each project of a monorepo is its own unit."""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from tests.integration.cli_support import run_cli, run_main
from tests.support.dists import DistFactory, file_sha256, rebuild
from tests.support.index_state import stored
from tests.support.proxy import FaultProxy
from tests.support.servers import TEST_PASSWORD, TEST_USERNAME, PypiServer

pytestmark = pytest.mark.integration


def _args(index: PypiServer | FaultProxy, *more: str | Path) -> list[str]:
    return ["--repository-url", index.url, "-u", TEST_USERNAME, "-p", TEST_PASSWORD, *map(str, more)]


# ---- equivalent archives ------------------------------------------------------------------------------


def test_a_rebuild_of_the_same_files_is_skipped_as_equivalent(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    files = dists.release(unique_name, "1.0")
    assert run_main(_args(pypiserver, *files), cwd=tmp_path).returncode == 0
    published = {path.name: file_sha256(path) for path in files}
    for path in files:
        rebuild(path)
    rebuilt = {path.name: file_sha256(path) for path in files}
    assert all(rebuilt[name] != published[name] for name in published)  # other bytes: a new build
    report = tmp_path / "report.json"

    result = run_cli(_args(pypiserver, "--report", report, *files), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    for path in files:
        assert (
            f"{path.name}: skipped, equivalent (same files inside; the archives differ only in "
            f"timestamps/order/compression) (local sha256:{rebuilt[path.name]}, index "
            f"sha256:{published[path.name]})"
        ) in result.stderr
    assert "2 skipped" in result.stderr
    entries = json.loads(report.read_text())["files"]
    assert [entry["action"] for entry in entries] == ["skipped-equivalent", "skipped-equivalent"]
    assert json.loads(report.read_text())["totals"]["skipped-equivalent"] == 2
    assert {
        name: file_sha256_bytes(data) for name, data in stored(pypiserver, unique_name).items()
    } == published

    strict = run_cli(_args(pypiserver, "--require-identical", *files), cwd=tmp_path)

    assert strict.returncode == 3
    assert "the index's copy has other bytes" not in strict.stderr  # nothing downloaded
    assert f"{files[0].name}: conflict, the index has different content" in strict.stderr


def file_sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


class _DownloadGate(FaultProxy):
    """Holds each download of a package file until ``count`` of them are waiting at once (or a bound for
    hangs passes): they all arrive only if the run asks for them concurrently."""

    def __init__(self, upstream: str, *, count: int) -> None:
        super().__init__(upstream)
        self.count = count
        self.arrived = 0
        self.all_at_once = threading.Event()
        self.waited_in_vain = False  # a download gave up waiting for the others: they came one by one
        self._arrivals = threading.Lock()

    def _handle(self, client: Any, stream: Any, head: Any) -> bool:
        method, target = head.start_line.split(" ")[:2]
        if method.upper() == "GET" and "/packages/" in target:
            with self._arrivals:
                self.arrived += 1
                if self.arrived >= self.count:
                    self.all_at_once.set()
            if not self.all_at_once.wait(20):  # a bound for hangs, not a timing assertion
                self.waited_in_vain = True
        return bool(super()._handle(client, stream, head))


def test_the_copies_of_several_rebuilt_files_are_downloaded_at_once(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """A re-run of a rebuilt release compares every file with the index's copy; the copies are fetched
    concurrently (one round trip for all, not one per file), and every verdict is still the file's own."""
    files = dists.release(unique_name, "1.0")
    assert run_main(_args(pypiserver, *files), cwd=tmp_path).returncode == 0
    for path in files:
        rebuild(path)
    gate = _DownloadGate(pypiserver.url, count=len(files))
    gate.start()
    try:
        result = run_main(_args(gate, *files), cwd=tmp_path)
    finally:
        gate.stop()

    assert result.returncode == 0, result.stderr
    assert not gate.waited_in_vain  # both downloads were waiting at the same time
    assert gate.arrived == len(files)
    for path in files:
        assert f"{path.name}: skipped, equivalent" in result.stderr
    assert gate.posts == []


def test_a_rebuild_with_a_changed_file_is_a_conflict_naming_it(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    wheel = dists.wheel(unique_name, "1.0")
    assert run_main(_args(pypiserver, wheel), cwd=tmp_path).returncode == 0
    changed = dists.wheel(unique_name, "1.0", payload=b"changed code\n")
    module = next(name for name in zipfile.ZipFile(changed).namelist() if name.endswith(".py"))

    result = run_main(_args(pypiserver, changed), cwd=tmp_path)

    assert result.returncode == 3
    assert f"{wheel.name}: the index's copy has other bytes; downloading it to compare the files inside" in (
        result.stderr
    )
    assert f"{wheel.name}: conflict, the index has different content (local sha256:" in result.stderr
    assert f"): {module} differs" in result.stderr


def test_skip_existing_keeps_a_rebuilt_file_without_downloading_it(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """--skip-existing keeps the index's file whatever it holds: nothing to download, and a copy that
    could not be downloaded cannot fail the run (review)."""
    wheel = dists.wheel(unique_name, "1.0")
    assert run_main(_args(pypiserver, wheel), cwd=tmp_path).returncode == 0
    rebuild(wheel)

    result = run_main(_args(pypiserver, "--skip-existing", wheel), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "downloading it to compare" not in result.stderr
    assert f"{wheel.name}: skipped, the index has different content (local sha256:" in result.stderr


def test_a_redirect_to_the_file_is_followed_and_its_body_left_out(
    pypiserver: PypiServer,
    fault_proxy: Callable[[str], FaultProxy],
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    """Object stores answer a file link with a redirect whose body is a small HTML page: that body is not
    part of the copy compared (review: an sdist became a false conflict)."""
    sdist = dists.sdist(unique_name, "1.0")
    assert run_main(_args(pypiserver, sdist), cwd=tmp_path).returncode == 0
    rebuild(sdist)
    proxy = fault_proxy(pypiserver.url)
    proxy.status(
        302,
        headers={"Location": f"{pypiserver.url}packages/{sdist.name}"},
        body=b"<html><body>Moved to the file store</body></html>",
        path=f"/packages/{sdist.name}",
    )

    result = run_main(_args(proxy, sdist), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"{sdist.name}: skipped, equivalent (same files inside;" in result.stderr


def test_an_index_copy_larger_than_the_local_contents_is_not_downloaded_whole(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """The download stops near what the local archive holds decompressed: a big different file under the
    same name costs what the local file costs (review)."""
    big = dists.large_wheel(unique_name, "1.0", 24 * 1024 * 1024)
    assert run_main(_args(pypiserver, big), cwd=tmp_path).returncode == 0
    small = dists.wheel(unique_name, "1.0")

    result = run_main(_args(pypiserver, small), cwd=tmp_path)

    assert result.returncode == 3
    assert "the index's copy is larger than the local file's contents" in result.stderr


# ---- the index's own rules ----------------------------------------------------------------------------


def test_a_wheel_pypi_refuses_stops_the_release_before_its_first_byte(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    good = dists.sdist(unique_name, "1.0")
    linux = dists.wheel(unique_name, "1.0", tag="cp311-cp311-linux_x86_64")

    result = run_main(_args(pypiserver, "--index-rules", "pypi", good, linux), cwd=tmp_path)

    assert result.returncode == 2
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(
        f"error: {linux}: PyPI would refuse it: Binary wheel '{linux.name}' has an unsupported platform tag "
        "'linux_x86_64'. Repair it with auditwheel"
    )
    assert error.endswith("; nothing was uploaded")
    assert stored(pypiserver, unique_name) == {}
    # Not PyPI, not asked for: a local index takes what it takes.
    assert run_main(_args(pypiserver, good, linux), cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(
    ("version", "metadata", "said"),
    [
        ("1.0+abc", {}, "The use of local versions in '1.0+abc' is not allowed."),
        ("1.0", {"Classifier": "Programming Language :: Cobol :: 85"}, "is not a valid classifier."),
        ("1.0", {"Classifier": "Natural Language :: Ukranian"}, "has been deprecated, use one of"),
    ],
)
def test_each_metadata_rule_names_the_file_and_pypis_words(  # noqa: PLR0917 (fixtures)
    version: str,
    metadata: dict[str, str],
    said: str,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    wheel = dists.wheel(unique_name, version, extra_metadata=metadata, metadata_version="2.4")

    result = run_main(_args(pypiserver, "--index-rules", "pypi", wheel), cwd=tmp_path)

    assert result.returncode == 2
    assert f"error: {wheel}: PyPI would refuse it: " in result.stderr
    assert said in result.stderr
    assert stored(pypiserver, unique_name) == {}


def test_max_file_size_refuses_a_larger_file_on_any_index(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    wheel = dists.wheel(unique_name, "1.0")

    result = run_main(_args(pypiserver, "--max-file-size", "1K", wheel), cwd=tmp_path)
    bad = run_cli(_args(pypiserver, "--max-file-size", "lots", wheel), cwd=tmp_path)

    assert result.returncode == 2
    assert (
        f"error: {wheel}: File too large. Limit for project '{unique_name}' is 1024 bytes." in result.stderr
    )
    assert stored(pypiserver, unique_name) == {}
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: argument --max-file-size: not a size: 'lots'")


def test_a_file_over_pypis_default_limit_goes_first_with_a_warning(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    small = dists.wheel(unique_name, "1.0", tag="py2-none-any")
    large = dists.large_wheel(unique_name, "1.0", 101 * 1024 * 1024)
    sdist = dists.sdist(unique_name, "1.0")

    result = run_main(_args(pypiserver, "--index-rules", "pypi", small, sdist, large), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"{large.name}: 101.0 MiB, over PyPI's default limit of 100 MiB; uploaded first" in result.stderr
    uploaded = [line.split(":")[0] for line in result.stderr.splitlines() if line.endswith(": uploaded")]
    assert uploaded == [large.name, small.name, sdist.name]


def test_a_new_file_for_a_release_older_than_14_days_is_refused(
    pypiserver: PypiServer,
    fault_proxy: Callable[[str], FaultProxy],
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    """The index's JSON page gives PEP 700 upload times: the release's sdist went up 20 days ago."""
    sdist, wheel = dists.sdist(unique_name, "1.0"), dists.wheel(unique_name, "1.0")
    assert run_main(_args(pypiserver, sdist), cwd=tmp_path).returncode == 0
    proxy = fault_proxy(pypiserver.url)
    when = (datetime.now(timezone.utc) - timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    page = {
        "meta": {"api-version": "1.1"},
        "name": unique_name,
        "files": [
            {
                "filename": sdist.name,
                "url": f"../../packages/{sdist.name}",
                "hashes": {"sha256": file_sha256(sdist)},
                "upload-time": when,
            }
        ],
    }
    proxy.status(
        200,
        headers={"Content-Type": "application/vnd.pypi.simple.v1+json"},
        body=json.dumps(page).encode(),
        method="GET",
        path=f"/simple/{unique_name}/",
        times=None,
    )

    old = run_main(_args(proxy, "--index-rules", "pypi", sdist, wheel), cwd=tmp_path)
    unknown = run_main(
        _args(pypiserver, "--index-rules", "pypi", "--dry-run", "-v", sdist, wheel), cwd=tmp_path
    )

    assert old.returncode == 2
    assert (
        f"error: {wheel}: PyPI would refuse it: Uploading new files to releases older than 14 days is not "
        "allowed. This release was first uploaded 20 days ago"
    ) in old.stderr
    assert proxy.posts == []
    assert unknown.returncode == 0, unknown.stderr
    assert (
        f"{unique_name}: PyPI's 14-day rule for new files of old releases not checked: the index's page gives "
        "no upload times (PEP 700)"
    ) in unknown.stderr


# ---- monorepos ----------------------------------------------------------------------------------------


def test_per_project_publishes_the_projects_a_conflict_does_not_touch(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    first, second = f"{unique_name}-a", f"{unique_name}-b"
    assert run_main(_args(pypiserver, dists.wheel(first, "1.0")), cwd=tmp_path).returncode == 0
    changed = dists.wheel(first, "1.0", payload=b"changed\n")
    other = dists.release(second, "2.0")

    together = run_main(_args(pypiserver, changed, *other), cwd=tmp_path)
    assert together.returncode == 3
    assert stored(pypiserver, second) == {}
    for path in other:
        assert f"{path.name}: held back: not uploaded because {changed.name} conflicts" in together.stderr

    apart = run_main(_args(pypiserver, "--per-project", changed, *other), cwd=tmp_path)

    assert apart.returncode == 3
    assert sorted(stored(pypiserver, second)) == sorted(path.name for path in other)
    assert f"{first.replace('-', '-')}" in apart.stderr
    assert f"{second}: uploading 2 file(s)" in apart.stderr
    (error,) = [line for line in apart.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(
        f"error: 1 of 2 projects failed ({first}); the others were published. {first}: conflict: "
    )
    assert f"{changed.name} already on the index with different content" in error
