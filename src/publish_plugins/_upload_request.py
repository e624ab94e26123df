"""One upload through the legacy API: a multipart body streamed from disk, hashed as it is sent."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING

from ._distribution import UPLOAD_DIGESTS, Distribution
from ._hashing import CHUNK_SIZE, Hasher, new_hasher
from ._httpx import httpx
from ._text import clean_server_text

if TYPE_CHECKING:
    from ._cancel import Cancellation

__all__ = ["FileChangedError", "UploadBody", "send_upload", "server_message"]


class FileChangedError(Exception):
    """The file's bytes changed after they were hashed: what would be sent is not what was checked."""


class UploadBody:
    """A ``multipart/form-data`` body with a known length, read from disk in chunks.

    The fields come first, then the file's digests (``digests``, the form's ``<algorithm>_digest``
    fields) when they are known already (a re-run, a small or already hashed file: the order twine and uv
    send), then the file. Otherwise the digests follow the file, so that the first byte need not wait for
    a whole pass over a large file: while the file streams, the run's background hashing finishes (a 512
    MiB wheel on loopback: 0.35 s less). Their length is fixed (hex), so the body's length is known before
    they are. Indexes parse the whole form before they look at it (Warehouse reads ``request.POST``;
    pypiserver and devpi are tested).

    The file part is hashed while it streams; if that differs from the file's digest taken for the run (the
    one the form then carries), the generator raises before the last byte of the file, so the server never
    receives a complete, mislabelled file. Once ``cancellation`` is set (Ctrl-C, SIGTERM) it raises before
    the next chunk: the body is cut off and the server never receives a complete file.
    """

    def __init__(
        self,
        dist: Distribution,
        fields: Sequence[tuple[str, str]],
        *,
        digests: Sequence[str] = UPLOAD_DIGESTS,
        on_progress: Callable[[int], None] | None = None,
        cancellation: Cancellation | None = None,
    ) -> None:
        self.dist = dist
        self._cancellation = cancellation
        self.boundary = f"publish-plugins-{secrets.token_hex(16)}"
        self._on_progress = on_progress
        self._digests = tuple(digests)
        known = dist.known_digests(self._digests)
        self.digests_first = len(known) == len(self._digests)
        leading = [(f"{name}_digest", known[name]) for name in self._digests] if self.digests_first else []
        self._head = (
            b"".join(self._field(name, value) for name, value in [*fields, *leading]) + self._file_header()
        )
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        # The same length as the digests' fields will have: hex digests have a fixed length.
        self._trailer_length = (
            0
            if self.digests_first
            else len(self._trailer({name: "0" * _hex_length(name) for name in self._digests}))
        )

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def length(self) -> int:
        return len(self._head) + self.dist.size + self._trailer_length + len(self._tail)

    def _field(self, name: str, value: str) -> bytes:
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )

    def _file_header(self) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="content"; filename="{_quote(self.dist.filename)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

    def _trailer(self, digests: dict[str, str]) -> bytes:
        # Each part ends with the CRLF before the next boundary: the file's with the first field's, the last
        # field's with the tail's.
        return b"".join(b"\r\n" + self._field(f"{name}_digest", digests[name])[:-2] for name in self._digests)

    def __iter__(self) -> Iterator[bytes]:
        self._check_cancelled()
        yield self._head
        hashers = {name: new_hasher(name) for name in self._digests}
        remaining = self.dist.size
        sent = 0
        digests: dict[str, str] = {}
        with self.dist.path.open("rb") as stream:
            while remaining > 0:
                chunk = stream.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    raise FileChangedError(f"{self.dist.filename} became shorter while it was being uploaded")
                for hasher in hashers.values():
                    hasher.update(chunk)
                remaining -= len(chunk)
                if remaining == 0:
                    # Check before the last bytes leave, so a changed file is never complete on the server.
                    if stream.read(1):
                        raise FileChangedError(f"{self.dist.filename} grew while it was being uploaded")
                    digests = self._checked_digests(hashers)
                self._check_cancelled()
                yield chunk
                sent += len(chunk)
                if self._on_progress is not None:
                    self._on_progress(sent)
        if not digests:  # an empty file
            digests = self._checked_digests(hashers)
        self._check_cancelled()
        # Hex digests of the file's own hashing: as long as the Content-Length promised (h11 refuses a body
        # that is not).
        yield (b"" if self.digests_first else self._trailer(digests)) + self._tail

    def _checked_digests(self, hashers: dict[str, Hasher]) -> dict[str, str]:
        """The file's digests as the run took them (waiting for the background hashing, if it is still at
        work), checked against the bytes just streamed."""
        digests = self.dist.digests(self._digests)
        for name, hasher in hashers.items():
            if hasher.hexdigest() != digests[name]:
                raise FileChangedError(f"{self.dist.filename} changed while it was being uploaded")
        return digests

    def _check_cancelled(self) -> None:
        if self._cancellation is not None:
            self._cancellation.check()


def _hex_length(algorithm: str) -> int:
    return len(new_hasher(algorithm).hexdigest())


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def send_upload(
    client: httpx.Client,
    url: str,
    body: UploadBody,
    *,
    auth: httpx.Auth | None,
    timeout: float | None = None,
) -> httpx.Response:
    """POST one body; redirects are never followed (the caller refuses them).

    The server's answer is read within ``timeout`` (default: the client's read timeout) once the body is
    sent, and only its first MiB is kept: all a refusal's message needs, whatever the server sends.
    """
    from ._bounded import BadAnswer, read_answer

    headers = {"Content-Type": body.content_type, "Content-Length": str(body.length)}
    seconds = timeout if timeout is not None else client.timeout.read or DEFAULT_ANSWER_TIMEOUT
    try:
        answer = read_answer(
            client,
            "POST",
            url,
            headers=headers,
            auth=auth,
            timeout=seconds,
            max_bytes=_MAX_ANSWER_BYTES,
            partial=True,
            content=body,
        )
    except BadAnswer as exc:
        raise httpx.DecodingError(clean_server_text(str(exc))) from None
    kept = [(key, value) for key, value in answer.headers.multi_items() if key.lower() not in _DECODED]
    return httpx.Response(
        answer.status,
        headers=kept,
        content=answer.body,
        extensions={"reason_phrase": answer.reason.encode("latin-1", "replace")},
    )


# The body is decoded and cut already: these headers no longer describe it.
_DECODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})
_MAX_ANSWER_BYTES = 1024 * 1024
DEFAULT_ANSWER_TIMEOUT = 60.0


def server_message(response: httpx.Response, *, secrets_to_hide: Sequence[str] = ()) -> str:
    """The server's own reason for a refusal, as one short line.

    devpi and Warehouse put it in the reason phrase; pypiserver in an HTML ``<pre>``; others in JSON or text.
    """
    status = response.status_code
    phrase = response.reason_phrase or ""
    try:
        standard = HTTPStatus(status).phrase
    except ValueError:
        standard = ""
    detail = _squeeze(phrase) if phrase and phrase != standard else _body_message(response)
    text = f"{status} {standard or _squeeze(phrase)}".strip()
    if detail:
        text = f"{text}: {detail}"
    for secret in secrets_to_hide:
        if secret:
            text = text.replace(secret, "*****")
    return text


def _body_message(response: httpx.Response) -> str:
    try:
        body = response.text[:100_000]  # the message is near the start; the regexes need not see more
    except (UnicodeDecodeError, LookupError, httpx.ResponseNotRead):
        return ""
    content_type = response.headers.get("Content-Type", "")
    if "json" in content_type:
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("message", "detail", "error", "title"):
                if isinstance(data.get(key), str):
                    return _squeeze(data[key])
    pre = re.search(r"<pre>(.*?)</pre>", body, re.S | re.I)
    if pre:
        body = pre.group(1)
    else:
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.S | re.I)
        if heading and "<html" in body.lower():
            body = heading.group(1)
    text = _squeeze(html.unescape(re.sub(r"<[^>]+>", " ", body)))
    # pypiserver answers a refused login with the body "<pre>None</pre>": nothing to say.
    return "" if text in ("None", "null") else text


def _squeeze(text: str) -> str:
    # Server text: escape sequences and control characters out, one line, a bounded length.
    return clean_server_text(text)
