"""``poetry publish --skip-existing-strict`` / ``--check-url``: the real poetry executable, real servers.

Every run gets its own HOME, POETRY_CONFIG_DIR, POETRY_CACHE_DIR and POETRY_DATA_DIR, keyring disabled
(POETRY_KEYRING_ENABLED=false and the null backend), and only PATH from the outer environment, so the
machine's poetry configuration, credentials and keyring never leak in. Proof that nothing reached the
server comes from the fault proxy's request log, not from the command's own output.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.commands import Ran, credential_args, run_command
from tests.support.dists import DistFactory, filename_name, sdist_filename, wheel_filename
from tests.support.index_state import local_files, stored
from tests.support.isolation import clean_env
from tests.support.projects import write_project
from tests.support.proxy import FaultProxy
from tests.support.servers import DevpiIndex, PypiServer
from tests.support.signals import SIGNALS, interrupt_the_second_upload, signal_id

VERSION = "1.0.0"
# [project] for poetry 2; poetry 1.8 (`make test-min`) reads only [tool.poetry], which poetry 2 then ignores.
PYPROJECT = """\
[project]
name = "{name}"
version = "{version}"
description = "test"
requires-python = ">=3.10"

[tool.poetry]
name = "{name}"
version = "{version}"
description = "test"
authors = ["Test <test@example.com>"]
packages = [{{ include = "{module}" }}]

[tool.poetry.dependencies]
python = ">=3.10"

[build-system]
requires = ["poetry-core>=1.0"]
build-backend = "poetry.core.masonry.api"
"""
TIMEOUT = 300  # poetry starts slowly on a loaded 2-core machine; builds take a few seconds more
POETRY_LOGIN = ("-u", "{user}", "-p", "{password}")  # poetry publish takes the URL from its config only


@dataclass
class PoetryProject:
    """A poetry project in its own folder, with its own poetry configuration and HOME."""

    executable: Path
    root: Path
    name: str
    version: str
    home: Path

    @property
    def dist(self) -> DistFactory:
        return DistFactory(self.root / "dist")

    @property
    def config_dir(self) -> Path:
        return self.home / "poetry-config"

    def release(self, *, payload: bytes = b"first release\n") -> list[Path]:
        """Write a wheel and an sdist of the project's current version into ``dist/``."""
        return self.dist.release(self.name, self.version, payload=payload)

    def poetry(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Ran:
        """Run poetry in the project folder (or ``cwd``), non-interactive, isolated from the machine's
        configuration."""
        return run_command(
            [self.executable, *args, "-n"], cwd=cwd or self.root, env=self.environment(env), timeout=TIMEOUT
        )

    def environment(self, env: dict[str, str] | None = None) -> dict[str, str]:
        """The isolated environment poetry runs in, plus ``env``."""
        base = {
            **clean_env(self.home),
            "POETRY_CONFIG_DIR": str(self.config_dir),
            "POETRY_CACHE_DIR": str(self.home / "poetry-cache"),
            "POETRY_DATA_DIR": str(self.home / "poetry-data"),
            "POETRY_KEYRING_ENABLED": "false",
            # `poetry build` would otherwise create a virtualenv for the project first (seconds, no use).
            "POETRY_VIRTUALENVS_CREATE": "false",
        }
        return {**base, **(env or {})}


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> PoetryProject:
    """A tiny package-mode poetry project named ``unique_name``, version 1.0.0, with a real module."""
    return new_project(tmp_path, unique_name, host_venv)


def new_project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> PoetryProject:
    """The ``project`` fixture's project, for tests in other modules."""
    root = tmp_path / "project"
    pyproject = PYPROJECT.format(name=unique_name, version=VERSION, module=filename_name(unique_name))
    write_project(root, unique_name, pyproject, source="", init='"""A test package."""\n\nVALUE = 1\n')
    home = tmp_path / "home"
    home.mkdir()
    return PoetryProject(host_venv("poetry") / "poetry", root, unique_name, VERSION, home)


def local_repo(url: str) -> dict[str, str]:
    """The repository ``local`` defined through poetry's environment variables."""
    return {"POETRY_REPOSITORIES_LOCAL_URL": url}


def login(index: PypiServer | DevpiIndex) -> list[str]:
    return credential_args(POETRY_LOGIN, user=index.username, password=index.password)


# ---- the plugin is loaded, poetry itself is unchanged ----------------------------------------------


def test_help_shows_the_new_options_beside_poetrys_own(project: PoetryProject) -> None:
    """`poetry publish --help` lists --skip-existing-strict and --check-url, and poetry's options are kept."""
    result = project.poetry("publish", "--help")
    assert result.returncode == 0, result.stderr
    new = [
        "--skip-existing-strict",
        "--check-url=CHECK-URL",
        "--require-identical",
        "--per-project",
        "--index-rules=INDEX-RULES",
        "--max-file-size=MAX-FILE-SIZE",
        "--report=REPORT",
        "--jobs=JOBS",
    ]
    own = [
        "--skip-existing ",
        "--build",
        "--dist-dir",
        "--repository",
        "--cert",
        "--client-cert",
        "--dry-run",
    ]
    for option in new + own:
        assert option in result.stdout
    assert "Exit codes" in result.stdout


def test_other_poetry_commands_still_work(project: PoetryProject) -> None:
    """With the plugin installed, `poetry --version` works and `poetry list` has exactly one publish."""
    version = project.poetry("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("Poetry (version ")
    assert version.stderr == ""
    listing = project.poetry("list")
    assert listing.returncode == 0, listing.stderr
    assert [
        line.split()[0] for line in listing.stdout.splitlines() if line.strip().startswith("publish")
    ] == ["publish"]


def test_plain_publish_is_poetrys_own(project: PoetryProject, pypiserver: PypiServer) -> None:
    """Without the new options poetry's built-in publish runs: its 409 failure and its own --skip-existing."""
    files = project.release()
    env = local_repo(pypiserver.url)
    first = project.poetry("publish", "-r", "local", *login(pypiserver), env=env)
    assert first.returncode == 0, first.stderr
    assert stored(pypiserver, project.name) == local_files(files)
    again = project.poetry("publish", "-r", "local", *login(pypiserver), env=env)
    assert again.returncode == 1
    assert "HTTP Error 409" in again.stdout + again.stderr  # poetry's own message, not ours
    assert "skipped, identical" not in again.stdout + again.stderr
    skip = project.poetry("publish", "-r", "local", "--skip-existing", *login(pypiserver), env=env)
    assert skip.returncode == 0, skip.stderr
    assert "File exists. Skipping" in skip.stdout + skip.stderr  # poetry's heuristic, after sending the files


def test_poetry_keeps_working_when_the_core_cannot_load(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """A core that cannot be imported breaks nothing: poetry and its plain `publish` keep working.

    httpx is shadowed by a module raising ImportError; only the new options fail, in one line, exit 1.
    """
    shadow = project.home / "shadow"
    shadow.mkdir()
    (shadow / "httpx.py").write_text('raise ImportError("simulated: httpx cannot be imported")\n')
    env = {**local_repo(pypiserver.url), "PYTHONPATH": str(shadow)}
    version = project.poetry("--version", env=env)
    assert version.returncode == 0, version.stdout + version.stderr
    files = project.release()
    safe = project.poetry("publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), env=env)
    assert safe.returncode == 1
    assert "publish-plugins cannot load its core: simulated" in safe.stderr
    assert stored(pypiserver, project.name) == {}
    plain = project.poetry("publish", "-r", "local", *login(pypiserver), env=env)
    assert plain.returncode == 0, plain.stderr
    assert stored(pypiserver, project.name) == local_files(files)


# ---- the safe path ---------------------------------------------------------------------------------


def test_fresh_publish_then_identical_rerun_sends_nothing(
    project: PoetryProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """First run uploads with poetry's progress lines; the re-run skips both files and sends no upload."""
    files = project.release()
    other_version = project.dist.wheel(project.name, "0.9.0")
    proxy = fault_proxy(pypiserver.url)
    env = local_repo(proxy.url)

    first = project.poetry("publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), env=env)
    assert first.returncode == 0, first.stderr
    assert f"Publishing {project.name} ({VERSION}) to local" in first.stdout
    for path in files:
        assert f" - Uploading {path.name} 100%" in first.stderr
    assert f"{other_version.name}: ignored, version 0.9" in first.stdout  # default selection: this version
    assert "2 uploaded, 0 skipped" in first.stdout
    assert len(proxy.posts) == 2
    assert stored(pypiserver, project.name) == local_files(files)

    proxy.reset_counters()
    again = project.poetry("publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), env=env)
    assert again.returncode == 0, again.stderr
    for path in files:
        assert f"{path.name}: skipped, identical" in again.stdout
    assert "0 uploaded, 2 skipped" in again.stdout
    assert proxy.posts == []
    assert proxy.upload_bytes == 0
    assert pypiserver.password not in first.stdout + first.stderr + again.stdout + again.stderr


def test_build_then_publish_and_rerun(project: PoetryProject, pypiserver: PypiServer) -> None:
    """--build runs poetry's real build first; a re-run of the same job (rebuild included) uploads nothing."""
    env = local_repo(pypiserver.url)
    args = ["publish", "--build", "-r", "local", "--skip-existing-strict", *login(pypiserver)]
    first = project.poetry(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert f"Building {project.name} ({VERSION})" in first.stdout
    built = sorted((project.root / "dist").iterdir())
    assert [path.name for path in built] == [
        wheel_filename(project.name, VERSION),
        sdist_filename(project.name, VERSION),
    ]
    assert stored(pypiserver, project.name) == local_files(built)

    again = project.poetry(*args, env=env)
    assert again.returncode == 0, again.stderr
    assert "Build anyway!" in again.stdout  # poetry's own warning about existing files, kept
    assert "0 uploaded, 2 skipped" in again.stdout


def test_conflict_uploads_nothing_not_even_new_files(
    project: PoetryProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """A changed file under a published name: exit 3, the file named, no upload at all (new wheel too)."""
    project.release()
    env = local_repo(pypiserver.url)
    first = project.poetry("publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), env=env)
    assert first.returncode == 0, first.stderr
    all_files = pypiserver.stored_files()

    changed = project.dist.wheel(project.name, VERSION, payload=b"rebuilt with different content\n")
    new = project.dist.wheel(project.name, VERSION, tag="py311-none-any")
    proxy = fault_proxy(pypiserver.url)
    result = project.poetry(
        "publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), env=local_repo(proxy.url)
    )
    assert result.returncode == 3
    assert f"{changed.name}: conflict" in result.stderr
    assert "nothing was uploaded" in result.stderr
    # The next step offered is the checked skip-existing mode, not poetry's own unchecked one.
    assert result.stderr.strip().splitlines()[-1] == (
        "to keep the index's file as it is and upload the rest, pass --skip-existing together with "
        "--skip-existing-strict (checked: files already on the index are skipped, and one with other content "
        "is skipped with a warning naming both hashes)"
    )
    assert "Traceback" not in result.stderr
    assert proxy.posts == []
    assert pypiserver.stored_files() == all_files
    assert new.name not in pypiserver.stored_files()


def test_missing_dist_says_build_first_not_name_the_files(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """poetry publish takes no file names: without dist/ the advice is to build, not to "name the files"."""
    assert not (project.root / "dist").exists()
    result = project.poetry(
        "publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), env=local_repo(pypiserver.url)
    )
    assert result.returncode == 2, result.stderr
    assert "dist is not a folder; run poetry build first, or pass --build or --dist-dir DIR" in result.stderr
    assert "name the files" not in result.stderr


def test_check_url_names_the_index_to_read_and_implies_strict(
    project: PoetryProject, pypiserver: PypiServer, devpi_index: DevpiIndex
) -> None:
    """--check-url alone switches to the safe path and is the index read: a conflict found there stops it."""
    project.release()
    to_pypiserver = project.poetry(
        "publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), env=local_repo(pypiserver.url)
    )
    assert to_pypiserver.returncode == 0, to_pypiserver.stderr

    changed = project.release(payload=b"different content\n")  # the same filenames, other bytes
    env = local_repo(devpi_index.url)
    # Upload to the empty devpi index, but check pypiserver, which holds other content under these names.
    check_pypiserver = ["--check-url", pypiserver.simple_url]
    refused = project.poetry("publish", "-r", "local", *check_pypiserver, *login(devpi_index), env=env)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert devpi_index.stored_files() == {}

    checked_there = project.poetry(
        "publish", "-r", "local", "--check-url", devpi_index.simple_url, *login(devpi_index), env=env
    )
    assert checked_there.returncode == 0, checked_there.stderr
    assert devpi_index.stored_files() == local_files(changed)


def test_devpi_fresh_publish_and_identical_rerun(project: PoetryProject, devpi_index: DevpiIndex) -> None:
    """devpi (PEP 691 JSON): the check URL is derived (+simple); the re-run skips both files."""
    files = project.release()
    env = local_repo(devpi_index.url)
    first = project.poetry("publish", "-r", "local", "--skip-existing-strict", *login(devpi_index), env=env)
    assert first.returncode == 0, first.stderr
    assert devpi_index.stored_files() == local_files(files)
    again = project.poetry("publish", "-r", "local", "--skip-existing-strict", *login(devpi_index), env=env)
    assert again.returncode == 0, again.stderr
    assert "0 uploaded, 2 skipped" in again.stdout


def test_dry_run_uploads_nothing_and_exits_as_the_real_run(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """--dry-run with the new option: plans and uploads nothing (exit 0); on a conflict it exits 3 too."""
    files = project.release()
    env = local_repo(pypiserver.url)
    args = ["publish", "-r", "local", "--skip-existing-strict", *login(pypiserver)]
    dry = project.poetry(*args, "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    plan = next(line for line in dry.stdout.splitlines() if "would upload 2 file(s)" in line)
    assert all(path.name in plan for path in files)
    assert stored(pypiserver, project.name) == {}

    real = project.poetry(*args, env=env)
    assert real.returncode == 0, real.stderr
    published = local_files(files)
    project.release(payload=b"changed\n")  # the same filenames, other bytes
    dry_conflict = project.poetry(*args, "--dry-run", env=env)
    assert dry_conflict.returncode == 3
    assert "dry run: 0 to upload, 0 skipped, 2 conflicting" in dry_conflict.stdout
    assert stored(pypiserver, project.name) == published


@pytest.mark.parametrize("verbosity", [[], ["-vvv"]], ids=["normal", "debug"])
def test_wrong_password_exit_1_secret_never_printed(
    project: PoetryProject, pypiserver: PypiServer, verbosity: list[str]
) -> None:
    """A wrong password: exit 1, an authentication error, nothing stored, the secret nowhere in the output."""
    project.release()
    secret = "wrong-Secret-7f3a9c"
    args = ["publish", "-r", "local", "--skip-existing-strict", "-u", "alice", "-p", secret, *verbosity]
    result = project.poetry(*args, env=local_repo(pypiserver.url))
    assert result.returncode == 1
    assert "authentication failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert secret not in result.stdout + result.stderr
    assert stored(pypiserver, project.name) == {}


# ---- poetry's configuration and environment --------------------------------------------------------


def test_repository_and_credentials_from_poetry_config(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """`poetry config repositories.NAME` and `http-basic.NAME` are used; --dist-dir too."""
    files = DistFactory(project.root / "out").release(project.name, VERSION)
    configured = [
        project.poetry("config", "repositories.team-repo", pypiserver.url),
        project.poetry("config", "http-basic.team-repo", pypiserver.username, pypiserver.password),
    ]
    for result in configured:
        assert result.returncode == 0, result.stderr
    assert pypiserver.password in (project.config_dir / "auth.toml").read_text()  # the file, not a keyring

    result = project.poetry("publish", "-r", "team-repo", "--dist-dir", "out", "--skip-existing-strict")
    assert result.returncode == 0, result.stderr
    assert "to team-repo" in result.stdout
    assert stored(pypiserver, project.name) == local_files(files)
    assert pypiserver.password not in result.stdout + result.stderr


def test_repository_and_credentials_from_poetry_environment(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """POETRY_REPOSITORIES_<NAME>_URL and POETRY_HTTP_BASIC_<NAME>_USERNAME/_PASSWORD are used."""
    files = project.release()
    env = {
        "POETRY_REPOSITORIES_TEAM_REPO_URL": pypiserver.url,
        "POETRY_HTTP_BASIC_TEAM_REPO_USERNAME": pypiserver.username,
        "POETRY_HTTP_BASIC_TEAM_REPO_PASSWORD": pypiserver.password,
    }
    # poetry names an environment-defined repository in lower case with dashes: team-repo.
    result = project.poetry("publish", "-r", "team-repo", "--skip-existing-strict", env=env)
    assert result.returncode == 0, result.stderr
    assert stored(pypiserver, project.name) == local_files(files)


def test_pypi_token_from_poetry_environment(
    project: PoetryProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """POETRY_PYPI_TOKEN_<NAME> is sent as user __token__ (seen on the wire) and never printed."""
    project.release()
    token = "pypi-TOKEN-4d1c8e"
    proxy = fault_proxy(pypiserver.url)
    env = {**local_repo(proxy.url), "POETRY_PYPI_TOKEN_LOCAL": token}
    result = project.poetry("publish", "-r", "local", "--skip-existing-strict", env=env)
    assert result.returncode == 1  # pypiserver knows only alice: it refuses the token, as a wrong one
    expected = "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()
    uploads = [record for record in proxy.records if record.method == "POST"]
    assert uploads
    assert {record.headers.get("authorization") for record in uploads} == {expected}
    assert token not in result.stdout + result.stderr


# ---- usage errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-r", "nowhere", "--skip-existing-strict"], "--repository nowhere"),
        (
            ["-r", "local", "--index-rules", "pypy"],
            "--index-rules: choose one of auto, pypi, none, got 'pypy'",
        ),
        (
            ["-r", "local", "--max-file-size", "lots"],
            "--max-file-size: not a size: 'lots' (bytes, or a number",
        ),
        (["-r", "local", "--jobs", "0"], "--jobs: must be at least 1, got '0'"),
        (["-r", "local", "--jobs", "two"], "--jobs: not a whole number, got 'two'"),
        (["-r", "local", "--report="], "--report needs a file name"),
        (["-r", "local", "--report", "."], "--report: . is a folder; name a file, such as report.json"),
    ],
    ids=[
        "unknown-repository",
        "index-rules",
        "max-file-size",
        "jobs-0",
        "jobs-text",
        "report-empty",
        "report-dir",
    ],
)
def test_usage_errors_exit_2_in_one_line(
    project: PoetryProject, pypiserver: PypiServer, args: list[str], message: str
) -> None:
    """An undefined repository or a bad value of a new option (each implies the plugin's checked publish):
    exit 2, one line naming the option, nothing uploaded."""
    project.release()
    result = project.poetry("publish", *args, *login(pypiserver), env=local_repo(pypiserver.url))
    assert result.returncode == 2
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        next(line for line in result.stderr.splitlines() if message in line)
    ]
    assert result.stdout.strip() == ""
    assert stored(pypiserver, project.name) == {}


def test_certificates_from_poetry_config_and_cert_option(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    """`certificates.NAME.cert` is used and --cert wins over it, as in poetry's own publish.

    A missing certificate file is a usage error (exit 2) naming the setting and the file, so the
    message shows which setting won, without a TLS server.
    """
    project.release()
    configured = project.root / "missing" / "from-config.pem"
    given = project.root / "missing" / "from-option.pem"
    env = {**local_repo(pypiserver.url), "POETRY_CERTIFICATES_LOCAL_CERT": str(configured)}
    args = ["publish", "-r", "local", "--skip-existing-strict", *login(pypiserver)]
    from_config = project.poetry(*args, env=env)
    assert from_config.returncode == 2
    assert f"certificates.local.cert: {configured}: no such certificate file" in from_config.stderr
    from_option = project.poetry(*args, "--cert", str(given), env=env)
    assert from_option.returncode == 2
    assert f"--cert: {given}: no such certificate file" in from_option.stderr
    assert str(configured) not in from_option.stderr
    assert stored(pypiserver, project.name) == {}


# ---- a hostile or misconfigured index (issue: only a verified "not here" lets a file go up) ---------


def test_an_empty_project_page_is_an_error_not_absent(
    project: PoetryProject, pypiserver_overwrite: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """An index that accepts overwrites holds the release; the project page answers 200 with nothing.
    Read as "absent", the run would replace the published files: it stops (exit 1) and sends nothing."""
    project.release()
    env = local_repo(pypiserver_overwrite.url)
    first = project.poetry(
        "publish", "-r", "local", "--skip-existing-strict", *login(pypiserver_overwrite), env=env
    )
    assert first.returncode == 0, first.stderr
    before = stored(pypiserver_overwrite, project.name)
    project.release(payload=b"rebuilt with other content\n")
    proxy = fault_proxy(pypiserver_overwrite.url)
    proxy.status(200, headers={"Content-Type": "text/html"}, path=f"/simple/{project.name}/", times=None)

    result = project.poetry(
        "publish",
        "-r",
        "local",
        "--skip-existing-strict",
        *login(pypiserver_overwrite),
        env=local_repo(proxy.url),
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert "an empty body" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert proxy.posts == []
    assert stored(pypiserver_overwrite, project.name) == before


def test_check_url_that_is_a_project_page_stops_before_any_upload(
    project: PoetryProject, pypiserver: PypiServer
) -> None:
    project.release()
    env = local_repo(pypiserver.url)
    assert (
        project.poetry(
            "publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), env=env
        ).returncode
        == 0
    )
    before = stored(pypiserver, project.name)

    page = f"{pypiserver.simple_url}{project.name}/"
    result = project.poetry("publish", "-r", "local", "--check-url", page, *login(pypiserver), env=env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"pass the root, such as {pypiserver.simple_url}, as --check-url" in result.stderr
    assert stored(pypiserver, project.name) == before


def test_first_publish_to_pypiserver_with_its_fallback(
    project: PoetryProject, pypiserver_fallback: PypiServer
) -> None:
    """pypiserver as people start it sends an unknown project to PyPI: the first publish works anyway."""
    files = project.release()
    env = local_repo(pypiserver_fallback.url)
    args = ["publish", "-r", "local", "--skip-existing-strict", *login(pypiserver_fallback)]
    first = project.poetry(*args, env=env)
    again = project.poetry(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, again.stderr
    assert "0 uploaded, 2 skipped" in again.stdout + again.stderr
    assert stored(pypiserver_fallback, project.name) == local_files(files)


# ---- interrupts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", SIGNALS, ids=signal_id)
def test_signal_during_an_upload_stops_at_once_and_a_rerun_completes(
    signum: int, project: PoetryProject, pypiserver: PypiServer, tmp_path: Path
) -> None:
    """Ctrl-C or SIGTERM while the sdist's upload waits for the server: exit 130 / 143 at once (cleo would
    exit 1 on Ctrl-C), no upload starts after the signal; the re-run skips the wheel and uploads the sdist."""
    wheel, sdist = files = project.release()
    command = [
        str(project.executable),
        *("publish", "-r", "local", "--skip-existing-strict", *login(pypiserver), "-n"),
    ]

    def start(url: str) -> tuple[list[str], dict[str, str]]:
        return command, project.environment(local_repo(url))

    result = interrupt_the_second_upload(
        signum, pypiserver.url, start, cwd=project.root, folder=tmp_path / "output"
    )
    assert f"interrupted ({signal_id(signum)}): 1 file(s) had been uploaded" in result.stderr, result
    assert f"the upload of {sdist.name} was cut off" in result.stderr
    assert stored(pypiserver, project.name) == local_files([wheel])

    args = ["publish", "-r", "local", "--skip-existing-strict", *login(pypiserver)]
    again = project.poetry(*args, env=local_repo(pypiserver.url))
    assert again.returncode == 0, again.stderr
    assert f"{wheel.name}: skipped, identical" in again.stdout
    assert stored(pypiserver, project.name) == local_files(files)
