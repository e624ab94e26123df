"""The run behind ``publish()``: select, read and validate all, check the index, plan, refuse on conflict,
upload, re-check on rejection, report."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _cancel
from ._hashing import DigestPrefetch
from ._policy import Conflict, Decision, Skip, Upload
from ._report import Action, AttestationRecord, FileRecord, build_report, write_report
from ._selection import select_files
from ._text import mask_secrets
from .errors import (
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    ConflictError,
    Interrupted,
    InvalidDistribution,
    InvalidDistributions,
    ProjectsFailed,
    PublishError,
    TrustedPublishingFailed,
)
from .events import (
    AttestationsNotSent,
    CheckingIndex,
    CheckUrlDerived,
    CheckUrlOnOtherOrigin,
    Event,
    EventListener,
    FileConflict,
    FileHeldBack,
    FileIgnored,
    FileInvalid,
    FileSkipped,
    Finished,
    OverDefaultSizeLimit,
    PlainHttpCredentials,
    PlanReady,
    ReportNotWritten,
    RuleNotChecked,
    SkipKind,
    WeakHashMatch,
    ignore_events,
)
from .options import ProjectRef, PublishOptions, Repository

if TYPE_CHECKING:
    from ._attestations import Attestation
    from ._distribution import Distribution
    from ._early_connections import EarlyConnections
    from ._httpx import httpx
    from ._simple_pages import ProjectFiles
    from ._trusted_publishing import UploadCredentials
    from ._uploads import Uploader

__all__ = ["PENDING", "SKIPPED", "PlannedFile", "PublishResult", "attestations_not_sent", "publish"]

# The reason of a record whose upload has not happened yet; settled when the run ends.
PENDING = "pending upload"


@dataclass
class PlannedFile:
    """A local file, its record in the report, and the decision the check made for it."""

    dist: Distribution
    record: FileRecord
    decision: Decision | None = None
    attestations: list[Attestation] = field(default_factory=list)


@dataclass
class PublishResult:
    """What a finished run did; ``records`` hold one entry per file, in the order they were taken."""

    records: list[FileRecord]
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

    Ctrl-C (SIGINT) and SIGTERM stop the run at once: no upload, retry or index read starts after the
    signal, and ``publish()`` raises :class:`~publish_plugins.errors.Interrupted` (exit code 130 or 143)
    once the report is written. Called in the main thread, it handles both signals itself while it runs
    (unless they are ignored or handled by someone else) and restores the previous handlers afterwards.
    """
    secrets = list(repository.secrets)  # grows as the run meets secrets: a CI's OIDC token, a minted token
    run = _Run(repository, options or PublishOptions(), _masking(on_event, secrets), secrets)
    cancellation = _cancel.Cancellation()
    with _cancel.running(cancellation), _cancel.handle_signals(cancellation) as signals:
        try:
            signals.arm()
            run.execute(list(paths), project=project, dist_dir=dist_dir)
        except BaseException as exc:
            signals.disarm()  # from here a signal is only recorded: it must not cut the report short
            stopped = _interruption(exc, cancellation)
            if stopped is not None:
                cancellation.cancel(stopped)  # threads left behind start nothing new and print nothing
                run.finish(128 + stopped, interrupted=True)
                raise _interrupted_error(run, stopped) from None
            if isinstance(exc, PublishError):
                run.finish(exc.exit_code)
                # An index may echo a credential in a reason phrase or an error page: never print it.
                exc.args = tuple(
                    mask_secrets(arg, tuple(secrets)) if isinstance(arg, str) else arg for arg in exc.args
                )
                raise
            cancellation.cancel()
            run.finish(EXIT_FAILURE, interrupted=True)
            raise
        signals.disarm()
        run.finish(EXIT_OK)
    return PublishResult(run.records, run.check_url)


def _masking(listener: EventListener, secrets: list[str]) -> EventListener:
    """``listener`` receiving events whose text fields have every secret of the run masked (``secrets`` may
    grow while the run goes on)."""

    def emit(event: Event) -> None:
        if not secrets:
            listener(event)
            return
        changes: dict[str, Any] = {}
        for item in dataclasses.fields(event):
            value = getattr(event, item.name)
            if isinstance(value, str) and any(secret in value for secret in secrets):
                changes[item.name] = mask_secrets(value, tuple(secrets))
        listener(dataclasses.replace(event, **changes) if changes else event)

    return emit


def _interruption(exc: BaseException, cancellation: _cancel.Cancellation) -> int | None:
    """The signal that stopped the run, or None when ``exc`` is not (the result of) an interruption."""
    if isinstance(exc, KeyboardInterrupt):
        return signal.SIGINT
    if isinstance(exc, _cancel.Terminated):
        return exc.signum
    if cancellation.signum is not None:
        return cancellation.signum  # Cancelled, or whatever the signal caused on its way
    if isinstance(exc, _cancel.Cancelled):
        return signal.SIGINT
    return None


def _interrupted_error(run: _Run, signum: int) -> Interrupted:
    uploaded = 0 if run.options.dry_run else sum(record.action == "uploaded" for record in run.records)
    cut_off = [record.filename for record in run.records if record.reason.startswith(_cancel.CUT_OFF)]
    return Interrupted(signum, uploaded=uploaded, cut_off=cut_off)


@dataclass
class _Run:
    repository: Repository
    options: PublishOptions
    emit: EventListener
    secrets: list[str] = field(default_factory=list)  # every secret to mask in messages and the report
    records: list[FileRecord] = field(default_factory=list)
    check_url: str | None = None
    prefetch: DigestPrefetch | None = None
    early: EarlyConnections | None = None
    planned: list[PlannedFile] = field(default_factory=list)
    attestation_files: list[Path] = field(default_factory=list)  # named among the paths or in dist/
    rules: bool = False  # PyPI's upload rules apply to this run
    large: set[str] = field(default_factory=set)  # files over PyPI's default size limit: uploaded first

    def execute(self, paths: list[Path], *, project: ProjectRef | None, dist_dir: Path) -> None:
        if self.options.report_path is not None:
            # First of all: a report that cannot be written fails the run before anything is read or sent.
            from dataclasses import replace

            from ._report import check_report_path
            from .errors import UsageError

            try:
                check_report_path(self.options.report_path)
            except UsageError:
                self.options = replace(self.options, report_path=None)  # finish() must not try it again
                raise
        selection = select_files(paths, dist_dir=dist_dir, project=project)
        self.attestation_files = selection.attestations
        for path, reason in selection.ignored:
            self.records.append(FileRecord(path, Path(path).name, None, None, None, "ignored", reason))
            self.emit(FileIgnored(path, reason))
        # Hash from the start, on the other cores, while the HTTP stack and packaging load below (they are
        # imported here, not at the top, for that reason): a re-run's digests are ready when needed.
        # In upload order, so the first upload's digest is the first one ready.
        order = sorted(selection.files, key=lambda path: _upload_order(path.name))
        self.prefetch = DigestPrefetch(order, ["sha256"])
        try:
            # And connect to the index meanwhile: no request goes out before the files are read and checked.
            from ._early_connections import open_for_run

            self.early = open_for_run(self.repository, selection.files)
            _load_stack()
            self._check_and_upload(self._read_all(selection.files))
        finally:
            self.prefetch.close()
            if self.early is not None:
                self.early.close()

    def _check_and_upload(self, planned: list[PlannedFile]) -> None:
        from ._http_client import make_client
        from ._index_check import IndexChecker
        from ._uploads import Uploader
        from ._urls import redact

        with make_client(self.repository, connections=max(self.options.jobs, 8), early=self.early) as client:
            self.check_url = self._resolve_check_url(client)
            self._warn_about_transport(self.check_url)
            checker = IndexChecker(client, self.check_url, self.repository, self.options, self.emit)
            projects = sorted({item.dist.project for item in planned})
            self.emit(CheckingIndex(redact(self.check_url), tuple(projects)))
            # With the pages, the check URL is verified to be an index root: a 404 means "absent" only there.
            pages = checker.fetch_all(projects)

            def decided(index: int, decision: Decision) -> None:
                planned[index].decision = decision
                self._apply(planned[index], decision)

            checker.decide_all([(item.dist, pages[item.dist.project]) for item in planned], decided)
            from ._trusted_publishing import UploadCredentials

            credentials = UploadCredentials(
                client,
                self.repository,
                emit=self.emit,
                add_secrets=self._add_secrets,
                retry=self.options.retry,
            )
            if not self.options.per_project or len(projects) == 1:
                self._publish_unit(
                    planned,
                    pages,
                    Uploader(
                        client, self.repository, self.options, checker, self.emit, credentials=credentials
                    ),
                    credentials,
                )
                return
            # --per-project: each project is checked and uploaded as its own unit; the run fails with the
            # worst of their errors, after every project had its turn.
            failures: dict[str, PublishError] = {}
            for project in projects:
                unit = [item for item in planned if item.dist.project == project]
                uploader = Uploader(
                    client, self.repository, self.options, checker, self.emit, credentials=credentials
                )
                try:
                    self._publish_unit(unit, pages, uploader, credentials, project=project)
                except TrustedPublishingFailed:
                    raise  # no credentials for any project
                except PublishError as exc:
                    failures[project] = exc
            if failures:
                raise ProjectsFailed(failures, len(projects))

    def _publish_unit(
        self,
        planned: list[PlannedFile],
        pages: dict[str, ProjectFiles | None],
        uploader: Uploader,
        credentials: UploadCredentials,
        *,
        project: str | None = None,
    ) -> None:
        """Plan, refuse on a conflict, check the rules that need the index, upload: the run's files, or
        (``project``, with --per-project) one project's."""
        conflicts = [item for item in planned if isinstance(item.decision, Conflict)]
        uploads = [item for item in planned if isinstance(item.decision, Upload)]
        skipped = sum(isinstance(item.decision, Skip) for item in planned)
        names = tuple(item.dist.filename for item in uploads)
        existing = sum(
            isinstance(item.decision, Skip) and item.decision.kind == "existing" for item in planned
        )
        self.emit(
            PlanReady(
                names,
                skipped,
                len(conflicts),
                self.options.dry_run,
                skipped_existing=existing,
                project=project,
            )
        )
        if conflicts:
            # Every file the conflict holds back is named, whichever project it belongs to (a monorepo run
            # is one unit unless --per-project): in the output, in the report's reasons and in the error.
            first = conflicts[0].dist.filename
            for item in uploads:
                held_back = FileHeldBack(item.dist.filename, first, len(conflicts))
                item.record.reason = held_back.reason
                self.emit(held_back)
            raise ConflictError(
                [item.decision.comparison for item in conflicts if isinstance(item.decision, Conflict)],
                held_back=names,
            )
        if uploads and self.rules:
            self._release_age_problems(uploads, pages)
        if uploads and not credentials.prepared:
            # After the plan: a run that uploads nothing mints nothing; a dry run checks, mints nothing.
            credentials.prepare(mint=not self.options.dry_run)
        if self.options.dry_run:
            for item in uploads:
                item.record.action = "uploaded"
                item.record.reason = "dry run: would be uploaded, not on the index"
            return
        uploader.upload_all(uploads, first=self.large)

    def _add_secrets(self, forms: tuple[str, ...]) -> None:
        self.secrets.extend(form for form in forms if form and form not in self.secrets)

    def _read_all(self, paths: list[Path]) -> list[PlannedFile]:
        """Read and validate every file before anything is sent; collect every problem, then refuse."""
        problems: list[InvalidDistribution] = []
        seen: dict[Path, str] = {}
        for path in paths:
            key = path.resolve() if path.exists() else path.absolute()
            if key in seen:
                problems.append(InvalidDistribution(str(path), f"given more than once (as {seen[key]})"))
            seen.setdefault(key, str(path))
        from ._distribution import Distribution

        # One after the other: reading an archive's directory and metadata is Python work under the GIL,
        # so threads only add hand-offs (400 wheels of 16 KiB: 63 ms serially, 135 ms on two threads).
        results = [_read(Path(text)) for text in seen.values()]
        for result in results:
            if isinstance(result, Distribution) and self.prefetch is not None:
                result.prefetched = self.prefetch.result(result.path)
        dists = [result for result in results if isinstance(result, Distribution)]
        problems.extend(result for result in results if isinstance(result, InvalidDistribution))
        by_identity: dict[object, Distribution] = {}
        for dist in dists:
            other = by_identity.setdefault(dist.identity, dist)
            if other is not dist:
                reason = f"the same distribution as {other.path} ({dist.identity})"
                problems.append(InvalidDistribution(str(dist.path), reason))
        attestations = self._read_attestations(dists, problems) if not problems else {}
        if not problems:
            problems.extend(self._file_rule_problems(dists))
        if problems:
            self._refuse(problems)
        dists.sort(key=lambda dist: _upload_order(dist.filename))
        planned = []
        for dist in dists:
            record = FileRecord(str(dist.path), dist.filename, dist.project, dist.version, None, "failed", "")
            found = attestations.get(dist.path, [])
            record.attestations = [AttestationRecord(str(item.path), item.predicate_type) for item in found]
            self.records.append(record)
            planned.append(PlannedFile(dist, record, attestations=found))
        self.planned = planned
        return planned

    def _read_attestations(
        self, dists: list[Distribution], problems: list[InvalidDistribution]
    ) -> dict[Path, list[Attestation]]:
        """Each file's attestations, checked against it (problems to ``problems``); the attestation files
        named or found with no distribution of this run beside them are listed as ignored."""
        from ._attestations import attestation_paths, attested_filename, read_attestations

        found: dict[Path, list[Attestation]] = {}
        used: set[Path] = set()
        if self.options.attestations:
            for dist in dists:
                paths = attestation_paths(dist.path)
                used.update(path.resolve() for path in paths)
                if paths:
                    good, bad = read_attestations(
                        paths, dist_path=dist.path, filename=dist.filename, sha256=dist.sha256
                    )
                    found[dist.path] = good
                    problems.extend(bad)
        for path in self.attestation_files:
            if path.resolve() in used:
                continue
            if not self.options.attestations:
                reason = "attestations are turned off for this run"
            else:
                target = attested_filename(path)
                beside = path.parent / target if target else None
                if beside is not None and beside.is_file():
                    reason = f"an attestation of {target}, which this run does not publish"
                else:
                    reason = "an attestation with no distribution beside it"
            self.records.append(FileRecord(str(path), path.name, None, None, None, "ignored", reason))
            self.emit(FileIgnored(str(path), reason))
        return found

    def _file_rule_problems(self, dists: list[Distribution]) -> list[InvalidDistribution]:
        """The index's upload rules for each file on its own (the 14-day rule waits for the index's page);
        files over PyPI's default size limit are announced, to be uploaded first."""
        from ._rule_check import rule_problems, rules_apply, size_problems

        problems: list[InvalidDistribution] = []
        if self.options.max_file_size is not None:
            problems.extend(size_problems(dists, self.options.max_file_size))
        self.rules = rules_apply(self.options, self.repository.upload_url)
        if not self.rules:
            return problems
        from ._index_rules import DEFAULT_MAX_FILE_SIZE

        for dist in dists:
            problems.extend(rule_problems(dist))
            if self.options.max_file_size is None and dist.size > DEFAULT_MAX_FILE_SIZE:
                self.large.add(dist.filename)
                self.emit(OverDefaultSizeLimit(dist.filename, dist.size, DEFAULT_MAX_FILE_SIZE))
        return problems

    def _release_age_problems(
        self, uploads: list[PlannedFile], pages: dict[str, ProjectFiles | None]
    ) -> None:
        """PyPI's 14-day rule for the files to upload, from the upload times on the index's pages."""
        from ._rule_check import release_state, rule_problems

        problems: list[InvalidDistribution] = []
        unknown: set[str] = set()
        for item in uploads:
            page = pages.get(item.dist.project)
            if page is None:
                continue  # a new project: no release of it is old
            if not release_state(item.dist, page).upload_times_known:
                unknown.add(item.dist.project)
                continue
            for problem in rule_problems(item.dist, page):
                problems.append(problem)
                item.record.reason = problem.reason
        for project in sorted(unknown):
            self.emit(RuleNotChecked(project, "the index's page gives no upload times (PEP 700)"))
        if not problems:
            return
        for problem in problems:
            self.emit(FileInvalid(problem.path, problem.reason, alone=len(problems) == 1))
        for item in uploads:
            item.record.reason = (
                item.record.reason
                if item.record.reason != PENDING
                else ("not uploaded: another file of the run breaks the index's rules")
            )
        raise InvalidDistributions(problems)

    def _refuse(self, problems: list[InvalidDistribution]) -> None:
        # With one bad file the run's error line says the same thing: no need to print it twice.
        reasons: dict[str, list[str]] = {}
        for problem in problems:
            self.emit(FileInvalid(problem.path, problem.reason, alone=len(problems) == 1))
            reasons.setdefault(problem.path, []).append(problem.reason)
        for path, said in reasons.items():  # one record per file, with every reason
            self.records.append(
                FileRecord(path, Path(path).name, None, None, None, "failed", "; ".join(said))
            )
        raise InvalidDistributions(problems)

    def _resolve_check_url(self, client: httpx.Client) -> str:
        from ._http_client import basic_auth
        from ._urls import check_url_for, devpi_check_url, redact

        if self.repository.check_url:
            return self.repository.check_url
        derived = check_url_for(self.repository.upload_url)
        devpi = devpi_check_url(self.repository.upload_url)
        if devpi is not None and _exists(client, devpi, basic_auth(self.repository), self.repository.timeout):
            derived = devpi
        self.emit(CheckUrlDerived(redact(derived)))
        return derived

    def _warn_about_transport(self, check_url: str) -> None:
        from ._httpx import httpx
        from ._urls import is_loopback, redact, same_origin

        url = httpx.URL(self.repository.upload_url)
        if self.repository.password and url.scheme == "http" and not is_loopback(url):
            self.emit(PlainHttpCredentials(url.host))
        if not same_origin(check_url, self.repository.upload_url):
            own_credentials = bool(httpx.URL(check_url).userinfo)
            self.emit(CheckUrlOnOtherOrigin(redact(check_url), own_credentials))

    def _apply(self, item: PlannedFile, decision: Decision) -> None:
        record = item.record
        if isinstance(decision, Upload):
            record.action, record.reason = "failed", PENDING
            return
        record.index_hash = decision.comparison.index_hash
        record.reason = decision.reason
        if isinstance(decision, Skip) and decision.weak:
            self.emit(WeakHashMatch(item.dist.filename))
        if isinstance(decision, Conflict):
            record.action = "conflict"
            self.emit(FileConflict(item.dist.filename, decision.reason, decision.comparison))
        else:
            record.action = SKIPPED[decision.kind]
            self.emit(FileSkipped(item.dist.filename, decision.kind, decision.reason, decision.comparison))
            attestations_not_sent(item, self.emit)

    def finish(self, exit_code: int, *, interrupted: bool = False) -> None:
        """Settle the records, write the report if asked for, and send Finished.

        ``interrupted``: the run did not end on its own (a signal, exit 130/143): hash nothing more.
        """
        for record in self.records:
            record.reason = mask_secrets(record.reason, tuple(self.secrets))
        for item in self.planned:
            if item.record.sha256 is None:
                item.record.sha256 = item.dist.known_sha256()
            if item.record.sha256 is None and self.options.report_path is not None and not interrupted:
                # The report lists every valid file's sha256, also of files the run never needed to hash.
                with contextlib.suppress(OSError):
                    item.record.sha256 = item.dist.sha256
        signalled = exit_code in (EXIT_INTERRUPTED, EXIT_TERMINATED)
        for item in self.planned:
            if signalled and item.record.action == "failed" and not item.record.reason:
                item.record.reason = PENDING  # interrupted during the check: no decision yet
        for record in self.records:
            if record.reason == PENDING:
                stopped = "was interrupted" if signalled else "stopped"
                record.reason = f"not uploaded: the run {stopped} before uploading"
        if self.options.report_path is not None:
            try:
                from ._urls import redact

                repository_url = redact(self.repository.upload_url)
                check_url = redact(self.check_url) if self.check_url else None
            except ImportError:  # a broken install, reported already: no URL rather than one with secrets
                repository_url, check_url = "<not shown>", None
            report = build_report(
                self.records,
                repository_url=repository_url,
                check_url=check_url,
                mode=self.options.mode,
                dry_run=self.options.dry_run,
                exit_code=exit_code,
            )
            try:
                write_report(self.options.report_path, report)
            except OSError as exc:
                self.emit(ReportNotWritten(str(self.options.report_path), str(exc.strerror or exc)))
        counts = Counter(record.action for record in self.records)
        self.emit(
            Finished(
                uploaded=counts["uploaded"],
                skipped=sum(counts[action] for action in SKIPPED.values()),
                conflicts=counts["conflict"],
                failed=counts["failed"],
                ignored=counts["ignored"],
                dry_run=self.options.dry_run,
                exit_code=exit_code,
                skipped_existing=counts["skipped-existing"],
            )
        )


def attestations_not_sent(item: PlannedFile, emit: EventListener) -> None:
    """A skipped file's attestations stay unsent (the legacy API cannot attach them): say so, and why."""
    if item.attestations:
        notice = AttestationsNotSent(item.dist.filename, len(item.attestations))
        item.record.reason += f"; {notice.message.split(': ', 1)[1]}"
        emit(notice)


# The report's action for each kind of skip.
SKIPPED: dict[SkipKind, Action] = {
    "identical": "skipped-identical",
    "equivalent": "skipped-equivalent",
    "existing": "skipped-existing",
}


def _upload_order(filename: str) -> tuple[bool, str]:
    """Wheels before sdists (an sdist first would let installers build from source meanwhile), by name."""
    return (not filename.endswith(".whl"), filename)


def _load_stack() -> None:
    """Import what the run needs beyond its first steps (httpx, packaging's metadata), or say why not.

    A front end imports the core at once and reports a core that cannot load; these modules load here,
    after hashing has started, so a missing or broken dependency is reported the same way from here.
    """
    try:
        from . import _distribution, _index_check, _uploads  # noqa: F401
    except ImportError as exc:
        raise PublishError(f"publish-plugins cannot load its core: {exc}") from None


def _read(path: Path) -> Distribution | InvalidDistribution:
    from ._distribution import DistributionError, read_distribution

    try:
        dist = read_distribution(path)
    except DistributionError as exc:
        return exc.problem
    except OSError as exc:
        return InvalidDistribution(str(path), f"cannot read: {exc.strerror or exc}")
    return dist


def _exists(client: httpx.Client, url: str, auth: httpx.Auth | None, timeout: float) -> bool:
    from ._bounded import BadAnswer, read_answer
    from ._httpx import httpx

    try:
        answer = read_answer(client, "HEAD", url, headers={}, auth=auth, timeout=timeout)
    except (httpx.HTTPError, BadAnswer):
        return False
    return answer.status == 200
