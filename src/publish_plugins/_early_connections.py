"""Connections to the index opened at the start of a run, while the HTTP stack is still being imported.

A re-run spends its first 0.2-0.3 s importing httpx and packaging and reading the archives; only then does
it connect to the index, which costs one round trip (two with TLS) before the first request can go out.
Opening the connections in the background from the start hides those round trips (at 40 ms + TLS: 80 ms of
a 0.4 s run). The run's HTTP client takes them on its first connections to that origin
(:func:`install`); a connection that is not ready, failed or went stale is simply not used, and the client
connects as it would have anyway, so any error it reports is its own.

Nothing is sent on these connections before the run's first request: no byte of a request leaves before
the files are read and checked. The TLS handshake uses the very context the client then uses (the same
trust store, client certificate and verification), so a handshake that succeeded here is one the client
would have made. Standard library only until :func:`install`, which the HTTP stack calls.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

__all__ = ["EarlyConnections", "install"]

# A connection older than this is not used: a server may close an idle connection at any time after.
_MAX_AGE = 10.0


class EarlyConnections:
    """Up to ``count`` connections to the origin of ``url`` (TLS for https), opened in daemon threads.

    ``tls_context`` builds the context the client will use; it is built once, here, in the background,
    and handed to the client (:meth:`tls_context`), since loading a trust store takes as long as a round
    trip. When building it fails, the client builds its own and reports the error.
    """

    def __init__(
        self, url: str, count: int, *, tls_context: Callable[[], ssl.SSLContext], timeout: float
    ) -> None:
        # ``timeout``: for each connection, as the client's connect timeout.
        parts = urlsplit(url)
        self.scheme = parts.scheme
        self.host = (parts.hostname or "").lower()
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self._make_context = tls_context
        self._timeout = timeout
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._context_ready = threading.Event()
        self._ready: list[tuple[float, socket.socket]] = []
        self._pending = 0
        self._changed = threading.Condition(self._lock)
        self._closed = False
        if self.scheme not in ("http", "https") or not self.host.isascii() or count < 1:
            self._context_ready.set()
            return
        if self.scheme == "http":
            self._context_ready.set()
        self._pending = count
        threading.Thread(
            target=self._open, args=(count,), name="publish-plugins-connect", daemon=True
        ).start()

    def tls_context(self) -> ssl.SSLContext | None:
        """The context built in the background (waiting for it if it is being built), or None."""
        self._context_ready.wait(self._timeout)
        return self._context

    def take(self, host: str, port: int, timeout: float | None) -> socket.socket | None:
        """A ready connection to ``host:port``, waiting up to ``timeout`` for one still being opened; None
        when there is none (another origin, all taken, failed, closed by the server or too old).

        Raise TimeoutError when one is still being opened after ``timeout``: a fresh attempt would only
        wait as long again.
        """
        if (host.lower(), port) != (self.host, self.port):
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                while self._ready:
                    opened, sock = self._ready.pop(0)
                    if time.monotonic() - opened < _MAX_AGE and _still_open(sock):
                        return sock
                    sock.close()  # the server closed it (or will soon): a fresh one is better
                if self._pending == 0 or self._closed:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError("connecting took too long")
                self._changed.wait(remaining)

    def close(self) -> None:
        """Close the connections nobody took; connections still being opened are closed when they are."""
        with self._changed:
            self._closed = True
            ready, self._ready = self._ready, []
            self._changed.notify_all()
        for _opened, sock in ready:
            sock.close()

    def _open(self, count: int) -> None:
        context: ssl.SSLContext | None = None
        if self.scheme == "https":
            try:
                context = self._make_context()
                context.set_alpn_protocols(["http/1.1"])  # what httpcore offers for HTTP/1.1
            except Exception:  # the client builds it again and reports the problem
                context = None
            with self._lock:
                self._context = context
            self._context_ready.set()
            if context is None:
                self._done([None] * count)
                return
        if count == 1:
            self._done([self._connect(context)])
            return
        # The others in threads of their own: the round trips overlap.
        others = [
            threading.Thread(target=lambda: self._done([self._connect(context)]), daemon=True)
            for _ in range(count - 1)
        ]
        for thread in others:
            thread.start()
        self._done([self._connect(context)])

    def _connect(self, context: ssl.SSLContext | None) -> socket.socket | None:
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self._timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as httpcore sets it
            if context is not None:
                sock = context.wrap_socket(sock, server_hostname=self.host)
            return sock
        except (OSError, ValueError):
            if sock is not None:
                sock.close()
            return None

    def _done(self, socks: Iterable[socket.socket | None]) -> None:
        with self._changed:
            for sock in socks:
                self._pending -= 1
                if sock is None:
                    continue
                if self._closed:
                    sock.close()
                else:
                    self._ready.append((time.monotonic(), sock))
            self._changed.notify_all()


def _still_open(sock: socket.socket) -> bool:
    """Whether an idle connection is still open and silent, without blocking.

    With TLS 1.3 the server sends session tickets after the handshake, so the socket is readable although
    the connection is fine: reading through TLS consumes them and finds no data.
    """
    try:
        sock.setblocking(False)
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.recv(1)  # through TLS: consumes the session tickets
            else:
                sock.recv(1, socket.MSG_PEEK)
        finally:
            sock.settimeout(None)
    except (ssl.SSLWantReadError, BlockingIOError):
        return True  # nothing to read: open and silent
    except OSError:
        return False
    # Read something: closed (b"") or, unasked, the server spoke; no connection to send a request on.
    return False


def install(transport: object, early: EarlyConnections, context: ssl.SSLContext | None) -> None:
    """Let an httpx transport start with ``early``'s connections (``context``: the transport's TLS context,
    which the early handshakes must have used; None for a plain-HTTP transport).

    httpx has no public hook for its pool's network backend: as for the deadlines (``_bounded``), the
    backend is wrapped in place, and where it is not found, the transport connects as usual.
    """
    import httpcore

    try:
        from httpcore._backends.sync import SyncStream
    except ImportError:  # another httpcore layout: no early connections, nothing else changes
        return
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if not isinstance(backend, httpcore.NetworkBackend):
        return
    if (early.scheme == "https") != (context is not None):
        return
    # The early handshakes used the transport's own context, or their connections are not used.
    if context is not None and not (early.tls_context() is context is getattr(pool, "_ssl_context", None)):
        return

    class ReadyStream(SyncStream):
        """An early connection; its TLS handshake, if any, is done already with the transport's context."""

        def start_tls(
            self,
            ssl_context: ssl.SSLContext,
            server_hostname: str | None = None,
            timeout: float | None = None,
        ) -> Any:
            sock = self.get_extra_info("socket")
            if isinstance(sock, ssl.SSLSocket):
                if ssl_context is context and server_hostname in (None, early.host):
                    return self
                self.close()  # not the handshake this connection needs: never send on it
                raise httpcore.ConnectError("an early connection does not fit this request")
            return super().start_tls(ssl_context, server_hostname, timeout)

    class EarlyBackend(httpcore.NetworkBackend):
        def __init__(self, backend: httpcore.NetworkBackend) -> None:
            self._backend = backend

        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[Any] | None = None,
        ) -> httpcore.NetworkStream:
            try:
                sock = None if local_address or socket_options else early.take(host, port, timeout)
            except TimeoutError:
                raise httpcore.ConnectTimeout("timed out") from None
            if sock is not None:
                return ReadyStream(sock)
            return self._backend.connect_tcp(host, port, timeout, local_address, socket_options)

        def connect_unix_socket(
            self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
        ) -> httpcore.NetworkStream:
            return self._backend.connect_unix_socket(path, timeout, socket_options)

        def sleep(self, seconds: float) -> None:
            self._backend.sleep(seconds)

    pool._network_backend = EarlyBackend(backend)  # type: ignore[union-attr]
