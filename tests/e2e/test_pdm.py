"""``pdm safe-publish``, run through the real ``pdm`` executable against real index servers.

Every test works in its own project folder (``tmp_path``) with its own PDM global config, cache, log
folder and HOME, so the machine's PDM configuration, keyring and ``~/.pypirc`` never leak in, and publishes
a project name no other test uses. Most tests publish files from the ``dists`` factory with ``--no-build``;
``test_default_build_then_publish`` lets PDM build the project as ``pdm publish`` would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.support.commands import Ran, credential_args, run_command
from tests.support.dists import DistFactory, file_sha256, filename_name
from tests.support.index_state import local_files, stored
from tests.support.isolation import clean_env, search_path
from tests.support.projects import HATCHLING, write_project
from tests.support.proxy import FaultProxy
from tests.support.servers import TEST_PASSWORD, TEST_USERNAME, DevpiIndex, Index, PypiServer
from tests.support.signals import SIGNALS, interrupt_the_second_upload, interrupted_report, signal_id

from publish_plugins.options import INDEX_RULES, TRUSTED_PUBLISHING

PDM_TIMEOUT = 120
BUILD_TIMEOUT = 240  # one build installs hatchling from PyPI into an isolated env; two fit in 300 s
WRONG_SECRET = "pypi-AgEIcHlwaS5vcmcWRONGWRONG"
PDM_CREDENTIALS = ("-r", "{url}", "-u", "{user}", "-P", "{password}")  # how pdm publish takes them


@dataclass
class PdmProject:
    """A PDM project folder and the isolated environment ``pdm`` runs in."""

    root: Path
    name: str
    version: str
    pdm: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def dists(self) -> DistFactory:
        """Writes into the project's ``dist/`` (the default ``-d/--dest``)."""
        return DistFactory(self.root / "dist")

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = PDM_TIMEOUT) -> Ran:
        """Run ``pdm ARGS`` in the project folder."""
        return run_command([self.pdm, *args], cwd=self.root, env={**self.env, **(env or {})}, timeout=timeout)

    def publish(self, *args: str, env: dict[str, str] | None = None) -> Ran:
        """``pdm safe-publish --no-build ARGS``."""
        return self.run("safe-publish", "--no-build", *args, env=env)


def isolated_env(home: Path, pdm_bin: Path) -> dict[str, str]:
    """A minimal environment: nothing of the machine's PDM, XDG, keyring or proxy settings."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        **clean_env(home, path=search_path(pdm_bin)),
        "PDM_CONFIG_FILE": str(home / "pdm-config.toml"),
        "PDM_CACHE_DIR": str(home / "pdm-cache"),
        "PDM_LOG_DIR": str(home / "pdm-logs"),
        "PDM_CHECK_UPDATE": "false",
        "PDM_NON_INTERACTIVE": "1",
        "COLUMNS": "200",
        "LANG": "C.UTF-8",
    }


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> PdmProject:
    """A PDM project with one module, named ``unique_name``, version 1.0.0.

    Built with hatchling, whose sdists are byte-reproducible: pdm-backend 2.5.0 writes the build time into
    the sdist's gzip header, so a rebuilt pdm-backend sdist is only equivalent to the published one
    (test_pdm_rebuild.py), never identical.
    """
    return new_project(tmp_path, unique_name, host_venv)


def new_project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> PdmProject:
    """The ``project`` fixture's project, for tests in other modules."""
    root = tmp_path / "project"
    pyproject = (
        f'[project]\nname = "{unique_name}"\nversion = "1.0.0"\nrequires-python = ">=3.10"\n'
        f'description = "publish-plugins e2e test project"\n\n{HATCHLING}'
    )
    write_project(
        root, unique_name, pyproject, init='"""A project built by the publish-plugins e2e tests."""\n'
    )
    bin_dir = host_venv("pdm")
    return PdmProject(root, unique_name, "1.0.0", bin_dir / "pdm", isolated_env(tmp_path / "home", bin_dir))


def creds(
    index: Index | FaultProxy | str, username: str = TEST_USERNAME, password: str = TEST_PASSWORD
) -> list[str]:
    return credential_args(PDM_CREDENTIALS, index, user=username, password=password)


# ---- the command ----------------------------------------------------------------------------------


def test_help_shows_the_new_options(project: PdmProject) -> None:
    """`pdm safe-publish --help` shows pdm publish's options and the new ones; `pdm --help` lists it."""
    result = project.run("safe-publish", "--help")
    assert result.returncode == 0, result
    for option in (
        "-r REPOSITORY",
        "-u USERNAME",
        "-P PASSWORD",
        "--no-build",
        "-d DEST",
        "--ca-certs",
        "--no-verify-ssl",
        "--check-url URL",
        "--skip-existing",
        "--dry-run",
        "--report FILE",
        "--jobs N",
        # The choices are spelled out in pdm_command (no core import at PDM's start): the core's own.
        f"--trusted-publishing {{{','.join(TRUSTED_PUBLISHING)}}}",
        f"--index-rules {{{','.join(INDEX_RULES)}}}",
        "--require-identical",
        "--per-project",
        "--max-file-size SIZE",
        "--no-attestations",
        "PDM_PUBLISH_REPO",
        "Exit codes",
    ):
        assert option in result.stdout, option
    listing = project.run("--help")
    assert listing.returncode == 0
    assert "safe-publish" in listing.stdout
    assert "Failed to load plugin" not in listing.output


def test_pdm_start_loads_no_core(project: PdmProject) -> None:
    """PDM loads the plugin and builds every command's parser on every start: only the argparse wiring
    and the host-free shared layer are imported then, never the core or its HTTP stack."""
    code = (
        "import sys\n"
        "from pdm.core import Core\n"
        "core = Core()\n"
        "assert 'safe-publish' in core.parser.format_help()\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('publish_plugins'))))\n"
    )
    python = project.pdm.parent / "python"
    done = run_command([python, "-c", code], cwd=project.root, env=project.env, timeout=PDM_TIMEOUT)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "publish_plugins.frontends.pdm_command" in loaded
    assert loaded <= {
        "publish_plugins",
        "publish_plugins._version",
        "publish_plugins.frontends",
        "publish_plugins.frontends._shared",
        "publish_plugins.frontends.pdm_command",
        "publish_plugins.frontends.pdm_plugin",
    }, loaded


def test_default_build_then_publish_and_rebuild_rerun(
    project: PdmProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """Without --no-build PDM builds first and both files go up; a rebuild + re-run uploads nothing."""
    proxy = fault_proxy(pypiserver.url)
    stale = project.dists.wheel(project.name, "0.9")  # PDM's build empties dist/ first, as in pdm publish
    result = project.run("safe-publish", *creds(proxy), timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, result
    assert "Built sdist at" in result.output
    assert "Built wheel at" in result.output
    built = sorted(p.name for p in (project.root / "dist").iterdir())
    base = f"{filename_name(project.name)}-1.0.0"
    assert built == [f"{base}-py3-none-any.whl", f"{base}.tar.gz"]
    assert not stale.exists()
    on_index = stored(pypiserver, project.name)
    assert sorted(on_index) == built
    for name in built:
        assert on_index[name] == (project.root / "dist" / name).read_bytes()
    assert "2 uploaded, 0 skipped" in result.stdout

    # The CI job re-run: build again, publish again.
    proxy.reset_counters()
    again = project.run("safe-publish", *creds(proxy), timeout=BUILD_TIMEOUT)
    assert again.returncode == 0, again
    assert "Built sdist at" in again.output
    assert "0 uploaded, 2 skipped" in again.stdout
    assert proxy.posts == []


def test_fresh_publish_then_identical_rerun_sends_no_upload(
    project: PdmProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """A fresh release is uploaded with progress bars; the identical re-run sends no upload request at all."""
    proxy = fault_proxy(pypiserver.url)
    files = project.dists.release(project.name, "1.0.0")
    first = project.publish(*creds(proxy))
    assert first.returncode == 0, first
    assert len(proxy.posts) == 2
    for path in files:
        assert f"Uploading {path.name}" in first.stdout
        assert f"{path.name}: uploaded" in first.stdout
    assert "100%" in first.stdout  # PDM's rich progress bar, final state
    assert stored(pypiserver, project.name) == local_files(files)

    proxy.reset_counters()
    again = project.publish(*creds(proxy))
    assert again.returncode == 0, again
    assert proxy.posts == []
    assert proxy.upload_bytes == 0
    # The start of the index root (is it one?) and one simple-page read, nothing else.
    assert [method for method, _ in proxy.requests] == ["GET", "GET"]
    assert not (project.root / ".venv").exists()  # --no-build: PDM had no reason to create a virtualenv
    for path in files:
        assert f"{path.name}: skipped, identical" in again.stdout
    assert "0 uploaded, 2 skipped" in again.stdout


def test_conflict_exits_3_and_uploads_nothing_not_even_new_files(
    project: PdmProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """Same filename, different content: exit 3 naming the file, and the new sdist of the run stays local."""
    proxy = fault_proxy(pypiserver.url)
    published = project.dists.wheel(project.name, "1.0.0")
    assert project.publish(*creds(proxy)).returncode == 0
    before = stored(pypiserver, project.name)
    changed = project.dists.wheel(project.name, "1.0.0", payload=b"rebuilt with different content")
    new_sdist = project.dists.sdist(project.name, "1.0.0")
    assert changed == published

    proxy.reset_counters()
    dry = project.publish(*creds(proxy), "--dry-run")
    assert dry.returncode == 3, dry
    result = project.publish(*creds(proxy))
    assert result.returncode == 3, result
    assert "Traceback" not in result.output
    assert f"ERROR: {changed.name}: conflict" in result.stderr
    assert f"{file_sha256(changed)}" in result.stderr
    assert "nothing was uploaded" in result.stderr
    assert proxy.posts == []
    assert stored(pypiserver, project.name) == before
    assert new_sdist.name not in before


def test_conflict_line_on_a_narrow_terminal_is_one_plain_line(
    project: PdmProject, pypiserver: PypiServer
) -> None:
    """Rich as on a terminal (FORCE_COLOR; NO_COLOR keeps bold): no highlighting inside our lines, no wrapping.

    Rich's highlighter would bold the version in the file name and part of the hash, and a 60-column console
    would break the line in the hash, which a user then cannot copy.
    """
    published_sha = file_sha256(project.dists.wheel(project.name, "1.0.0"))
    assert project.publish(*creds(pypiserver)).returncode == 0
    changed = project.dists.wheel(project.name, "1.0.0", payload=b"rebuilt with different content")
    result = project.publish(*creds(pypiserver), env={"FORCE_COLOR": "1", "COLUMNS": "60"})
    assert result.returncode == 3, result
    lines = [line for line in result.stderr.splitlines() if f"{changed.name}: conflict" in line]
    assert len(lines) == 1, result
    line = lines[0]
    tail = line.split(changed.name, 1)[1]
    assert "\x1b[" not in tail, repr(line)
    assert f"local sha256:{file_sha256(changed)}" in tail, repr(line)
    assert f"index sha256:{published_sha})" in tail, repr(line)  # both hashes whole, on this one line
    final = [line for line in result.stderr.splitlines() if line.startswith("ERROR: conflict:")]
    assert len(final) == 1, result
    assert final[0].rstrip().endswith("publish a new version"), result
    assert "--skip-existing" in result.stderr  # the front end's hint: how to leave the file as it is


def test_skip_existing_with_a_changed_file_warns_with_both_hashes(
    project: PdmProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """--skip-existing: the changed file is skipped (exit 0) with a warning naming it and both hashes."""
    proxy = fault_proxy(pypiserver.url)
    original = project.dists.wheel(project.name, "1.0.0")
    original_sha = file_sha256(original)
    assert project.publish(*creds(proxy)).returncode == 0
    changed = project.dists.wheel(project.name, "1.0.0", payload=b"changed")
    new_sdist = project.dists.sdist(project.name, "1.0.0")

    proxy.reset_counters()
    result = project.publish(*creds(proxy), "--skip-existing")
    assert result.returncode == 0, result
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING:")]
    assert len(warnings) == 1, result
    assert changed.name in warnings[0]
    assert file_sha256(changed) in warnings[0]
    assert original_sha in warnings[0]
    assert len(proxy.posts) == 1  # only the new sdist
    on_index = stored(pypiserver, project.name)
    assert hashlib.sha256(on_index[changed.name]).hexdigest() == original_sha
    assert on_index[new_sdist.name] == new_sdist.read_bytes()

    quiet = project.publish(*creds(proxy), "--skip-existing", "-q")
    assert quiet.returncode == 0, quiet
    assert changed.name in quiet.stderr  # -q hides the narrative, never this warning


def test_dry_run_uploads_nothing(
    project: PdmProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """--dry-run reads the index, names what would be uploaded, sends no upload and exits 0."""
    proxy = fault_proxy(pypiserver.url)
    project.dists.release(project.name, "1.0.0")
    result = project.publish(*creds(proxy), "--dry-run")
    assert result.returncode == 0, result
    assert "dry run: would upload 2 file(s)" in result.stdout
    assert "dry run: 2 to upload, 0 skipped" in result.stdout
    assert "Uploading" not in result.stdout
    assert proxy.posts == []
    assert proxy.requests  # the index was read
    assert stored(pypiserver, project.name) == {}


def test_dry_run_without_credentials_reads_anonymously(project: PdmProject, pypiserver: PypiServer) -> None:
    """A dry run needs no credentials when the index can be read without them (pdm would refuse to start)."""
    project.dists.release(project.name, "1.0.0")
    result = project.publish("-r", pypiserver.url, "--dry-run")
    assert result.returncode == 0, result
    assert "dry run: would upload 2 file(s)" in result.stdout
    assert "OIDC" not in result.output


def test_report_records_every_file(project: PdmProject, pypiserver: PypiServer) -> None:
    """--report FILE: one record per file (taken, skipped, ignored) with hashes and totals, no secret."""
    wheel = project.dists.wheel(project.name, "1.0.0")
    assert project.publish(*creds(pypiserver)).returncode == 0
    sdist = project.dists.sdist(project.name, "1.0.0")
    other = project.dists.wheel("someone-else", "1.0.0")
    report = project.root / "reports" / "publish.json"
    result = project.publish(*creds(pypiserver), "--report", "reports/publish.json")
    assert result.returncode == 0, result
    data = json.loads(report.read_text())
    assert data["exit_code"] == 0
    assert data["dry_run"] is False
    assert data["mode"] == "strict"
    by_name = {record["filename"]: record for record in data["files"]}
    assert by_name[wheel.name]["action"] == "skipped-identical"
    assert by_name[wheel.name]["sha256"] == file_sha256(wheel)
    assert by_name[wheel.name]["index_hash"] == f"sha256:{file_sha256(wheel)}"
    assert by_name[sdist.name]["action"] == "uploaded"
    assert by_name[other.name]["action"] == "ignored"
    assert TEST_PASSWORD not in report.read_text()


@pytest.mark.parametrize("verbosity", [[], ["-v"]], ids=["normal", "verbose"])
def test_wrong_credentials_exit_1_and_the_secret_is_never_shown(
    project: PdmProject, pypiserver: PypiServer, verbosity: list[str]
) -> None:
    """Wrong password: exit 1, "authentication failed", nothing stored, the secret in no output or report."""
    project.dists.release(project.name, "1.0.0")
    result = project.publish(*creds(pypiserver, password=WRONG_SECRET), "--report", "r.json", *verbosity)
    assert result.returncode == 1, result
    assert "authentication failed" in result.stderr
    assert "Traceback" not in result.output
    assert WRONG_SECRET not in result.output
    assert WRONG_SECRET not in (project.root / "r.json").read_text()
    assert stored(pypiserver, project.name) == {}


def test_credentials_from_pdm_config(project: PdmProject, pypiserver: PypiServer) -> None:
    """`pdm config repository.NAME.*` (PDM's global config file) gives URL and credentials to `-r NAME`."""
    for key, value in (
        ("url", pypiserver.url),
        ("username", pypiserver.username),
        ("password", pypiserver.password),
    ):
        configured = project.run("config", f"repository.local.{key}", value)
        assert configured.returncode == 0, configured
    config_text = Path(project.env["PDM_CONFIG_FILE"]).read_text()
    assert "[repository.local]" in config_text
    files = project.dists.release(project.name, "1.0.0")
    result = project.publish("-r", "local")
    assert result.returncode == 0, result
    assert "2 uploaded" in result.stdout
    assert pypiserver.password not in result.output
    assert sorted(stored(pypiserver, project.name)) == sorted(p.name for p in files)

    # PDM matches a URL given to -r against the configured repositories, credentials included.
    project.dists.wheel(project.name, "1.0.0", tag="py311-none-any")
    by_url = project.publish("-r", pypiserver.url)
    assert by_url.returncode == 0, by_url
    assert "1 uploaded, 2 skipped" in by_url.stdout


def test_credentials_from_pdm_publish_environment_variables_on_devpi(
    project: PdmProject, devpi_index: DevpiIndex
) -> None:
    """PDM_PUBLISH_REPO/USERNAME/PASSWORD alone publish to devpi (JSON pages); the re-run skips by hash."""
    env = {
        "PDM_PUBLISH_REPO": devpi_index.url,
        "PDM_PUBLISH_USERNAME": devpi_index.username,
        "PDM_PUBLISH_PASSWORD": devpi_index.password,
    }
    files = project.dists.release(project.name, "1.0.0")
    result = project.publish(env=env)
    assert result.returncode == 0, result
    assert "2 uploaded" in result.stdout
    assert devpi_index.stored_files() == local_files(files)
    again = project.publish(env=env)
    assert again.returncode == 0, again
    assert "0 uploaded, 2 skipped" in again.stdout
    changed = project.dists.sdist(project.name, "1.0.0", payload=b"changed")
    conflict = project.publish(env=env)
    assert conflict.returncode == 3, conflict
    assert f"{changed.name}: conflict" in conflict.stderr


def test_default_selection_is_the_projects_name_and_version(
    project: PdmProject, pypiserver: PypiServer
) -> None:
    """dist/ is filtered to the project's name and version; every file left out is named with the reason."""
    mine = project.dists.release(project.name, "1.0.0")
    old = project.dists.wheel(project.name, "0.9.0")
    other = project.dists.wheel("someone-else", "1.0.0")
    (project.root / "dist" / ".gitignore").write_text("*\n")
    result = project.publish(*creds(pypiserver), "--jobs", "2")
    assert result.returncode == 0, result
    assert f"{old.name}: ignored, version" in result.stdout
    assert f"{other.name}: ignored, belongs to someone-else" in result.stdout
    assert ".gitignore: ignored, not a distribution file" in result.stdout
    assert sorted(stored(pypiserver, project.name)) == sorted(p.name for p in mine)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-r", "nosuch"], "Missing repository config of nosuch"),
        (["-r", "{url}"], "Username and password are required"),
        (["-r", "{url}", "-u", "alice", "-P", "x", "-d", "nowhere"], "nowhere is not a folder"),
        (["-r", "{url}", "-u", "alice", "-P", "x", "--jobs", "0"], "--jobs: must be at least 1"),
        (
            ["-r", "{url}", "-u", "alice", "-P", "x", "--ca-certs", "no-ca.pem"],
            "no-ca.pem: no such certificate",
        ),
        (["-r", "{url}", "--ca-certs", "ca.pem", "--no-verify-ssl"], "not allowed with argument"),
        (
            ["-r", "{url}", "--index-rules", "warehouse"],
            "argument --index-rules: invalid choice: 'warehouse'",
        ),
        (["-r", "{url}", "--max-file-size", "100Q"], "argument --max-file-size: not a size: '100Q'"),
        (["-r", "{url}", "--max-file-size", "0"], "argument --max-file-size: a size must be more than 0"),
    ],
    ids=[
        "unknown-repository",
        "no-credentials",
        "no-dist-folder",
        "bad-jobs",
        "missing-ca",
        "ca-and-no-verify",
        "bad-index-rules",
        "bad-max-file-size",
        "zero-max-file-size",
    ],
)
def test_usage_errors_exit_2_with_one_line(
    project: PdmProject, pypiserver: PypiServer, args: list[str], message: str
) -> None:
    """A user's mistake: exit 2, a message naming it, no traceback, nothing uploaded."""
    project.dists.wheel(project.name, "1.0.0")
    result = project.publish(*(arg.replace("{url}", pypiserver.url) for arg in args))
    assert result.returncode == 2, result
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result
    assert "Traceback" not in result.output
    assert stored(pypiserver, project.name) == {}
    assert not (project.root / ".venv").exists()  # no interpreter chosen, no virtualenv made, for nothing


# ---- the index's rules, a size limit, one unit per project, paths (issue 14) --------------------------


def test_index_rules_pypi_refuses_a_local_version_and_a_linux_wheel_before_any_upload(
    project: PdmProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """--index-rules pypi on another index: PyPI would refuse both files, so exit 2 naming each with PyPI's
    words, and nothing is sent; by default (auto) PyPI's rules are not applied off PyPI and both go up."""
    local = "1.0.0+local"
    pyproject = project.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0.0"', f'version = "{local}"'))
    wheel = project.dists.wheel(project.name, local, tag="cp311-cp311-linux_x86_64")
    sdist = project.dists.sdist(project.name, local)
    proxy = fault_proxy(pypiserver.url)

    refused = project.publish(*creds(proxy), "--index-rules", "pypi")
    assert refused.returncode == 2, refused
    assert "Traceback" not in refused.output
    for path in (wheel, sdist):
        assert (
            f"{path.name}: PyPI would refuse it: The use of local versions in '{local}' is not allowed"
            in (refused.stderr)
        ), refused
    assert f"Binary wheel '{wheel.name}' has an unsupported platform tag 'linux_x86_64'" in refused.stderr
    assert "nothing was uploaded" in refused.stderr
    assert proxy.posts == []
    assert stored(pypiserver, project.name) == {}

    allowed = project.publish(*creds(proxy))
    assert allowed.returncode == 0, allowed
    assert sorted(stored(pypiserver, project.name)) == sorted([wheel.name, sdist.name])


def test_max_file_size_refuses_a_larger_file_before_any_upload(
    project: PdmProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """--max-file-size 1K: a 4 KiB wheel stops the run (exit 2, PyPI's "File too large"), the small sdist
    beside it is not sent either."""
    wheel = project.dists.large_wheel(project.name, "1.0.0", 4096)
    project.dists.sdist(project.name, "1.0.0")
    proxy = fault_proxy(pypiserver.url)
    result = project.publish(*creds(proxy), "--max-file-size", "1K")
    assert result.returncode == 2, result
    assert f"{wheel.name}: File too large. Limit for project" in result.stderr
    assert "is 1024 bytes" in result.stderr
    assert "Traceback" not in result.output
    assert proxy.posts == []
    assert stored(pypiserver, project.name) == {}


def test_per_project_publishes_the_projects_without_a_conflict(
    tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path], pypiserver: PypiServer
) -> None:
    """A monorepo's root, a PDM project without a name, whose dist/ collects every package's files: all of
    them are taken. One conflicting project stops the whole run (one unit, exit 3, nothing sent); with
    --per-project the other project is published and the run still exits 3."""
    root = tmp_path / "monorepo"
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.pdm]\ndistribution = false\n")
    bin_dir = host_venv("pdm")
    monorepo = PdmProject(root, "", "", bin_dir / "pdm", isolated_env(tmp_path / "home", bin_dir))
    clashing, fresh = f"{unique_name}-core", f"{unique_name}-cli"
    monorepo.dists.wheel(clashing, "2.0")
    assert monorepo.publish(*creds(pypiserver)).returncode == 0
    changed = monorepo.dists.wheel(clashing, "2.0", payload=b"changed without a version bump")
    new_files = monorepo.dists.release(fresh, "1.0")

    one_unit = monorepo.publish(*creds(pypiserver))
    assert one_unit.returncode == 3, one_unit
    assert f"{changed.name}: conflict" in one_unit.stderr
    assert stored(pypiserver, fresh) == {}

    per_project = monorepo.publish(*creds(pypiserver), "--per-project", "--report", "report.json")
    assert per_project.returncode == 3, per_project
    assert f"{changed.name}: conflict" in per_project.stderr
    assert "2 uploaded, 0 skipped, 1 conflicting" in per_project.stdout
    assert stored(pypiserver, fresh) == local_files(new_files)
    actions = {r["filename"]: r["action"] for r in json.loads((root / "report.json").read_text())["files"]}
    assert actions == {changed.name: "conflict", **{path.name: "uploaded" for path in new_files}}


def test_relative_paths_from_a_subfolder(project: PdmProject, pypiserver: PypiServer) -> None:
    """Run in a subfolder (PDM finds the project upward): --report is relative to the current folder, as
    any path a user types; -d/--dest to the project, as in `pdm publish` and `pdm build`. The report's
    files[].path is relative to the current folder when the file is inside it, else absolute: a path
    that opens from where the command ran, from the project root ("dist/...") as from below it."""
    files = project.dists.release(project.name, "1.0.0")
    sub = project.root / "src"
    result = run_command(
        [project.pdm, "safe-publish", "--no-build", *creds(pypiserver), "-d", "dist", "--report", "r.json"],
        cwd=sub,
        env=project.env,
        timeout=PDM_TIMEOUT,
    )
    assert result.returncode == 0, result
    assert "2 uploaded" in result.stdout
    assert not (project.root / "r.json").exists()
    report = json.loads((sub / "r.json").read_text())
    assert sorted(record["path"] for record in report["files"]) == sorted(str(path) for path in files)

    again = project.publish(*creds(pypiserver), "--report", "r.json")
    assert again.returncode == 0, again
    report = json.loads((project.root / "r.json").read_text())
    assert sorted(record["path"] for record in report["files"]) == sorted(f"dist/{p.name}" for p in files)


# ---- a hostile or misconfigured index (issue: only a verified "not here" lets a file go up) ---------


def test_an_empty_project_page_is_an_error_not_absent(
    project: PdmProject, pypiserver_overwrite: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """An index that accepts overwrites holds the release; the project page answers 200 with nothing.
    Read as "absent", the run would replace the published files: it stops (exit 1) and sends nothing."""
    project.dists.release(project.name, project.version)
    assert project.publish(*creds(pypiserver_overwrite)).returncode == 0
    before = stored(pypiserver_overwrite, project.name)
    project.dists.release(project.name, project.version, payload=b"rebuilt with other content\n")
    proxy = fault_proxy(pypiserver_overwrite.url)
    proxy.status(200, headers={"Content-Type": "text/html"}, path=f"/simple/{project.name}/", times=None)

    result = project.publish(*creds(proxy))

    assert result.returncode == 1, result
    assert "an empty body" in result.output
    assert "Traceback" not in result.output
    assert proxy.posts == []
    assert stored(pypiserver_overwrite, project.name) == before


def test_check_url_that_is_a_project_page_stops_before_any_upload(
    project: PdmProject, pypiserver: PypiServer
) -> None:
    project.dists.release(project.name, project.version)
    assert project.publish(*creds(pypiserver)).returncode == 0
    before = stored(pypiserver, project.name)

    result = project.publish(*creds(pypiserver), "--check-url", f"{pypiserver.simple_url}{project.name}/")

    assert result.returncode == 2, result
    assert f"pass the root, such as {pypiserver.simple_url}, as --check-url" in result.output
    assert stored(pypiserver, project.name) == before


def test_first_publish_to_pypiserver_with_its_fallback(
    project: PdmProject, pypiserver_fallback: PypiServer
) -> None:
    """pypiserver as people start it sends an unknown project to PyPI: the first publish works anyway."""
    files = project.dists.release(project.name, project.version)
    first = project.publish(*creds(pypiserver_fallback))
    again = project.publish(*creds(pypiserver_fallback))
    assert first.returncode == 0, first
    assert again.returncode == 0, again
    assert "0 uploaded, 2 skipped" in again.output
    assert stored(pypiserver_fallback, project.name) == local_files(files)


# ---- interrupts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", SIGNALS, ids=signal_id)
def test_signal_during_an_upload_stops_at_once_and_a_rerun_completes(
    signum: int, project: PdmProject, pypiserver: PypiServer, tmp_path: Path
) -> None:
    """Ctrl-C or SIGTERM while the sdist's upload waits for the server: exit 130 / 143 at once (PDM would
    make any exception 1), no upload starts after the signal, the report says what went up; the re-run
    uploads the rest."""
    wheel, sdist = files = project.dists.release(project.name, "1.0.0")
    report = tmp_path / "report.json"

    def start(url: str) -> tuple[list[str], dict[str, str]]:
        command = [str(project.pdm), "safe-publish", "--no-build", *creds(url), "--report", str(report)]
        return command, project.env

    result = interrupt_the_second_upload(
        signum, pypiserver.url, start, cwd=project.root, folder=tmp_path / "output"
    )
    assert f"interrupted ({signal_id(signum)}): 1 file(s) had been uploaded" in result.stderr, result
    actions = interrupted_report(report, signum)
    assert actions[wheel.name] == ("uploaded", "uploaded")
    assert actions[sdist.name][1].startswith("interrupted during its upload")
    assert stored(pypiserver, project.name) == local_files([wheel])

    again = project.publish(*creds(pypiserver))
    assert again.returncode == 0, again
    assert stored(pypiserver, project.name) == local_files(files)
