"""The run: select → read and validate all → check the index → plan → refuse on conflict → upload → report."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ._httpx import httpx
from .client import make_client
from .distribution import Distribution, DistributionError, read_distribution, upload_form_fields
from .errors import (
    EXIT_FAILURE,
    EXIT_OK,
    ConflictError,
    IndexQueryError,
    InvalidDistribution,
    InvalidDistributions,
    PublishError,
    UploadFailed,
)
from .events import (
    CheckingIndex,
    EventListener,
    FileConflict,
    FileIgnored,
    FileInvalid,
    FileSkipped,
    FileUploaded,
    Finished,
    Notice,
    PlanReady,
    RaceResolved,
    Retrying,
    UploadFailedEvent,
    UploadProgress,
    UploadStarted,
    ignore_events,
)
from .hashing import CHUNK_SIZE
from .index import ProjectFiles, RemoteFile, RetryableIndexError, fetch_project_files
from .policy import Conflict, Decision, LocalFacts, RemoteFacts, Skip, Upload, decide
from .report import Action, FileRecord, build_report, write_report
from .retry import RETRYABLE_STATUS, is_retryable_error
from .selection import ProjectRef, select_files
from .settings import PublishOptions, Repository
from .upload import FileChangedError, UploadBody, send_upload, server_message
from .urls import check_url_for, devpi_check_url, is_loopback, redact, same_origin

__all__ = ["PublishResult", "publish"]

_MAX_CHECK_WORKERS = 8
_PENDING = "pending upload"
_UPLOAD_DIGESTS = ("sha256", "md5", "blake2_256")


@dataclass
class PublishResult:
    """What a finished run did; ``records`` hold one entry per file, in the order they were taken."""

    records: list[FileRecord]
    exit_code: int
    check_url: str | None = None

    def count(self, action: Action) -> int:
        return sum(1 for record in self.records if record.action == action)


def publish(
    paths: Sequence[Path],
    repository: Repository,
    options: PublishOptions | None = None,
    *,
    project: ProjectRef | None = None,
    dist_dir: Path = Path("dist"),
    on_event: EventListener = ignore_events,
) -> PublishResult:
    """Publish distributions safely; raise a PublishError (with its exit code) when the run fails.

    The report, when asked for, is written whatever the outcome, and the last event is always Finished.
    """
    run = _Run(repository, options or PublishOptions(), on_event)
    try:
        run.execute(list(paths), project=project, dist_dir=dist_dir)
    except PublishError as exc:
        run.finish(exc.exit_code)
        raise
    except BaseException:
        run.finish(EXIT_FAILURE)
        raise
    run.finish(EXIT_OK)
    return PublishResult(run.records, EXIT_OK, run.check_url)


@dataclass
class _Planned:
    dist: Distribution
    record: FileRecord
    decision: Decision | None = None


@dataclass
class _Run:
    repository: Repository
    options: PublishOptions
    emit: EventListener
    records: list[FileRecord] = field(default_factory=list)
    check_url: str | None = None
    _client: httpx.Client | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)

    # ---- the steps -------------------------------------------------------------------------------------

    def execute(self, paths: list[Path], *, project: ProjectRef | None, dist_dir: Path) -> None:
        selection = select_files(paths, dist_dir=dist_dir, project=project)
        for path, reason in selection.ignored:
            self.records.append(FileRecord(path, Path(path).name, None, None, None, "ignored", reason))
            self.emit(FileIgnored(path, reason))
        planned = self._read_all(selection.files)
        with make_client(self.repository, connections=max(self.options.jobs, _MAX_CHECK_WORKERS)) as client:
            self._client = client
            self.check_url = self._resolve_check_url()
            self._warn_about_transport()
            pages = self._check_all(planned)
            self._plan(planned, pages)
            conflicts = [item for item in planned if isinstance(item.decision, Conflict)]
            uploads = [item for item in planned if isinstance(item.decision, Upload)]
            skipped = sum(isinstance(item.decision, Skip) for item in planned)
            self.emit(
                PlanReady(
                    tuple(i.dist.filename for i in uploads), skipped, len(conflicts), self.options.dry_run
                )
            )
            if conflicts:
                raise ConflictError([item.dist.filename for item in conflicts])
            if self.options.dry_run:
                for item in uploads:
                    item.record.action, item.record.reason = (
                        "uploaded",
                        "dry run: would be uploaded, not on the index",
                    )
                return
            self._upload_all(uploads)

    def _read_all(self, paths: list[Path]) -> list[_Planned]:
        problems: list[InvalidDistribution] = []
        seen_paths: dict[Path, str] = {}
        for path in paths:
            key = path.resolve() if path.exists() else path.absolute()
            if key in seen_paths:
                problems.append(
                    InvalidDistribution(str(path), f"given more than once (as {seen_paths[key]})")
                )
            seen_paths.setdefault(key, str(path))
        unique = list(dict.fromkeys(seen_paths))
        originals = [Path(seen_paths[key]) for key in unique]

        def read(path: Path) -> Distribution | InvalidDistribution:
            try:
                dist = read_distribution(path)
                dist.digests(["sha256"])
            except DistributionError as exc:
                return exc.problem
            except OSError as exc:
                return InvalidDistribution(str(path), f"cannot read: {exc.strerror or exc}")
            return dist

        with ThreadPoolExecutor(max_workers=min(4, max(1, len(originals)))) as pool:
            results = list(pool.map(read, originals))
        dists = [result for result in results if isinstance(result, Distribution)]
        problems.extend(result for result in results if isinstance(result, InvalidDistribution))
        by_identity: dict[object, Distribution] = {}
        for dist in dists:
            other = by_identity.setdefault(dist.identity, dist)
            if other is not dist:
                problems.append(
                    InvalidDistribution(
                        str(dist.path), f"the same distribution as {other.path} ({dist.identity})"
                    )
                )
        if problems:
            for problem in problems:
                self.emit(FileInvalid(problem.path, problem.reason))
                self.records.append(
                    FileRecord(
                        problem.path, Path(problem.path).name, None, None, None, "failed", problem.reason
                    )
                )
            raise InvalidDistributions(problems)
        # Wheels before sdists (an sdist first would let installers build from source meanwhile).
        dists.sort(key=lambda d: (d.filetype == "sdist", d.filename))
        planned = []
        for dist in dists:
            record = FileRecord(
                str(dist.path), dist.filename, dist.project, dist.version, dist.sha256, "failed", ""
            )
            self.records.append(record)
            planned.append(_Planned(dist, record))
        return planned

    def _resolve_check_url(self) -> str:
        if self.repository.check_url:
            return self.repository.check_url
        derived = check_url_for(self.repository.upload_url)
        devpi = devpi_check_url(self.repository.upload_url)
        if devpi is not None and self._exists(devpi):
            derived = devpi
        self.emit(Notice(f"checking the index at {redact(derived)} (derived from the upload URL)", "debug"))
        return derived

    def _exists(self, url: str) -> bool:
        try:
            response = self._http.head(
                url, auth=self._auth or httpx.USE_CLIENT_DEFAULT, follow_redirects=False
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    def _warn_about_transport(self) -> None:
        url = httpx.URL(self.repository.upload_url)
        if self.repository.password and url.scheme == "http" and not is_loopback(url):
            self.emit(
                Notice(
                    f"credentials will be sent over plain HTTP to {url.host}: "
                    "anyone on the network can read them; "
                    "use https",
                    "warning",
                )
            )
        if self.check_url and not same_origin(self.check_url, self.repository.upload_url):
            own = (
                "with the credentials in its URL"
                if httpx.URL(self.check_url).userinfo
                else "without credentials"
            )
            self.emit(
                Notice(
                    f"the check URL {redact(self.check_url)} is on another origin than the upload URL: "
                    f"it is read {own}",
                    "debug",
                )
            )

    def _check_all(self, planned: list[_Planned]) -> dict[str, ProjectFiles | None]:
        projects = sorted({item.dist.project for item in planned})
        self.emit(CheckingIndex(redact(self._check_url), tuple(projects)))
        workers = min(_MAX_CHECK_WORKERS, len(projects))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="publish-plugins-check") as pool:
            pages = list(pool.map(self._fetch_project, projects))
        return dict(zip(projects, pages, strict=True))

    def _plan(self, planned: list[_Planned], pages: dict[str, ProjectFiles | None]) -> None:
        for item in planned:
            page = pages[item.dist.project]
            item.decision = self._decide(item.dist, page)
            self._apply(item, item.decision)

    def _decide(self, dist: Distribution, page: ProjectFiles | None) -> Decision:
        remote = page.matching(dist.identity) if page else []
        facts = [self._remote_facts(entry) for entry in remote]
        local = LocalFacts(dist.filename, dist.digests({fact.algorithm for fact in facts} | {"sha256"}))
        decision = decide(local, facts, self.options.mode)
        if isinstance(decision, Skip) and decision.weak:
            self.emit(
                Notice(f"{dist.filename}: the index lists only an md5 digest; the match is weak", "warning")
            )
        return decision

    def _apply(self, item: _Planned, decision: Decision) -> None:
        record = item.record
        if isinstance(decision, Upload):
            record.action, record.reason = "failed", _PENDING
            return
        record.index_hash = f"{decision.remote.algorithm}:{decision.remote.digest}"
        record.reason = decision.reason
        if isinstance(decision, Skip):
            record.action = "skipped-identical" if decision.kind == "identical" else "skipped-existing"
            if decision.kind == "existing":
                self.emit(FileSkipped(item.dist.filename, decision.kind, decision.reason, "warning"))
            else:
                self.emit(FileSkipped(item.dist.filename, decision.kind, decision.reason))
        else:
            record.action = "conflict"
            self.emit(FileConflict(item.dist.filename, decision.reason))

    def _remote_facts(self, remote: RemoteFile) -> RemoteFacts:
        listed = remote.strongest_hash
        if listed is not None:
            return RemoteFacts(remote.filename, *listed)
        # The index lists no usable hash: read its copy and hash that; never decide on the name alone.
        self.emit(
            Notice(f"{remote.filename}: the index lists no hash; downloading its copy to compare", "info")
        )
        return RemoteFacts(remote.filename, "sha256", self._download_sha256(remote))

    # ---- uploading ---------------------------------------------------------------------------------

    def _upload_all(self, uploads: list[_Planned]) -> None:
        wheels = [item for item in uploads if item.dist.filetype == "bdist_wheel"]
        sdists = [item for item in uploads if item.dist.filetype == "sdist"]
        failures: list[PublishError] = []
        # The upload form needs md5 and blake2 as well; hash the next files while earlier ones are sent.
        prefetch = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-plugins-digests")
        for item in [*wheels, *sdists]:
            prefetch.submit(item.dist.digests, _UPLOAD_DIGESTS)
        try:
            for batch in (wheels, sdists):
                if not batch or self._stop.is_set():
                    continue
                with ThreadPoolExecutor(max_workers=max(1, self.options.jobs)) as pool:
                    for error in pool.map(self._upload_guarded, batch):
                        if error is not None:
                            failures.append(error)
        finally:
            prefetch.shutdown(wait=True, cancel_futures=True)
        for item in uploads:
            if item.record.reason == _PENDING:
                item.record.reason = "not attempted: the run stopped after an earlier failure"
        if failures:
            conflicts = [error for error in failures if isinstance(error, ConflictError)]
            uploaded = sum(1 for item in uploads if item.record.action == "uploaded")
            if conflicts:
                names = [name for error in conflicts for name in error.filenames]
                raise ConflictError(names, uploaded_before=uploaded)
            first = failures[0]
            if len(failures) == 1:
                raise first
            raise UploadFailed(f"{len(failures)} uploads failed; the first: {first}")

    def _upload_guarded(self, item: _Planned) -> PublishError | None:
        if self._stop.is_set():
            return None
        try:
            self._upload_one(item)
        except PublishError as exc:
            self._stop.set()
            if not isinstance(exc, ConflictError):
                item.record.action, item.record.reason = "failed", str(exc)
                reason = str(exc).removeprefix(f"{item.dist.filename}: ")
                self.emit(UploadFailedEvent(item.dist.filename, reason))
            return exc
        return None

    def _upload_one(self, item: _Planned) -> None:
        dist = item.dist
        digests = dist.digests(_UPLOAD_DIGESTS)
        fields = upload_form_fields(dist, digests)
        retry = self.options.retry
        attempt = 0
        while True:
            attempt += 1
            self.emit(UploadStarted(dist.filename, dist.size))
            problem: str
            response: httpx.Response | None = None
            try:
                body = UploadBody(dist, fields, on_progress=self._progress(dist))
                response = send_upload(self._http, self.repository.upload_url, body, auth=self._auth)
            except FileChangedError as exc:
                raise UploadFailed(
                    f"{dist.path}: {exc}; the server did not receive a complete file"
                ) from None
            except httpx.HTTPError as exc:
                if not is_retryable_error(exc):
                    raise UploadFailed(f"{dist.filename}: {_describe(exc)}") from None
                problem = _describe(exc)
            else:
                if response.is_success:
                    item.record.action, item.record.reason = "uploaded", "uploaded"
                    self.emit(FileUploaded(dist.filename, dist.size))
                    return
                if response.is_redirect:
                    location = redact(response.headers.get("Location", "?"))
                    raise UploadFailed(
                        f"{dist.filename}: the upload URL redirected to {location}; uploads never follow "
                        "redirects: use the final URL as the repository URL",
                        status=response.status_code,
                    )
                problem = server_message(response, secrets_to_hide=self._secrets)
                if response.status_code not in RETRYABLE_STATUS:
                    self._after_rejection(item, problem, response.status_code)
                    return
            # Retryable: the file may have landed although the answer was lost, so look before re-sending.
            if self._landed(item, after=problem):
                return
            if attempt > retry.retries:
                raise UploadFailed(f"{dist.filename}: {problem} (gave up after {attempt} tries)")
            delay = retry.delay(attempt, response)
            self.emit(Retrying(dist.filename, problem, attempt, delay))
            time.sleep(delay)

    def _after_rejection(self, item: _Planned, problem: str, status: int) -> None:
        """The server refused the file: look at the index again before calling it a failure."""
        if self._landed(item, after=problem):
            return
        if status in (401, 403):
            if self._auth is None:
                advice = "the index needs credentials and none were given"
            else:
                advice = "check the username and password or token"
            raise UploadFailed(
                f"{item.dist.filename}: authentication failed ({problem}); {advice}",
                status=status,
            )
        if status == 405:
            raise UploadFailed(
                f"{item.dist.filename}: {problem}; is {redact(self.repository.upload_url)} the upload URL "
                "and not the simple index?",
                status=status,
            )
        raise UploadFailed(f"{item.dist.filename}: the server refused the upload: {problem}", status=status)

    def _landed(self, item: _Planned, *, after: str) -> bool:
        """True if the index now holds this exact file; raise ConflictError if it holds different content."""
        try:
            page = self._fetch_project(item.dist.project)
        except IndexQueryError:
            return False
        if page is None or not page.matching(item.dist.identity):
            return False
        decision = self._decide(item.dist, page)
        if isinstance(decision, Skip) and decision.kind == "identical":
            item.record.action = "skipped-identical"
            # Another run uploaded it meanwhile, or the server stored it and its answer was lost.
            item.record.reason = f"identical file on the index after the upload attempt answered: {after}"
            item.record.index_hash = f"{decision.remote.algorithm}:{decision.remote.digest}"
            self.emit(
                RaceResolved(
                    item.dist.filename, "skipped, the index holds the identical file now (uploaded meanwhile)"
                )
            )
            return True
        if isinstance(decision, Upload):
            return False
        item.record.action = "conflict"
        item.record.reason = f"another publisher uploaded different content: {decision.reason}"
        item.record.index_hash = f"{decision.remote.algorithm}:{decision.remote.digest}"
        self.emit(FileConflict(item.dist.filename, item.record.reason))
        raise ConflictError([item.dist.filename])

    def _progress(self, dist: Distribution) -> Callable[[int], None]:
        def report(sent: int) -> None:
            self.emit(UploadProgress(dist.filename, sent, dist.size))

        return report

    # ---- index access --------------------------------------------------------------------------------

    def _fetch_project(self, project: str) -> ProjectFiles | None:
        retry = self.options.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                return fetch_project_files(
                    self._http,
                    self._check_url,
                    project,
                    auth=self._auth,
                    auth_origin=self.repository.upload_url,
                )
            except RetryableIndexError as exc:
                if attempt > retry.retries:
                    raise IndexQueryError(f"{exc} (gave up after {attempt} tries)") from None
                delay = retry.delay(attempt, exc.response)
                self.emit(Retrying(f"checking {project}", str(exc), attempt, delay))
                time.sleep(delay)

    def _download_sha256(self, remote: RemoteFile) -> str:
        auth = self._auth if same_origin(remote.url, self.repository.upload_url) else None
        digest = hashlib.sha256()
        try:
            with self._http.stream(
                "GET",
                remote.url,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                follow_redirects=True,
            ) as response:
                if response.status_code != 200:
                    raise IndexQueryError(
                        f"cannot download {remote.filename} from the index to compare it: "
                        f"{response.status_code} {response.reason_phrase}"
                    )
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    digest.update(chunk)
        except httpx.HTTPError as exc:
            raise IndexQueryError(
                f"cannot download {remote.filename} from the index: {_describe(exc)}"
            ) from None
        return digest.hexdigest()

    @property
    def _http(self) -> httpx.Client:
        if self._client is None:
            raise RuntimeError("the HTTP client is used outside the run")
        return self._client

    @property
    def _check_url(self) -> str:
        if self.check_url is None:
            raise RuntimeError("the check URL is used before it is resolved")
        return self.check_url

    @property
    def _auth(self) -> httpx.Auth | None:
        # A user name without a password is no credential: send nothing rather than "user:" with an empty one.
        if self.repository.password is None:
            return None
        return httpx.BasicAuth(self.repository.username or "", self.repository.password or "")

    @property
    def _secrets(self) -> tuple[str, ...]:
        return self.repository.secrets

    # ---- the end --------------------------------------------------------------------------------------

    def finish(self, exit_code: int) -> None:
        for record in self.records:
            if record.reason == _PENDING:
                record.reason = "not uploaded: the run stopped before uploading"
        counts = Counter(record.action for record in self.records)
        if self.options.report_path is not None:
            report = build_report(
                self.records,
                repository_url=redact(self.repository.upload_url),
                check_url=redact(self.check_url) if self.check_url else None,
                mode=self.options.mode,
                dry_run=self.options.dry_run,
                exit_code=exit_code,
            )
            try:
                write_report(self.options.report_path, report)
            except OSError as exc:
                self.emit(
                    Notice(f"{self.options.report_path}: cannot write the report: {exc.strerror}", "error")
                )
        self.emit(
            Finished(
                uploaded=counts["uploaded"],
                skipped=counts["skipped-identical"] + counts["skipped-existing"],
                conflicts=counts["conflict"],
                failed=counts["failed"],
                ignored=counts["ignored"],
                dry_run=self.options.dry_run,
                exit_code=exit_code,
            )
        )


def _describe(exc: httpx.HTTPError) -> str:
    kind = {
        httpx.ConnectError: "cannot connect",
        httpx.ConnectTimeout: "connection timed out",
        httpx.ReadTimeout: "the server did not answer in time",
        httpx.WriteTimeout: "sending timed out",
        httpx.PoolTimeout: "no free connection in time",
        httpx.RemoteProtocolError: "the connection broke",
        httpx.ReadError: "the connection broke while reading the answer",
        httpx.WriteError: "the connection broke while sending",
    }
    for cls, text in kind.items():
        if type(exc) is cls:
            detail = " ".join(str(exc).split())
            return f"{text} ({detail})" if detail else text
    return " ".join(str(exc).split()) or type(exc).__name__
