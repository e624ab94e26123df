"""The core's events on a host whose terminal UI is rich (hatch, PDM): a bar per upload, a line per event.

The host gives what is its own: the bars (console, columns, none at all when quiet or not on a terminal),
how a line is printed, what an upload's start says. This module keeps one bar per file in flight, prints
lines above the bars while they are on a terminal (or bars and lines overwrite each other), and serialises
rendering: with ``jobs`` > 1 events arrive from the core's upload threads too.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from publish_plugins.events import Event

__all__ = ["RichUploads"]


class RichUploads(ABC):
    """Render core events with rich upload bars; a subclass is a host's renderer (its ``line``)."""

    keep_finished = False
    """A finished upload's bar stays on screen until the run ends (PDM, as ``pdm publish``), or goes."""

    def __init__(self, ui: Any) -> None:
        self.ui = ui  # the host's terminal UI: hatch's app, PDM's project.core.ui
        self._lock = threading.RLock()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._no_bars = False

    @abstractmethod
    def new_progress(self) -> Progress | None:
        """A rich ``Progress`` for the bars (not started), or None where the host shows none."""

    @abstractmethod
    def line(self, event: Event) -> None:
        """Show one event, the host's way (``print_above_bars`` first, while bars are on screen)."""

    @abstractmethod
    def upload_started(self, filename: str, size: int, *, bar: bool) -> None:
        """Say that an upload starts, or not; ``bar`` tells whether a bar shows it."""

    def __call__(self, event: Event) -> None:
        from publish_plugins.events import (
            FileUploaded,
            Finished,
            UploadFailedEvent,
            UploadProgress,
            UploadStarted,
        )

        with self._lock:
            if isinstance(event, UploadProgress):
                self._advance(event.filename, event.sent, event.total)
                return
            if isinstance(event, UploadStarted):
                self.upload_started(event.filename, event.size, bar=self._start(event.filename, event.size))
                return
            if isinstance(event, FileUploaded):
                self._advance(event.filename, event.size, event.size)
                self._done(event.filename)
            elif isinstance(event, UploadFailedEvent):
                self._done(event.filename)
            elif isinstance(event, Finished):
                self.close()
            self.line(event)

    def close(self) -> None:
        """Stop the bars (a host's transient bars leave the screen); safe to call more than once."""
        with self._lock:
            progress, self._progress = self._progress, None
            self._tasks.clear()
            if progress is not None:
                progress.stop()

    def print_above_bars(self, renderable: Any) -> bool:
        """Print one line through the bars' console if they are on a terminal; False if they are not
        (no bars, bars turned off, output to a file or pipe): the host prints the line its own way then."""
        progress = self._progress
        if progress is None or progress.disable or not progress.console.is_terminal:
            return False
        # soft_wrap: one event, one line (rich would break a hash at the terminal's width); no highlighting
        # inside file names, versions and hashes.
        progress.console.print(renderable, soft_wrap=True, highlight=False)
        return True

    def _start(self, filename: str, size: int) -> bool:
        if self._progress is None:
            self._progress = None if self._no_bars else self.new_progress()
            if self._progress is None:
                self._no_bars = True
                return False
            self._progress.start()
        task = self._tasks.get(filename)
        if task is None:
            self._tasks[filename] = self._progress.add_task(filename, total=size or None)
        else:  # a retry sends the file again from the first byte
            self._progress.reset(task, total=size or None)
        self._progress.refresh()
        return True

    def _advance(self, filename: str, sent: int, total: int) -> None:
        task = self._tasks.get(filename)
        if self._progress is not None and task is not None:
            self._progress.update(task, completed=sent, total=total or None)

    def _done(self, filename: str) -> None:
        if self.keep_finished:
            return
        task = self._tasks.pop(filename, None)
        if self._progress is not None and task is not None:
            self._progress.refresh()
            self._progress.remove_task(task)
