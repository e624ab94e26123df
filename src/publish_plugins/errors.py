"""One exception tree; every error carries its exit code and a one-line message.

::

    PublishError                 exit 1
    ├── UsageError               exit 2  bad option, no files, check URL not derivable
    ├── InvalidDistributions     exit 2  one or more files are not valid distributions
    ├── IndexQueryError          exit 1  the index could not be read (incl. 401/403, 5xx)
    ├── UploadFailed             exit 1  the server refused an upload, network failure
    ├── TrustedPublishingFailed  exit 1  no upload token from the CI's identity (OIDC)
    ├── ConflictError            exit 3  same file name or identity, different content
    ├── ProjectsFailed           the worst  --per-project: several projects failed, each for its reason
    └── Interrupted              exit 130 (SIGINT, Ctrl-C) or 143 (SIGTERM)
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .events import Comparison

__all__ = [
    "EXIT_CONFLICT",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "EXIT_USAGE",
    "ConflictError",
    "IndexQueryError",
    "Interrupted",
    "InvalidDistribution",
    "InvalidDistributions",
    "ProjectsFailed",
    "PublishError",
    "TrustedPublishingFailed",
    "UploadFailed",
    "UsageError",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_CONFLICT = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped with Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


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
            return f"{str(self.problems[0]).rstrip('.')}; nothing was uploaded"
        files = len({problem.path for problem in self.problems})
        if files == 1:
            return f"{self.problems[0].path}: {len(self.problems)} problems; nothing was uploaded"
        return f"{files} files are not valid distributions; nothing was uploaded"


class IndexQueryError(PublishError):
    """The index could not be read, so no decision can be made safely."""


class UploadFailed(PublishError):
    """An upload failed: server refusal, authentication, network.

    ``filename``: the file whose upload failed (None when the error sums up several); ``status``: the
    server's HTTP status, when it answered; ``server_message``: the server's own words for a refusal.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        filename: str | None = None,
        server_message: str | None = None,
    ) -> None:
        self.status = status
        self.filename = filename
        self.server_message = server_message
        super().__init__(message)


class TrustedPublishingFailed(PublishError):
    """Trusted publishing was required (or the index offered it and the CI's identity was refused) and
    gave no upload token.

    ``errors`` holds the index's refusal as ``(code, description)`` pairs (PyPI's ``invalid-publisher`` …);
    ``claims`` the OIDC token's claims an index matches a publisher on (repository, workflow, environment,
    ref), to compare with the publisher configured there. Never the token itself.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: Sequence[tuple[str, str]] = (),
        claims: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.errors = tuple(errors)
        self.claims = tuple(claims)
        super().__init__(message)


class ConflictError(PublishError):
    """Files on the index have the same name (or identity) as local files but different content.

    ``conflicts`` holds each conflicting file's :class:`~publish_plugins.events.Comparison` (file name,
    algorithm, local and index digest); ``filenames`` the names, also of files given by name alone.
    """

    exit_code = EXIT_CONFLICT

    def __init__(
        self,
        conflicts: Sequence[Comparison | str],
        *,
        uploaded_before: int = 0,
        held_back: Sequence[str] = (),
    ) -> None:
        self.conflicts = tuple(item for item in conflicts if isinstance(item, Comparison))
        self.filenames = tuple(item if isinstance(item, str) else item.filename for item in conflicts)
        # The files the run would have uploaded and did not because of the conflict (every project's).
        self.held_back = tuple(held_back)
        what = self.filenames[0] if len(self.filenames) == 1 else f"{len(self.filenames)} files"
        if uploaded_before:
            tail = f"{uploaded_before} file(s) had already been uploaded by this run"
        else:
            tail = "nothing was uploaded"
        if self.held_back:
            tail += f" ({len(self.held_back)} new file(s) held back: {_listing(self.held_back)})"
        # An index never lets a published file be replaced: the way forward is a new version.
        super().__init__(
            f"conflict: {what} already on the index with different content; {tail}. "
            "A published file cannot be replaced: publish a new version"
        )


class ProjectsFailed(PublishError):
    """``--per-project``: more than one project failed; the others were published. ``failures`` maps each
    failed project to its error; the exit code is the worst of theirs (a conflict's 3 over a failure's 1)."""

    def __init__(self, failures: Mapping[str, PublishError], projects: int) -> None:
        self.failures = dict(failures)
        self.exit_code = max(error.exit_code for error in self.failures.values())
        names = _listing(sorted(self.failures))
        first_project, first = next(iter(self.failures.items()))
        others = "the others were published" if len(self.failures) < projects else "none was published"
        failed = len(self.failures)
        super().__init__(
            f"{failed} of {projects} projects failed ({names}); {others}. {first_project}: {first}"
        )


def _listing(names: Sequence[str], shown: int = 5) -> str:
    """Up to ``shown`` names, then how many more: the error stays one readable line in a large monorepo."""
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


class Interrupted(PublishError):
    """SIGINT (Ctrl-C) or SIGTERM stopped the run; no upload or retry started after the signal.

    ``exit_code`` is 128 + the signal's number, as a shell reports it: 130 for SIGINT, 143 for SIGTERM.
    Files uploaded before the signal stay on the index; an upload cut off by it may or may not have arrived
    (a re-run checks).
    """

    def __init__(
        self, signum: int = signal.SIGINT, *, uploaded: int = 0, cut_off: Sequence[str] = ()
    ) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        self.uploaded = uploaded
        self.cut_off = tuple(cut_off)
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        parts = [f"{uploaded} file(s) had been uploaded by this run"] if uploaded else []
        if len(self.cut_off) == 1:
            parts.append(f"the upload of {self.cut_off[0]} was cut off")
        elif self.cut_off:
            parts.append(f"the uploads of {len(self.cut_off)} files were cut off")
        if self.cut_off:
            parts.append("a re-run checks the index and uploads what is missing")
        elif uploaded:
            parts.append("a re-run uploads what is missing")
        done = "; ".join(parts) or "nothing was uploaded"
        super().__init__(f"interrupted ({name}): {done}")
