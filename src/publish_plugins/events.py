"""What happens during a run, as data; front ends render these events with their host's UI.

Every event has ``message`` (one line, no secrets) and ``level``; the levels of all events are decided in one
table (:data:`LEVELS`), so a front end renders any event generically and special-cases only what it shows
differently (progress). Facts are fields: a skip or a conflict carries the :class:`Comparison` it rests on,
an upload failure its status and the server's message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = [
    "LEVELS",
    "AttestationsNotSent",
    "CheckUrlDerived",
    "CheckUrlOnOtherOrigin",
    "CheckingIndex",
    "ComparingContents",
    "Comparison",
    "DownloadingToCompare",
    "Event",
    "EventListener",
    "FileConflict",
    "FileHeldBack",
    "FileIgnored",
    "FileInvalid",
    "FileSkipped",
    "FileUploaded",
    "Finished",
    "Level",
    "Notice",
    "OverDefaultSizeLimit",
    "PlainHttpCredentials",
    "PlanReady",
    "ProjectForwarded",
    "RaceResolved",
    "ReportNotWritten",
    "Retrying",
    "RootlessIndex",
    "RuleNotChecked",
    "SkipKind",
    "TokenMinted",
    "TokenRenewalFailed",
    "TrustedPublishingNotUsed",
    "UploadFailedEvent",
    "UploadProgress",
    "UploadStarted",
    "WeakHashMatch",
    "ignore_events",
    "level_of",
]

Level = Literal["debug", "info", "success", "warning", "error"]

# Why a file already on the index is not uploaded: its content is identical; its archive holds the same
# files (equivalent: rebuilt, only timestamps, order or compression differ); or it differs and the mode
# (--skip-existing) keeps the index's file as it is. The report's action is ``skipped-<kind>``.
SkipKind = Literal["identical", "equivalent", "existing"]


@dataclass(frozen=True, slots=True)
class Comparison:
    """A local file compared with the index's file of the same name or distribution, by one algorithm.

    ``algorithm`` is the strongest one the index lists (sha256 of the index's downloaded copy when it lists
    none); ``index_filename`` differs from ``filename`` when the index spells the same distribution another
    way (``Foo_Bar-1.0.tar.gz`` and ``foo_bar-1.0.tar.gz``).
    """

    filename: str
    algorithm: str
    local_digest: str
    index_digest: str
    index_filename: str

    @property
    def index_hash(self) -> str:
        """``algorithm:hex`` of the index's file, as the report shows it."""
        return f"{self.algorithm}:{self.index_digest}"


class _Event:
    """What every event has: ``level`` from the table, ``message`` from the event's own fields."""

    __slots__ = ()

    @property
    def level(self) -> Level:
        return level_of(self)


class Notice(_Event):
    """A note about the run, not a file's outcome: weak hash, plain HTTP, derived check URL …"""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class CheckUrlDerived(Notice):
    """No check URL was given: the index is read at this one, derived from the upload URL."""

    check_url: str  # shown as is: credentials already removed

    @property
    def message(self) -> str:
        return f"checking the index at {self.check_url} (derived from the upload URL)"


@dataclass(frozen=True, slots=True)
class CheckUrlOnOtherOrigin(Notice):
    """The check URL is on another origin than the upload URL: the upload's credentials are not sent to it."""

    check_url: str  # shown as is: credentials already removed
    own_credentials: bool  # the check URL carries credentials of its own

    @property
    def message(self) -> str:
        own = "with the credentials in its URL" if self.own_credentials else "without credentials"
        return f"the check URL {self.check_url} is on another origin than the upload URL: it is read {own}"


@dataclass(frozen=True, slots=True)
class PlainHttpCredentials(Notice):
    """Credentials are about to go over plain HTTP to a host that is not this machine."""

    host: str

    @property
    def message(self) -> str:
        return (
            f"credentials will be sent over plain HTTP to {self.host}: anyone on the network can read "
            "them; use https"
        )


@dataclass(frozen=True, slots=True)
class RootlessIndex(Notice):
    """The index serves no root page (Gitea, Forgejo): the check URL is taken as given, not verified."""

    check_url: str

    @property
    def message(self) -> str:
        return f"{self.check_url}: this index serves no root page; taken as given"


@dataclass(frozen=True, slots=True)
class ProjectForwarded(Notice):
    """The index forwards a project it does not have to another index (pypiserver's fallback to PyPI)."""

    project: str
    target: str

    @property
    def message(self) -> str:
        return (
            f"{self.project} is not on this index: its root does not list it and it forwards the request to "
            f"{self.target} (an index's fallback, as pypiserver's to PyPI); taken as not on the index"
        )


@dataclass(frozen=True, slots=True)
class WeakHashMatch(Notice):
    """A file counts as identical on the strength of an md5 digest alone."""

    filename: str

    @property
    def message(self) -> str:
        return f"{self.filename}: the index lists only an md5 digest; the match is weak"


@dataclass(frozen=True, slots=True)
class DownloadingToCompare(Notice):
    """The index lists a file without a usable hash: its copy is downloaded and hashed."""

    index_filename: str  # the index's text, cleaned for printing

    @property
    def message(self) -> str:
        return f"{self.index_filename}: the index lists no hash; downloading its copy to compare"


@dataclass(frozen=True, slots=True)
class ComparingContents(Notice):
    """The index's copy has other bytes: it is downloaded to compare the files inside the two archives."""

    filename: str

    @property
    def message(self) -> str:
        return (
            f"{self.filename}: the index's copy has other bytes; downloading it to compare the files inside"
        )


@dataclass(frozen=True, slots=True)
class OverDefaultSizeLimit(Notice):
    """A file over PyPI's default size limit: a project's limit may have been raised (the index does not
    say), so it is not refused; it goes first, so that a refusal comes before the rest of the release."""

    filename: str
    size: int
    limit: int

    @property
    def message(self) -> str:
        mib = 1024 * 1024
        size, limit = f"{self.size / mib:.1f} MiB", f"{self.limit // mib} MiB"
        return (
            f"{self.filename}: {size}, over PyPI's default limit of {limit}; "
            "uploaded first, so that a refusal comes before the rest of the release "
            "(pass --max-file-size to refuse it before any upload instead)"
        )


@dataclass(frozen=True, slots=True)
class RuleNotChecked(Notice):
    """PyPI's 14-day rule (no new file on a release older than 14 days) could not be checked."""

    project: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.project}: PyPI's 14-day rule for new files of old releases not checked: {self.reason}"


@dataclass(frozen=True, slots=True)
class ReportNotWritten(Notice):
    """The ``--report`` file could not be written at the end of the run."""

    path: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.path}: cannot write the report: {self.reason}"


@dataclass(frozen=True, slots=True)
class TokenMinted(Notice):
    """Trusted publishing: the index minted a short-lived upload token for the CI's OIDC identity.

    ``token`` is the secret itself, for one purpose: a front end on GitHub Actions prints
    ``::add-mask::<token>`` when it receives this event, before anything else can print the token. It is in
    no message, and the run masks it in everything after this event.
    """

    origin: str  # where it was minted (the upload URL's scheme, host and port)
    ci: str  # the CI whose identity it stands for: "GitHub Actions", "GitLab CI" …
    lifetime: float  # seconds it stays valid
    renewal: bool = False  # minted again, because the previous one was about to expire
    token: str = field(default="", repr=False)

    @property
    def message(self) -> str:
        again = "minted a new upload token" if self.renewal else "minted an upload token"
        minutes = max(round(self.lifetime / 60), 0)
        return f"trusted publishing: {again} at {self.origin} for {self.ci}, valid {minutes} minutes"


@dataclass(frozen=True, slots=True)
class TokenRenewalFailed(Notice):
    """The minted upload token is about to expire and no new one could be minted: the current one is used."""

    reason: str
    seconds_left: float

    @property
    def message(self) -> str:
        reason = self.reason.removeprefix("trusted publishing: ")
        return (
            f"trusted publishing: could not mint a new upload token ({reason}); the current upload token "
            f"stays valid {int(self.seconds_left)} more seconds"
        )


@dataclass(frozen=True, slots=True)
class TrustedPublishingNotUsed(Notice):
    """Trusted publishing (automatic) was not tried or not available; the upload goes on without it."""

    reason: str

    @property
    def message(self) -> str:
        return f"trusted publishing not used: {self.reason}"


@dataclass(frozen=True, slots=True)
class AttestationsNotSent(Notice):
    """A skipped file's attestations stay unsent: the upload API cannot attach them to a published file."""

    filename: str
    count: int

    @property
    def message(self) -> str:
        what = "its attestation was" if self.count == 1 else f"its {self.count} attestations were"
        return (
            f"{self.filename}: {what} not sent: the file is already on the index, and attestations "
            "cannot be added to a published file"
        )


@dataclass(frozen=True, slots=True)
class FileIgnored(_Event):
    """A file left out of the run: not a distribution, or another project's or version's."""

    path: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.path}: ignored, {self.reason}"


@dataclass(frozen=True, slots=True)
class FileInvalid(_Event):
    """A file that is not a valid distribution; the run will stop before uploading anything.

    ``alone``: the only invalid file, which the run's error names too (so this is detail).
    """

    path: str
    reason: str
    alone: bool = False

    @property
    def message(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True, slots=True)
class CheckingIndex(_Event):
    """The index is being read for these projects."""

    check_url: str
    projects: tuple[str, ...]

    @property
    def message(self) -> str:
        return f"checking {len(self.projects)} project(s) at {self.check_url}"


@dataclass(frozen=True, slots=True)
class FileSkipped(_Event):
    """Already on the index: identical, or (``existing``) kept as it is there, as ``--skip-existing`` asks."""

    filename: str
    kind: SkipKind
    reason: str
    comparison: Comparison

    @property
    def message(self) -> str:
        return f"{self.filename}: skipped, {self.reason}"


@dataclass(frozen=True, slots=True)
class FileConflict(_Event):
    """On the index with the same name or identity and different content."""

    filename: str
    reason: str
    comparison: Comparison

    @property
    def message(self) -> str:
        return f"{self.filename}: conflict, {self.reason}"


@dataclass(frozen=True, slots=True)
class FileHeldBack(_Event):
    """A file the run would upload, not uploaded because another file conflicts with the index."""

    filename: str
    first_conflict: str  # the first conflicting file's name
    conflicts: int  # how many files conflict

    @property
    def reason(self) -> str:
        more = f" and {self.conflicts - 1} more" if self.conflicts > 1 else ""
        return f"held back: not uploaded because {self.first_conflict}{more} conflicts with the index"

    @property
    def message(self) -> str:
        return f"{self.filename}: {self.reason}"


@dataclass(frozen=True, slots=True)
class PlanReady(_Event):
    """The decision for every file is made; ``dry_run`` says whether uploads follow."""

    to_upload: tuple[str, ...]
    skipped: int
    conflicts: int
    dry_run: bool
    skipped_existing: int = 0  # of ``skipped``: kept as they are on the index although not identical
    project: str | None = None  # the plan of one project (--per-project); None: of the whole run

    @property
    def message(self) -> str:
        text = self._text()
        return f"{self.project}: {text}" if self.project else text

    def _text(self) -> str:
        count = len(self.to_upload)
        if self.conflicts:
            return f"nothing will be uploaded: {self.conflicts} file(s) conflict with the index"
        if self.dry_run:
            if not count:
                return "dry run: nothing to upload"
            return f"dry run: would upload {count} file(s): {', '.join(self.to_upload)}"
        if not count:
            if self.skipped_existing:
                existing = f"{self.skipped_existing} with other content"
                return f"nothing to upload: every file is already on the index ({existing})"
            return "nothing to upload: every file is already on the index"
        return f"uploading {count} file(s)"


@dataclass(frozen=True, slots=True)
class UploadStarted(_Event):
    filename: str
    size: int

    @property
    def message(self) -> str:
        return f"{self.filename}: uploading {self.size} bytes"


@dataclass(frozen=True, slots=True)
class UploadProgress(_Event):
    """Bytes of the file sent so far (sent on every chunk; front ends throttle)."""

    filename: str
    sent: int
    total: int

    @property
    def message(self) -> str:
        return f"{self.filename}: {self.sent}/{self.total} bytes"


@dataclass(frozen=True, slots=True)
class Retrying(_Event):
    """A request failed in a way worth retrying; the next try starts after ``delay`` seconds."""

    what: str
    reason: str
    attempt: int
    delay: float

    @property
    def message(self) -> str:
        return f"{self.what}: {self.reason}; retry {self.attempt} in {self.delay:.1f} s"


@dataclass(frozen=True, slots=True)
class FileUploaded(_Event):
    filename: str
    size: int
    attestations: int = 0  # how many PEP 740 attestations went with it

    @property
    def message(self) -> str:
        if not self.attestations:
            return f"{self.filename}: uploaded"
        what = "1 attestation" if self.attestations == 1 else f"{self.attestations} attestations"
        return f"{self.filename}: uploaded with {what}"


@dataclass(frozen=True, slots=True)
class RaceResolved(_Event):
    """An upload was refused or its answer lost, and the index now holds the identical file."""

    filename: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.filename}: {self.reason}"


@dataclass(frozen=True, slots=True)
class UploadFailedEvent(_Event):
    """One upload failed. The run's error repeats the first failure, so this is detail (debug).

    ``status`` is the server's HTTP status and ``server_message`` its own words, when it answered.
    """

    filename: str
    reason: str
    status: int | None = None
    server_message: str | None = None

    @property
    def message(self) -> str:
        return f"{self.filename}: upload failed, {self.reason}"


@dataclass(frozen=True, slots=True)
class Finished(_Event):
    """The run's totals, sent last whatever the outcome."""

    uploaded: int
    skipped: int
    conflicts: int
    failed: int
    ignored: int
    dry_run: bool
    exit_code: int
    skipped_existing: int = 0  # of ``skipped``: kept as they are on the index although not identical

    @property
    def message(self) -> str:
        parts = [
            f"{self.uploaded} {'to upload' if self.dry_run else 'uploaded'}",
            f"{self.skipped} skipped",
        ]
        if self.skipped_existing:
            parts[-1] += f" ({self.skipped_existing} differing from the index)"
        if self.conflicts:
            parts.append(f"{self.conflicts} conflicting")
        if self.failed:
            parts.append(f"{self.failed} not uploaded")
        if self.ignored:
            parts.append(f"{self.ignored} ignored")
        prefix = "dry run: " if self.dry_run else ""
        return prefix + ", ".join(parts)


Event = (
    CheckUrlDerived
    | CheckUrlOnOtherOrigin
    | PlainHttpCredentials
    | RootlessIndex
    | ProjectForwarded
    | WeakHashMatch
    | DownloadingToCompare
    | ComparingContents
    | OverDefaultSizeLimit
    | RuleNotChecked
    | ReportNotWritten
    | TokenMinted
    | TokenRenewalFailed
    | TrustedPublishingNotUsed
    | AttestationsNotSent
    | FileIgnored
    | FileInvalid
    | CheckingIndex
    | FileSkipped
    | FileConflict
    | FileHeldBack
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


def _finished_level(event: Finished) -> Level:
    if event.exit_code == 2:
        return "debug"  # a usage error or bad input stops the run before anything is sent: its error says it
    return "warning" if event.skipped_existing else "info"


# The level of every event: one place, so that every front end styles and filters alike. A function stands
# where the level depends on what happened.
LEVELS: Final[Mapping[type[Any], Level | Callable[[Any], Level]]] = {
    CheckUrlDerived: "debug",
    CheckUrlOnOtherOrigin: "debug",
    PlainHttpCredentials: "warning",
    RootlessIndex: "debug",
    ProjectForwarded: "debug",
    WeakHashMatch: "warning",
    DownloadingToCompare: "info",
    ComparingContents: "info",
    OverDefaultSizeLimit: "warning",
    RuleNotChecked: "debug",
    ReportNotWritten: "error",
    TokenMinted: "info",
    TokenRenewalFailed: "warning",
    TrustedPublishingNotUsed: "debug",
    AttestationsNotSent: "info",
    FileIgnored: "info",
    FileInvalid: lambda event: "debug" if event.alone else "error",
    CheckingIndex: "debug",
    FileSkipped: lambda event: "warning" if event.kind == "existing" else "info",
    FileConflict: "error",
    FileHeldBack: "warning",
    PlanReady: "info",
    UploadStarted: "debug",
    UploadProgress: "debug",
    Retrying: "warning",
    FileUploaded: "success",
    RaceResolved: "info",
    UploadFailedEvent: "debug",
    Finished: _finished_level,
}


def level_of(event: object) -> Level:
    """How a front end styles and filters ``event`` (:data:`LEVELS`)."""
    for kind in type(event).__mro__:
        rule = LEVELS.get(kind)
        if rule is not None:
            return rule if isinstance(rule, str) else rule(event)
    return "info"


def ignore_events(event: Event) -> None:
    """The default listener: the core prints nothing."""
