"""Reads from an index with a bound on time and size: a whole request within a deadline, a body within a cap.

httpx's timeouts bound each socket operation, so a server that trickles one byte every few seconds, or
sends headers forever, is never "timed out". Here every socket operation of a request made under
:func:`deadline` gets at most the time left until the deadline (through a wrapper around httpcore's
network backend), and bodies are decompressed here, a bounded piece at a time, so that a gzip bomb is
refused after ``max_bytes`` of output instead of filling the memory.
"""

from __future__ import annotations

import contextlib
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore

from ._httpx import httpx

__all__ = [
    "MAX_PAGE_BYTES",
    "Answer",
    "BadAnswer",
    "BadEncoding",
    "BodyTooLarge",
    "deadline",
    "install_deadlines",
    "read_answer",
]

# A simple page larger than this, decompressed, is refused (PyPI's largest project pages are a few MB).
MAX_PAGE_BYTES = 64 * 1024 * 1024
_PIECE = 64 * 1024  # decompressed output per step: the most memory one step of a bomb can take

_local = threading.local()


class BodyTooLarge(Exception):
    """The body (decompressed) is larger than the cap the caller set."""


class BadAnswer(Exception):
    """An answer that cannot be read as HTTP says it should be: a broken encoding, an invalid Location."""


class BadEncoding(BadAnswer):
    """The body's Content-Encoding is unknown, or the compressed data is broken or cut short."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Requests made by this thread inside the block must finish within ``seconds`` in all."""
    previous = getattr(_local, "at", None)
    _local.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.at = previous


@contextlib.contextmanager
def _deadline_after_body() -> Iterator[None]:
    """No deadline while the body is sent (see :func:`_then_start_the_clock`); the old one restored after."""
    previous = getattr(_local, "at", None)
    _local.at = None
    try:
        yield
    finally:
        _local.at = previous


def _then_start_the_clock(content: Iterable[bytes], seconds: float) -> Iterator[bytes]:
    # httpx pulls the body in the thread that sends the request, the same that then reads the answer.
    yield from content
    _local.at = time.monotonic() + seconds


def _clamp(timeout: float | None, error: type[Exception]) -> float | None:
    at: float | None = getattr(_local, "at", None)
    if at is None:
        return timeout
    remaining = at - time.monotonic()
    if remaining <= 0:
        raise error("the request did not finish within its time limit")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
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
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _clamp(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def install_deadlines(transport: object) -> None:
    """Make the connections of an httpx transport honour :func:`deadline`.

    httpx has no public hook for the network backend of the transports it builds, so the backend of the
    transport's httpcore pool is wrapped in place (httpx 0.27 to 0.29). Where it is not found, bodies are
    still checked against the deadline between reads, in :func:`read_answer`.
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend) and not isinstance(backend, _DeadlineBackend):
        pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]


@dataclass(frozen=True)
class Answer:
    """A response read within the bounds: status, headers and the (decoded) body or its first part."""

    url: str
    status: int
    reason: str
    headers: httpx.Headers
    body: bytes
    complete: bool  # False when the body was cut at ``max_bytes`` on purpose (``partial=True``)

    @property
    def is_redirect(self) -> bool:
        return self.status in (301, 302, 303, 307, 308) and "Location" in self.headers

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", "")).split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in str(self.headers.get("Content-Type", "")).split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip('"')
        return None


def read_answer(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    auth: httpx.Auth | None,
    timeout: float,
    max_bytes: int = MAX_PAGE_BYTES,
    partial: bool = False,
    sink: Callable[[bytes], None] | None = None,
    content: Iterable[bytes] | None = None,
    decode: bool = True,
) -> Answer:
    """One request, all of it (connect, headers, body) within ``timeout`` seconds; redirects not followed.

    With ``content`` (an upload's body) the clock starts once the body is sent: a large file takes as long
    as the network needs (each write still has its own timeout), the server's answer does not.

    The body is decompressed here (gzip, deflate) and kept up to ``max_bytes``: past that, ``partial``
    returns what was read (to look at the start of a large page), otherwise :class:`BodyTooLarge` is raised.
    With ``sink`` the body is passed on piece by piece instead of kept (a download to hash). With
    ``decode=False`` the body is asked for and taken as it is stored (``Accept-Encoding: identity``).
    Raises httpx's errors (a missed deadline is a timeout), :class:`BodyTooLarge` and :class:`BadAnswer`.
    """
    try:
        return _read_answer(
            client,
            method,
            url,
            headers=headers,
            auth=auth,
            timeout=timeout,
            max_bytes=max_bytes,
            partial=partial,
            sink=sink,
            content=content,
            decode=decode,
        )
    except httpx.InvalidURL as exc:
        # httpx parses a redirect's Location even when it does not follow it.
        raise BadAnswer(f"an invalid URL in the answer ({exc})") from None


def _read_answer(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    auth: httpx.Auth | None,
    timeout: float,
    max_bytes: int,
    partial: bool,
    sink: Callable[[bytes], None] | None,
    content: Iterable[bytes] | None,
    decode: bool,
) -> Answer:
    with (
        deadline(timeout) if content is None else _deadline_after_body(),
        client.stream(
            method,
            url,
            content=None if content is None else _then_start_the_clock(content, timeout),
            headers={**headers, "Accept-Encoding": "gzip, deflate" if decode else "identity"},
            auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            follow_redirects=False,
            timeout=httpx.Timeout(timeout),
        ) as response,
    ):
        body = bytearray()
        complete = True
        if method != "HEAD":
            decoder = _Decoder(response.headers.get("Content-Encoding", "") if decode else "")
            received = decoded = 0
            for raw in response.iter_raw():
                received += len(raw)
                for piece in decoder.feed(raw):
                    decoded += len(piece)
                    if decoded > max_bytes:
                        if not partial:
                            raise BodyTooLarge(f"more than {max_bytes} bytes")
                        body += piece[: max_bytes - len(body)]
                        complete = False
                        break
                    if sink is not None:
                        sink(piece)
                    else:
                        body += piece
                if not complete:
                    break
                # The raw size is bounded too: a compressed body that decodes to little still costs reading.
                if received > max_bytes:
                    if not partial:
                        raise BodyTooLarge(f"more than {max_bytes} bytes")
                    complete = False
                    break
                at = getattr(_local, "at", None)
                if at is not None and time.monotonic() > at:  # where the transport cannot enforce it
                    raise httpx.ReadTimeout("the request did not finish within its time limit")
            if complete and received:
                decoder.finish()
        return Answer(
            str(response.url),
            response.status_code,
            response.reason_phrase,
            response.headers,
            bytes(body),
            complete,
        )


class _Decoder:
    """Content-Encoding decoding with bounded output per step (a gzip bomb inflates a piece at a time)."""

    def __init__(self, encoding: str) -> None:
        codings = [part.strip().lower() for part in encoding.split(",") if part.strip()]
        codings = [coding for coding in codings if coding != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise BadEncoding(f"unsupported Content-Encoding {encoding[:60]!r}")
        self._coding = codings[0] if codings else None
        self._zlib: Any = None
        if self._coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._coding == "deflate":
            self._zlib = zlib.decompressobj()
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._zlib is None:
            yield data
            return
        try:
            if self._coding == "deflate" and not self._started:
                self._started = True
                yield from self._deflate_start(data)
                return
            yield from self._inflate(data)
        except zlib.error as exc:
            raise BadEncoding(f"broken {self._coding} data ({exc})") from None

    def _deflate_start(self, data: bytes) -> Iterator[bytes]:
        # "deflate" is zlib-wrapped by the standard and raw in some servers' hands (as httpx handles it).
        try:
            first = self._zlib.decompress(data, _PIECE)
        except zlib.error:
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            first = self._zlib.decompress(data, _PIECE)
        yield first
        yield from self._drain()

    def _inflate(self, data: bytes) -> Iterator[bytes]:
        while data:
            yield self._zlib.decompress(data, _PIECE)
            yield from self._drain()
            data = b""
            if self._zlib.eof and self._zlib.unused_data:
                # Another gzip member follows (concatenated members are valid gzip).
                data = self._zlib.unused_data
                self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _drain(self) -> Iterator[bytes]:
        while self._zlib.unconsumed_tail:
            yield self._zlib.decompress(self._zlib.unconsumed_tail, _PIECE)

    def finish(self) -> None:
        if self._zlib is not None and not self._zlib.eof:
            raise BadEncoding(f"the {self._coding} data ends early: the answer was cut short")
