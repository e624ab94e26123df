"""Interrupting a real command: start it, wait for a moment of its run, send SIGINT or SIGTERM.

The command's output goes to files, so a test can wait for a line (``retry 1 in 30.0 s``) while the
command runs, then read everything once it has ended. :class:`HoldingProxy` holds uploads at the door
of a real index and never forwards them, so an upload is in flight for as long as the test wants.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.proxy import FaultProxy

# Bounds for hangs, not timing assertions: the run should end within about a second of the signal.
EXIT_BOUND = 10.0
WAIT_BOUND = 120.0  # for the run to reach the phase under test (hosts start slowly on a loaded machine)

SIGNALS = [signal.SIGINT, signal.SIGTERM]


def signal_id(signum: int) -> str:
    return signal.Signals(signum).name


@dataclass
class Stopped:
    """How an interrupted command ended."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float  # from the signal to the end of the process

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:  # shown by pytest when an assertion on the result fails
        return (
            f"exit {self.returncode} after {self.seconds:.1f} s\n--- stdout\n{self.stdout}\n"
            f"--- stderr\n{self.stderr}"
        )


class Running:
    """A command started in the background, its stdout and stderr written to files in ``folder``."""

    def __init__(self, command: Sequence[str], *, cwd: Path, env: dict[str, str], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._stdout = folder / "stdout.txt"
        self._stderr = folder / "stderr.txt"
        with self._stdout.open("wb") as stdout, self._stderr.open("wb") as stderr:
            self.process = subprocess.Popen(
                list(command), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr
            )

    def text(self) -> str:
        return self._stdout.read_text(errors="replace") + self._stderr.read_text(errors="replace")

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = WAIT_BOUND) -> None:
        """Wait until ``condition()`` holds; fail (killing the command) if the command ends first or hangs."""
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"the command ended before {what}:\n{self.text()}")
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"no {what} within {timeout:.0f} s:\n{self.text()}")
            time.sleep(0.05)

    def wait_for_text(self, text: str, timeout: float = WAIT_BOUND) -> None:
        self.wait_until(lambda: text in self.text(), repr(text), timeout)

    def interrupt(self, signum: int, bound: float = EXIT_BOUND) -> Stopped:
        """Send ``signum`` and wait for the end; a command still running after ``bound`` seconds is killed."""
        start = time.monotonic()
        os.kill(self.process.pid, signum)
        try:
            self.process.wait(bound)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"still running {bound:.0f} s after {signal_id(signum)}:\n{self.text()}"
            ) from None
        seconds = time.monotonic() - start
        return Stopped(
            self.process.returncode,
            self._stdout.read_text(errors="replace"),
            self._stderr.read_text(errors="replace"),
            seconds,
        )

    def interrupt_when(self, condition: Callable[[], bool], what: str, signum: int) -> Stopped:
        """Wait until ``condition()`` holds, then :meth:`interrupt`; the command never outlives this call."""
        try:
            self.wait_until(condition, what)
            return self.interrupt(signum)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class HoldingProxy(FaultProxy):
    """A :class:`FaultProxy` that forwards the first ``free`` POSTs and holds every later one at the door.

    A held upload is never read nor forwarded: to its client it is an upload waiting for the server's
    answer, for as long as the proxy runs. ``arrivals`` counts the POSTs that reached the proxy (each one
    an upload that started); ``forwarded`` those that reached the server.
    """

    def __init__(self, upstream: str, *, free: int = 0) -> None:
        super().__init__(upstream)
        self.free = free
        self.arrivals = 0
        self.forwarded = 0
        self._arrived = threading.Condition()

    def _handle(self, client: Any, stream: Any, head: Any) -> bool:
        if head.start_line.split(" ", 1)[0].upper() == "POST":
            with self._arrived:
                self.arrivals += 1
                hold = self.forwarded >= self.free
                if not hold:
                    self.forwarded += 1
                self._arrived.notify_all()
            if hold:
                self._stop.wait()
                return False
        return bool(super()._handle(client, stream, head))

    @property
    def held(self) -> int:
        with self._arrived:
            return self.arrivals - self.forwarded


def interrupt_the_second_upload(
    signum: int,
    upstream: str,
    start: Callable[[str], tuple[Sequence[str], dict[str, str]]],
    *,
    cwd: Path,
    folder: Path,
) -> Stopped:
    """Interrupt a front end publishing a wheel then an sdist while the sdist's upload waits for the server.

    ``start(url)`` gives the command and its environment that publish to ``url``, a :class:`HoldingProxy`
    in front of ``upstream`` that lets the first upload through and holds the second. Checked here, as
    for every front end: no upload started after the signal, exit 128 + signal at once, no traceback.
    """
    with HoldingProxy(upstream, free=1) as proxy:
        command, env = start(proxy.url)
        run = Running(command, cwd=cwd, env=env, folder=folder)
        result = run.interrupt_when(lambda: proxy.held >= 1, "the sdist's upload", signum)
        assert proxy.arrivals == 2, "an upload started after the signal"
    assert result.returncode == 128 + signum, result
    assert result.seconds < EXIT_BOUND, result  # a bound for hangs
    assert "Traceback" not in result.output
    return result


def interrupted_report(report: Path, signum: int) -> dict[str, tuple[str, str]]:
    """The ``--report`` of a run stopped by ``signum``: its exit code checked, then (action, reason) by file."""
    data = json.loads(report.read_text())
    assert data["exit_code"] == 128 + signum
    return {entry["filename"]: (entry["action"], entry["reason"]) for entry in data["files"]}
