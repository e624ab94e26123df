"""Helpers shared by the reliability and security tests: run ``safe-publish``, read the index, record.

The tests run the real command in a subprocess, as a user (or CI) does, against real servers behind
the fault proxy; these helpers keep each test about what it proves.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.support.proxy import FaultProxy
from tests.support.servers import PEP691_JSON, TEST_PASSWORD, TEST_USERNAME, Index, basic_auth_header

SAFE_PUBLISH = Path(sys.executable).parent / "safe-publish"
RUN_TIMEOUT = 180.0  # a bound for hangs, not a timing assertion


def cli_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: own HOME (no ~/.pypirc), no keyring, short backoff, no colour."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "NO_COLOR": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "SAFE_PUBLISH_BACKOFF": "0.01",
    }
    env.update(extra or {})
    return env


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
    result = subprocess.run(
        [str(SAFE_PUBLISH), *args],
        cwd=cwd,
        env=cli_env(cwd, env),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
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
            code = cli.main(list(args))
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
        [str(SAFE_PUBLISH), *args],
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


def creds(index: Index, url: str | None = None) -> list[str]:
    """``--repository-url URL -u alice -p PASSWORD`` for an index (or a proxy in front of it)."""
    return ["--repository-url", url or index.url, "-u", index.username, "-p", index.password]


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


# ---- what the index holds ---------------------------------------------------------------------------


def project_prefix(project: str) -> str:
    return project.replace("-", "_")


def stored(index: Index, project: str) -> dict[str, bytes]:
    """The files of one project the index stores, by filename, with their bytes."""
    prefix = project_prefix(project) + "-"
    return {name: data for name, data in index.stored_files().items() if name.startswith(prefix)}


def listed(index: Index, project: str) -> list[str]:
    """Every filename the index's simple page lists for the project, duplicates kept (a 404 is [])."""
    with httpx.Client(timeout=30, trust_env=False) as client:
        response = client.get(
            f"{index.simple_url}{project}/", headers={"Accept": f"{PEP691_JSON}, text/html"}
        )
    if response.status_code == 404:
        return []
    response.raise_for_status()
    if "json" in response.headers.get("Content-Type", ""):
        return [entry["filename"] for entry in response.json()["files"]]
    return re.findall(r"<a [^>]*>([^<]+)</a>", response.text)


def assert_published_once(index: Index, project: str, files: Sequence[Path]) -> None:
    """The index holds exactly these files, each listed once, each with exactly the local bytes."""
    assert stored(index, project) == {path.name: path.read_bytes() for path in files}
    names = listed(index, project)
    assert sorted(names) == sorted(path.name for path in files), names


def posts(proxy: FaultProxy) -> int:
    return sum(1 for method, _ in proxy.requests if method == "POST")


def authorization_headers(proxy: FaultProxy) -> list[str]:
    with proxy._lock:  # the proxy's own lock: records are appended by connection threads
        return [
            record.headers["authorization"] for record in proxy.records if "authorization" in record.headers
        ]


# ---- another origin: a tiny recording HTTP listener --------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class RecordingServer:
    """An HTTP listener on 127.0.0.1 (another port: another origin) that records every request.

    It answers ``status`` with ``body`` to everything; used as "another host" that must never see
    credentials.
    """

    status: int = 404
    body: bytes = b"not here\n"
    content_type: str = "text/plain"
    seen: list[Seen] = field(default_factory=list)
    _server: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                owner.seen.append(
                    Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
                length = int(self.headers.get("Content-Length") or 0)
                while length > 0:
                    data = self.rfile.read(min(length, 1 << 16))
                    if not data:
                        break
                    length -= len(data)
                self.send_response(owner.status)
                self.send_header("Content-Type", owner.content_type)
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(owner.body)

            do_GET = do_POST = do_HEAD = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads ``seen``

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)

    def authorizations(self) -> list[str]:
        return [seen.headers["authorization"] for seen in self.seen if "authorization" in seen.headers]


@contextlib.contextmanager
def recording_server(**kwargs: Any) -> Iterator[RecordingServer]:
    server = RecordingServer(**kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


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
