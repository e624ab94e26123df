"""The core's events on PDM's terminal UI: a line per event as ``pdm publish`` prints, PDM's upload bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._rich_progress import RichUploads

if TYPE_CHECKING:
    from pdm.termui import UI, Verbosity
    from rich.progress import Progress
    from rich.table import Column

    from publish_plugins import PublishResult
    from publish_plugins.events import Event

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


class EventRenderer(RichUploads):
    """Core events → PDM's UI.

    Lines of the run (info, success) go to stdout like ``pdm publish``'s "Uploading …" and ``pdm build``'s
    lines; warnings and errors to stderr as ``WARNING:``/``ERROR:``; debug lines at ``-v``. The bars stay
    on screen when their upload is done, as ``pdm publish``'s do.
    """

    keep_finished = True
    ui: UI

    def new_progress(self) -> Progress | None:
        from pdm.termui import Verbosity
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        if self.ui.verbosity <= Verbosity.QUIET:
            return None
        # PDM's upload columns (pdm/cli/commands/publish/repository.py), plus the file name: with --jobs
        # several bars are on screen at once. No column wraps: on a narrow terminal the file name is
        # shortened instead, so that each bar stays one line.
        return self.ui.make_progress(
            TextColumn("{task.description}", table_column=_one_line(ratio=1)),
            TextColumn(" [progress.percentage]{task.percentage:>3.0f}%", table_column=_one_line()),
            BarColumn(bar_width=24),
            DownloadColumn(table_column=_one_line()),
            TextColumn("•", table_column=_one_line()),
            TimeRemainingColumn(compact=True, elapsed_when_finished=True, table_column=_one_line()),
            TextColumn("•", table_column=_one_line()),
            TransferSpeedColumn(table_column=_one_line()),
        )

    def upload_started(self, filename: str, size: int, *, bar: bool) -> None:
        from pdm.termui import Verbosity

        if bar:  # no bar: -q, which hides this line as well
            self._print(f"Uploading [success]{escape(filename)}[/]", Verbosity.NORMAL)

    def line(self, event: Event) -> None:
        from pdm.termui import Verbosity

        from publish_plugins.events import Finished

        text = escape(event.message)
        if isinstance(event, Finished):  # the totals, on stdout as the run's last line
            self._print(f"[{'success' if event.exit_code == 0 else 'error'}]{text}[/]", Verbosity.NORMAL)
        elif event.level == "error":
            self._print(f"[error]ERROR:[/] {text}", Verbosity.QUIET, err=True)
        elif event.level == "warning":
            # Not hidden by -q: a skipped file whose content differs must never pass silently.
            self._print(f"[warning]WARNING:[/] {text}", Verbosity.QUIET, err=True)
        elif event.level == "success":
            self._print(f"[success]{text}[/]", Verbosity.NORMAL)
        elif event.level == "debug":
            self._print(f"[dim]{text}[/]", Verbosity.DETAIL, err=True)
        else:
            self._print(text, Verbosity.NORMAL)

    def _print(self, markup: str, verbosity: Verbosity, *, err: bool = False) -> None:
        if self.ui.verbosity < verbosity or self.print_above_bars(markup):
            return
        # soft_wrap: one event, one line; highlight off: rich's highlighter bolds parts of file names,
        # versions and hashes.
        self.ui.echo(markup, err=err, verbosity=verbosity, highlight=False, soft_wrap=True)


def _one_line(ratio: int | None = None) -> Column:
    """A progress column that never wraps: a long file name is shortened instead."""
    from rich.table import Column

    return Column(no_wrap=True, overflow="ellipsis", ratio=ratio)
