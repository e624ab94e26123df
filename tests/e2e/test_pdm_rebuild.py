"""Issue 14's headline, through the real ``pdm``: an unchanged project built by PDM's default backend
(pdm-backend) publishes, then re-publishes with a fresh build and exits 0, its rebuilt sdist skipped as
"equivalent".

Measured on this machine (pdm-backend 2.5.0, fetched by PDM's isolated build; PDM 2.29.4 and 2.13.0): the
wheel is byte-reproducible (every zip entry dated 2016-01-01, or ``SOURCE_DATE_EPOCH``), the sdist is not.
Its gzip header holds the build time, with or without ``SOURCE_DATE_EPOCH``, and its members the source
files' times: two builds a second or more apart give two sdists with other bytes and the same files. So no
difference has to be forced: the test only makes sure that a second has passed since the first build, as
it always has between a CI job and its re-run.
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.e2e.test_pdm import BUILD_TIMEOUT, PdmProject, creds, isolated_env
from tests.support.dists import file_sha256, filename_name
from tests.support.index_state import local_files, stored
from tests.support.projects import write_project
from tests.support.proxy import FaultProxy
from tests.support.servers import PypiServer

PDM_BACKEND = '[build-system]\nrequires = ["pdm-backend"]\nbuild-backend = "pdm.backend"\n'
EQUIVALENT = (
    "skipped, equivalent (same files inside; the archives differ only in timestamps/order/compression)"
)


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> PdmProject:
    """A project as `pdm init` makes one: PDM's default backend, pdm-backend, and a src/ layout."""
    root = tmp_path / "project"
    pyproject = (
        f'[project]\nname = "{unique_name}"\nversion = "1.0.0"\nrequires-python = ">=3.10"\n'
        f'description = "publish-plugins e2e test project"\n\n{PDM_BACKEND}'
    )
    write_project(root, unique_name, pyproject, init='"""Built by pdm-backend."""\n')
    bin_dir = host_venv("pdm")
    return PdmProject(root, unique_name, "1.0.0", bin_dir / "pdm", isolated_env(tmp_path / "home", bin_dir))


def gzip_time(path: Path) -> int:
    """The MTIME field of a gzip file's header (RFC 1952): when pdm-backend built the sdist."""
    with path.open("rb") as stream:
        return int(struct.unpack("<I", stream.read(8)[4:8])[0])


def test_unchanged_project_republishes_with_a_fresh_build_as_equivalent(
    project: PdmProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """`pdm safe-publish` builds and uploads; run again, it builds again: the sdist has other bytes and
    the same files, so it is skipped as equivalent with both hashes (exit 0, nothing sent);
    `--require-identical` makes the same rebuilt sdist a conflict (exit 3, nothing sent)."""
    proxy = fault_proxy(pypiserver.url)
    dist = project.root / "dist"
    base = f"{filename_name(project.name)}-1.0.0"
    wheel, sdist = f"{base}-py3-none-any.whl", f"{base}.tar.gz"

    first = project.run("safe-publish", *creds(proxy), "--report", "first.json", timeout=BUILD_TIMEOUT)
    assert first.returncode == 0, first
    assert "Built sdist at" in first.output
    assert "2 uploaded, 0 skipped" in first.stdout
    published = {name: file_sha256(dist / name) for name in (wheel, sdist)}
    on_index = stored(pypiserver, project.name)
    assert on_index == local_files([dist / wheel, dist / sdist])
    report = json.loads((project.root / "first.json").read_text())
    assert {record["path"]: record["action"] for record in report["files"]} == {
        f"dist/{wheel}": "uploaded",
        f"dist/{sdist}": "uploaded",
    }

    # The CI job's re-run, at least a second later (the gzip header counts whole seconds).
    while time.time() < gzip_time(dist / sdist) + 1.05:
        time.sleep(0.1)
    proxy.reset_counters()
    again = project.run("safe-publish", *creds(proxy), "--report", "again.json", timeout=BUILD_TIMEOUT)
    assert again.returncode == 0, again
    assert "Built sdist at" in again.output
    rebuilt = {name: file_sha256(dist / name) for name in (wheel, sdist)}
    assert rebuilt[sdist] != published[sdist], "pdm-backend built the same sdist twice: nothing to test"
    assert rebuilt[wheel] == published[wheel], "pdm-backend's wheel is no longer reproducible"
    assert (
        f"{sdist}: {EQUIVALENT} (local sha256:{rebuilt[sdist]}, index sha256:{published[sdist]})"
        in again.stdout
    )
    assert f"{wheel}: skipped, identical (sha256 matches)" in again.stdout
    assert "0 uploaded, 2 skipped" in again.stdout
    assert proxy.posts == []
    assert stored(pypiserver, project.name) == on_index
    report = json.loads((project.root / "again.json").read_text())
    assert report["exit_code"] == 0
    by_name = {record["filename"]: record for record in report["files"]}
    assert by_name[sdist]["action"] == "skipped-equivalent"
    assert by_name[sdist]["path"] == f"dist/{sdist}"
    assert by_name[sdist]["sha256"] == rebuilt[sdist]
    assert by_name[sdist]["index_hash"] == f"sha256:{published[sdist]}"
    assert by_name[wheel]["action"] == "skipped-identical"

    # Byte-identical files only: the rebuilt sdist is a conflict (no third build: it is in dist/ now).
    strict = project.run("safe-publish", "--no-build", *creds(proxy), "--require-identical")
    assert strict.returncode == 3, strict
    assert f"ERROR: {sdist}: conflict" in strict.stderr
    assert rebuilt[sdist] in strict.stderr
    assert published[sdist] in strict.stderr
    assert "nothing was uploaded" in strict.stderr
    assert proxy.posts == []
    assert stored(pypiserver, project.name) == on_index
