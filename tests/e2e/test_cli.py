"""The standalone ``safe-publish`` command, run as a user runs it, against real servers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.bad_dists import CASES
from tests.support.commands import SAFE_PUBLISH, Ran, creds, run_safe_publish
from tests.support.dists import DistFactory
from tests.support.index_state import stored
from tests.support.servers import Index, PypiServer


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Ran:
    """Run safe-publish with a clean HOME, so the machine's ~/.pypirc and keyring never leak in."""
    return run_safe_publish(args, cwd=cwd, env=env, timeout=120)


def test_help_lists_options(tmp_path: Path) -> None:
    """--help documents the options and the exit codes."""
    result = run(["--help"], cwd=tmp_path)
    assert result.returncode == 0
    for option in (
        "--check-url",
        "--skip-existing",
        "--dry-run",
        "--report",
        "--jobs",
        "--repository-url",
        "-r",
        "--ca-cert",
        "--client-cert",
        "--timeout",
        "Exit codes",
    ):
        assert option in result.stdout


def test_python_dash_m_is_the_same_command(tmp_path: Path) -> None:
    """python -m publish_plugins runs the same CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "publish_plugins", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("safe-publish ")


_EXIT_HOOK = """
import atexit, sys
atexit.register(lambda: print("exit hook ran"))
from publish_plugins.frontends.cli import console_main
sys.argv = ["safe-publish", *sys.argv[1:]]
console_main()
"""


def test_the_console_script_runs_exit_hooks_and_flushes_before_its_prompt_exit(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """The console script ends the process itself once the run is over (no interpreter teardown): the exit
    hooks still run, everything printed reaches the pipes, and the exit code is the run's."""
    files = dists.release(unique_name, "1.0")
    report = tmp_path / "report.json"
    argv = [sys.executable, "-c", _EXIT_HOOK, *creds(pypiserver), "--report", str(report), *map(str, files)]
    first = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == "exit hook ran"
    assert first.stderr.splitlines()[-1] == "2 uploaded, 0 skipped"
    assert json.loads(report.read_text())["exit_code"] == 0

    conflict = dists.release(unique_name, "1.0", payload=b"other bytes")
    again = subprocess.run(
        [*argv[:3], *creds(pypiserver), *map(str, conflict)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert again.returncode == 3, again.stderr
    assert again.stdout.splitlines()[-1] == "exit hook ran"
    assert "conflict" in again.stderr


def test_a_run_with_stdout_closed_exits_with_its_own_code(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """Started with standard output closed (``>&-``), Python has no sys.stdout: the prompt exit must not
    trip over it (it used to end a good run with a traceback and exit 1)."""
    import os

    files = dists.release(unique_name, "1.0")
    argv = [str(SAFE_PUBLISH), *creds(pypiserver), "--dry-run", *map(str, files)]
    result = subprocess.run(
        argv,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == "dry run: 2 to upload, 0 skipped"


def test_publish_rerun_conflict_cycle(
    any_index: Index, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """Fresh publish (exit 0), identical re-run (exit 0, skipped), changed file (exit 3, named, nothing sent)."""
    files = [str(p) for p in dists.release(unique_name, "1.0")]
    first = run([*creds(any_index), *files], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "2 uploaded" in first.stderr
    again = run([*creds(any_index), *files], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("skipped, identical") == 2
    assert "0 uploaded, 2 skipped" in again.stderr
    stored = any_index.stored_files()
    changed = DistFactory(tmp_path / "changed").wheel(unique_name, "1.0", payload=b"changed")
    conflict = run([*creds(any_index), str(changed)], cwd=tmp_path)
    assert conflict.returncode == 3
    assert f"{changed.name}: conflict" in conflict.stderr
    assert conflict.stderr.rstrip().endswith(
        "publish a new version\nhint: to keep the index's file as it is and upload the rest, pass --skip-existing"
    ), conflict.stderr
    assert "Traceback" not in conflict.stderr
    assert any_index.stored_files() == stored


def test_skip_existing_warns(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """--skip-existing exits 0 and the warning names the file and both hashes."""
    run([*creds(pypiserver), str(dists.wheel(unique_name, "1.0"))], cwd=tmp_path)
    changed = DistFactory(tmp_path / "c").wheel(unique_name, "1.0", payload=b"changed")
    result = run([*creds(pypiserver), "--skip-existing", str(changed)], cwd=tmp_path)
    assert result.returncode == 0
    line = next(line for line in result.stderr.splitlines() if changed.name in line)
    assert line.count("sha256:") == 2


def test_dry_run_and_report(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """--dry-run uploads nothing and says so; --report writes the JSON record."""
    files = [str(p) for p in dists.release(unique_name, "1.0")]
    report = tmp_path / "out" / "report.json"
    result = run([*creds(pypiserver), "--dry-run", "--report", str(report), *files], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "dry run: would upload 2 file(s)" in result.stderr
    assert stored(pypiserver, unique_name) == {}
    data = json.loads(report.read_text())
    assert data["dry_run"] is True
    assert [f["action"] for f in data["files"]] == ["uploaded", "uploaded"]


@pytest.mark.parametrize("verbosity", [[], ["-v"], ["-vv"]])
def test_wrong_password_exit_1_secret_never_shown(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path, verbosity: list[str]
) -> None:
    """Wrong credentials: exit 1, one error line, the password absent from all output at any verbosity."""
    secret = "pypi-AgEIcHlwaS5vcmcWRONG"
    report = tmp_path / "r.json"
    result = run(
        [
            "--repository-url",
            pypiserver.url,
            "-u",
            "alice",
            "-p",
            secret,
            "--report",
            str(report),
            *verbosity,
            str(dists.wheel(unique_name, "1.0")),
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert secret not in result.stdout + result.stderr
    assert secret not in report.read_text()
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "authentication failed" in errors[0]
    assert "of alice for" in errors[0]  # names the user that was tried
    assert "hint:" not in result.stderr  # credentials were given: no advice how to give them


def test_no_credentials_hint_says_how_to_give_them(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """No password anywhere (and no terminal to ask on): exit 1, then a hint naming the ways to give one."""
    result = run(
        ["--repository-url", pypiserver.url, str(dists.wheel(unique_name, "1.0"))],
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    assert "needs credentials and none were given" in result.stderr
    hints = [line for line in result.stderr.splitlines() if line.startswith("hint:")]
    assert hints == [
        "hint: to give credentials, pass -u USER -p PASSWORD, set SAFE_PUBLISH_USERNAME / "
        "SAFE_PUBLISH_PASSWORD, or use -r NAME with a section of ~/.pypirc"
    ], result.stderr


def test_credentials_from_environment(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """SAFE_PUBLISH_USERNAME / SAFE_PUBLISH_PASSWORD are used when -u/-p are not given."""
    env = {"SAFE_PUBLISH_USERNAME": "alice", "SAFE_PUBLISH_PASSWORD": pypiserver.password}
    result = run(
        ["--repository-url", pypiserver.url, str(dists.wheel(unique_name, "1.0"))], cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr


def test_repository_from_pypirc(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """-r NAME reads the URL and credentials from ~/.pypirc."""
    (tmp_path / ".pypirc").write_text(
        f"[distutils]\nindex-servers = local\n\n[local]\nrepository = {pypiserver.url}\n"
        f"username = alice\npassword = {pypiserver.password}\n"
    )
    result = run(["-r", "local", str(dists.wheel(unique_name, "1.0"))], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    unknown = run(["-r", "nope", str(dists.wheel(unique_name, "1.0"))], cwd=tmp_path)
    assert unknown.returncode == 2
    assert "'nope' is not defined" in unknown.stderr


def test_default_selection_in_a_project(pypiserver: PypiServer, unique_name: str, tmp_path: Path) -> None:
    """Run in a project with no paths: dist/ filtered to pyproject's name and version, the rest listed."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "{unique_name}"\nversion = "2.0"\n')
    dist = DistFactory(tmp_path / "dist")
    mine = dist.release(unique_name, "2.0")
    old = dist.wheel(unique_name, "1.0")
    result = run(creds(pypiserver), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{old.name}: ignored, version 1.0, not the current version 2.0" in result.stderr
    stored = pypiserver.stored_files()
    assert all(p.name in stored for p in mine)
    assert old.name not in stored


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "0", "x.whl"], "--jobs"),
        (["--no-such-option"], "unrecognized arguments"),
        (["--skip-exisiting", "x.whl"], "--skip-exisiting (did you mean --skip-existing?)"),
        (["--repository-url", "https://python.cloudsmith.io/o/r/", "{wheel}"], "--check-url"),
        (
            ["--client-key", "k.pem", "--repository-url", "http://127.0.0.1:9/", "{wheel}"],
            "--client-key needs",
        ),
        (["--repository-url", "http://127.0.0.1:9/"], "no distributions"),
    ],
    ids=[
        "bad-jobs",
        "unknown-option",
        "mistyped-option",
        "underivable-check-url",
        "key-without-cert",
        "nothing-to-publish",
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str, dists: DistFactory, tmp_path: Path) -> None:
    """Usage mistakes exit 2 with a message naming the problem and no traceback."""
    wheel = str(dists.wheel("usage-demo", "1.0"))
    work = tmp_path / "work"
    (work / "dist").mkdir(parents=True)
    result = run([a.replace("{wheel}", wheel) for a in args], cwd=work)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_distribution_among_good_uploads_nothing(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """One malformed file among valid ones: exit 2, one line naming it, nothing of the run uploaded."""
    good = dists.release(unique_name, "1.0")
    bad_case = next(case for case in CASES if case.id == "metadata-version-mismatch")
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = bad_case.build(bad_dir)
    result = run([*creds(pypiserver), *map(str, good), *map(str, bad)], cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert any(str(bad[0]) in line and "does not match" in line for line in result.stderr.splitlines())
    assert not any(p.name in pypiserver.stored_files() for p in good)
