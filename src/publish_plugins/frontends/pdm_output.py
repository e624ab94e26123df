"""The core's events on PDM's terminal UI: one line per event by level, rich progress bars for uploads."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pdm.termui import UI, Verbosity
    from rich.progress import Progress, TaskID
    from rich.table import Column

    from publish_plugins.events import Event, Finished
    from publish_plugins.run import PublishResult

__all__ = ["EventRenderer", "escape", "show_release_urls"]


def escape(text: str) -> str:
    """Text from files, servers or the user must not be read as rich markup (``[/]`` in a file name)."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def show_release_urls(ui: UI, upload_url: str, result: PublishResult) -> None:
    """The release pages of what was uploaded, as ``pdm publish`` shows them."""
    # For PyPI and TestPyPI only, as in PDM: other indexes have no standard page URL.
    from pdm.project.config import DEFAULT_REPOSITORIES

    bases = {
        DEFAULT_REPOSITORIES["pypi"]: "https://pypi.org/",
        DEFAULT_REPOSITORIES["testpypi"]: "https://test.pypi.org/",
    }
    base = next((page for upload, page in bases.items() if upload_url.startswith(upload.rstrip("/"))), None)
    if base is None:
        return
    releases = {(r.project, r.version) for r in result.records if r.action == "uploaded" and r.project}
    if releases:
        ui.echo("\n[success]View at:")
        for project, version in sorted(releases, key=str):
            ui.echo(f"{base}project/{project}/{version}/")


class EventRenderer:
    """Core events → PDM's UI: one line per event by level, rich progress bars for uploads.

    Lines of the run (info, success) go to stdout like ``pdm publish``'s "Uploading …" and ``pdm build``'s
    lines; warnings and errors to stderr as ``WARNING:``/``ERROR:``; debug lines at ``-v``. Events arrive from
    the core's worker threads with ``--jobs``, hence the lock. While bars are on a terminal every line goes
    through the progress console, or the bars and the lines would overwrite each other.
    """

    def __init__(self, ui: UI) -> None:
        from pdm.termui import Verbosity

        self.ui = ui
        self.quiet = ui.verbosity <= Verbosity.QUIET
        self._lock = threading.RLock()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, event: Event) -> None:
        from publish_plugins.events import Finished, UploadProgress, UploadStarted

        with self._lock:
            if isinstance(event, UploadProgress):
                self._advance(event.filename, event.sent, event.total)
                return
            if isinstance(event, UploadStarted):
                self._start(event.filename, event.size)
                return
            if isinstance(event, Finished):
                self.close()
                self._finished(event)
                return
            self._line(event.level, event.message)

    def close(self) -> None:
        """Take the bars off the screen (the final state stays); safe to call more than once."""
        with self._lock:
            progress, self._progress = self._progress, None
            self._tasks.clear()
            if progress is not None:
                progress.stop()

    def _start(self, filename: str, size: int) -> None:
        if self.quiet:
            return
        progress = self._open()
        task = self._tasks.get(filename)
        if task is None:
            progress.console.print(
                f"Uploading [success]{escape(filename)}[/]", soft_wrap=True, highlight=False
            )
            self._tasks[filename] = progress.add_task(filename, total=size)
        else:  # a retry sends the file again from the first byte
            progress.reset(task, total=size)

    def _advance(self, filename: str, sent: int, total: int) -> None:
        task = self._tasks.get(filename)
        if task is not None and self._progress is not None:
            self._progress.update(task, completed=sent, total=total)

    def _open(self) -> Progress:
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            # PDM's upload columns (pdm/cli/commands/publish/repository.py), plus the file name: with
            # --jobs several bars are on screen at once. No column wraps: on a narrow terminal the file
            # name is shortened instead, so that each bar stays one line.
            self._progress = self.ui.make_progress(
                TextColumn("{task.description}", table_column=_one_line(ratio=1)),
                TextColumn(" [progress.percentage]{task.percentage:>3.0f}%", table_column=_one_line()),
                BarColumn(bar_width=24),
                DownloadColumn(table_column=_one_line()),
                TextColumn("•", table_column=_one_line()),
                TimeRemainingColumn(compact=True, elapsed_when_finished=True, table_column=_one_line()),
                TextColumn("•", table_column=_one_line()),
                TransferSpeedColumn(table_column=_one_line()),
            )
            self._progress.start()
        return self._progress

    def _line(self, level: str, message: str) -> None:
        from pdm.termui import Verbosity

        text = escape(message)
        if level == "error":
            self._print(f"[error]ERROR:[/] {text}", Verbosity.QUIET, err=True)
        elif level == "warning":
            # Not hidden by -q: a skipped file whose content differs must never pass silently.
            self._print(f"[warning]WARNING:[/] {text}", Verbosity.QUIET, err=True)
        elif level == "success":
            self._print(f"[success]{text}[/]", Verbosity.NORMAL)
        elif level == "debug":
            self._print(f"[dim]{text}[/]", Verbosity.DETAIL, err=True)
        else:
            self._print(text, Verbosity.NORMAL)

    def _finished(self, event: Finished) -> None:
        from pdm.termui import Verbosity

        style = "success" if event.exit_code == 0 else "error"
        self._print(f"[{style}]{escape(event.message)}[/]", Verbosity.NORMAL)

    def _print(self, markup: str, verbosity: Verbosity, *, err: bool = False) -> None:
        if self.ui.verbosity < verbosity:
            return
        progress = self._progress
        if progress is not None and not progress.disable and progress.console.is_terminal:
            # Bars on a terminal: lines go above them through their console. Elsewhere (CI logs, -v)
            # the bars are not redrawn, so lines keep their own stream.
            progress.console.print(markup, soft_wrap=True, highlight=False)
        else:
            # soft_wrap: one event, one line (rich would break a hash at the terminal's width);
            # highlight off: rich's highlighter bolds parts of file names, versions and hashes.
            self.ui.echo(markup, err=err, verbosity=verbosity, highlight=False, soft_wrap=True)


def _one_line(ratio: int | None = None) -> Column:
    """A progress column that never wraps: a long file name is shortened instead."""
    from rich.table import Column

    return Column(no_wrap=True, overflow="ellipsis", ratio=ratio)
