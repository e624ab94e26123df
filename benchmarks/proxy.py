"""A TCP relay in front of the index that counts connections, HTTP requests and request body bytes.

It relays bytes untouched (no HTTP rewriting, so every client sees the real server) and follows the
client-to-server stream just far enough to find where each request starts and ends: the head, then a
``Content-Length`` body or a chunked body. Counting happens on the client's side of the relay, so the
figures are what the tool sent, whether or not the server read it all.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field

HOST = "127.0.0.1"
_BUFFER = 1 << 20
_MAX_HEAD = 1 << 16


@dataclass
class Request:
    """One request as the client sent it; ``body_bytes`` counts payload (chunk framing excluded)."""

    method: str
    path: str
    body_bytes: int = 0
    complete: bool = False
    # time.perf_counter() values: head received, body received, first byte of the answer.
    started: float = 0.0
    body_done: float | None = None
    answered: float | None = None


@dataclass
class ProxyStats:
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    bytes_to_server: int = 0
    bytes_to_client: int = 0

    @property
    def upload_bytes(self) -> int:
        """Body bytes of every POST: what the tool pushed at the upload API."""
        return sum(r.body_bytes for r in self.requests if r.method == "POST")

    def count(self, method: str, prefix: str = "") -> int:
        return sum(1 for r in self.requests if r.method == method and r.path.startswith(prefix))


class _RequestParser:
    """Incremental request framing for one connection (client -> server direction only)."""

    def __init__(self, stats: ProxyStats, lock: threading.Lock) -> None:
        self._stats = stats
        self._lock = lock
        self._state = "head"
        self._buffer = bytearray()
        self._remaining = 0
        self._current: Request | None = None
        self._waiting: list[Request] = []  # sent completely, not answered yet
        self.broken = False

    def answer_seen(self) -> None:
        """The server sent bytes: the oldest request still waiting is being answered."""
        now = time.perf_counter()
        with self._lock:
            if self._waiting:
                self._waiting.pop(0).answered = now
            elif self._current is not None and self._current.answered is None:
                self._current.answered = now  # answered before its body was complete (e.g. 401)

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        while view and not self.broken:
            if self._state == "body":
                take = min(self._remaining, len(view))
                self._add_body(take)
                self._remaining -= take
                view = view[take:]
                if self._remaining == 0:
                    self._end()
            elif self._state == "chunk-data":
                take = min(self._remaining, len(view))
                self._add_body(take)
                self._remaining -= take
                view = view[take:]
                if self._remaining == 0:
                    self._state = "chunk-crlf"
                    self._remaining = 2
            elif self._state == "chunk-crlf":
                take = min(self._remaining, len(view))
                self._remaining -= take
                view = view[take:]
                if self._remaining == 0:
                    self._state = "chunk-size"
            else:  # head, chunk-size, trailer: line-oriented, small
                view = self._feed_lines(view)

    def _feed_lines(self, view: memoryview) -> memoryview:
        marker = b"\r\n\r\n" if self._state in ("head", "trailer") else b"\r\n"
        start = max(0, len(self._buffer) - len(marker) + 1)
        self._buffer += view
        index = self._buffer.find(marker, start)
        if index < 0:
            if len(self._buffer) > _MAX_HEAD:
                self.broken = True  # not HTTP we understand: keep relaying, stop counting
            return memoryview(b"")
        line = bytes(self._buffer[:index])
        rest = memoryview(bytes(self._buffer[index + len(marker) :]))
        self._buffer.clear()
        if self._state == "head":
            self._start(line)
        elif self._state == "chunk-size":
            self._chunk_size(line)
        else:  # trailer (or the empty line after the last chunk) ends the request
            self._end()
        return rest

    def _start(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) < 2:
            self.broken = True
            return
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        request = Request(parts[0].upper(), parts[1], started=time.perf_counter())
        with self._lock:
            self._stats.requests.append(request)
        self._current = request
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = "chunk-size"
            return
        try:
            length = int(headers.get("content-length", "0") or 0)
        except ValueError:
            self.broken = True
            return
        if length > 0:
            self._state, self._remaining = "body", length
        else:
            self._end()

    def _chunk_size(self, line: bytes) -> None:
        try:
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            self.broken = True
            return
        if size == 0:
            # The last chunk: optional trailers end with an empty line. The "\r\n" already consumed
            # ends the size line; if the next two bytes are "\r\n" there are no trailers.
            self._state = "trailer"
            self._buffer += b"\r\n"
        else:
            self._state, self._remaining = "chunk-data", size

    def _add_body(self, count: int) -> None:
        if self._current is not None:
            self._current.body_bytes += count

    def _end(self) -> None:
        if self._current is not None:
            self._current.complete = True
            self._current.body_done = time.perf_counter()
            with self._lock:
                if self._current.answered is None:
                    self._waiting.append(self._current)
        self._current = None
        self._state = "head"


class CountingProxy:
    """Listen on a free loopback port and relay every connection to ``127.0.0.1:upstream_port``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._listener = socket.create_server((HOST, 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept, name="bench-proxy-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def __enter__(self) -> CountingProxy:
        self._acceptor.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.stats.connections += 1
                self._sockets.add(client)
            # Connect upstream in the connection's own thread: a slow connect (pypiserver's listen
            # backlog is 5; a dropped SYN is retried after 1 s) must stall that connection only, as
            # it would without the relay, not every connection accepted after it.
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((HOST, self.upstream_port))
        except OSError:
            client.close()
            return
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sockets.add(upstream)
        parser = _RequestParser(self.stats, self._lock)
        pair = _Pair(client, upstream)
        answers = threading.Thread(target=self._server_to_client, args=(pair, parser), daemon=True)
        answers.start()
        self._threads.append(answers)
        self._client_to_server(pair, parser)

    def _client_to_server(self, pair: _Pair, parser: _RequestParser) -> None:
        while True:
            try:
                data = pair.client.recv(_BUFFER)
            except OSError:
                data = b""
            if not data:
                pair.half_close(pair.upstream)
                return
            with self._lock:
                self.stats.bytes_to_server += len(data)
            parser.feed(data)
            try:
                pair.upstream.sendall(data)
            except OSError:
                pair.close()
                return

    def _server_to_client(self, pair: _Pair, parser: _RequestParser) -> None:
        while True:
            try:
                data = pair.upstream.recv(_BUFFER)
            except OSError:
                data = b""
            if not data:
                pair.half_close(pair.client)
                return
            if data.startswith(b"HTTP/"):  # a status line: the start of an answer (close enough)
                parser.answer_seen()
            with self._lock:
                self.stats.bytes_to_client += len(data)
            try:
                pair.client.sendall(data)
            except OSError:
                pair.close()
                return

    def close(self) -> None:
        """Stop listening, cut every relayed connection and wait for the relay threads."""
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._acceptor.is_alive():
            self._acceptor.join(5)
        for thread in self._threads:
            thread.join(5)


class _Pair:
    """Both ends of one relayed connection; closed for good once both directions are done."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.client = client
        self.upstream = upstream
        self._done = 0
        self._lock = threading.Lock()

    def half_close(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        with self._lock:
            self._done += 1
            finished = self._done == 2
        if finished:
            self.close()

    def close(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
