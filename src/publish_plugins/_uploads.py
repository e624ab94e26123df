"""Uploading the planned files: wheels first, bounded parallel, retries, and a look at the index after any
failure, because an index's answer alone does not tell whether the file is there.

Ctrl-C and SIGTERM (the run's cancellation, see ``_cancel``) stop at once: no upload, retry or second look
starts afterwards, waits end, a body being sent is cut off, and the records say which files went up and
which upload was in flight when the signal came.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import NoReturn

from . import _cancel
from ._attestations import form_value
from ._distribution import Distribution, upload_form_fields
from ._http_client import basic_auth, describe_error
from ._httpx import httpx
from ._index_check import IndexChecker
from ._policy import Conflict, Decision, Skip, Upload
from ._report import Action
from ._retry import RETRYABLE_STATUS, Retrier, TryAgain, is_retryable_error
from ._run import PENDING, PlannedFile, attestations_not_sent
from ._trusted_publishing import UploadCredentials
from ._upload_request import FileChangedError, UploadBody, send_upload, server_message
from ._urls import redact
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
from .options import PublishOptions, Repository

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
        *,
        credentials: UploadCredentials | None = None,
    ) -> None:
        self.client = client
        self.repository = repository
        self.options = options
        self.checker = checker
        self._listener = emit
        self.credentials = credentials
        self._stop = threading.Event()
        self.cancellation = _cancel.current()
        # Records are settled under this lock; once an interrupted run has settled them (and may be writing
        # its report), threads left behind change nothing any more.
        self._lock = threading.Lock()
        self._settled = False
        self._doing: dict[int, tuple[PlannedFile, str]] = {}  # id(item): what its upload is doing now

    def upload_all(self, uploads: list[PlannedFile], *, first: Collection[str] = ()) -> None:
        """Upload the files named in ``first`` (over the index's default size limit: a refusal comes before
        the rest of the release is published), then wheels, then sdists; raise the run's error after the
        last upload in flight finished."""
        large = [item for item in uploads if item.dist.filename in first]
        rest = [item for item in uploads if item.dist.filename not in first]
        wheels = [item for item in rest if item.dist.filetype == "bdist_wheel"]
        sdists = [item for item in rest if item.dist.filetype == "sdist"]
        failures: list[PublishError] = []
        try:
            for batch in (large, wheels, sdists):
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
                [item for error in conflicts for item in error.conflicts or error.filenames],
                uploaded_before=uploaded,
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
                status = exc.status if isinstance(exc, UploadFailed) else None
                message = exc.server_message if isinstance(exc, UploadFailed) else None
                self.emit(UploadFailedEvent(item.dist.filename, reason, status, message))
            return exc
        return None

    def _auth(self) -> httpx.Auth | None:
        # Per attempt: a minted token is renewed before it expires (trusted publishing).
        return self.credentials.auth() if self.credentials is not None else basic_auth(self.repository)

    def _upload_one(self, item: PlannedFile) -> None:
        dist = item.dist
        fields = upload_form_fields(dist)
        if item.attestations:
            fields.append(("attestations", form_value(item.attestations)))

        def send(_tries: int) -> None:
            self._now(item, _SENDING)
            self.emit(UploadStarted(dist.filename, dist.size))
            response: httpx.Response | None = None
            try:
                body = UploadBody(
                    dist, fields, on_progress=self._progress(dist), cancellation=self.cancellation
                )
                response = send_upload(self.client, self.repository.upload_url, body, auth=self._auth())
            except FileChangedError as exc:
                raise UploadFailed(
                    f"{dist.path}: {exc}; the server did not receive a complete file", filename=dist.filename
                ) from None
            except httpx.HTTPError as exc:
                if not is_retryable_error(exc):
                    raise UploadFailed(
                        f"{dist.filename}: {describe_error(exc)}", filename=dist.filename
                    ) from None
                problem = describe_error(exc)
            else:
                if response.is_success:
                    if self._record(item, "uploaded", "uploaded"):
                        for attestation in item.record.attestations:
                            attestation.sent = True
                        self.emit(FileUploaded(dist.filename, dist.size, len(item.attestations)))
                    return
                if response.is_redirect:
                    location = redact(response.headers.get("Location", "?"))
                    raise UploadFailed(
                        f"{dist.filename}: the upload URL redirected to {location}; uploads never follow "
                        "redirects: use the final URL as the repository URL",
                        status=response.status_code,
                        filename=dist.filename,
                    )
                problem = server_message(response, secrets_to_hide=self.repository.secrets)
                if response.status_code not in RETRYABLE_STATUS:
                    self._after_rejection(item, problem, response.status_code)
                    return
            # Retryable: the file may have landed although the answer was lost, so look before re-sending.
            if self._landed(item, after=problem):
                return
            raise TryAgain(problem, response)

        def give_up(last: TryAgain, tries: int) -> NoReturn:
            # The last try's problem: the server's answer (a 5xx, a 429) or a broken connection.
            answer = last.answer if isinstance(last.answer, httpx.Response) else None
            raise UploadFailed(
                f"{dist.filename}: {last.reason} (gave up after {tries} tries)",
                status=answer.status_code if answer is not None else None,
                filename=dist.filename,
                server_message=last.reason if answer is not None else None,
            )

        def announce(again: TryAgain, tries: int, delay: float) -> None:
            self._now(item, _WAITING)
            self.emit(Retrying(dist.filename, again.reason, tries, delay))

        self._retrier().run(send, give_up=give_up, before_wait=announce)

    def _after_rejection(self, item: PlannedFile, problem: str, status: int) -> None:
        """The server refused the file: look at the index again before calling it a failure."""
        if self._landed(item, after=problem):
            return
        where = redact(self.repository.upload_url)
        name = item.dist.filename
        if status in (401, 403):
            credentials = self.credentials
            if credentials is not None and credentials.minted:
                advice = f"{where} refused the upload token minted by trusted publishing"
            elif basic_auth(self.repository) is None:
                advice = f"{where} needs credentials and none were given"
                if credentials is not None and credentials.not_used:
                    advice += f" (trusted publishing not used: {credentials.not_used})"
            else:
                advice = f"check the password or token of {self.repository.username} for {where}"
            raise UploadFailed(
                f"{name}: authentication failed ({problem}); {advice}",
                status=status,
                filename=name,
                server_message=problem,
            )
        if status == 405:
            raise UploadFailed(
                f"{name}: {problem}; is {where} the upload URL and not the simple index?",
                status=status,
                filename=name,
                server_message=problem,
            )
        raise UploadFailed(
            f"{name}: the server refused the upload: {problem}",
            status=status,
            filename=name,
            server_message=problem,
        )

    def _landed(self, item: PlannedFile, *, after: str) -> bool:
        """True if the index now holds this exact file; raise ConflictError if it holds different content."""
        self._now(item, _RECHECKING)
        # A file another run is still writing is listed with the digest of its first bytes (pypiserver
        # writes in place): look again, with the retry policy's waits, before calling it a conflict.
        decision = self._retrier().poll(
            lambda: self._recheck(item), until=lambda decision: not isinstance(decision, Conflict)
        )
        if decision is None or isinstance(decision, Upload):
            return False
        index_hash = decision.comparison.index_hash
        if isinstance(decision, Skip) and decision.kind == "equivalent":
            # Another run uploaded a build of the same files meanwhile (or the server stored ours and the
            # index shows it repacked): the same files are on the index, as a re-run would find them.
            reason = f"{decision.reason}, on the index after the upload attempt answered: {after}"
            if self._record(item, "skipped-equivalent", reason, index_hash):
                self.emit(
                    RaceResolved(
                        item.dist.filename,
                        "skipped, the index holds an equivalent file now (uploaded meanwhile)",
                    )
                )
                attestations_not_sent(item, self.emit)
            return True
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
                attestations_not_sent(item, self.emit)
            return True
        if isinstance(decision, Skip):
            # --skip-existing: another publisher's different file stays, as any existing file would.
            reason = f"another publisher uploaded it meanwhile: {decision.reason}"
            if self._record(item, "skipped-existing", reason, index_hash):
                self.emit(FileSkipped(item.dist.filename, "existing", reason, decision.comparison))
                attestations_not_sent(item, self.emit)
            return True
        reason = f"another publisher uploaded different content: {decision.reason}"
        if self._record(item, "conflict", reason, index_hash):
            self.emit(FileConflict(item.dist.filename, reason, decision.comparison))
        raise ConflictError([decision.comparison])

    def _retrier(self) -> Retrier:
        return Retrier(self.options.retry, cancellation=self.cancellation)

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
