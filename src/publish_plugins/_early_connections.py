"""Connections to the index opened at the start of a run, while the HTTP stack is still being imported.

A re-run spends its first 0.2-0.3 s importing httpx and packaging and reading the archives; only then does
it connect to the index, which costs one round trip (two with TLS) before the first request can go out.
Opening the connections in the background from the start hides those round trips (at 40 ms + TLS: 80 ms of
a 0.4 s run). The run's HTTP client takes them on its first connections to that origin
(:func:`install`), waiting for one still being opened within its own connect timeout; one that failed or
went stale is dropped and the client connects as it would have anyway, so any error it reports is its
own. None is opened to an origin behind a proxy.

Nothing is sent on these connections before the run's first request: no byte of a request leaves before
the files are read and checked. The TLS handshake uses the very context the client then uses (the same
trust store, client certificate and verification), so a handshake that succeeded here is one the client
would have made. Standard library only until :func:`install`, which the HTTP stack calls.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .options import Repository

__all__ = ["EarlyConnections", "early_target", "install", "open_for_run"]

# A connection older than this is not used: a server may close an idle connection at any time after.
_MAX_AGE = 10.0


def open_for_run(repository: Repository, files: Sequence[Path]) -> EarlyConnections | None:
    """Connections to the origin the check reads first (see :func:`early_target`), opened in the
    background; none to an origin behind a proxy (the client goes through it) or with nothing to publish."""
    target = early_target(repository, files)
    if target is None:
        return None
    from ._proxies import environment_proxies, proxy_for

    url, count = target
    if proxy_for(url, environment_proxies()) is not None:
        return None
    from ._tls_context import tls_context

    return EarlyConnections(
        url,
        count,
        tls_context=lambda: tls_context(repository, ask=False),
        timeout=min(repository.timeout, 30.0),
    )


def early_target(repository: Repository, files: Sequence[Path]) -> tuple[str, int] | None:
    """Where the index check reads first, and how many pages it reads there at once: each project's (told
    apart by file name: the archives are not read yet) and the root's, unless the root is known."""
    from ._urls import KNOWN_SIMPLE_ROOTS, first_read_url

    if not files:
        return None
    url = first_read_url(repository.check_url, repository.upload_url)
    names = (
        path.name.split("-", 1)[0] if path.name.endswith(".whl") else path.name.rsplit("-", 1)[0]
        for path in files
    )
    projects = {re.sub(r"[-_.]+", "-", name).lower() for name in names}
    return url, min(len(projects) + (url not in KNOWN_SIMPLE_ROOTS), _MAX_EARLY_CONNECTIONS)


# As many as the index check reads pages at once (_index_check._MAX_CHECK_WORKERS, which loads httpx).
_MAX_EARLY_CONNECTIONS = 8


class EarlyConnections:
    """Up to ``count`` connections to the origin of ``url`` (TLS for https), opened in daemon threads.

    ``tls_context`` builds the context the client will use; it is built once, here, in the background,
    and handed to the client (:meth:`tls_context`), since loading a trust store takes as long as a round
    trip. It must never ask for anything (a client key's passphrase): when building it fails, the client
    builds its own, asks, and reports any error. ``timeout`` bounds each connection, as the client's
    connect timeout does.
    """

    def __init__(
        self, url: str, count: int, *, tls_context: Callable[[], ssl.SSLContext], timeout: float
    ) -> None:
        self.scheme, self.host, self.port = _origin(url)
        self._make_context = tls_context
        self._timeout = timeout
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._context: ssl.SSLContext | None = None
        self._context_ready = threading.Event()
        self._ready: list[tuple[float, socket.socket]] = []
        self._pending = 0
        self._timed_out = False  # an attempt ran out of time: a fresh one would wait as long again
        self._closed = False
        if not self.host or count < 1:
            self._context_ready.set()
            return
        if self.scheme == "http":
            self._context_ready.set()
        self._pending = count
        self._start(lambda: self._open(count), count)

    def tls_context(self) -> ssl.SSLContext | None:
        """The context built in the background (waiting for it if it is being built), or None."""
        self._context_ready.wait(self._timeout)
        return self._context

    def take(self, host: str, port: int, timeout: float | None) -> socket.socket | None:
        """A ready connection to ``host:port``, waiting up to ``timeout`` for one still being opened; None
        when there is none (another origin, all taken, refused, closed by the server or too old).

        Raise TimeoutError when one is still being opened after ``timeout``, or when an attempt ran out of
        time: a fresh attempt would only wait as long again.
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
                if self._closed:
                    return None
                if self._pending == 0:
                    if self._timed_out:
                        raise TimeoutError("connecting timed out")
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

    def _start(self, target: Callable[[], None], attempts: int) -> None:
        """``target`` in a daemon thread; a thread that cannot start counts as ``attempts`` failures."""
        try:
            threading.Thread(target=target, name="publish-plugins-connect", daemon=True).start()
        except RuntimeError:  # no more threads: the client connects itself
            self._done([None] * attempts)

    def _open(self, count: int) -> None:
        try:
            context = self._context_for_https() if self.scheme == "https" else None
        finally:
            self._context_ready.set()
        if self.scheme == "https" and context is None:
            self._done([None] * count)
            return
        # The others in threads of their own: the round trips overlap.
        for _ in range(count - 1):
            self._start(lambda: self._attempt(context), 1)
        self._attempt(context)

    def _context_for_https(self) -> ssl.SSLContext | None:
        try:
            context = self._make_context()
            context.set_alpn_protocols(["http/1.1"])  # what httpcore offers for HTTP/1.1
        except Exception:  # the client builds it again and reports the problem
            return None
        with self._lock:
            self._context = context
        return context

    def _attempt(self, context: ssl.SSLContext | None) -> None:
        sock: socket.socket | None = None
        try:
            sock = self._connect(context)
        finally:  # whatever happens, the attempt is over: nobody waits for it any more
            self._done([sock])

    def _connect(self, context: ssl.SSLContext | None) -> socket.socket | None:
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self._timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as httpcore sets it
            if context is not None:
                sock = context.wrap_socket(sock, server_hostname=self.host)
            return sock
        except TimeoutError:
            with self._lock:
                self._timed_out = True
        except Exception:  # noqa: S110 - whatever it was, the client connects itself and reports it
            pass
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


def _origin(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of ``url``; an empty host when early connections are not made for it: a
    scheme other than http(s), or a host the standard library and httpx might read differently (only
    DNS names of ASCII letters, digits and hyphens, canonical IPv4 and IPv6 addresses are taken)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "", "", 0
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not _plain_host(host):
        return scheme, "", 0
    return scheme, host, port or (443 if scheme == "https" else 80)


def _plain_host(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        labels = host.split(".")
        return (
            all(_LABEL.fullmatch(label) for label in labels)
            and not labels[-1].isdigit()  # "010.010.010.010", "2130706433": numbers, not names
        )
    return address.version == 6 or str(address) == host


_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


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

        def __init__(self, sock: socket.socket, reconnect: Callable[[], httpcore.NetworkStream]) -> None:
            super().__init__(sock)
            self._reconnect = reconnect

        def start_tls(
            self,
            ssl_context: ssl.SSLContext,
            server_hostname: str | None = None,
            timeout: float | None = None,
        ) -> Any:
            sock = self.get_extra_info("socket")
            if not isinstance(sock, ssl.SSLSocket):
                return super().start_tls(ssl_context, server_hostname, timeout)
            if ssl_context is context and (server_hostname or early.host).lower() == early.host:
                return self
            # Not the handshake this request needs: never send on it; connect as the client would have.
            self.close()
            return self._reconnect().start_tls(ssl_context, server_hostname, timeout)

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
            def connect(seconds: float | None) -> httpcore.NetworkStream:
                return self._backend.connect_tcp(host, port, seconds, local_address, socket_options)

            if local_address or socket_options:
                return connect(timeout)
            started = time.monotonic()
            try:
                sock = early.take(host, port, timeout)
            except TimeoutError:
                raise httpcore.ConnectTimeout("timed out") from None
            # What the wait left of the connect timeout: the client's limit holds for both together.
            left = None if timeout is None else timeout - (time.monotonic() - started)
            if sock is not None:
                return ReadyStream(sock, lambda: connect(left))
            if left is not None and left <= 0:
                raise httpcore.ConnectTimeout("timed out")
            return connect(left)

        def connect_unix_socket(
            self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
        ) -> httpcore.NetworkStream:
            return self._backend.connect_unix_socket(path, timeout, socket_options)

        def sleep(self, seconds: float) -> None:
            self._backend.sleep(seconds)

    pool._network_backend = EarlyBackend(backend)  # type: ignore[union-attr]
