"""``hatch publish -p safe`` and issue 14: rebuilt archives skipped as equivalent (``-o require-identical``
turns that off), PyPI's upload rules before the first upload (``-o index-rules``, ``-o max-file-size``),
each project its own unit (``-o per-project``), and relative paths that mean where they are written down.

The real hatch against a real pypiserver, as in tests/e2e/test_hatch.py.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import certifi
import pytest
from tests.e2e.test_hatch import HatchProject, new_project, target
from tests.support.dists import DistFactory, file_sha256, rebuild
from tests.support.index_state import local_files, stored
from tests.support.servers import TEST_PASSWORD, PypiServer


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> HatchProject:
    return new_project(tmp_path, unique_name, host_venv)


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


# ---- equivalent archives ------------------------------------------------------------------------------


def test_a_rebuilt_release_is_equivalent_unless_require_identical(
    project: HatchProject, pypiserver: PypiServer, tmp_path: Path
) -> None:
    """Same files inside, other bytes (another build time, member order, compression): skipped as
    equivalent with both hashes, exit 0, report action ``skipped-equivalent``; ``-o require-identical``
    makes the same re-run a conflict (exit 3). The index keeps the first build either way."""
    files = project.release()
    assert project.publish(*target(pypiserver)).returncode == 0
    published = stored(pypiserver, project.name)
    before = {path.name: file_sha256(path) for path in files}
    for path in files:
        rebuild(path)
    report = tmp_path / "report.json"

    result = project.publish(*target(pypiserver), "-o", f"report={report}")

    assert result.returncode == 0, result
    for path in files:
        assert (
            f"{path.name}: skipped, equivalent (same files inside; the archives differ only in "
            f"timestamps/order/compression) (local sha256:{file_sha256(path)}, index sha256:{before[path.name]})"
        ) in result.output
    assert "0 uploaded, 2 skipped" in result.output
    entries = json.loads(report.read_text())["files"]
    assert [entry["action"] for entry in entries] == ["skipped-equivalent", "skipped-equivalent"]

    strict = project.publish(*target(pypiserver), "-o", "require-identical")

    assert strict.returncode == 3, strict
    assert f"{files[0].name}: conflict, the index has different content" in strict.output
    assert "downloading it to compare" not in strict.output
    assert stored(pypiserver, project.name) == published


# ---- the index's own rules ----------------------------------------------------------------------------


def test_index_rules_pypi_refuses_a_linux_wheel_before_anything_is_uploaded(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    """``-o index-rules=pypi`` on an index that is not PyPI: a ``linux_x86_64`` wheel is refused in PyPI's
    words, exit 2, and the sdist that PyPI would take is not uploaded either."""
    project.dist.sdist(project.name, "1.0")
    linux = project.dist.wheel(project.name, "1.0", tag="cp311-cp311-linux_x86_64")

    result = project.publish(*target(pypiserver), "-o", "index-rules=pypi")

    assert result.returncode == 2, result
    assert f"dist/{linux.name}: PyPI would refuse it: Binary wheel '{linux.name}' has an unsupported " in (
        result.output
    )
    assert "unsupported platform tag 'linux_x86_64'" in result.output
    assert "Traceback" not in result.output
    assert stored(pypiserver, project.name) == {}


def test_max_file_size_from_pyproject_refuses_a_larger_file_on_any_index(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    """``max-file-size`` in ``[tool.hatch.publish.safe]`` (bytes, a TOML integer): a larger file is refused
    in PyPI's words, naming hatch's spelling of the option; exit 2, nothing uploaded."""
    wheel, _sdist = project.release()  # the sdist is smaller than the limit, the wheel larger
    with (project.root / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n[tool.hatch.publish.safe]\nmax-file-size = 600\n")

    result = project.publish(*target(pypiserver))

    assert result.returncode == 2, result
    assert (
        f"dist/{wheel.name}: File too large. Limit for project '{project.name}' is 600 bytes."
        in result.output
    )
    assert "pass it as -o max-file-size=SIZE" in result.output
    assert "--max-file-size" not in result.output
    assert stored(pypiserver, project.name) == {}


def test_a_file_over_pypis_default_limit_is_a_warning_naming_hatchs_option(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    large = project.dist.large_wheel(project.name, "1.0", 101 * 1024 * 1024)

    result = project.publish(*target(pypiserver), "-o", "index-rules=pypi", "-o", "dry-run")

    assert result.returncode == 0, result
    assert (
        f"{large.name}: 101.0 MiB, over PyPI's default limit of 100 MiB; uploaded first, so that a refusal "
        "comes before the rest of the release (pass -o max-file-size=SIZE to refuse it before any upload "
        "instead)"
    ) in result.output
    assert stored(pypiserver, project.name) == {}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("index-rules=pypy", "-o index-rules: choose one of auto, pypi, none, got 'pypy'"),
        ("index-rules", "-o index-rules: needs a value (-o index-rules=auto|pypi|none)"),
        ("max-file-size=lots", "-o max-file-size: not a size: 'lots' (bytes, or a number with K, M or G"),
        ("max-file-size=0", "-o max-file-size: a size must be more than 0 bytes: '0'"),
        (
            "require-identical=sure",
            "-o require-identical: expected true or false (or 1/0, yes/no), got 'sure'",
        ),
        ("per-project=2", "-o per-project: expected true or false (or 1/0, yes/no), got '2'"),
    ],
    ids=["index-rules", "index-rules-empty", "size-text", "size-0", "require-identical", "per-project"],
)
def test_bad_values_are_one_line_exit_2(
    project: HatchProject, pypiserver: PypiServer, option: str, message: str
) -> None:
    project.release()
    result = project.publish(*target(pypiserver), "-o", option)
    assert result.returncode == 2, result
    (line,) = lines(result.output)
    assert line.startswith(message), result
    assert stored(pypiserver, project.name) == {}


def test_index_rules_from_hatchs_config_is_named_in_its_error(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    project.release()
    project.config_file.write_text('[publish.safe]\nindex-rules = "strict"\n')
    result = project.publish(*target(pypiserver))
    assert result.returncode == 2, result
    assert (
        f"'index-rules' in [publish.safe] in {project.config_file}: choose one of auto, pypi, none, got 'strict'"
    ) in result.output
    assert stored(pypiserver, project.name) == {}


# ---- monorepos ----------------------------------------------------------------------------------------


def test_per_project_publishes_the_project_a_conflict_does_not_touch(
    project: HatchProject, pypiserver: PypiServer, tmp_path: Path, unique_name: str
) -> None:
    """Two projects' files named on the command line; one has a conflicting wheel. With
    ``-o per-project`` the other is published, and the run still exits 3 naming the conflict."""
    elsewhere = DistFactory(tmp_path / "monorepo")
    first, second = f"{unique_name}-a", f"{unique_name}-b"
    published = elsewhere.wheel(first, "1.0")
    assert project.publish(*target(pypiserver), str(published)).returncode == 0
    changed = elsewhere.wheel(first, "1.0", payload=b"changed\n")
    other = elsewhere.release(second, "2.0")

    result = project.publish(*target(pypiserver), "-o", "per-project", str(changed), *map(str, other))

    assert result.returncode == 3, result
    assert stored(pypiserver, second) == local_files(other)
    assert f"{changed.name}: conflict" in result.output
    assert f"conflict: {changed.name} already on the index with different content" in result.output
    assert list(stored(pypiserver, first)) == [changed.name]
    assert stored(pypiserver, first)[changed.name] != changed.read_bytes()


# ---- relative paths -----------------------------------------------------------------------------------


def test_relative_paths_mean_where_they_are_written(project: HatchProject, pypiserver: PypiServer) -> None:
    """hatch run from a subfolder of the project: ``report`` and ``ca-cert`` in pyproject.toml are the
    project's, in hatch's config file the config folder's, on the command line the current folder's. The
    report's paths are as the user can open them from where hatch ran."""
    files = project.release()
    subfolder = project.root / "src"
    certs = project.root / "certs"
    certs.mkdir()
    shutil.copy(certifi.where(), certs / "ca.pem")  # a real CA bundle: the TLS setup must load it
    with (project.root / "pyproject.toml").open("a") as pyproject:
        pyproject.write(
            '\n[tool.hatch.publish.safe]\nreport = "build/publish.json"\nca-cert = "certs/ca.pem"\n'
        )
    config_dir = project.config_file.parent
    auth = {"HATCH_INDEX_AUTH": TEST_PASSWORD}

    def publish_from(folder: Path, *args: str) -> None:
        result = project.run("publish", "-p", "safe", *target(pypiserver), *args, cwd=folder, env=auth)
        assert result.returncode == 0, result

    publish_from(subfolder)
    from_pyproject = json.loads((project.root / "build" / "publish.json").read_text())
    # dist/ is outside the current folder: absolute paths.
    assert [entry["path"] for entry in from_pyproject["files"]] == [str(path) for path in files]
    assert stored(pypiserver, project.name) == local_files(files)

    publish_from(subfolder, "-o", "report=from-option.json")
    assert (subfolder / "from-option.json").is_file()

    (project.root / "pyproject.toml").write_text(
        (project.root / "pyproject.toml").read_text().replace('report = "build/publish.json"\n', "")
    )
    project.config_file.write_text('[publish.safe]\nreport = "reports/from-config.json"\n')
    publish_from(subfolder)
    assert (config_dir / "reports" / "from-config.json").is_file()
    assert not (subfolder / "reports").exists()

    # From the project's root, the paths of dist/ are relative: as found in the dist folder.
    publish_from(project.root, "-o", "report=root.json")
    entries = json.loads((project.root / "root.json").read_text())["files"]
    assert [entry["path"] for entry in entries] == [f"dist/{path.name}" for path in files]


def test_a_missing_relative_certificate_is_named_with_the_folder_it_was_looked_for_in(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    project.release()
    project.config_file.write_text('[publish.safe]\nclient-cert = "tls/client.pem"\n')
    result = project.run("publish", "-p", "safe", *target(pypiserver), cwd=project.root / "src")
    assert result.returncode == 2, result
    where = f"'client-cert' in [publish.safe] in {project.config_file}"
    assert f"{where}: {project.config_file.parent / 'tls' / 'client.pem'}: no such certificate file" in (
        result.output
    )
