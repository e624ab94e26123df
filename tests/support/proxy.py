"""A fault-injecting, byte-counting HTTP/1.1 proxy on 127.0.0.1, in front of a real index server.

The one HTTP relay of the repository: the tests inject faults with it, and the benchmarks (which load
this file by path, see benchmarks/support.py: standard library only here) count and time what each tool
sends through it with no fault set.

Faults are injected here, on the wire, instead of mocking the client (DESIGN.md "Tests"). The proxy
parses requests properly (keep-alive, Content-Length and chunked bodies) and forwards each request on
a fresh upstream connection, so the server's own answers (status, headers, body) reach the client
unchanged unless a fault rule says otherwise. One thread accepts, one thread serves each client
connection; ``stop()`` wakes and joins them all. Every request is recorded (method, path, headers, body
bytes, and when its head, its body and the server's answer arrived).

    with FaultProxy(pypiserver.url) as proxy:
        proxy.status(503, method="POST", headers={"Retry-After": "1"})
        ...  # upload to proxy.url: the first POST gets 503, the next one reaches the server
        assert proxy.upload_bytes > 0
        assert len(proxy.posts) == 2

For the benchmarks it can also stand for a remote index (all off by default, so tests are unaffected):
``connect_delay`` seconds pass before a new connection is served (the round trips of setting it up),
``request_delay`` seconds before each request's answer goes back (one round trip), and with ``tls`` (a
server-side ``ssl.SSLContext``) the relay terminates HTTPS from the client and speaks plain HTTP to the
server, telling it ``X-Forwarded-Proto: https`` so that the URLs it builds are https ones.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

HOST = "127.0.0.1"
UPSTREAM_TIMEOUT = 300.0  # a slow server taking a 2 GiB upload must not look like a fault
MAX_HEAD = 64 * 1024
READ_SIZE = 256 * 1024

FaultKind = Literal[
    "reset_mid_body",
    "refuse",
    "status",
    "stall",
    "drop_response",
    "redirect",
    "replace_body",
    "delay",
    "endless",
    "trickle",
]
# An endless answer stops by itself after this much: a test's loop is bounded even if its client is not.
ENDLESS_LIMIT = 1024**3


class ProtocolError(Exception):
    """The peer sent something that is not HTTP/1.x, or closed in the middle of a message."""


@dataclass
class Fault:
    """One rule: applied to the next ``times`` requests (``None``: all) matching method and path prefix."""

    kind: FaultKind
    method: str | None = None  # None matches every method
    path: str = "/"  # prefix of the request target
    times: int | None = 1
    after_bytes: int = 0  # reset_mid_body: body bytes forwarded before the reset
    status: int = 503  # status, redirect, replace_body (0: keep the server's status)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    seconds: float = 0.0  # delay; trickle: the pause between two bytes
    in_head: bool = False  # trickle: the head itself trickles, not only the body
    reason: str | None = None  # status: the reason phrase (default: the standard one)
    hits: int = 0  # how often the rule fired

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule applies to a request (and has uses left)."""
        if self.times is not None and self.hits >= self.times:
            return False
        return (self.method is None or self.method.upper() == method) and path.startswith(self.path)


@dataclass
class RequestRecord:
    """A request the proxy received; ``body_bytes`` counts body bytes read from the client so far.

    The times are ``time.perf_counter()`` values: the head received, the body received (and forwarded),
    the first answer (the server's, or the fault's) on its way back; ``None`` until it happens.
    """

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body_bytes: int = 0
    fault: FaultKind | None = None
    response_bytes: int = 0  # body bytes of the server's answer passed on to the client
    started: float = field(default_factory=time.perf_counter)
    body_done: float | None = None
    answered: float | None = None


@dataclass
class _Head:
    raw: bytes
    start_line: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name]
        return values[-1] if values else None

    def has_token(self, name: str, token: str) -> bool:
        return any(
            token in (part.strip().lower() for part in value.split(","))
            for key, value in self.headers
            if key.lower() == name
        )


class _Stream:
    """Buffered reads from a socket: heads, lines and bounded byte runs."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(READ_SIZE)
        self.buffer += data
        return bool(data)

    def read_head(self) -> _Head | None:
        """Read a message head; ``None`` if the peer closed cleanly before sending one."""
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise ProtocolError("message head too large")
            if not self._fill():
                if self.buffer.strip():
                    raise ProtocolError("connection closed inside a message head")
                return None
        raw = bytes(self.buffer[: end + 4])
        del self.buffer[: end + 4]
        lines = raw.decode("latin-1").split("\r\n")
        fields = (line.partition(":") for line in lines[1:] if line)
        headers = [(key.strip(), value.strip()) for key, _, value in fields]
        return _Head(raw, lines[0], headers)

    def read_line(self) -> bytes:
        """Read one CRLF-terminated line, CRLF included."""
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise ProtocolError("line too long")
            if not self._fill():
                raise ProtocolError("connection closed inside a line")
        line = bytes(self.buffer[: end + 2])
        del self.buffer[: end + 2]
        return line

    def read_some(self, limit: int) -> bytes:
        """Read at least one and at most ``limit`` bytes; ``b""`` at end of stream."""
        if not self.buffer and not self._fill():
            return b""
        data = bytes(self.buffer[:limit])
        del self.buffer[:limit]
        return data

    def read_exact(self, size: int) -> Iterator[bytes]:
        """Yield exactly ``size`` bytes in pieces, or raise if the peer closes first."""
        while size > 0:
            data = self.read_some(min(size, READ_SIZE))
            if not data:
                raise ProtocolError("connection closed inside a body")
            size -= len(data)
            yield data


def _body(stream: _Stream, head: _Head, *, until_close: bool) -> Iterator[tuple[bytes, int]]:
    """Yield a message body as (raw bytes to forward, payload bytes among them).

    Chunked bodies are forwarded with their framing; only chunk data counts as payload.
    ``until_close``: a response with neither length nor chunking ends when the server closes.
    """
    if head.has_token("transfer-encoding", "chunked"):
        while True:
            line = stream.read_line()
            yield line, 0
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (trailer := stream.read_line()) != b"\r\n":
                    yield trailer, 0
                yield b"\r\n", 0
                return
            for piece in stream.read_exact(size):
                yield piece, len(piece)
            yield stream.read_line(), 0
    elif (length := head.get("content-length")) is not None:
        for piece in stream.read_exact(int(length)):
            yield piece, len(piece)
    elif until_close:
        while piece := stream.read_some(READ_SIZE):
            yield piece, len(piece)


def _response_has_body(method: str, status: int) -> bool:
    return method != "HEAD" and status >= 200 and status not in {204, 304}


def _status_of(head: _Head) -> int:
    parts = head.start_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ProtocolError(f"bad status line {head.start_line!r}")
    return int(parts[1])


def _no_delay(sock: socket.socket) -> None:
    # A head and its body are sent in two writes: without TCP_NODELAY, Nagle's algorithm and the peer's
    # delayed ACK can hold the second one back for tens of milliseconds (timings would show it).
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reset(sock: socket.socket) -> None:
    # SO_LINGER with a zero timeout makes close() send RST: the peer sees "connection reset".
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _response(
    status: int, headers: Mapping[str, str], body: bytes, *, close: bool, reason: str | None = None
) -> bytes:
    if reason is None:
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{key}: {value}" for key, value in headers.items() if key.lower() != "content-length"]
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


_Proxy = TypeVar("_Proxy", bound="FaultProxy")


class FaultProxy:
    """The proxy. ``upstream`` is any URL of the real server; only its scheme://host:port is used."""

    def __init__(
        self,
        upstream: str,
        *,
        connect_delay: float = 0.0,
        request_delay: float = 0.0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"upstream must be an http:// URL, got {upstream!r}")
        self.upstream = (parts.hostname, parts.port or 80)
        self.connect_delay = connect_delay  # seconds before a new client connection is served
        self.request_delay = request_delay  # seconds before each answer goes back to the client
        self.tls = tls  # terminate TLS from clients (plain HTTP to the server)
        self.faults: list[Fault] = []
        self.records: list[RequestRecord] = []
        self.connections = 0
        self.upload_bytes = 0  # request body bytes of POSTs received from clients
        self.response_bytes = 0  # response body bytes sent to clients
        self.errors: list[str] = []  # what went wrong inside connection threads, for debugging
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._threads: set[threading.Thread] = set()
        self._sockets: set[socket.socket] = set()
        self.port = 0

    # ---- life cycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen on a free port of 127.0.0.1 and start accepting."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, 0))
        listener.listen(64)
        listener.settimeout(0.1)  # accept() polls so that stop() is noticed
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._spawn(self._accept_loop)

    def stop(self) -> None:
        """Stop accepting, cut every open connection (stalls included) and join the threads."""
        self._stop.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(10)
        if self._listener is not None:
            self._listener.close()
            self._listener = None

    def __enter__(self: _Proxy) -> _Proxy:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def scheme(self) -> str:
        """``https`` when the proxy terminates TLS, else ``http``."""
        return "https" if self.tls is not None else "http"

    @property
    def url(self) -> str:
        """Root URL of the proxy, with a trailing slash."""
        return f"{self.scheme}://{HOST}:{self.port}/"

    def url_for(self, upstream_url: str) -> str:
        """Return ``upstream_url`` with the proxy's origin (e.g. a devpi index URL through the proxy)."""
        parts = urlsplit(upstream_url)
        return urlunsplit((self.scheme, f"{HOST}:{self.port}", parts.path, parts.query, parts.fragment))

    # ---- counters ---------------------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request received, in order."""
        with self._lock:
            return [(record.method, record.path) for record in self.records]

    @property
    def posts(self) -> list[str]:
        """The path of every POST (upload) received, in order: what reached the upload URL."""
        with self._lock:
            return [record.path for record in self.records if record.method == "POST"]

    def count(self, method: str, prefix: str = "") -> int:
        """How many ``method`` requests were received for paths starting with ``prefix``."""
        with self._lock:
            return sum(1 for r in self.records if r.method == method and r.path.startswith(prefix))

    def authorizations(self) -> list[str]:
        """The ``Authorization`` header of every request that carried one, in order."""
        with self._lock:
            return [r.headers["authorization"] for r in self.records if "authorization" in r.headers]

    def snapshot(self) -> list[RequestRecord]:
        """The records so far (a copy of the list; connection threads append to the original)."""
        with self._lock:
            return list(self.records)

    def reset_counters(self) -> None:
        """Zero the counters and forget the recorded requests."""
        with self._lock:
            self.records.clear()
            self.connections = self.upload_bytes = self.response_bytes = 0

    # ---- fault rules ------------------------------------------------------------------------------

    def add(self, fault: Fault) -> Fault:
        """Add a rule; rules are tried in the order they were added."""
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every rule."""
        with self._lock:
            self.faults.clear()

    def reset_mid_body(
        self, after_bytes: int = 0, *, method: str | None = None, path: str = "/", times: int | None = 1
    ) -> Fault:
        """Forward ``after_bytes`` of the request body, then reset both connections."""
        return self.add(Fault("reset_mid_body", method, path, times, after_bytes=after_bytes))

    def refuse(self, *, times: int | None = 1) -> Fault:
        """Reset the next ``times`` connections as soon as they are accepted."""
        return self.add(Fault("refuse", None, "", times))

    def status(
        self,
        code: int,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
        reason: str | None = None,
        method: str | None = None,
        path: str = "/",
        times: int | None = 1,
    ) -> Fault:
        """Answer with ``code`` (e.g. 502, 503, 429 with Retry-After) without reaching the server."""
        fault = Fault(
            "status", method, path, times, status=code, headers=headers or {}, body=body, reason=reason
        )
        return self.add(fault)

    def stall(self, *, method: str | None = None, path: str = "/", times: int | None = 1) -> Fault:
        """Read the request and never answer; the connection is held until the proxy stops."""
        return self.add(Fault("stall", method, path, times))

    def drop_response(self, *, method: str | None = None, path: str = "/", times: int | None = 1) -> Fault:
        """Let the server process the request, then close the client connection without the answer."""
        return self.add(Fault("drop_response", method, path, times))

    def redirect(
        self,
        location: str,
        *,
        code: int = 307,
        method: str | None = None,
        path: str = "/",
        times: int | None = 1,
    ) -> Fault:
        """Answer ``code`` (301, 302, 307, 308) with ``Location: location`` without reaching the server."""
        return self.add(Fault("redirect", method, path, times, status=code, headers={"Location": location}))

    def replace_body(
        self,
        body: bytes,
        *,
        status: int = 0,
        method: str | None = None,
        path: str = "/",
        times: int | None = 1,
    ) -> Fault:
        """Forward the request, then answer with ``body`` (and ``status``, unless 0) instead."""
        return self.add(Fault("replace_body", method, path, times, status=status, body=body))

    def delay(
        self, seconds: float, *, method: str | None = None, path: str = "/", times: int | None = 1
    ) -> Fault:
        """Wait ``seconds`` before forwarding the request."""
        return self.add(Fault("delay", method, path, times, seconds=seconds))

    def endless(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        piece: bytes = b"<a>" * 21845,
        status: int = 200,
        method: str | None = None,
        path: str = "/",
        times: int | None = 1,
    ) -> Fault:
        """Answer ``status`` with a chunked body that never ends (until the client leaves, or ENDLESS_LIMIT)."""
        return self.add(
            Fault("endless", method, path, times, status=status, headers=headers or {}, body=piece)
        )

    def trickle(
        self,
        body: bytes,
        *,
        seconds: float,
        headers: Mapping[str, str] | None = None,
        in_head: bool = False,
        method: str | None = None,
        path: str = "/",
        times: int | None = 1,
    ) -> Fault:
        """Answer 200 with ``body``, one byte every ``seconds`` (``in_head``: the head trickles too)."""
        return self.add(
            Fault(
                "trickle",
                method,
                path,
                times,
                status=200,
                headers=headers or {},
                body=body,
                seconds=seconds,
                in_head=in_head,
            )
        )

    def _take_fault(self, method: str, path: str, *, on_accept: bool) -> Fault | None:
        # "refuse" rules act when a connection is accepted, all others when a request head arrives.
        with self._lock:
            for fault in self.faults:
                if (fault.kind == "refuse") == on_accept and fault.matches(method, path):
                    fault.hits += 1
                    return fault
        return None

    # ---- connection handling ----------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=self._guard, args=(target, *args), daemon=True)
        # Registered and started under one lock: stop() never sees a thread it cannot join yet.
        with self._lock:
            self._threads.add(thread)
            thread.start()

    def _guard(self, target: Callable[..., None], *args: object) -> None:
        # Connection threads must never raise: a traceback in a thread is noise, not a test result.
        try:
            target(*args)
        except Exception as error:
            if not self._stop.is_set():
                with self._lock:
                    self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        sock.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            _no_delay(client)
            with self._lock:
                self.connections += 1
            if self._take_fault("", "", on_accept=True):
                _reset(client)
                continue
            self._track(client)
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        if self.connect_delay > 0 and self._stop.wait(self.connect_delay):
            self._forget(client)
            return
        if self.tls is not None:
            try:
                secure = self.tls.wrap_socket(client, server_side=True)  # detaches ``client``
            except (OSError, ssl.SSLError):
                self._forget(client)
                raise
            with self._lock:
                self._sockets.discard(client)
                self._sockets.add(secure)
            client = secure
        stream = _Stream(client)
        try:
            while not self._stop.is_set():
                head = stream.read_head()
                if head is None or not self._handle(client, stream, head):
                    return
        finally:
            self._forget(client)

    def _handle(self, client: socket.socket, stream: _Stream, head: _Head) -> bool:
        """Serve one request; return whether the client connection stays open."""
        parts = head.start_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise ProtocolError(f"bad request line {head.start_line!r}")
        method, target = parts[0].upper(), parts[1]
        # Absolute-form targets (a client configured to use us as a proxy) are matched by their path.
        path = (urlsplit(target).path or "/") if target.startswith("http") else target
        record = RequestRecord(method, path, {key.lower(): value for key, value in head.headers})
        fault = self._take_fault(method, path, on_accept=False)
        record.fault = fault.kind if fault else None
        with self._lock:
            self.records.append(record)
        # HTTP/1.0 clients get one request per connection: no index client speaks it anyway.
        keep_alive = not head.has_token("connection", "close") and parts[2] != "HTTP/1.0"
        kind = fault.kind if fault else None

        if fault is not None and kind in {"status", "redirect"}:
            self._drain(stream, head, record)
            if not self._delay_answer():
                reply = _response(
                    fault.status, fault.headers, fault.body, close=not keep_alive, reason=fault.reason
                )
                self._answered(record)
                client.sendall(reply)
            return keep_alive and not self._stop.is_set()
        if kind == "stall":
            self._drain(stream, head, record)
            self._stop.wait()
            return False
        if fault is not None and kind in {"endless", "trickle"}:
            self._drain(stream, head, record)
            self._answered(record)
            (self._send_endless if kind == "endless" else self._send_trickle)(client, fault)
            return False
        if fault is not None and kind == "delay" and self._stop.wait(fault.seconds):
            return False

        upstream = socket.create_connection(self.upstream, timeout=UPSTREAM_TIMEOUT)
        _no_delay(upstream)
        self._track(upstream)
        try:
            upstream.sendall(self._forwarded_head(head))
            limit = fault.after_bytes if fault is not None and kind == "reset_mid_body" else None
            if not self._forward_body(stream, head, record, upstream, limit):
                _reset(client)
                return False
            return self._relay_response(client, upstream, record, fault) and keep_alive
        finally:
            self._forget(upstream)

    def _forwarded_head(self, head: _Head) -> bytes:
        if self.tls is None:
            return head.raw
        # The server sees plain HTTP: it builds its absolute URLs (redirects) for https with this.
        kept = b"".join(
            f"{key}: {value}\r\n".encode("latin-1")
            for key, value in head.headers
            if key.lower() != "x-forwarded-proto"
        )
        return f"{head.start_line}\r\n".encode("latin-1") + kept + b"X-Forwarded-Proto: https\r\n\r\n"

    def _returned_head(self, head: _Head) -> bytes:
        location = head.get("location")
        if self.tls is None or location is None or not location.startswith(f"http://{HOST}:{self.port}/"):
            return head.raw
        # As a TLS terminator does (nginx's proxy_redirect): the server's own http:// redirects, made from
        # the Host header, point at the proxy's https:// origin (not every server honours X-Forwarded-Proto).
        kept = b"".join(
            f"{key}: {'https' + value[4:] if key.lower() == 'location' else value}\r\n".encode("latin-1")
            for key, value in head.headers
        )
        return f"{head.start_line}\r\n".encode("latin-1") + kept + b"\r\n"

    def _delay_answer(self) -> bool:
        """Hold an answer back for ``request_delay`` (a round trip); True if the proxy stopped meanwhile."""
        return self.request_delay > 0 and self._stop.wait(self.request_delay)

    def _send_endless(self, client: socket.socket, fault: Fault) -> None:
        reason = HTTPStatus(fault.status).phrase
        lines = [
            f"HTTP/1.1 {fault.status} {reason}",
            *(f"{key}: {value}" for key, value in fault.headers.items()),
        ]
        lines.append("Transfer-Encoding: chunked")
        client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        chunk = f"{len(fault.body):x}\r\n".encode() + fault.body + b"\r\n"
        sent = 0
        while not self._stop.is_set() and sent < ENDLESS_LIMIT:
            try:
                client.sendall(chunk)
            except OSError:
                return  # the client gave up, as it should
            sent += len(fault.body)
            with self._lock:
                self.response_bytes += len(fault.body)

    def _send_trickle(self, client: socket.socket, fault: Fault) -> None:
        whole = _response(fault.status, fault.headers, fault.body, close=True)
        head_size = len(whole) - len(fault.body)
        start = 0 if fault.in_head else head_size
        try:
            client.sendall(whole[:start])
            for index in range(start, len(whole)):
                if self._stop.wait(fault.seconds):
                    return
                client.sendall(whole[index : index + 1])
        except OSError:
            return  # the client gave up, as it should

    def _count(self, record: RequestRecord, size: int) -> None:
        with self._lock:
            record.body_bytes += size
            if record.method == "POST":
                self.upload_bytes += size

    def _body_done(self, record: RequestRecord) -> None:
        with self._lock:
            record.body_done = time.perf_counter()

    def _answered(self, record: RequestRecord) -> None:
        with self._lock:
            if record.answered is None:
                record.answered = time.perf_counter()

    def _drain(self, stream: _Stream, head: _Head, record: RequestRecord) -> None:
        # Read the request body before answering, as a real server would: a client still writing
        # its body when the answer and close arrive would see a broken pipe instead of the status.
        for _, size in _body(stream, head, until_close=False):
            self._count(record, size)
        self._body_done(record)

    def _forward_body(
        self, stream: _Stream, head: _Head, record: RequestRecord, upstream: socket.socket, limit: int | None
    ) -> bool:
        """Forward the request body; with ``limit``, stop after that many payload bytes and say so."""
        sent = 0
        if limit == 0:
            return False
        for raw, size in _body(stream, head, until_close=False):
            if limit is not None and sent + size >= limit:
                cut = limit - sent
                upstream.sendall(raw[:cut] if size else raw)
                self._count(record, cut)
                return False
            upstream.sendall(raw)
            sent += size
            self._count(record, size)
        self._body_done(record)
        return True

    def _relay_response(
        self, client: socket.socket, upstream: socket.socket, record: RequestRecord, fault: Fault | None
    ) -> bool:
        """Read the server's answer and pass it on (or drop or replace it); return keep-alive."""
        method = record.method
        reader = _Stream(upstream)
        while True:
            head = reader.read_head()
            if head is None:
                raise ProtocolError("server closed without answering")
            if record.answered is None and self._delay_answer():
                return False
            self._answered(record)  # the first head, interim (1xx) or final: the server has answered
            status = _status_of(head)
            if status >= 200 or status == 101:
                break
            if fault is None:
                client.sendall(head.raw)  # interim 1xx answers go through as they are
        has_body = _response_has_body(method, status)
        framed = head.get("content-length") is not None or head.has_token("transfer-encoding", "chunked")
        body = _body(reader, head, until_close=True) if has_body else iter(())
        if fault is not None and fault.kind == "drop_response":
            for _ in body:  # the server finishes its work; the client never hears of it
                pass
            return False
        if fault is not None and fault.kind == "replace_body":
            for _ in body:
                pass
            headers = {
                key: value
                for key, value in head.headers
                if key.lower() not in {"transfer-encoding", "content-length", "connection"}
            }
            client.sendall(_response(fault.status or status, headers, fault.body, close=True))
            return False
        client.sendall(self._returned_head(head))
        for raw, size in body:
            with self._lock:  # counted first: once sent, the client may read the counter at once
                self.response_bytes += size
                record.response_bytes += size
            client.sendall(raw)
        return (framed or not has_body) and not head.has_token("connection", "close")


@contextlib.contextmanager
def started_proxies(make: Callable[..., _Proxy]) -> Iterator[Callable[..., _Proxy]]:
    """Yield ``start(upstream, **options)``: a proxy made by ``make`` and started; all stop on leaving.

    The body of the ``fault_proxy`` fixture, and of fixtures for :class:`FaultProxy` subclasses.
    """
    proxies: list[_Proxy] = []

    def start(*args: object, **kwargs: object) -> _Proxy:
        proxy = make(*args, **kwargs)
        proxies.append(proxy)
        proxy.start()
        return proxy

    try:
        yield start
    finally:
        for proxy in proxies:
            proxy.stop()
