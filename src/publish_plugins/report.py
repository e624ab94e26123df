"""The ``--report`` JSON record of a run: one entry per file, plus totals (schema in docs/report.md)."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ._version import __version__

__all__ = ["ACTIONS", "SCHEMA_VERSION", "Action", "FileRecord", "build_report", "write_report"]

SCHEMA_VERSION = 1
Action = Literal["uploaded", "skipped-identical", "skipped-existing", "conflict", "failed", "ignored"]
ACTIONS: tuple[Action, ...] = (
    "uploaded",
    "skipped-identical",
    "skipped-existing",
    "conflict",
    "failed",
    "ignored",
)


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
