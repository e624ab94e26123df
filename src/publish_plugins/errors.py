"""One exception tree; every error carries its exit code and a one-line message.

::

    PublishError                 exit 1
    ├── UsageError               exit 2  bad option, no files, check URL not derivable
    ├── InvalidDistributions     exit 2  one or more files are not valid distributions
    ├── IndexQueryError          exit 1  the index could not be read (incl. 401/403, 5xx)
    ├── UploadFailed             exit 1  the server refused an upload, network failure
    └── ConflictError            exit 3  same file name or identity, different content
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "EXIT_CONFLICT",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "ConflictError",
    "IndexQueryError",
    "InvalidDistribution",
    "InvalidDistributions",
    "PublishError",
    "UploadFailed",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFLICT = 3


class PublishError(Exception):
    """Base of every error publish-plugins raises on purpose; ``str()`` is one line for the user."""

    exit_code: int = EXIT_FAILURE


class UsageError(PublishError):
    """The command was called wrongly: bad option, no files, check URL not derivable."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class InvalidDistribution:
    """One file that cannot be published, and why (a value, collected before anything is sent)."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class InvalidDistributions(PublishError):
    """Files that are not valid distributions; nothing was uploaded."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: Sequence[InvalidDistribution]) -> None:
        self.problems = tuple(problems)
        super().__init__(self._summary())

    def _summary(self) -> str:
        if len(self.problems) == 1:
            return f"{self.problems[0]}; nothing was uploaded"
        return f"{len(self.problems)} files are not valid distributions; nothing was uploaded"


class IndexQueryError(PublishError):
    """The index could not be read, so no decision can be made safely."""


class UploadFailed(PublishError):
    """An upload failed: server refusal, authentication, network."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class ConflictError(PublishError):
    """Files on the index have the same name (or identity) as local files but different content."""

    exit_code = EXIT_CONFLICT

    def __init__(self, filenames: Sequence[str], *, uploaded_before: int = 0) -> None:
        self.filenames = tuple(filenames)
        what = self.filenames[0] if len(self.filenames) == 1 else f"{len(self.filenames)} files"
        if uploaded_before:
            tail = f"{uploaded_before} file(s) had already been uploaded by this run"
        else:
            tail = "nothing was uploaded"
        # An index never lets a published file be replaced: the way forward is a new version.
        super().__init__(
            f"conflict: {what} already on the index with different content; {tail}. "
            "A published file cannot be replaced: publish a new version"
        )
