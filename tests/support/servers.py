"""Real package index servers (pypiserver, devpi-server) run as subprocesses on 127.0.0.1.

Commands follow research/indexes.md §11. Each server listens on a free loopback port, is polled until
it answers (or fails with its log after ``START_TIMEOUT`` seconds), and is stopped by ``stop()`` or on
leaving the ``with`` block: terminate, wait, kill if needed.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, Protocol, TypeVar
from urllib.parse import urljoin

import httpx
from packaging.utils import canonicalize_name

HOST = "127.0.0.1"
TEST_USERNAME = "alice"
TEST_PASSWORD = "s3cret"  # grep for this constant to prove a password never leaks into output
ROOT_PASSWORD = "rootpw"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
PEP691_JSON = "application/vnd.pypi.simple.v1+json"

HashAlgo = Literal["sha256", "md5", "off"]

_running: set[_ServerProcess] = set()
_S = TypeVar("_S", bound="_ServerProcess")


def http_client(timeout: float = 30.0) -> httpx.Client:
    """Return an httpx client for talking to the fixtures (proxy variables ignored: all is loopback)."""
    return httpx.Client(timeout=timeout, trust_env=False)


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def find_executable(name: str) -> str:
    """Find a server executable: beside the running interpreter (its venv) first, then on PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found; run `make venv` (it installs requirements/test.txt)")
    return found


def _parent_death_signal() -> Callable[[], None] | None:
    # If the test process dies without cleanup (SIGKILL, a crashed xdist worker), Linux sends the
    # server SIGTERM, so no server outlives its test run. prctl is looked up here, in the parent: the
    # child (forked while proxy threads may run) only makes the call, it imports nothing.
    # The signal fires when the *thread* that started the server ends: start servers from the
    # test's own thread (fixtures do), never from a short-lived helper thread.
    if sys.platform != "linux":
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1

    def set_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_signal


_PREEXEC = _parent_death_signal()


class ServerStartError(RuntimeError):
    """A server did not come up; the message carries the end of its log."""


class _ServerProcess:
    """One server subprocess: start on a free port, poll readiness, stop for sure."""

    name = "server"
    ready_path = "/"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "server.log"
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Root URL of the server, with a trailing slash."""
        return f"http://{HOST}:{self.port}/"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _after_start(self) -> None:
        """Set-up that needs the running server (users, indexes)."""

    def start(self) -> None:
        """Start the server and wait until it answers; retry on another port if the first was taken."""
        if self._process is not None:
            return
        for _attempt in range(3):
            self.port = free_port()
            self._log = self.log_path.open("ab")
            self._process = subprocess.Popen(
                self._command(),
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                preexec_fn=_PREEXEC,  # noqa: PLW1509 (one prctl call, no imports or locks)
            )
            _running.add(self)
            outcome = self._wait_ready()
            if outcome == "ready":
                try:
                    self._after_start()
                except BaseException:
                    self.stop()
                    raise
                return
            self.stop()
            if outcome == "timeout":
                break
            # "exited": most likely another process took the free port first; try a new one.
        problem = "exited at start" if outcome == "exited" else f"did not answer within {START_TIMEOUT:.0f} s"
        raise ServerStartError(f"{self.name} {problem}; log {self.log_path}:\n{self.log_tail()}")

    def _wait_ready(self) -> Literal["ready", "exited", "timeout"]:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        url = urljoin(self.base_url, self.ready_path.lstrip("/"))
        with http_client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    return "exited"
                try:
                    if client.get(url).status_code == 200:
                        return "ready"
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        return "timeout"

    def log_tail(self, lines: int = 40) -> str:
        """Return the last lines of the server log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server: SIGTERM, wait, SIGKILL if it does not exit."""
        process, self._process = self._process, None
        _running.discard(self)
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@atexit.register
def _stop_all() -> None:
    # Last line of defence for servers whose owner forgot stop(): none outlives the interpreter.
    for server in list(_running):
        server.stop()


class PypiServer(_ServerProcess):
    """pypiserver 2.4.2 with htpasswd auth and ``--disable-fallback`` (``fallback_url``: its default
    behaviour instead, unknown projects redirected there).

    ``hash_algo``: ``None`` (the server default, sha256), ``"sha256"``, ``"md5"`` or ``"off"`` (links
    without a hash). ``auth``: the ``-a`` value, e.g. ``"update"`` or ``"update,list,download"``; ``None``
    for no authentication at all. ``backend``: the ``--server`` value (``None``: pypiserver's ``auto``,
    which picks waitress when installed, as in ``.venv``, else the single-threaded wsgiref that
    research/indexes.md observed). waitress refuses request bodies over 1 GiB (413): pass
    ``backend="wsgiref"`` for larger uploads.
    """

    name = "pypiserver"
    ready_path = "/health"

    def __init__(
        self,
        workdir: Path,
        *,
        hash_algo: HashAlgo | None = "sha256",
        overwrite: bool = False,
        auth: str | None = "update",
        backend: str | None = None,
        fallback_url: str | None = None,
    ) -> None:
        super().__init__(workdir)
        self.fallback_url = fallback_url
        self.hash_algo = hash_algo
        self.overwrite = overwrite
        self.auth = auth
        self.backend = backend
        self.username = TEST_USERNAME
        self.password = TEST_PASSWORD
        self.packages_dir = workdir / "packages"
        self.packages_dir.mkdir(exist_ok=True)
        self.htpasswd = workdir / "htpasswd"

    @property
    def url(self) -> str:
        """Upload URL (``http://127.0.0.1:PORT/``)."""
        return self.base_url

    upload_url = url

    @property
    def simple_url(self) -> str:
        """Check URL: the PEP 503 simple index (``…/simple/``)."""
        return self.base_url + "simple/"

    def _command(self) -> list[str]:
        if self.auth is None:
            auth_args = ["-P", ".", "-a", "."]
        else:
            self._write_htpasswd()
            auth_args = ["-P", str(self.htpasswd), "-a", self.auth]
        command = [find_executable("pypi-server"), "run", "-i", HOST, "-p", str(self.port), *auth_args]
        if self.fallback_url is None:
            command.append("--disable-fallback")
        else:  # pypiserver's default: unknown projects redirect (303) to this index, PyPI unless told
            command += ["--fallback-url", self.fallback_url]
        if self.hash_algo is not None:
            command += ["--hash-algo", self.hash_algo]
        if self.overwrite:
            command.append("--overwrite")
        if self.backend is not None:
            command += ["--server", self.backend]
        return [*command, str(self.packages_dir)]

    def _write_htpasswd(self) -> None:
        # The {SHA} scheme, which pypiserver's passlib accepts: written here without importing
        # passlib, whose import warns about the deprecated crypt module.
        digest = hashlib.sha1(self.password.encode(), usedforsecurity=False).digest()
        self.htpasswd.write_text(f"{self.username}:{{SHA}}{base64.b64encode(digest).decode()}\n")

    def stored_files(self) -> dict[str, bytes]:
        """Return every file the server stores, by filename (read from the packages folder)."""
        paths = sorted(self.packages_dir.iterdir())
        return {path.name: path.read_bytes() for path in paths if path.is_file()}

    def clear(self) -> None:
        """Delete every stored file (the server rescans its folder on each request)."""
        for path in self.packages_dir.iterdir():
            if path.is_file():
                path.unlink()


class DevpiServer(_ServerProcess):
    """devpi-server 6.20.3, offline and without a PyPI mirror, with user ``alice``.

    ``start()`` also creates ``alice/dev``, a non-volatile index; ``new_index`` makes more, one per test.
    Uploads over 1 GiB need ``extra_args=["--max-request-body-size", str(size)]``.
    """

    name = "devpi-server"
    ready_path = "/+api"

    def __init__(self, workdir: Path, *, extra_args: Sequence[str] = ()) -> None:
        super().__init__(workdir)
        self.extra_args = list(extra_args)
        self.username = TEST_USERNAME
        self.password = TEST_PASSWORD
        self.serverdir = workdir / "srv"
        self.secretfile = workdir / "secret" / "key"
        self.default_index = "dev"

    def _command(self) -> list[str]:
        if not self.serverdir.exists():
            self._init_serverdir()
        return [
            find_executable("devpi-server"),
            "--serverdir", str(self.serverdir),
            "--secretfile", str(self.secretfile),
            # The default argon2 cost makes every start take ~10 s (research/indexes.md §2).
            "--argon2-memory-cost", "8", "--argon2-time-cost", "1", "--argon2-parallelism", "1",
            "--host", HOST, "--port", str(self.port),
            "--offline-mode",
            *self.extra_args,
        ]  # fmt: skip

    def _init_serverdir(self) -> None:
        # devpi refuses a secret file in a group/world-writable folder or readable by others.
        self.secretfile.parent.mkdir(mode=0o700, exist_ok=True)
        self.secretfile.write_text(base64.b64encode(secrets.token_bytes(32)).decode())
        self.secretfile.chmod(0o600)
        command = [find_executable("devpi-init"), "--serverdir", str(self.serverdir)]
        command += ["--no-root-pypi", "--root-passwd", ROOT_PASSWORD]
        with self.log_path.open("ab") as log:
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=120)
        if result.returncode != 0:
            raise ServerStartError(f"devpi-init failed ({result.returncode}):\n{self.log_tail()}")

    def _after_start(self) -> None:
        with http_client() as client:
            response = client.put(
                self.base_url + self.username, json={"password": self.password}, auth=("root", ROOT_PASSWORD)
            )
        # 409: the user exists already (a restart on the same serverdir).
        if response.status_code not in {201, 409}:
            raise ServerStartError(f"creating user {self.username}: {response.status_code} {response.text}")
        if not self._index_exists(self.default_index):
            self.new_index(self.default_index)

    def _index_exists(self, index: str) -> bool:
        url = f"{self.base_url}{self.username}/{index}"
        with http_client() as client:
            return client.get(url, headers={"Accept": "application/json"}).status_code == 200

    @property
    def url(self) -> str:
        """Upload URL of the default index ``alice/dev``."""
        return self.index_urls(self.default_index)[0]

    upload_url = url

    @property
    def simple_url(self) -> str:
        """Check URL of the default index (``…/alice/dev/+simple/``)."""
        return self.index_urls(self.default_index)[1]

    def index_urls(self, index: str) -> tuple[str, str]:
        """Return (upload URL, simple URL) of one of alice's indexes."""
        upload = f"{self.base_url}{self.username}/{index}/"
        return upload, upload + "+simple/"

    def new_index(self, name: str, *, volatile: bool = False, bases: Sequence[str] = ()) -> tuple[str, str]:
        """Create ``alice/<name>`` (non-volatile unless asked) and return (upload URL, simple URL)."""
        with http_client() as client:
            response = client.put(
                f"{self.base_url}{self.username}/{name}",
                json={"type": "stage", "bases": list(bases), "volatile": volatile},
                auth=(self.username, self.password),
            )
        if response.status_code not in {200, 201}:
            raise RuntimeError(f"creating index {name}: {response.status_code} {response.text}")
        return self.index_urls(name)

    def stored_files(self, index: str | None = None) -> dict[str, bytes]:
        """Return every file stored in one of alice's indexes (default ``dev``), by filename.

        Read through the PEP 691 JSON simple API and the file links, as a client would.
        """
        _, simple = self.index_urls(index or self.default_index)
        headers = {"Accept": PEP691_JSON}
        files: dict[str, bytes] = {}
        with http_client(timeout=60) as client:
            client.headers.update(headers)
            root = client.get(simple)
            root.raise_for_status()
            for project in root.json()["projects"]:
                page_url = f"{simple}{canonicalize_name(project['name'])}/"
                page = client.get(page_url)
                page.raise_for_status()
                for entry in page.json()["files"]:
                    download = client.get(urljoin(page_url, entry["url"]))
                    download.raise_for_status()
                    files[entry["filename"]] = download.content
        return dict(sorted(files.items()))


class Index(Protocol):
    """What tests need from an index under test, whichever server holds it."""

    @property
    def url(self) -> str:
        """Upload URL."""
        ...

    @property
    def simple_url(self) -> str:
        """Check URL (simple index)."""
        ...

    username: str
    password: str

    def stored_files(self) -> dict[str, bytes]:
        """Every stored file, by filename."""
        ...


@dataclass(frozen=True)
class DevpiIndex:
    """One of alice's indexes on a running :class:`DevpiServer` (the ``devpi_index`` fixture)."""

    server: DevpiServer
    name: str
    upload_url: str
    simple_url: str
    username: str = TEST_USERNAME
    password: str = TEST_PASSWORD

    @classmethod
    def create(
        cls, server: DevpiServer, name: str, *, volatile: bool = False, bases: Sequence[str] = ()
    ) -> DevpiIndex:
        """Create ``alice/<name>`` on ``server``."""
        upload_url, simple_url = server.new_index(name, volatile=volatile, bases=bases)
        return cls(server, name, upload_url, simple_url)

    @property
    def url(self) -> str:
        """Upload URL (same as ``upload_url``)."""
        return self.upload_url

    def stored_files(self) -> dict[str, bytes]:
        """Every file stored in this index, by filename."""
        return self.server.stored_files(self.name)


def basic_auth_header(username: str = TEST_USERNAME, password: str = TEST_PASSWORD) -> str:
    """Return an ``Authorization`` header value for HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
