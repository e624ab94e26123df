"""Uploading the planned files: wheels first, bounded parallel, retries, and a look at the index after any
failure, because an index's answer alone does not tell whether the file is there.

Ctrl-C and SIGTERM (the run's cancellation, see ``_cancel``) stop at once: no upload, retry or second look
starts afterwards, waits end, a body being sent is cut off, and the records say which files went up and
which upload was in flight when the signal came.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from . import _cancel
from ._httpx import httpx
from .checker import IndexChecker
from .client import basic_auth, describe_error
from .distribution import Distribution, upload_form_fields
from .errors import ConflictError, PublishError, UploadFailed
from .events import (
    Event,
    EventListener,
    FileConflict,
    FileSkipped,
    FileUploaded,
    RaceResolved,
    Retrying,
    UploadFailedEvent,
    UploadProgress,
    UploadStarted,
)
from .plan import PENDING, PlannedFile
from .policy import Conflict, Decision, Skip, Upload
from .report import Action
from .retry import RETRYABLE_STATUS, is_retryable_error
from .settings import PublishOptions, Repository
from .upload import FileChangedError, UploadBody, send_upload, server_message
from .urls import redact

__all__ = ["Uploader"]

# What an upload was doing when the run was interrupted, for its record.
_SENDING = f"{_cancel.CUT_OFF}: the server may or may not have stored it"
_WAITING = "interrupted while waiting to retry its upload"
_RECHECKING = "interrupted while checking the index after its upload attempt"


class Uploader:
    """Uploads files through one client; the first failure stops new uploads (in-flight ones finish).

    A cancelled run (Ctrl-C, SIGTERM) stops everything at once, in-flight uploads included.
    """

    def __init__(
        self,
        client: httpx.Client,
        repository: Repository,
        options: PublishOptions,
        checker: IndexChecker,
        emit: EventListener,
    ) -> None:
        self.client = client
        self.repository = repository
        self.options = options
        self.checker = checker
        self._listener = emit
        self.auth = basic_auth(repository)
        self._stop = threading.Event()
        self.cancellation = _cancel.current()
        # Records are settled under this lock; once an interrupted run has settled them (and may be writing
        # its report), threads left behind change nothing any more.
        self._lock = threading.Lock()
        self._settled = False
        self._doing: dict[int, tuple[PlannedFile, str]] = {}  # id(item): what its upload is doing now

    def upload_all(self, uploads: list[PlannedFile]) -> None:
        """Upload wheels, then sdists; raise the run's error after the last upload in flight finished."""
        wheels = [item for item in uploads if item.dist.filetype == "bdist_wheel"]
        sdists = [item for item in uploads if item.dist.filetype == "sdist"]
        failures: list[PublishError] = []
        try:
            for batch in (wheels, sdists):
                if not batch or self._stop.is_set():
                    continue
                # jobs=1: in this thread, so that a signal interrupts a blocking send or read at once.
                results = _cancel.map_in_threads(
                    self._upload_guarded,
                    batch,
                    workers=max(1, self.options.jobs),
                    cancellation=self.cancellation,
                    name="publish-plugins-upload",
                )
                failures.extend(error for error in results if error)
        except BaseException as exc:
            if not isinstance(exc, Exception):  # Ctrl-C, SIGTERM (or the cancellation they set)
                self._settle_interrupted(uploads)
            raise
        for item in uploads:
            if item.record.reason == PENDING:
                item.record.reason = "not attempted: the run stopped after an earlier failure"
        if not failures:
            return
        conflicts = [error for error in failures if isinstance(error, ConflictError)]
        if conflicts:
            uploaded = sum(1 for item in uploads if item.record.action == "uploaded")
            raise ConflictError(
                [name for error in conflicts for name in error.filenames], uploaded_before=uploaded
            )
        if len(failures) == 1:
            raise failures[0]
        raise UploadFailed(f"{len(failures)} uploads failed; the first: {failures[0]}")

    def _settle_interrupted(self, uploads: list[PlannedFile]) -> None:
        """The run stops here (a signal): say what each upload in flight was doing, and what never began."""
        self.cancellation.cancel()
        with self._lock:
            self._settled = True
            for item, doing in self._doing.values():
                item.record.action = "failed"
                item.record.reason = f"{doing}; a re-run checks the index and uploads it if missing"
            for item in uploads:
                if item.record.reason == PENDING:
                    item.record.reason = "not attempted: the run was interrupted before its upload started"

    def emit(self, event: Event) -> None:
        """Pass an event on, unless the run was interrupted: threads left behind must not print."""
        if not self.cancellation.cancelled:
            self._listener(event)

    def _record(self, item: PlannedFile, action: Action, reason: str, index_hash: str | None = None) -> bool:
        """Settle one file's record; False once an interrupted run has settled them all."""
        with self._lock:
            if self._settled:
                return False
            self._doing.pop(id(item), None)
            item.record.action, item.record.reason = action, reason
            if index_hash is not None:
                item.record.index_hash = index_hash
            return True

    def _now(self, item: PlannedFile, doing: str) -> None:
        """Start the next step of an upload, or raise Cancelled if the run is interrupted."""
        with self._lock:
            self.cancellation.check()
            self._doing[id(item)] = (item, doing)

    def _upload_guarded(self, item: PlannedFile) -> PublishError | None:
        if self._stop.is_set():
            return None
        self.cancellation.check()
        try:
            self._upload_one(item)
        except PublishError as exc:
            self._stop.set()
            if isinstance(exc, ConflictError):
                with self._lock:
                    self._doing.pop(id(item), None)
            elif self._record(item, "failed", str(exc)):
                reason = str(exc).removeprefix(f"{item.dist.filename}: ")
                self.emit(UploadFailedEvent(item.dist.filename, reason))
            return exc
        return None

    def _upload_one(self, item: PlannedFile) -> None:
        dist = item.dist
        fields = upload_form_fields(dist)
        retry = self.options.retry
        attempt = 0
        while True:
            attempt += 1
            self._now(item, _SENDING)
            self.emit(UploadStarted(dist.filename, dist.size))
            response: httpx.Response | None = None
            try:
                body = UploadBody(
                    dist, fields, on_progress=self._progress(dist), cancellation=self.cancellation
                )
                response = send_upload(self.client, self.repository.upload_url, body, auth=self.auth)
            except FileChangedError as exc:
                raise UploadFailed(
                    f"{dist.path}: {exc}; the server did not receive a complete file"
                ) from None
            except httpx.HTTPError as exc:
                if not is_retryable_error(exc):
                    raise UploadFailed(f"{dist.filename}: {describe_error(exc)}") from None
                problem = describe_error(exc)
            else:
                if response.is_success:
                    if self._record(item, "uploaded", "uploaded"):
                        self.emit(FileUploaded(dist.filename, dist.size))
                    return
                if response.is_redirect:
                    location = redact(response.headers.get("Location", "?"))
                    raise UploadFailed(
                        f"{dist.filename}: the upload URL redirected to {location}; uploads never follow "
                        "redirects: use the final URL as the repository URL",
                        status=response.status_code,
                    )
                problem = server_message(response, secrets_to_hide=self.repository.secrets)
                if response.status_code not in RETRYABLE_STATUS:
                    self._after_rejection(item, problem, response.status_code)
                    return
            # Retryable: the file may have landed although the answer was lost, so look before re-sending.
            if self._landed(item, after=problem):
                return
            if attempt > retry.retries:
                raise UploadFailed(f"{dist.filename}: {problem} (gave up after {attempt} tries)")
            delay = retry.delay(attempt, response)
            self._now(item, _WAITING)
            self.emit(Retrying(dist.filename, problem, attempt, delay))
            self.cancellation.sleep(delay)

    def _after_rejection(self, item: PlannedFile, problem: str, status: int) -> None:
        """The server refused the file: look at the index again before calling it a failure."""
        if self._landed(item, after=problem):
            return
        where = redact(self.repository.upload_url)
        if status in (401, 403):
            if self.auth is None:
                advice = f"{where} needs credentials and none were given"
            else:
                advice = f"check the password or token of {self.repository.username} for {where}"
            raise UploadFailed(
                f"{item.dist.filename}: authentication failed ({problem}); {advice}", status=status
            )
        if status == 405:
            raise UploadFailed(
                f"{item.dist.filename}: {problem}; is {where} the upload URL and not the simple index?",
                status=status,
            )
        raise UploadFailed(f"{item.dist.filename}: the server refused the upload: {problem}", status=status)

    def _landed(self, item: PlannedFile, *, after: str) -> bool:
        """True if the index now holds this exact file; raise ConflictError if it holds different content."""
        self._now(item, _RECHECKING)
        decision = self._recheck(item)
        retry = self.options.retry
        # A file another run is still writing is listed with the digest of its first bytes (pypiserver
        # writes in place): look again, with the retry policy's waits, before calling it a conflict.
        for attempt in range(1, retry.retries + 1):
            if not isinstance(decision, Conflict):
                break
            self.cancellation.sleep(retry.delay(attempt))
            decision = self._recheck(item)
        if decision is None or isinstance(decision, Upload):
            return False
        index_hash = f"{decision.remote.algorithm}:{decision.remote.digest}"
        if isinstance(decision, Skip) and decision.kind == "identical":
            # Another run uploaded it meanwhile, or the server stored it and its answer was lost.
            reason = f"identical file on the index after the upload attempt answered: {after}"
            if self._record(item, "skipped-identical", reason, index_hash):
                self.emit(
                    RaceResolved(
                        item.dist.filename,
                        "skipped, the index holds the identical file now (uploaded meanwhile)",
                    )
                )
            return True
        if isinstance(decision, Skip):
            # --skip-existing: another publisher's different file stays, as any existing file would.
            reason = f"another publisher uploaded it meanwhile: {decision.reason}"
            if self._record(item, "skipped-existing", reason, index_hash):
                self.emit(FileSkipped(item.dist.filename, "existing", reason, "warning"))
            return True
        reason = f"another publisher uploaded different content: {decision.reason}"
        if self._record(item, "conflict", reason, index_hash):
            self.emit(FileConflict(item.dist.filename, reason))
        raise ConflictError([item.dist.filename])

    def _recheck(self, item: PlannedFile) -> Decision | None:
        """The decision against the index as it is now; None when it cannot be read or lacks the file."""
        try:
            page = self.checker.fetch(item.dist.project)
        except PublishError:
            return None
        if page is None or not page.matching(item.dist.identity):
            return None
        return self.checker.decide(item.dist, page)

    def _progress(self, dist: Distribution) -> Callable[[int], None]:
        def report(sent: int) -> None:
            self.emit(UploadProgress(dist.filename, sent, dist.size))

        return report
