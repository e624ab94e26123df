"""``poetry publish`` and issue 14: rebuilt archives skipped as equivalent (``--require-identical`` turns
that off), PyPI's upload rules before the first upload (``--index-rules``), ``--report`` and ``--jobs``,
and poetry's own ``--skip-existing`` with the plugin's options: the checked skip-existing mode.

The real poetry against a real pypiserver, as in tests/e2e/test_poetry.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.e2e.test_poetry import PoetryProject, local_repo, login, new_project
from tests.support.dists import file_sha256, rebuild
from tests.support.index_state import local_files, stored
from tests.support.proxy import FaultProxy
from tests.support.servers import PypiServer


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> PoetryProject:
    return new_project(tmp_path, unique_name, host_venv)


def publish(index: PypiServer, *args: str) -> list[str]:
    """``publish -r local -u USER -p PASSWORD ARGS``: the arguments, for ``project.poetry``."""
    return ["publish", "-r", "local", *login(index), *args]


# ---- equivalent archives ------------------------------------------------------------------------------


def test_a_rebuilt_release_is_equivalent_unless_require_identical(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """Same files inside, other bytes: skipped as equivalent with both hashes, exit 0, the report (which
    alone asks for the plugin's checked publish) says ``skipped-equivalent``; ``--require-identical``
    makes the same re-run a conflict (exit 3). The index keeps the first build either way."""
    files = project.release()
    env = local_repo(pypiserver.url)
    first = project.poetry(*publish(pypiserver, "--skip-existing-strict"), env=env)
    assert first.returncode == 0, first
    published = stored(pypiserver, project.name)
    before = {path.name: file_sha256(path) for path in files}
    for path in files:
        rebuild(path)

    result = project.poetry(*publish(pypiserver, "--report", "report.json"), env=env)

    assert result.returncode == 0, result
    for path in files:
        assert (
            f"{path.name}: skipped, equivalent (same files inside; the archives differ only in "
            f"timestamps/order/compression) (local sha256:{file_sha256(path)}, index sha256:{before[path.name]})"
        ) in result.stdout
    assert "0 uploaded, 2 skipped" in result.stdout
    report = json.loads((project.root / "report.json").read_text())
    assert [entry["action"] for entry in report["files"]] == ["skipped-equivalent", "skipped-equivalent"]
    assert [entry["path"] for entry in report["files"]] == [f"dist/{path.name}" for path in files]

    strict = project.poetry(*publish(pypiserver, "--require-identical"), env=env)

    assert strict.returncode == 3, strict
    assert f"{files[0].name}: conflict, the index has different content" in strict.stderr
    assert "downloading it to compare" not in strict.stdout + strict.stderr
    assert stored(pypiserver, project.name) == published


# ---- poetry's --skip-existing with the plugin's options -----------------------------------------------


def test_skip_existing_with_the_plugins_mode_is_checked_and_keeps_the_index_file(
    project: PoetryProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """``--skip-existing --skip-existing-strict``: the index is read first; a wheel with other content is
    skipped with a warning naming both hashes, the new sdist is uploaded, exit 0; the index's wheel stays
    and no upload of it is even attempted (poetry's own --skip-existing sends every file)."""
    wheel = project.dist.wheel(project.name, project.version)
    env = local_repo(pypiserver.url)
    assert project.poetry(*publish(pypiserver, "--skip-existing-strict"), env=env).returncode == 0
    on_index = stored(pypiserver, project.name)
    index_sha256 = file_sha256(wheel)
    project.dist.wheel(project.name, project.version, payload=b"rebuilt with other content\n")
    sdist = project.dist.sdist(project.name, project.version)
    proxy = fault_proxy(pypiserver.url)

    result = project.poetry(
        *publish(pypiserver, "--skip-existing", "--skip-existing-strict"), env=local_repo(proxy.url)
    )

    assert result.returncode == 0, result
    warning = next(line for line in result.stderr.splitlines() if line.startswith(f"{wheel.name}: skipped"))
    assert "the index has different content" in warning
    assert f"local sha256:{file_sha256(wheel)}" in warning
    assert f"index sha256:{index_sha256}" in warning
    assert "1 uploaded, 1 skipped (1 differing from the index)" in result.stdout + result.stderr
    assert len(proxy.posts) == 1  # the sdist only
    assert stored(pypiserver, project.name) == {**on_index, sdist.name: sdist.read_bytes()}


# ---- the index's own rules ----------------------------------------------------------------------------


def test_index_rules_pypi_refuses_a_linux_wheel_before_anything_is_uploaded(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """``--index-rules pypi`` (alone: it implies the plugin's checked publish) on an index that is not
    PyPI: a ``linux_x86_64`` wheel is refused in PyPI's words, exit 2; the sdist is not uploaded either."""
    project.dist.sdist(project.name, project.version)
    linux = project.dist.wheel(project.name, project.version, tag="cp311-cp311-linux_x86_64")

    result = project.poetry(*publish(pypiserver, "--index-rules", "pypi"), env=local_repo(pypiserver.url))

    assert result.returncode == 2, result
    assert f"dist/{linux.name}: PyPI would refuse it: Binary wheel '{linux.name}' has an unsupported " in (
        result.stderr
    )
    assert "unsupported platform tag 'linux_x86_64'" in result.stderr
    assert "Traceback" not in result.stderr
    assert stored(pypiserver, project.name) == {}


# ---- --jobs, --report, --per-project, and where relative paths lead ---------------------------------


def test_jobs_and_a_report_relative_to_the_current_folder(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """From a subfolder of the project: ``--report`` is relative to the current folder (as poetry's
    ``--cert``), the files come from the project's ``dist/`` (``--dist-dir`` is the project's, as in
    poetry); ``--jobs 2`` uploads every file; ``--per-project`` changes nothing for poetry's one project."""
    files = [
        *project.release(),
        project.dist.wheel(project.name, project.version, tag="py2-none-any"),
        project.dist.wheel(project.name, project.version, tag="cp311-cp311-manylinux_2_17_x86_64"),
    ]
    subfolder = project.root / "docs"
    subfolder.mkdir()

    result = project.poetry(
        *publish(pypiserver, "--jobs", "2", "--per-project", "--report", "out/report.json"),
        env=local_repo(pypiserver.url),
        cwd=subfolder,
    )

    assert result.returncode == 0, result
    assert "4 uploaded, 0 skipped" in result.stdout
    assert stored(pypiserver, project.name) == local_files(files)
    report = json.loads((subfolder / "out" / "report.json").read_text())
    assert report["totals"]["uploaded"] == 4
    # dist/ is outside the current folder: its files' paths are absolute.
    assert sorted(entry["path"] for entry in report["files"]) == sorted(str(path) for path in files)
    assert not (project.root / "out").exists()
