"""Helpers of the reliability and security tests: run ``safe-publish`` with its password guarded.

The tests run the real command in a subprocess, as a user (or CI) does, against real servers behind
the fault proxy; these helpers keep each test about what it proves. What the index holds is read with
tests/support/index_state.py, what the proxy saw from the proxy itself (``proxy.posts``).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.support.commands import RUN_TIMEOUT, SAFE_PUBLISH, SHORT_WAITS, cli_env, run_safe_publish
from tests.support.proxy import FaultProxy
from tests.support.servers import TEST_PASSWORD, TEST_USERNAME, basic_auth_header


def guard_secret(result: subprocess.CompletedProcess[str], args: Sequence[Any]) -> None:
    """Every run of these tests, whatever it tests, proves the fixtures' password stays hidden.

    The servers' password is passed to nearly every run; no form of it may appear in what the run
    printed or in its ``--report``.
    """
    texts = [result.stdout, result.stderr]
    arguments = [str(arg) for arg in args]
    if "--report" in arguments:
        report = Path(arguments[arguments.index("--report") + 1])
        if report.is_file():
            texts.append(report.read_text())
    assert_no_secret(texts, TEST_USERNAME, TEST_PASSWORD)


def run_cli(
    args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``safe-publish ARGS`` to completion and capture both streams."""
    result = run_safe_publish(args, cwd=cwd, env=env)
    guard_secret(result, args)
    return result


def run_main(
    args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the same command in this process (``cli.main``), for set-ups and re-runs.

    A subprocess costs one to two seconds of interpreter start-up here; the runs whose output is the
    point of a test use :func:`run_cli`, the ones that only prepare or confirm the index state use this.
    """
    from publish_plugins.frontends import cli

    run_env = cli_env(cwd, env)
    saved_env = dict(os.environ)
    saved_cwd = Path.cwd()
    stderr, stdout = io.StringIO(), io.StringIO()
    try:
        os.environ.clear()
        os.environ.update(run_env)
        os.chdir(cwd)
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            code = cli.main([*SHORT_WAITS, *args])
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    result = subprocess.CompletedProcess(["safe-publish", *args], code, stdout.getvalue(), stderr.getvalue())
    guard_secret(result, args)
    return result


def start_cli(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``safe-publish ARGS`` without waiting (races); finish it with :func:`finish`."""
    return subprocess.Popen(
        [str(SAFE_PUBLISH), *SHORT_WAITS, *args],
        cwd=cwd,
        env=cli_env(cwd, env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    """Wait for a started command (killing it if it hangs) and return what it printed."""
    try:
        stdout, stderr = process.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    result = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    guard_secret(result, process.args)  # type: ignore[arg-type]
    return result


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one ``error:`` line a failed run prints; fail if there is not exactly one, or a traceback."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def has_line(text: str, filename: str, fragment: str) -> bool:
    """Whether one line is about ``filename`` (starts with it) and says ``fragment``."""
    return any(line.startswith(f"{filename}:") and fragment in line for line in text.splitlines())


def secret_forms(username: str, password: str) -> list[str]:
    """Every spelling of a password that would expose it: plain, in a Basic header, URL-encoded."""
    header = basic_auth_header(username, password).removeprefix("Basic ")
    forms = [password, header]
    quoted = urllib.parse.quote(password, safe="")
    if quoted != password:
        forms.append(quoted)
    return forms


def assert_no_secret(texts: Sequence[str], username: str, password: str) -> None:
    """No form of the password in any of the texts (stdout, stderr, report, log)."""
    for text in texts:
        for form in secret_forms(username, password):
            assert form not in text, f"secret {form!r} exposed in:\n{text}"


# ---- a gate in front of uploads: makes races deterministic ------------------------------------------


class GatedProxy(FaultProxy):
    """A :class:`FaultProxy` that holds every POST at the door until its gate opens.

    With ``hold=N`` the gate opens by itself once N POSTs are waiting: N publishers have then all
    passed their index check before any upload reaches the server, which is the race under test.
    Otherwise the test opens ``gate`` when it wants. Requests other than POST pass straight through.
    """

    def __init__(self, upstream: str, *, hold: int | None = None) -> None:
        super().__init__(upstream)
        self.gate = threading.Event()
        self.waiting = 0
        self._hold = hold
        self._arrivals = threading.Condition()

    def _handle(self, client: Any, stream: Any, head: Any) -> bool:
        if head.start_line.split(" ", 1)[0].upper() == "POST":
            with self._arrivals:
                self.waiting += 1
                if self._hold is not None and self.waiting >= self._hold:
                    self.gate.set()
                self._arrivals.notify_all()
            while not self.gate.wait(0.05):
                if self._stop.is_set():
                    return False
        return bool(super()._handle(client, stream, head))

    def stop(self) -> None:
        """Open the gate (a held POST goes on, or sees the proxy stop), then stop."""
        self.gate.set()
        super().stop()

    def wait_for_posts(self, count: int, timeout: float = 60.0) -> bool:
        """Wait until ``count`` POSTs have arrived at the gate (a bound for hangs)."""
        deadline = time.monotonic() + timeout
        with self._arrivals:
            while self.waiting < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrivals.wait(left)
        return True
