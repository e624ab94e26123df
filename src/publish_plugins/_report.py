"""The ``--report`` JSON record of a run: one entry per file, plus totals (schema in docs/report.md)."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ._version import __version__
from .errors import UsageError

__all__ = [
    "ACTIONS",
    "SCHEMA_VERSION",
    "Action",
    "AttestationRecord",
    "FileRecord",
    "build_report",
    "check_report_path",
    "write_report",
]

SCHEMA_VERSION = 1
Action = Literal[
    "uploaded", "skipped-identical", "skipped-equivalent", "skipped-existing", "conflict", "failed", "ignored"
]
ACTIONS: tuple[Action, ...] = (
    "uploaded",
    "skipped-identical",
    "skipped-equivalent",
    "skipped-existing",
    "conflict",
    "failed",
    "ignored",
)


@dataclass
class AttestationRecord:
    """One PEP 740 attestation of a file, and whether it went to the index with the file."""

    path: str
    predicate_type: str
    sent: bool = False


@dataclass
class FileRecord:
    """What happened to one file. ``index_hash`` is ``algorithm:hex`` of the index's copy, when it has one."""

    path: str
    filename: str
    project: str | None
    version: str | None
    sha256: str | None
    action: Action
    reason: str
    index_hash: str | None = None
    attestations: list[AttestationRecord] = field(default_factory=list)


def build_report(
    records: list[FileRecord],
    *,
    repository_url: str,
    check_url: str | None,
    mode: str,
    dry_run: bool,
    exit_code: int,
) -> dict[str, Any]:
    """The report as a JSON-ready dict. URLs must already be redacted by the caller."""
    totals = Counter(record.action for record in records)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "publish-plugins", "version": __version__},
        "repository_url": repository_url,
        "check_url": check_url,
        "mode": mode,
        "dry_run": dry_run,
        "exit_code": exit_code,
        "files": [asdict(record) for record in records],
        "totals": {action: totals.get(action, 0) for action in ACTIONS},
    }


def check_report_path(path: Path, *, what: str = "report") -> None:
    """Make sure the report can be written there, before the run does anything; UsageError if not.

    Missing folders are created (as ``mkdir -p``: a CI job's ``build/report.json`` works in a fresh
    checkout); a path that is a folder, lies under a file, or is in a folder that cannot be written is
    refused. Writability is tried for real (a temporary file beside the report, removed at once), which
    also catches read-only file systems and users (root) whom permission bits do not stop.
    ``what`` names the option or setting, for the message: ``--report``, ``-o report``.
    """
    if path.is_dir():
        raise UsageError(f"{what}: {path} is a folder; name a file, such as {path / 'report.json'}")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((p for p in (parent, *parent.parents) if p.exists() and not p.is_dir()), parent)
        raise UsageError(f"{what}: cannot write {path}: {blocker} is a file, not a folder") from None
    except OSError as exc:
        raise UsageError(f"{what}: cannot create the folder {parent}: {exc.strerror or exc}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", dir=parent)
    except OSError as exc:
        raise UsageError(f"{what}: cannot write in {parent}: {exc.strerror or exc}") from None
    os.close(fd)
    Path(probe).unlink(missing_ok=True)


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write atomically, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            json.dump(report, stream, indent=2)
            stream.write("\n")
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
