"""One upload through the legacy API: a multipart body streamed from disk, hashed as it is sent."""

from __future__ import annotations

import hashlib
import html
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus

from ._httpx import httpx
from .distribution import Distribution
from .hashing import CHUNK_SIZE

__all__ = ["FileChangedError", "UploadBody", "send_upload", "server_message"]


class FileChangedError(Exception):
    """The file's bytes changed after they were hashed: what would be sent is not what was checked."""


class UploadBody:
    """A ``multipart/form-data`` body with a known length, read from disk in chunks.

    The file part is hashed while it streams; if its sha256 differs from the digest sent in the form, the
    generator raises before the last byte, so the server never receives a complete, mislabelled file.
    """

    def __init__(
        self,
        dist: Distribution,
        fields: Sequence[tuple[str, str]],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.dist = dist
        self.boundary = f"publish-plugins-{secrets.token_hex(16)}"
        self._on_progress = on_progress
        self._head = b"".join(self._field(name, value) for name, value in fields) + self._file_header()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.expected_sha256 = dict(fields).get("sha256_digest")

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def length(self) -> int:
        return len(self._head) + self.dist.size + len(self._tail)

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

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        sha256 = hashlib.sha256()
        remaining = self.dist.size
        sent = 0
        with self.dist.path.open("rb") as stream:
            while remaining > 0:
                chunk = stream.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    raise FileChangedError(f"{self.dist.filename} became shorter while it was being uploaded")
                sha256.update(chunk)
                remaining -= len(chunk)
                if remaining == 0:
                    # Check before the last bytes leave, so a changed file is never complete on the server.
                    if stream.read(1):
                        raise FileChangedError(f"{self.dist.filename} grew while it was being uploaded")
                    if self.expected_sha256 and sha256.hexdigest() != self.expected_sha256:
                        raise FileChangedError(f"{self.dist.filename} changed while it was being uploaded")
                yield chunk
                sent += len(chunk)
                if self._on_progress is not None:
                    self._on_progress(sent)
        yield self._tail


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def send_upload(
    client: httpx.Client,
    url: str,
    body: UploadBody,
    *,
    auth: httpx.Auth | None,
) -> httpx.Response:
    """POST one body; redirects are never followed (the caller refuses them)."""
    headers = {"Content-Type": body.content_type, "Content-Length": str(body.length)}
    response = client.post(
        url,
        content=iter(body),
        headers=headers,
        auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
        follow_redirects=False,
    )
    response.read()
    return response


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
    detail = phrase if phrase and phrase != standard else _body_message(response)
    text = f"{status} {standard or phrase}".strip()
    if detail:
        text = f"{text}: {detail}"
    for secret in secrets_to_hide:
        if secret:
            text = text.replace(secret, "*****")
    return text


def _body_message(response: httpx.Response) -> str:
    try:
        body = response.text
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
    line = " ".join(text.split())
    return line if len(line) <= 300 else line[:297] + "..."
