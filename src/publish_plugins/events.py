"""What happens during a run, as data; front ends render these events with their host's UI.

Every event has ``level`` (how a front end styles it) and ``message`` (one line, no secrets), so a front end
can render any event generically and special-case only what it shows differently (progress).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CheckingIndex",
    "Event",
    "EventListener",
    "FileConflict",
    "FileIgnored",
    "FileInvalid",
    "FileSkipped",
    "FileUploaded",
    "Finished",
    "Level",
    "Notice",
    "PlanReady",
    "RaceResolved",
    "Retrying",
    "UploadFailedEvent",
    "UploadProgress",
    "UploadStarted",
    "ignore_events",
]

Level = Literal["debug", "info", "success", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Notice:
    """A free-form note or warning (weak hash, plain HTTP, derived check URL)."""

    text: str
    level: Level = "info"

    @property
    def message(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class FileIgnored:
    """A file left out of the run: not a distribution, or another project's or version's."""

    path: str
    reason: str
    level: Level = "info"

    @property
    def message(self) -> str:
        return f"{self.path}: ignored, {self.reason}"


@dataclass(frozen=True, slots=True)
class FileInvalid:
    """A file that is not a valid distribution; the run will stop before uploading anything."""

    path: str
    reason: str
    level: Level = "error"

    @property
    def message(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class CheckingIndex:
    """The index is being read for these projects."""

    check_url: str
    projects: tuple[str, ...]
    level: Level = "debug"

    @property
    def message(self) -> str:
        return f"checking {len(self.projects)} project(s) at {self.check_url}"


@dataclass(frozen=True, slots=True)
class FileSkipped:
    """Already on the index: identical content, or allowed to differ by ``--skip-existing``."""

    filename: str
    kind: Literal["identical", "existing"]
    reason: str
    level: Level = "info"

    @property
    def message(self) -> str:
        return f"{self.filename}: skipped, {self.reason}"


@dataclass(frozen=True, slots=True)
class FileConflict:
    """On the index with the same name or identity and different content."""

    filename: str
    reason: str
    level: Level = "error"

    @property
    def message(self) -> str:
        return f"{self.filename}: conflict, {self.reason}"


@dataclass(frozen=True, slots=True)
class PlanReady:
    """The decision for every file is made; ``dry_run`` says whether uploads follow."""

    to_upload: tuple[str, ...]
    skipped: int
    conflicts: int
    dry_run: bool
    level: Level = "info"
    differing: int = 0  # of ``skipped``: kept as they are on the index although their content differs

    @property
    def message(self) -> str:
        count = len(self.to_upload)
        if self.conflicts:
            return f"nothing will be uploaded: {self.conflicts} file(s) conflict with the index"
        if self.dry_run:
            if not count:
                return "dry run: nothing to upload"
            return f"dry run: would upload {count} file(s): {', '.join(self.to_upload)}"
        if not count:
            if self.differing:
                differing = f"{self.differing} with other content"
                return f"nothing to upload: every file is already on the index ({differing})"
            return "nothing to upload: every file is already on the index"
        return f"uploading {count} file(s)"


@dataclass(frozen=True, slots=True)
class UploadStarted:
    filename: str
    size: int
    level: Level = "debug"

    @property
    def message(self) -> str:
        return f"{self.filename}: uploading {self.size} bytes"


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """Bytes of the file sent so far (sent on every chunk; front ends throttle)."""

    filename: str
    sent: int
    total: int
    level: Level = "debug"

    @property
    def message(self) -> str:
        return f"{self.filename}: {self.sent}/{self.total} bytes"


@dataclass(frozen=True, slots=True)
class Retrying:
    """A request failed in a way worth retrying; the next try starts after ``delay`` seconds."""

    what: str
    reason: str
    attempt: int
    delay: float
    level: Level = "warning"

    @property
    def message(self) -> str:
        return f"{self.what}: {self.reason}; retry {self.attempt} in {self.delay:.1f} s"


@dataclass(frozen=True, slots=True)
class FileUploaded:
    filename: str
    size: int
    level: Level = "success"

    @property
    def message(self) -> str:
        return f"{self.filename}: uploaded"


@dataclass(frozen=True, slots=True)
class RaceResolved:
    """An upload was refused or its answer lost, and the index now holds the identical file."""

    filename: str
    reason: str
    level: Level = "info"

    @property
    def message(self) -> str:
        return f"{self.filename}: {self.reason}"


@dataclass(frozen=True, slots=True)
class UploadFailedEvent:
    """One upload failed. The run's error repeats the first failure, so this is detail (debug) by default."""

    filename: str
    reason: str
    level: Level = "debug"

    @property
    def message(self) -> str:
        return f"{self.filename}: upload failed, {self.reason}"


@dataclass(frozen=True, slots=True)
class Finished:
    """The run's totals, sent last whatever the outcome."""

    uploaded: int
    skipped: int
    conflicts: int
    failed: int
    ignored: int
    dry_run: bool
    exit_code: int
    level: Level = "info"
    skipped_different: int = 0  # of ``skipped``: left as they are on the index although they differ

    def __post_init__(self) -> None:
        # A usage error or bad input stops the run before anything is sent: its error line says it all.
        if self.exit_code == 2 and self.level == "info":
            object.__setattr__(self, "level", "debug")
        elif self.skipped_different and self.level == "info":
            object.__setattr__(self, "level", "warning")

    @property
    def message(self) -> str:
        parts = [
            f"{self.uploaded} {'to upload' if self.dry_run else 'uploaded'}",
            f"{self.skipped} skipped",
        ]
        if self.skipped_different:
            parts[-1] += f" ({self.skipped_different} differing from the index)"
        if self.conflicts:
            parts.append(f"{self.conflicts} conflicting")
        if self.failed:
            parts.append(f"{self.failed} not uploaded")
        if self.ignored:
            parts.append(f"{self.ignored} ignored")
        prefix = "dry run: " if self.dry_run else ""
        return prefix + ", ".join(parts)


Event = (
    Notice
    | FileIgnored
    | FileInvalid
    | CheckingIndex
    | FileSkipped
    | FileConflict
    | PlanReady
    | UploadStarted
    | UploadProgress
    | Retrying
    | FileUploaded
    | RaceResolved
    | UploadFailedEvent
    | Finished
)
EventListener = Callable[[Event], None]


def ignore_events(event: Event) -> None:
    """The default listener: the core prints nothing."""
