"""The core's events on hatch's ``app``: one line per event by level; a rich progress display for uploads."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._shared import display_path, human_size

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from publish_plugins.events import Event

__all__ = ["EventRenderer"]

_STYLES = {
    "debug": "style_debug",
    "info": "style_info",
    "success": "style_success",
    "warning": "style_warning",
    "error": "style_error",
}


class EventRenderer:
    """Events → hatch's ``app``: one line per event by level; a rich progress display for uploads.

    Events arrive from the core's upload threads too (``jobs`` > 1), so rendering is serialised.
    """

    # `app` is hatch's Application: Any, because its methods (display_*, style_*) are not annotated and
    # mypy --strict refuses calls to them through the real type.
    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._use_progress = app.verbosity >= 0 and bool(app.console.is_interactive)

    def __call__(self, event: Event) -> None:
        from publish_plugins.events import (
            FileIgnored,
            FileInvalid,
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
                if self._start(event.filename, event.size):
                    return  # the progress display says it
                self._app.display_waiting(f"Uploading {event.filename} ({human_size(event.size)})")
                return
            if isinstance(event, FileUploaded):
                self._advance(event.filename, event.size, event.size)
                self._drop(event.filename)
            elif isinstance(event, UploadFailedEvent):
                self._drop(event.filename)
            elif isinstance(event, Finished):
                self._stop()
            if isinstance(event, FileIgnored | FileInvalid):
                event = dataclasses.replace(event, path=str(display_path(Path(event.path))))
            # A dry run's plan line (PlanReady) names the files itself.
            self._display(event.level, event.message)

    def close(self) -> None:
        """Take the progress display off the screen; safe to call more than once."""
        with self._lock:
            self._stop()

    def _display(self, level: str, text: str) -> None:
        app = self._app
        if self._progress is not None:
            # While the bars are shown, lines go through their console so that they print above them;
            # styled and gated as hatch's display_* would (the bars exist only at verbosity >= 0).
            if level == "debug" and app.verbosity < 1:
                return
            style = _STYLES.get(level, "style_info")
            self._progress.console.print(
                getattr(app, style)(text), overflow="ignore", no_wrap=True, crop=False
            )
            return
        if level == "debug":
            app.display_debug(text)
        elif level == "success":
            app.display_success(text)
        elif level == "warning":
            app.display_warning(text)
        elif level == "error":
            app.display_error(text)
        else:
            app.display_info(text)

    def _start(self, filename: str, size: int) -> bool:
        if not self._use_progress:
            return False
        progress = self._progress or self._new_progress()
        if progress is None:
            return False
        task = self._tasks.get(filename)
        if task is None:
            self._tasks[filename] = progress.add_task(f"Uploading {filename}", total=size or None)
        else:  # a retry starts the file again
            progress.reset(task, total=size or None)
        progress.refresh()
        return True

    def _advance(self, filename: str, sent: int, total: int) -> None:
        task = self._tasks.get(filename)
        if self._progress is not None and task is not None:
            self._progress.update(task, completed=sent, total=total or None)

    def _drop(self, filename: str) -> None:
        task = self._tasks.pop(filename, None)
        if self._progress is not None and task is not None:
            self._progress.refresh()
            self._progress.remove_task(task)

    def _new_progress(self) -> Progress | None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        # hatch's console writes to stdout unless told otherwise; the bars belong on stderr with the other
        # messages, in hatch's colours. Stray prints (warnings) are redirected above the bars.
        console = Console(
            stderr=True,
            color_system=self._app.console.color_system,
            markup=False,
            highlight=False,
            emoji=False,
        )
        if not console.is_terminal:
            self._use_progress = False
            return None
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self._progress.start()
        return self._progress

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()
