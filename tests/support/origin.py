"""Another origin: an HTTP listener on another port of 127.0.0.1 that records every request.

Used as "another host" that must never see credentials, or as an upload URL that must never hear from
a run stopped by a bad setting.
"""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


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
