"""A file the run will publish: the local distribution, its record in the report, the check's decision."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .policy import Decision
from .report import FileRecord

if TYPE_CHECKING:
    from .distribution import Distribution

__all__ = ["PENDING", "PlannedFile"]

# The reason of a record whose upload has not happened yet; settled when the run ends.
PENDING = "pending upload"


@dataclass
class PlannedFile:
    """A local file, its record in the report, and the decision the check made for it."""

    dist: Distribution
    record: FileRecord
    decision: Decision | None = None
