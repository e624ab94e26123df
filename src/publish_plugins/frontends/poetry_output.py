"""The core's events on cleo's ``io``, in poetry's style: styled lines and poetry's upload bar."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from cleo.formatters.formatter import Formatter
from cleo.io.outputs.output import Verbosity

if TYPE_CHECKING:
    from cleo.io.io import IO
    from cleo.ui.progress_bar import ProgressBar

    from publish_plugins.events import Event

__all__ = ["EventRenderer", "escape"]

_STYLES = {"debug": "debug", "info": None, "success": "success", "warning": "warning", "error": "error"}


def escape(text: str) -> str:
    """Text from files, servers or the user must not be read as cleo markup (``<html>`` in a message)."""
    return Formatter.escape(text)


class EventRenderer:
    """Render core events with cleo: one line per event, styled by level; poetry's bar for uploads.

    info/success/debug go to stdout (debug only with -v), warnings and errors to stderr, the upload bar
    to stderr like poetry's own. The index check may emit from worker threads, hence the lock.
    """

    def __init__(self, io: IO) -> None:
        from publish_plugins.events import FileUploaded, UploadFailedEvent, UploadProgress, UploadStarted

        self._io = io
        self._failed = UploadFailedEvent
        self._started = UploadStarted
        self._progress = UploadProgress
        self._uploaded = FileUploaded
        self._bar: ProgressBar | None = None
        self._bar_file = ""
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, self._progress):
                if self._bar is not None and event.filename == self._bar_file:
                    self._bar.set_progress(min(event.sent, event.total))
                return
            if isinstance(event, self._started):
                self._close_bar(None)
                self._open_bar(event.filename, event.size)
                return
            if isinstance(event, self._uploaded) and self._bar is not None:
                # The finished bar says it: " - Uploading <file> 100%" in green, as poetry shows it; the
                # attestations sent with the file get their line ("<file>: uploaded with 1 attestation").
                self._close_bar("<fg=green>%percent%%</>")
                if event.attestations:
                    self._line(event.message, event.level)
                return
            # Any other event ends an open bar: the upload did not succeed (yet); say so on a failure.
            failed = (
                isinstance(event, self._failed)
                or event.level == "error"
                or getattr(event, "exit_code", 0) != 0  # Finished after a failure
            )
            self._close_bar("<error>FAILED</>" if failed else None)
            self._line(event.message, event.level)

    def close(self) -> None:
        """Close an open upload bar; safe to call more than once."""
        with self._lock:
            self._close_bar(None)

    def _open_bar(self, filename: str, size: int) -> None:
        from cleo.ui.progress_bar import ProgressBar

        if self._io.error_output.is_quiet():
            return
        bar = ProgressBar(self._io, max=max(size, 1))
        bar.set_format(f" - Uploading <c1>{escape(filename)}</c1> <b>%percent%%</b>")
        bar.start()
        self._bar, self._bar_file = bar, filename

    def _close_bar(self, status: str | None) -> None:
        bar, self._bar = self._bar, None
        if bar is None:
            return
        if status is not None:
            bar.set_format(f" - Uploading <c1>{escape(self._bar_file)}</c1> {status}")
        if status is not None and "%percent%" in status:
            bar.finish()
        else:
            bar.display()
        self._io.write_error_line("")

    def _line(self, message: str, level: str) -> None:
        style = _STYLES.get(level)
        text = f"<{style}>{escape(message)}</>" if style else escape(message)
        if level in ("warning", "error"):
            self._io.write_error_line(text)
        elif level == "debug":
            self._io.write_line(text, verbosity=Verbosity.VERBOSE)
        else:
            self._io.write_line(text)
