"""The rich upload bars hatch and PDM share (``frontends/_rich_progress.py``), with a host made up here:
a rich console on a fake terminal, and a record of how each event's line was printed."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console  # noqa: TID251 - the hosts' terminal UI, made up here
from rich.progress import Progress  # noqa: TID251

from publish_plugins.events import (
    Event,
    FileIgnored,
    FileUploaded,
    Finished,
    UploadFailedEvent,
    UploadProgress,
    UploadStarted,
)
from publish_plugins.frontends._rich_progress import RichUploads


class Host(RichUploads):
    """A host whose bars go to a terminal (or nowhere, with ``bars=False``)."""

    def __init__(self, *, bars: bool = True, keep_finished: bool = False) -> None:
        super().__init__(ui=None)
        self.bars = bars
        self.keep_finished = keep_finished
        self.output = io.StringIO()
        self.progresses: list[Progress] = []
        self.seen: list[
            tuple[str, Any]
        ] = []  # ("started", (file, bar)), ("above", message), ("own", message)

    def new_progress(self) -> Progress | None:
        self.seen.append(("new_progress", None))
        if not self.bars:
            return None
        console = Console(file=self.output, force_terminal=True, width=120)
        self.progresses.append(Progress(console=console, auto_refresh=False))
        return self.progresses[-1]

    def upload_started(self, filename: str, size: int, *, bar: bool) -> None:
        self.seen.append(("started", (filename, bar)))

    def line(self, event: Event) -> None:
        self.seen.append(("above" if self.print_above_bars(event.message) else "own", event.message))


def finished() -> Finished:
    return Finished(uploaded=1, skipped=0, conflicts=0, failed=0, ignored=0, dry_run=False, exit_code=0)


def test_without_bars_every_line_is_the_hosts_and_bars_are_asked_for_once() -> None:
    host = Host(bars=False)
    for event in (
        UploadStarted("a-1.0-py3-none-any.whl", 10),
        UploadProgress("a-1.0-py3-none-any.whl", 5, 10),
        FileUploaded("a-1.0-py3-none-any.whl", 10),
        UploadStarted("a-1.0.tar.gz", 10),
        finished(),
    ):
        host(event)
    assert host.seen == [
        ("new_progress", None),
        ("started", ("a-1.0-py3-none-any.whl", False)),
        ("own", "a-1.0-py3-none-any.whl: uploaded"),
        ("started", ("a-1.0.tar.gz", False)),
        ("own", finished().message),
    ]


def test_lines_go_above_the_bars_while_they_are_on_the_terminal_and_done_bars_go() -> None:
    host = Host()
    host(UploadStarted("a-1.0-py3-none-any.whl", 10))
    host(UploadStarted("a-1.0.tar.gz", 20))
    (progress,) = host.progresses
    host(UploadProgress("a-1.0-py3-none-any.whl", 5, 10))
    assert [(task.description, task.completed, task.total) for task in progress.tasks] == [
        ("a-1.0-py3-none-any.whl", 5, 10),
        ("a-1.0.tar.gz", 0, 20),
    ]
    host(FileIgnored("dist/.gitignore", "not a distribution file"))
    host(FileUploaded("a-1.0-py3-none-any.whl", 10))
    assert [task.description for task in progress.tasks] == ["a-1.0.tar.gz"]
    host(UploadFailedEvent("a-1.0.tar.gz", "the connection broke"))
    assert progress.tasks == []
    host(finished())
    assert not progress.live.is_started
    assert host.seen[3:] == [
        ("above", "dist/.gitignore: ignored, not a distribution file"),
        ("above", "a-1.0-py3-none-any.whl: uploaded"),
        ("above", UploadFailedEvent("a-1.0.tar.gz", "the connection broke").message),
        ("own", finished().message),  # the bars are gone by then
    ]
    assert "dist/.gitignore: ignored" in host.output.getvalue()


def test_a_host_may_keep_finished_bars_and_a_retry_starts_the_bar_again() -> None:
    host = Host(keep_finished=True)
    host(UploadStarted("a-1.0.tar.gz", 20))
    host(UploadProgress("a-1.0.tar.gz", 15, 20))
    host(UploadStarted("a-1.0.tar.gz", 20))  # a retry
    (progress,) = host.progresses
    assert [(task.completed, task.total) for task in progress.tasks] == [(0, 20)]
    host(FileUploaded("a-1.0.tar.gz", 20))
    assert [(task.completed, task.finished) for task in progress.tasks] == [(20, True)]
    host.close()
    host.close()  # twice: harmless
    assert not host.print_above_bars("after the run")


def test_a_run_after_the_first_gets_new_bars() -> None:
    host = Host()
    host(UploadStarted("a-1.0.tar.gz", 20))
    host(finished())
    host(UploadStarted("a-2.0.tar.gz", 20))
    assert len(host.progresses) == 2
    assert [task.description for task in host.progresses[1].tasks] == ["a-2.0.tar.gz"]
