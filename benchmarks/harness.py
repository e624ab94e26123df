"""Servers per run, measured subprocesses, isolated environments.

Every measured run gets a fresh pypiserver with its own package folder, filled by hard links before it
starts and warmed (its digest cache filled) before the tool runs, and a fresh relay in front of it (the
tests' FaultProxy with no fault set) that counts and times every request. Under a remote condition the
relay also holds back each new connection and each answer by the round trips a real network costs, and
terminates TLS with a certificate of a throw-away CA (tls.py). Tools are started in their own
session and reaped with ``wait4``: its resource usage gives the peak RSS of the largest process of the
tool's tree and the CPU time of the whole tree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .support import proxy as relay
from .support import servers

PypiServer = Any  # tests/support/servers.py is loaded by path, so it has no static type here
Relay = Any  # tests/support/proxy.py's FaultProxy, loaded by path too
TestCA = Any  # tests/support/tls.py's, loaded by path too
USERNAME = servers.TEST_USERNAME
PASSWORD = servers.TEST_PASSWORD
RUN_TIMEOUT = 600.0
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
# A machine's CA settings: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override a session's own CA file
# (twine's --cert), so over TLS each tool gets the test CA only the way it takes one (tools.CA_HOW).
_CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")


@dataclass(frozen=True)
class Condition:
    """Where the index is: on loopback, or remote (a round trip per connection and request, maybe TLS)."""

    key: str  # loopback | rtt | tls
    label: str
    rtt: float = 0.0  # seconds
    tls: bool = False

    @property
    def connect_delay(self) -> float:
        # Setting up a connection: the TCP handshake, and with TLS 1.3 one more round trip for its own.
        return self.rtt * (2 if self.tls else 1)

    @property
    def request_delay(self) -> float:
        return self.rtt

    def describe(self) -> dict[str, object]:
        return {
            "label": self.label,
            "rtt_ms": self.rtt * 1000,
            "tls": self.tls,
            "connect_delay_ms": self.connect_delay * 1000,
            "request_delay_ms": self.request_delay * 1000,
        }


def conditions(rtt_ms: float) -> dict[str, Condition]:
    """The three conditions of issue 15: loopback, a remote index, a remote index over TLS."""
    rtt = rtt_ms / 1000
    return {
        "loopback": Condition("loopback", "loopback"),
        "rtt": Condition("rtt", f"{rtt_ms:g} ms", rtt),
        "tls": Condition("tls", f"{rtt_ms:g} ms + TLS", rtt, tls=True),
    }


LOOPBACK = Condition("loopback", "loopback")


@dataclass
class Invocation:
    """One command of a tool run (most runs are one command; per-project tools run several)."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]


@dataclass
class ProcessResult:
    wall: float
    cpu: float
    max_rss_kib: int
    exit_code: int
    started: float  # time.perf_counter() at start and exit, to line up with the proxy's timestamps
    ended: float


@dataclass
class RunResult:
    """One measured run of one tool on one scenario."""

    wall: float = 0.0
    cpu: float = 0.0
    max_rss_kib: int = 0
    exit_code: int = 0
    invocations: int = 0
    upload_bytes: int = 0
    download_bytes: int = 0  # answer bodies of requests other than index pages (a download to compare)
    uploads: int = 0
    index_requests: int = 0
    root_requests: int = 0  # of the index requests, those of the index root (/simple/ itself)
    other_requests: int = 0
    connections: int = 0
    stored_after: int = 0
    new_files: int = 0
    error: str | None = None
    log: str = ""
    started: float = 0.0
    ended: float = 0.0
    # Where the wall time went, from the proxy's timestamps (single-invocation runs only), seconds:
    # before the first request (start-up, reading, hashing), index reads (request to answer), upload
    # bodies on the wire, waiting for the server after a body, after the last answer (to exit).
    before_first_request: float | None = None
    index_time: float | None = None
    upload_send: float | None = None
    upload_wait: float | None = None
    after_last_answer: float | None = None


_GNU_TIME = Path("/usr/bin/time")
_RUSAGE_SCRIPT = Path(__file__).with_name("rusage.py")


def _gnu_time_works() -> bool:
    try:
        done = subprocess.run([str(_GNU_TIME), "--version"], capture_output=True, text=True, check=False)
    except OSError:
        return False
    return "GNU" in done.stdout + done.stderr


USE_GNU_TIME = _GNU_TIME.exists() and _gnu_time_works()


def _wrapped(argv: list[str], stats: Path) -> list[str]:
    # The tool is measured through a small parent (see rusage.py for why not straight from here).
    if USE_GNU_TIME:
        return [str(_GNU_TIME), "-f", "%M %U %S", "-o", str(stats), "--", *argv]
    return [sys.executable, "-S", str(_RUSAGE_SCRIPT), str(stats), "--", *argv]


def run_measured(invocation: Invocation, log_path: Path, timeout: float = RUN_TIMEOUT) -> ProcessResult:
    """Run one command to its end; wall time, tree CPU, peak RSS, exit code."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    stats = log_path.with_suffix(".rusage")
    with log_path.open("ab") as log:
        log.write(f"$ {' '.join(invocation.argv)}\n".encode())
        log.flush()
        start = time.perf_counter()
        process = subprocess.Popen(
            _wrapped(invocation.argv, stats),
            cwd=invocation.cwd,
            env=invocation.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a timeout kills the whole tree
        )
        timer = threading.Timer(timeout, _kill_group, (process.pid,))
        timer.start()
        try:
            code = process.wait()
        except BaseException:  # Ctrl-C: the tool's tree goes with the benchmark
            _kill_group(process.pid)
            process.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        _kill_group(process.pid)  # leftovers of the tree, if any (daemons a tool forgot)
        log.write(f"\n[exit {code}, {wall:.3f} s]\n".encode())
    max_rss, cpu = _read_stats(stats)
    return ProcessResult(wall, cpu, max_rss, code, start, start + wall)


def _read_stats(path: Path) -> tuple[int, float]:
    try:
        last = path.read_text().strip().splitlines()[-1].split()
        return int(last[0]), float(last[1]) + float(last[2])
    except (OSError, IndexError, ValueError):
        return 0, float("nan")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def run_invocations(invocations: Sequence[Invocation], log_path: Path) -> RunResult:
    """Run the commands one after the other (a per-project tool stops at its first failure, as CI would)."""
    result = RunResult()
    for invocation in invocations:
        measured = run_measured(invocation, log_path)
        if not result.invocations:
            result.started = measured.started
        result.ended = measured.ended
        result.invocations += 1
        result.wall += measured.wall
        result.cpu += measured.cpu
        result.max_rss_kib = max(result.max_rss_kib, measured.max_rss_kib)
        result.exit_code = measured.exit_code
        if measured.exit_code != 0:
            break
    return result


def clean_env(extra: Mapping[str, str], home: Path, path_dirs: Iterable[Path] = ()) -> dict[str, str]:
    """An environment without the machine's user config, proxies or keyring; HOME is the tool's own."""
    env = {key: value for key, value in os.environ.items() if key not in _PROXY_VARS + _CA_VARS}
    for key in list(env):
        # Nothing of the caller's tool config leaks in (a developer's PDM_*/POETRY_*/HATCH_*/UV_*/TWINE_*).
        if key.startswith(
            ("PDM_", "POETRY_", "HATCH_", "UV_", "TWINE_", "SAFE_PUBLISH_", "PIP_", "VIRTUAL_ENV")
        ):
            del env[key]
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
    )
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # tools start as users see them: with bytecode caches
    if path_dirs:
        env["PATH"] = os.pathsep.join([*(str(p) for p in path_dirs), env.get("PATH", "")])
    env.update(extra)
    return env


def link_files(files: Iterable[Path], folder: Path) -> None:
    """Hard-link files into a folder (same file system: instant, no extra page cache); copy otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        target = folder / path.name
        try:
            os.link(path, target)
        except OSError:
            shutil.copyfile(path, target)


def start_relay(server: PypiServer, condition: Condition = LOOPBACK, ca: TestCA | None = None) -> Relay:
    """A started relay in front of ``server``, with fresh counters and a port of its own."""
    if condition.tls and ca is None:
        raise ValueError(f"condition {condition.label} needs a test CA")
    proxy = relay.FaultProxy(
        server.url,
        connect_delay=condition.connect_delay,
        request_delay=condition.request_delay,
        tls=ca.server_context() if condition.tls and ca is not None else None,
    )
    proxy.start()
    return proxy


@dataclass
class ServerRun:
    """A started pypiserver with a relay in front; ``upload_url``/``simple_url`` go through it."""

    server: PypiServer
    proxy: Relay
    projects: list[str]
    preloaded: frozenset[str] = field(default_factory=frozenset)
    condition: Condition = LOOPBACK
    ca: TestCA | None = None

    @property
    def upload_url(self) -> str:
        return str(self.proxy.url)

    @property
    def simple_url(self) -> str:
        return f"{self.proxy.url}simple/"

    def stored(self) -> set[str]:
        return {p.name for p in self.server.packages_dir.iterdir() if p.is_file()}

    def fresh_proxy(self) -> None:
        """A new proxy (new counters, new port) for a second measured run on the same server.

        The server is warmed again first: it re-hashes what the first run uploaded on the next page
        request, a one-off cost an index like PyPI has paid at upload time.
        """
        self.proxy.stop()
        warm(self.server, self.projects)
        self.proxy = start_relay(self.server, self.condition, self.ca)
        self.preloaded = frozenset(self.stored())


class ServerPool:
    """Starts servers for runs and stops them in the background (pypiserver takes ~1 s to exit)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._stopper = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bench-stop")
        self._pending: list[Future[None]] = []
        self._count = 0

    @contextlib.contextmanager
    def run(
        self,
        preload: Sequence[Path],
        warm_projects: Iterable[str],
        condition: Condition = LOOPBACK,
        ca: TestCA | None = None,
    ) -> Iterator[ServerRun]:
        self._count += 1
        workdir = self.root / f"server-{self._count:04d}"
        server = servers.PypiServer(workdir)  # sha256 links, no overwrite, upload auth, default backend
        link_files(preload, server.packages_dir)
        projects = list(warm_projects)
        run: ServerRun | None = None
        try:
            server.start()
            warm(server, projects)
            run = ServerRun(
                server,
                start_relay(server, condition, ca),
                projects,
                frozenset(p.name for p in preload),
                condition,
                ca,
            )
            yield run
        finally:
            if run is not None:
                run.proxy.stop()
            self._pending.append(self._stopper.submit(_stop_and_remove, server, workdir))

    def close(self) -> None:
        for future in self._pending:
            future.result()
        self._stopper.shutdown(wait=True)


def warm(server: PypiServer, projects: Iterable[str]) -> None:
    # pypiserver hashes each file on the first simple-page request and caches the digest (watchdog
    # 2.1.9); warming it outside the proxy keeps that one-off server cost out of every tool's figure.
    with servers.http_client(timeout=120) as client:
        client.get(server.simple_url)
        for project in projects:
            client.get(f"{server.simple_url}{project}/")


def _stop_and_remove(server: PypiServer, workdir: Path) -> None:
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def fill_result(result: RunResult, run: ServerRun) -> None:
    """Copy the relay's counters and the server's file count into a run result."""
    requests = run.proxy.snapshot()
    result.upload_bytes = run.proxy.upload_bytes
    result.download_bytes = sum(
        r.response_bytes for r in requests if r.method == "GET" and not r.path.startswith("/simple")
    )
    result.uploads = run.proxy.count("POST")
    result.index_requests = run.proxy.count("GET", "/simple") + run.proxy.count("HEAD", "/simple")
    result.root_requests = sum(1 for r in requests if r.method in ("GET", "HEAD") and r.path == "/simple/")
    result.other_requests = len(requests) - result.uploads - result.index_requests
    result.connections = run.proxy.connections
    stored = run.stored()
    result.stored_after = len(stored)
    result.new_files = len(stored - run.preloaded)
    if result.invocations == 1 and requests:
        _timeline(result, requests)


def _timeline(result: RunResult, requests: list[Any]) -> None:
    answered = [r.answered for r in requests if r.answered is not None]
    result.before_first_request = min(r.started for r in requests) - result.started
    result.after_last_answer = result.ended - max(answered) if answered else None
    index = [r for r in requests if r.method in ("GET", "HEAD") and r.answered is not None]
    result.index_time = sum(r.answered - r.started for r in index if r.answered is not None)
    posts = [r for r in requests if r.method == "POST" and r.body_done is not None]
    result.upload_send = sum(r.body_done - r.started for r in posts if r.body_done is not None)
    result.upload_wait = sum(
        r.answered - r.body_done for r in posts if r.answered is not None and r.body_done is not None
    )
