"""``hatch publish -p safe``: the real hatch executable, as a user runs it, against real index servers.

Every run gets its own HOME, hatch config file, data and cache folders, so the machine's ``~/.pypirc``,
hatch config and keyring never leak in. Unless a test says otherwise the keyring is keyring's "fail"
backend, which is what a machine without any keyring looks like.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pty
import select
import struct
import subprocess
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.support.commands import RUN_TIMEOUT, Ran, credential_args, run_command
from tests.support.dists import DistFactory, file_sha256, filename_name
from tests.support.index_state import local_files, stored
from tests.support.isolation import FAIL_KEYRING, keyring_backend, machine_env
from tests.support.projects import HATCHLING, write_project
from tests.support.proxy import FaultProxy
from tests.support.servers import TEST_PASSWORD, TEST_USERNAME, DevpiIndex, Index, PypiServer
from tests.support.signals import SIGNALS, interrupt_the_second_upload, interrupted_report, signal_id

# How the safe publisher takes the upload URL and credentials (hatch's `-o`), and `-n`: no prompt may
# hang a test.
HATCH_CREDENTIALS = ("-o", "repo={url}", "-o", "user={user}", "-o", "auth={password}", "-n")

# A keyring backend that keeps passwords in a JSON file: a real keyring for hatch to read and write,
# selected the documented way (PYTHON_KEYRING_BACKEND) and found on PYTHONPATH.
_FILE_KEYRING = """
import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend


class FileKeyring(KeyringBackend):
    priority = 1

    @property
    def _file(self):
        return Path(os.environ["TEST_KEYRING_FILE"])

    def _load(self):
        return json.loads(self._file.read_text()) if self._file.exists() else {}

    def get_password(self, service, username):
        return self._load().get(service, {}).get(username)

    def set_password(self, service, username, password):
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._file.write_text(json.dumps(data))

    def delete_password(self, service, username):
        data = self._load()
        data.get(service, {}).pop(username, None)
        self._file.write_text(json.dumps(data))
"""


@dataclass
class HatchProject:
    """A minimal hatchling project in ``root`` and an isolated hatch set-up to publish it with."""

    hatch: Path
    root: Path
    name: str
    version: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def dist(self) -> DistFactory:
        return DistFactory(self.root / "dist")

    @property
    def config_file(self) -> Path:
        return Path(self.env["HATCH_CONFIG"])

    @property
    def home(self) -> Path:
        return Path(self.env["HOME"])

    def release(self, *, payload: bytes = b"release\n", version: str | None = None) -> list[Path]:
        """Write the project's wheel and sdist into dist/."""
        return self.dist.release(self.name, version or self.version, payload=payload)

    def run(
        self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path | None = None
    ) -> Ran:
        """Run ``hatch ARGS`` in the project (or ``cwd``); output is returned as text, never checked here."""
        return run_command(
            [self.hatch, *args], cwd=cwd or self.root, env={**self.env, **(env or {})}, stdin=stdin
        )

    def publish(self, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Ran:
        return self.run("publish", "-p", "safe", *args, env=env, stdin=stdin)

    def use_file_keyring(self) -> Path:
        """Switch hatch to the JSON-file keyring backend; return the file it stores passwords in."""
        store = self.home / "keyring.json"
        self.env.update(
            keyring_backend(self.home / "keyring-backend", "file_keyring", _FILE_KEYRING, "FileKeyring"),
            TEST_KEYRING_FILE=str(store),
        )
        return store


def isolated_env(home: Path) -> dict[str, str]:
    """The machine's environment (PATH, TLS and proxy settings `hatch build` needs) without its HATCH_*
    variables, user folders and keyring; hatch's config, data and cache folders under ``home``."""
    config = home / "hatch-config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.touch()  # hatch refuses a HATCH_CONFIG that does not exist
    return {
        **machine_env(home, drop=("HATCH_",), keyring=FAIL_KEYRING),
        "HATCH_CONFIG": str(config),
        "HATCH_DATA_DIR": str(home / "hatch-data"),
        "HATCH_CACHE_DIR": str(home / "hatch-cache"),
        "COLUMNS": "200",  # hatch prints without wrapping, but rich still measures the terminal
    }


@pytest.fixture
def project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> HatchProject:
    """A project named ``unique_name`` at version 1.0 in ``tmp_path``, with dist/ empty."""
    return new_project(tmp_path, unique_name, host_venv)


def new_project(tmp_path: Path, unique_name: str, host_venv: Callable[[str], Path]) -> HatchProject:
    """The ``project`` fixture's project, for tests in other modules."""
    root = tmp_path / "project"
    pyproject = f'{HATCHLING}\n[project]\nname = "{unique_name}"\nversion = "1.0"\n'
    write_project(root, unique_name, pyproject, init='"""A project made by the hatch end-to-end tests."""\n')
    return HatchProject(
        host_venv("hatch") / "hatch", root, unique_name, "1.0", isolated_env(tmp_path / "home")
    )


def target(
    index: Index | FaultProxy | str, *, user: str = TEST_USERNAME, auth: str = TEST_PASSWORD
) -> list[str]:
    """``-o`` options naming the upload URL and credentials, and ``-n``."""
    return credential_args(HATCH_CREDENTIALS, index, user=user, password=auth)


# ---- the core cycle ----------------------------------------------------------------------------------


def test_fresh_publish_then_identical_rerun_sends_nothing(
    project: HatchProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """A fresh publish stores exactly the local bytes; a re-run skips both files and sends no upload."""
    proxy = fault_proxy(pypiserver.url)
    files = project.release()
    first = project.publish(*target(proxy.url))
    assert first.returncode == 0, first
    assert stored(pypiserver, project.name) == local_files(files)
    assert len(proxy.posts) == 2
    for path in files:
        assert f"{path.name}: uploaded" in first.output
    assert "2 uploaded, 0 skipped" in first.output

    proxy.reset_counters()
    again = project.publish(*target(proxy.url))
    assert again.returncode == 0, again
    assert proxy.posts == []  # the proof: no upload request reached the server
    assert proxy.requests, "the index was read through the proxy"
    assert again.output.count("skipped, identical") == 2
    assert "0 uploaded, 2 skipped" in again.output
    assert stored(pypiserver, project.name) == local_files(files)
    assert TEST_PASSWORD not in first.output + again.output


def test_conflict_uploads_nothing_even_with_new_files(
    project: HatchProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """Same filename, different content: exit 3 naming the file; the new sdist of the same run stays local."""
    wheel = project.dist.wheel(project.name, "1.0")
    assert project.publish(*target(pypiserver)).returncode == 0
    before = stored(pypiserver, project.name)
    assert list(before) == [wheel.name]

    changed = project.dist.wheel(project.name, "1.0", payload=b"rebuilt, different bytes\n")
    assert changed == wheel
    project.dist.sdist(project.name, "1.0")  # new: would upload fine on its own
    proxy = fault_proxy(pypiserver.url)
    result = project.publish(*target(proxy.url))
    assert result.returncode == 3, result
    assert f"{wheel.name}: conflict" in result.output
    assert "nothing was uploaded" in result.output
    assert result.output.rstrip().endswith(
        "to keep the index's file as it is and upload the rest, pass -o skip-existing"
    ), result
    assert "Traceback" not in result.output
    assert proxy.posts == []
    assert stored(pypiserver, project.name) == before


def test_skip_existing_skips_a_changed_file_with_a_warning(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    """``-o skip-existing``: the changed wheel is skipped with a warning naming it and both hashes; exit 0."""
    wheel = project.dist.wheel(project.name, "1.0")
    assert project.publish(*target(pypiserver)).returncode == 0
    on_index = wheel.read_bytes()
    project.dist.wheel(project.name, "1.0", payload=b"changed\n")  # same filename, new bytes
    assert wheel.read_bytes() != on_index
    sdist = project.dist.sdist(project.name, "1.0")

    result = project.publish(*target(pypiserver), "-o", "skip-existing")
    assert result.returncode == 0, result
    warning = next(line for line in result.output.splitlines() if line.startswith(f"{wheel.name}: skipped"))
    assert file_sha256(wheel) in warning
    assert hashlib.sha256(on_index).hexdigest() in warning
    assert stored(pypiserver, project.name) == {wheel.name: on_index, sdist.name: sdist.read_bytes()}


@pytest.mark.parametrize(
    ("value", "code"),
    [("", 0), ("YES", 0), ("1", 0), ("false", 3), ("no", 3), ("maybe", 2)],
)
def test_boolean_option_values(project: HatchProject, pypiserver: PypiServer, value: str, code: int) -> None:
    """A bare ``-o skip-existing`` (hatch passes "") is true; true/false words work; anything else: exit 2."""
    project.dist.wheel(project.name, "1.0")
    assert project.publish(*target(pypiserver)).returncode == 0
    project.dist.wheel(project.name, "1.0", payload=b"changed\n")
    option = "skip-existing" if value == "" else f"skip-existing={value}"
    result = project.publish(*target(pypiserver), "-o", option)
    assert result.returncode == code, result
    if code == 2:
        assert "-o skip-existing: expected true or false" in result.output
        assert "'maybe'" in result.output
        assert "Traceback" not in result.output


def test_dry_run_uploads_nothing_and_exits_as_the_real_run(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    """``-o dry-run`` prints the plan and uploads nothing: exit 0 for new files, exit 3 for a conflict."""
    files = project.release()
    result = project.publish(*target(pypiserver), "-o", "dry-run")
    assert result.returncode == 0, result
    # One plan line names every file (the core's), and no per-file line repeats them.
    plan = [line for line in result.output.splitlines() if line.startswith("dry run: would upload")]
    assert len(plan) == 1, result
    for path in files:
        assert path.name in plan[0]
        assert result.output.count(path.name) == 1, result
    assert stored(pypiserver, project.name) == {}

    assert project.publish(*target(pypiserver)).returncode == 0
    published = local_files(files)
    project.release(payload=b"changed\n")
    conflict = project.publish(*target(pypiserver), "-o", "dry-run=true")
    assert conflict.returncode == 3, conflict
    assert stored(pypiserver, project.name) == published


def test_report_records_every_file_without_secrets(
    project: HatchProject, pypiserver: PypiServer, tmp_path: Path
) -> None:
    """``-o report=FILE`` writes the JSON record: uploaded, skipped-identical, ignored; no password."""
    files = project.release()
    (project.root / "dist" / ".gitignore").write_text("*\n")
    report = tmp_path / "reports" / "first.json"
    report.parent.mkdir()
    assert project.publish(*target(pypiserver), "-o", f"report={report}").returncode == 0
    first = json.loads(report.read_text())
    actions = {Path(entry["path"]).name: entry["action"] for entry in first["files"]}
    assert actions == {files[0].name: "uploaded", files[1].name: "uploaded", ".gitignore": "ignored"}

    # A relative report path is taken from where hatch runs, like any other command-line path.
    result = project.publish(*target(pypiserver), "-o", "report=again.json")
    assert result.returncode == 0, result
    again = json.loads((project.root / "again.json").read_text())
    by_name = {entry["filename"]: entry for entry in again["files"]}
    assert by_name[files[0].name]["action"] == "skipped-identical"
    assert by_name[files[0].name]["sha256"] == file_sha256(files[0])
    assert TEST_PASSWORD not in report.read_text() + (project.root / "again.json").read_text()


def test_jobs_uploads_in_parallel(project: HatchProject, pypiserver: PypiServer) -> None:
    """``-o jobs=3`` uploads every file, each stored byte for byte."""
    files = [
        *project.release(),
        project.dist.wheel(project.name, "1.0", tag="py2-none-any"),
        project.dist.wheel(project.name, "1.0", tag="cp311-cp311-manylinux_2_17_x86_64"),
    ]
    result = project.publish(*target(pypiserver), "-o", "jobs=3")
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(files)


def test_check_url_option_reads_the_given_index(
    project: HatchProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """``-o check-url=URL`` is where the index is read; uploads still go to the repository URL."""
    files = project.release()
    proxy = fault_proxy(pypiserver.url)
    result = project.publish(*target(pypiserver), "-o", f"check-url={proxy.url}simple/")
    assert result.returncode == 0, result
    assert ("GET", f"/simple/{project.name}/") in proxy.requests
    assert proxy.posts == []
    assert stored(pypiserver, project.name) == local_files(files)


# ---- credentials ---------------------------------------------------------------------------------------


def test_wrong_credentials_fail_without_printing_the_secret(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    """A refused password is exit 1 with a one-line error; the secret is not printed, not even with -v."""
    secret = "Wr0ng-s3cret-value"
    project.release()
    result = project.run("-v", "publish", "-p", "safe", *target(pypiserver, auth=secret))
    assert result.returncode == 1, result
    assert "authentication failed" in result.output
    assert secret not in result.output
    assert "Traceback" not in result.output
    assert stored(pypiserver, project.name) == {}


def test_credentials_from_hatch_repos_config(project: HatchProject, pypiserver: PypiServer) -> None:
    """``-o repo=NAME`` takes url, user and auth from hatch's ``[publish.index.repos.NAME]``."""
    project.config_file.write_text(
        "[publish.index.repos.private]\n"
        f'url = "{pypiserver.url}"\nuser = "{TEST_USERNAME}"\nauth = "{TEST_PASSWORD}"\n'
    )
    files = project.release()
    result = project.publish("-o", "repo=private", "-n")
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(files)
    assert TEST_PASSWORD not in result.output


def test_default_repo_and_credentials_from_hatch_config(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    """hatch's default repo (``[publish.index] repo``) and ``[publish.safe]`` options apply with no ``-o``."""
    project.config_file.write_text(
        f'[publish.index]\nrepo = "private"\n\n[publish.index.repos.private]\nurl = "{pypiserver.url}"\n\n'
        f'[publish.safe]\nuser = "{TEST_USERNAME}"\nauth = "{TEST_PASSWORD}"\nskip-existing = true\n'
    )
    project.dist.wheel(project.name, "1.0")
    assert project.publish("-n").returncode == 0
    project.dist.wheel(project.name, "1.0", payload=b"changed\n")
    result = project.publish("-n")
    assert result.returncode == 0, result  # skip-existing from [publish.safe]
    assert "skipped" in result.output


def test_options_from_pyproject(project: HatchProject, pypiserver: PypiServer) -> None:
    """``[tool.hatch.publish.safe]`` in pyproject.toml: repo, user, jobs, a report path relative to it."""
    with (project.root / "pyproject.toml").open("a") as pyproject:
        pyproject.write(
            f'\n[tool.hatch.publish.safe]\nrepo = "{pypiserver.url}"\nuser = "{TEST_USERNAME}"\n'
            'report = "build/publish.json"\njobs = 2\n'
        )
    files = project.release()
    # The password still comes from outside the repository: here from HATCH_INDEX_AUTH.
    subfolder = project.root / "src"
    # hatch finds the project from a subfolder; paths stay the project's.
    result = project.run(
        "publish", "-p", "safe", "-n", env={"HATCH_INDEX_AUTH": TEST_PASSWORD}, cwd=subfolder
    )
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(files)
    report = json.loads((project.root / "build" / "publish.json").read_text())
    assert {entry["action"] for entry in report["files"]} == {"uploaded"}


def test_credentials_from_hatch_index_environment(project: HatchProject, pypiserver: PypiServer) -> None:
    """``HATCH_INDEX_REPO/USER/AUTH`` (which hatch hands only to its own publisher) are honoured."""
    files = project.release()
    env = {
        "HATCH_INDEX_REPO": pypiserver.url,
        "HATCH_INDEX_USER": TEST_USERNAME,
        "HATCH_INDEX_AUTH": TEST_PASSWORD,
    }
    result = project.publish("-n", env=env)
    assert result.returncode == 0, result
    published = local_files(files)
    assert stored(pypiserver, project.name) == published

    # hatch's own variables for the publisher and its options work too.
    project.release(payload=b"changed\n")
    env |= {"HATCH_PUBLISHER": "safe", "HATCH_PUBLISHER_OPTIONS": "skip-existing dry-run"}
    again = project.run("publish", "-n", env=env)
    assert again.returncode == 0, again
    assert "dry run" in again.output
    assert stored(pypiserver, project.name) == published


def test_credentials_from_hatch_flags(project: HatchProject, pypiserver: PypiServer) -> None:
    """hatch's own ``-r/-u/-a`` flags work with ``-p safe``; ``-o`` wins over them."""
    files = project.release()
    flags = ["-r", pypiserver.url, "-u", TEST_USERNAME, "-a", "not-the-password"]
    result = project.publish(*flags, "-o", f"auth={TEST_PASSWORD}", "-n")
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(files)


def test_credentials_from_pypirc(project: HatchProject, pypiserver: PypiServer) -> None:
    """As with ``hatch publish``: a ``~/.pypirc`` section named after the repo gives user and password."""
    (project.home / ".pypirc").write_text(
        f"[private]\nrepository = {pypiserver.url}\nusername = {TEST_USERNAME}\npassword = {TEST_PASSWORD}\n"
    )
    project.config_file.write_text(f'[publish.index.repos.private]\nurl = "{pypiserver.url}"\n')
    files = project.release()
    result = project.publish("-o", "repo=private", "-n")
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(files)


def test_no_keyring_backend_is_not_a_traceback(project: HatchProject, pypiserver: PypiServer) -> None:
    """No keyring: with ``-n`` a one-line "Missing required option: auth", exit 1; else the prompt works."""
    files = project.release()
    url = ["-o", f"repo={pypiserver.url}", "-o", f"user={TEST_USERNAME}"]
    refused = project.publish(*url, "-n")
    assert refused.returncode == 1, refused
    assert "Missing required option: auth" in refused.output
    assert "Traceback" not in refused.output
    assert stored(pypiserver, project.name) == {}

    prompted = project.publish(*url, stdin=f"{TEST_PASSWORD}\n")
    assert prompted.returncode == 0, prompted
    assert "Password / Token" in prompted.output
    assert "Traceback" not in prompted.output
    assert stored(pypiserver, project.name) == local_files(files)


def test_prompted_credentials_are_remembered_like_hatch(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    """Prompted user → hatch's previous_working_users.json, prompted password → keyring (service = URL)."""
    store = project.use_file_keyring()
    project.release()
    first = project.publish("-o", f"repo={pypiserver.url}", stdin=f"{TEST_USERNAME}\n{TEST_PASSWORD}\n")
    assert first.returncode == 0, first
    assert f"Username for '{pypiserver.url}'" in first.output
    remembered = Path(project.env["HATCH_CACHE_DIR"]) / "publish" / "index" / "previous_working_users.json"
    assert json.loads(remembered.read_text()) == {pypiserver.url: TEST_USERNAME}
    assert json.loads(store.read_text()) == {pypiserver.url: {TEST_USERNAME: TEST_PASSWORD}}

    # Next time nothing is asked: `-n` and no credentials anywhere but what was remembered.
    wheel = project.dist.wheel(project.name, "1.1")
    second = project.publish("-o", f"repo={pypiserver.url}", "-n", str(wheel))
    assert second.returncode == 0, second
    assert wheel.name in stored(pypiserver, project.name)


def test_enter_at_the_user_prompt_means_token(project: HatchProject, pypiserver: PypiServer) -> None:
    """The prompt shows ``[__token__]``: Enter takes it, once, instead of asking again."""
    project.release()
    result = project.publish("-o", f"repo={pypiserver.url}", stdin="\npypi-not-a-real-token\n")
    assert result.returncode == 1, result
    assert result.output.count("Username for") == 1, result
    assert "of __token__ for" in result.output  # the auth error names the user that was sent
    assert "pypi-not-a-real-token" not in result.output
    assert "to give credentials" not in result.output  # one was given: no advice how to give one


def test_password_from_keyring(project: HatchProject, pypiserver: PypiServer) -> None:
    """With a user known, the password is looked up in keyring under the repository URL, as hatch does."""
    store = project.use_file_keyring()
    store.write_text(json.dumps({pypiserver.url: {TEST_USERNAME: TEST_PASSWORD}}))
    files = project.release()
    result = project.publish("-o", f"repo={pypiserver.url}", "-o", f"user={TEST_USERNAME}", "-n")
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(files)


# ---- file selection, options, errors -----------------------------------------------------------------


def test_default_selection_is_this_project_and_version(
    project: HatchProject, pypiserver: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """No artifacts: dist/ filtered to the project's name and version; every file left out is named."""
    current = project.release()
    old = project.dist.wheel(project.name, "0.9")
    other = project.dist.wheel("someone-else", "1.0")
    result = project.publish(*target(pypiserver))
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(current)
    assert f"{old.name}: ignored, version 0.9" in result.output
    assert f"{other.name}: ignored" in result.output
    assert stored(pypiserver, "someone-else") == {}

    # Named explicitly, a file is taken whatever its version.
    explicit = project.publish(*target(pypiserver), f"dist/{old.name}")
    assert explicit.returncode == 0, explicit
    assert old.name in stored(pypiserver, project.name)


def test_dynamic_version_from_hatchling(project: HatchProject, pypiserver: PypiServer) -> None:
    """A version read by hatchling from the code (``dynamic = ["version"]``) filters dist/ the same way."""
    package = project.root / "src" / filename_name(project.name)
    (package / "__init__.py").write_text('__version__ = "2.0"\n')
    (project.root / "pyproject.toml").write_text(
        f'{HATCHLING}\n[project]\nname = "{project.name}"\ndynamic = ["version"]\n\n'
        f'[tool.hatch.version]\npath = "src/{filename_name(project.name)}/__init__.py"\n'
    )
    wanted = project.release(version="2.0")
    old = project.dist.wheel(project.name, "1.0")
    result = project.publish(*target(pypiserver))
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(wanted)
    assert f"{old.name}: ignored, version 1.0," in result.output


def test_bad_options_are_usage_errors(project: HatchProject, pypiserver: PypiServer) -> None:
    """Unknown keys, bad numbers, missing values and unknown repositories: exit 2, one line naming them."""
    project.release()
    cases = {
        ("-o", "frobnicate=1"): "-o frobnicate: unknown option",
        ("-o", "jobs=zero"): "-o jobs: expected a whole number",
        ("-o", "report"): "-o report: needs a value",
        ("-o", "repo=nowhere"): "repository 'nowhere' is neither a URL nor defined",
    }
    for args, message in cases.items():
        result = project.publish(*args, "-n")
        assert result.returncode == 2, result
        assert message in result.output
        assert "Traceback" not in result.output
    (project.root / "pyproject.toml").write_text(
        (project.root / "pyproject.toml").read_text()
        + '\n[tool.hatch.publish.safe]\nskip_existing = "perhaps"\n'
    )
    result = project.publish(*target(pypiserver))
    assert result.returncode == 2, result
    assert "'skip_existing' in [tool.hatch.publish.safe]" in result.output
    assert stored(pypiserver, project.name) == {}


def test_tls_settings_reach_the_client(project: HatchProject, pypiserver: PypiServer) -> None:
    """ca-cert from -o, HATCH_INDEX_CA_CERT or the repo config is checked: a missing file is exit 2."""
    project.release()
    project.config_file.write_text(
        f'[publish.index.repos.private]\nurl = "{pypiserver.url}"\nca-cert = "/nonexistent/repo-ca.pem"\n'
    )
    from_repo = project.publish(*target("private"))
    assert from_repo.returncode == 2, from_repo
    assert "'ca-cert' in [publish.index.repos.private] in " in from_repo.output
    assert "/nonexistent/repo-ca.pem: no such certificate file" in from_repo.output

    from_env = project.publish(*target(pypiserver), env={"HATCH_INDEX_CA_CERT": "/nonexistent/env-ca.pem"})
    assert from_env.returncode == 2, from_env
    assert "HATCH_INDEX_CA_CERT: /nonexistent/env-ca.pem: no such certificate file" in from_env.output

    # -o wins over the variable; a client key alone is refused before anything is read.
    from_option = project.publish(
        *target(pypiserver),
        "-o",
        "ca-cert=/nonexistent/option-ca.pem",
        env={"HATCH_INDEX_CA_CERT": "/nonexistent/env-ca.pem"},
    )
    assert from_option.returncode == 2, from_option
    assert "-o ca-cert: /nonexistent/option-ca.pem: no such certificate file" in from_option.output
    (project.root / "key.pem").write_text("not a key\n")
    key_only = project.publish(*target(pypiserver), "-o", "client-key=key.pem")
    assert key_only.returncode == 2, key_only
    assert "client-key needs client-cert" in key_only.output
    assert stored(pypiserver, project.name) == {}


def test_empty_dist_is_a_usage_error(project: HatchProject, pypiserver: PypiServer) -> None:
    """Nothing to publish is exit 2 naming the folder, like the other front ends."""
    result = project.publish(*target(pypiserver))
    assert result.returncode == 2, result
    assert "dist" in result.output
    assert "Traceback" not in result.output


def test_devpi_publish_rerun_and_conflict(project: HatchProject, devpi_index: DevpiIndex) -> None:
    """Against devpi (PEP 691 JSON, ``+simple``): fresh publish, identical re-run, conflict exit 3."""
    files = project.release()
    first = project.publish(*target(devpi_index))
    assert first.returncode == 0, first
    published = local_files(files)
    assert stored(devpi_index, project.name) == published

    again = project.publish(*target(devpi_index))
    assert again.returncode == 0, again
    assert again.output.count("skipped, identical") == 2

    changed = project.dist.sdist(project.name, "1.0", payload=b"changed\n")
    conflict = project.publish(*target(devpi_index))
    assert conflict.returncode == 3, conflict
    assert f"{changed.name}: conflict" in conflict.output
    assert stored(devpi_index, project.name) == published


def test_hatch_build_then_publish(project: HatchProject, pypiserver: PypiServer) -> None:
    """The real sequence: ``hatch build`` writes dist/, ``hatch publish -p safe`` uploads exactly those."""
    build = project.run("build")
    assert build.returncode == 0, build.stdout + build.stderr
    built = sorted((project.root / "dist").iterdir())
    assert {path.suffix for path in built} == {".whl", ".gz"}
    result = project.publish(*target(pypiserver))
    assert result.returncode == 0, result
    assert stored(pypiserver, project.name) == local_files(built)


def test_progress_display_in_a_terminal(project: HatchProject, pypiserver: PypiServer) -> None:
    """On a terminal, uploads show a progress display that reaches 100%, and the result lines follow it."""
    wheel = project.dist.large_wheel(project.name, "1.0", 8 * 1024 * 1024)
    code, output = run_in_terminal(
        [str(project.hatch), "publish", "-p", "safe", *target(pypiserver)],
        cwd=project.root,
        # hatch turns interactive output off when CI is set (as it is in CI runs): a person's terminal has none.
        env={key: value for key, value in project.env.items() if key not in ("NO_COLOR", "CI")}
        | {"TERM": "xterm"},
    )
    assert code == 0, output
    assert f"Uploading {wheel.name}" in output
    assert "100%" in output
    assert f"{wheel.name}: uploaded" in output
    assert stored(pypiserver, project.name) == local_files([wheel])


def run_in_terminal(command: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` with stdin, stdout and stderr on a pseudo-terminal; return its exit code and output."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    process = subprocess.Popen(command, cwd=cwd, env=env, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(controller, 65536)
            except OSError:  # the terminal is gone: the process exited
                break
            if not data:
                break
            chunks.append(data)
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    return code, b"".join(chunks).decode(errors="replace")


# ---- interrupts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", SIGNALS, ids=signal_id)
def test_signal_during_an_upload_stops_at_once_and_a_rerun_completes(
    signum: int, project: HatchProject, pypiserver: PypiServer, tmp_path: Path
) -> None:
    """Ctrl-C or SIGTERM while the sdist's upload waits for the server: hatch exits 130 / 143 at once (not
    click's 1), no upload starts after the signal, the report says the wheel went up and the sdist's upload
    was cut off; the re-run uploads the sdist."""
    wheel, sdist = files = project.release()
    report = tmp_path / "report.json"

    def start(url: str) -> tuple[list[str], dict[str, str]]:
        return [
            str(project.hatch),
            "publish",
            "-p",
            "safe",
            *target(url),
            "-o",
            f"report={report}",
        ], project.env

    result = interrupt_the_second_upload(
        signum, pypiserver.url, start, cwd=project.root, folder=tmp_path / "output"
    )
    assert f"interrupted ({signal_id(signum)}): 1 file(s) had been uploaded" in result.output, result
    assert "Aborted!" not in result.output
    actions = interrupted_report(report, signum)
    assert actions[wheel.name] == ("uploaded", "uploaded")
    assert actions[sdist.name][1].startswith("interrupted during its upload")
    assert stored(pypiserver, project.name) == local_files([wheel])

    again = project.publish(*target(pypiserver))
    assert again.returncode == 0, again
    assert stored(pypiserver, project.name) == local_files(files)


# ---- a hostile or misconfigured index (issue: only a verified "not here" lets a file go up) ---------


def test_an_empty_project_page_is_an_error_not_absent(
    project: HatchProject, pypiserver_overwrite: PypiServer, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """An index that accepts overwrites holds the release; the project page answers 200 with nothing.
    Read as "absent", the run would replace the published files: it stops (exit 1) and sends nothing."""
    published = project.release()
    assert project.publish(*target(pypiserver_overwrite)).returncode == 0
    before = stored(pypiserver_overwrite, project.name)
    assert before == local_files(published)
    project.release(payload=b"rebuilt with other content\n")
    proxy = fault_proxy(pypiserver_overwrite.url)
    proxy.status(200, headers={"Content-Type": "text/html"}, path=f"/simple/{project.name}/", times=None)

    result = project.publish(*target(proxy.url))

    assert result.returncode == 1, result
    assert "an empty body" in result.output
    assert "Traceback" not in result.output
    assert proxy.posts == []
    assert stored(pypiserver_overwrite, project.name) == before


def test_check_url_that_is_a_project_page_names_hatchs_option(
    project: HatchProject, pypiserver: PypiServer
) -> None:
    """``-o check-url=`` naming a project page: exit 2 before any upload, and the message says what to
    pass in hatch's own words (``-o check-url=URL``, not the standalone command's ``--check-url``)."""
    project.release()
    assert project.publish(*target(pypiserver)).returncode == 0

    result = project.publish(*target(pypiserver), "-o", f"check-url={pypiserver.simple_url}{project.name}/")

    assert result.returncode == 2, result
    assert f"pass the root, such as {pypiserver.simple_url}, as -o check-url=URL" in result.output
    assert "--check-url" not in result.output


def test_first_publish_to_pypiserver_with_its_fallback(
    project: HatchProject, pypiserver_fallback: PypiServer
) -> None:
    """pypiserver as people start it sends an unknown project to PyPI: the first publish works anyway."""
    files = project.release()
    first = project.publish(*target(pypiserver_fallback))
    again = project.publish(*target(pypiserver_fallback))
    assert first.returncode == 0, first
    assert again.returncode == 0, again
    assert "0 uploaded, 2 skipped" in again.output
    assert stored(pypiserver_fallback, project.name) == local_files(files)
