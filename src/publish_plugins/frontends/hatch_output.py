"""The core's events on hatch's ``app``: a line per event through ``display_*``, rich bars for uploads."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._rich_progress import RichUploads
from ._shared import display_path, human_size

if TYPE_CHECKING:
    from rich.progress import Progress

    from publish_plugins.events import Event

__all__ = ["HATCH_OPTIONS", "EventRenderer"]

# The core's option names as hatch takes them (hatch has no --timeout), in errors and in events' messages
# ("pass --max-file-size to refuse it ...").
HATCH_OPTIONS = {
    "--check-url": "-o check-url=URL",
    "--skip-existing": "-o skip-existing",
    "--max-file-size": "-o max-file-size=SIZE",
    " (--timeout)": "",
}


def hatch_spelling(text: str) -> str:
    """``text`` with the core's option names in hatch's spelling."""
    for name, spelling in HATCH_OPTIONS.items():
        text = text.replace(name, spelling)
    return text


class EventRenderer(RichUploads):
    """Events → hatch's ``app``, styled and gated by level as its ``display_*`` methods do."""

    # `ui` is hatch's app (Application): Any, because its methods (display_*, style_*) are not annotated
    # and mypy --strict refuses calls to them through the real type.
    ui: Any

    def new_progress(self) -> Progress | None:
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

        if self.ui.verbosity < 0 or not self.ui.console.is_interactive:
            return None
        # hatch's console writes to stdout; the bars belong on stderr with the other messages, in hatch's
        # colours. Stray prints (warnings) are redirected above the bars.
        console = Console(
            stderr=True,
            color_system=self.ui.console.color_system,
            markup=False,
            highlight=False,
            emoji=False,
        )
        if not console.is_terminal:
            return None
        return Progress(
            TextColumn("Uploading {task.description}", markup=False),
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

    def upload_started(self, filename: str, size: int, *, bar: bool) -> None:
        if not bar:
            self.ui.display_waiting(f"Uploading {filename} ({human_size(size)})")

    def line(self, event: Event) -> None:
        from publish_plugins.events import FileIgnored, FileInvalid

        app, level = self.ui, event.level
        if isinstance(event, FileIgnored | FileInvalid):  # hatch may run from a subfolder of the project
            event = dataclasses.replace(event, path=str(display_path(Path(event.path))))
        if level == "debug" and app.verbosity < 1:
            return
        message = hatch_spelling(event.message)
        if self.print_above_bars(getattr(app, f"style_{level}")(message)):
            return
        # A dry run's plan line (PlanReady) names the files itself.
        getattr(app, f"display_{level}")(message)
