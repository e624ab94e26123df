"""The index check of a run: one page per project (retried), the index's hashes, a decision per file."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn, TypeVar

from . import _cancel
from ._bounded import BadAnswer, BodyTooLarge, read_answer
from ._distribution import Distribution
from ._hashing import Hasher, new_hasher
from ._http_client import basic_auth, describe_error
from ._httpx import httpx
from ._policy import Conflict, Decision, LocalFacts, RemoteFacts, Skip, decide
from ._retry import Retrier, TryAgain
from ._simple_index import (
    ProjectFiles,
    RemoteFile,
    RetryableIndexError,
    RootListing,
    fetch_project_files,
    resolve_location,
    serves_a_root,
    verify_index_root,
)
from ._text import clean_server_text
from ._urls import KNOWN_SIMPLE_ROOTS, redact, same_origin
from .errors import IndexQueryError
from .events import (
    ComparingContents,
    DownloadingToCompare,
    EventListener,
    ProjectForwarded,
    Retrying,
    RootlessIndex,
    WeakHashMatch,
)
from .options import PublishOptions, Repository

__all__ = ["IndexChecker"]

_MAX_CHECK_WORKERS = 8
_T = TypeVar("_T")
_MAX_DOWNLOAD_REDIRECTS = 5
# A file the index lists without a hash is downloaded to hash it; no distribution on PyPI comes near this.
MAX_DOWNLOAD_BYTES = 4 * 1024**3


class _CopyTooLarge(Exception):
    """The index's copy is larger than the bound it was downloaded with."""


class IndexChecker:
    """Reads the index at ``check_url`` for one run; credentials go only to the upload URL's origin."""

    def __init__(
        self,
        client: httpx.Client,
        check_url: str,
        repository: Repository,
        options: PublishOptions,
        emit: EventListener,
    ) -> None:
        self.client = client
        self.check_url = check_url
        self.repository = repository
        self.options = options
        self.emit = emit
        self.auth = basic_auth(repository)
        self._root: RootListing | None = None
        self._root_lock = threading.Lock()

    def fetch_all(self, projects: Sequence[str]) -> dict[str, ProjectFiles | None]:
        """Every project's page, read concurrently: one request per project, not per file.

        The check URL is verified (:meth:`verify_root`) alongside, so that it costs no round trip of its
        own; no page is used before it is verified, as this returns only when all are read, and a bad
        check URL is the error reported first.
        """
        tasks: list[str | None] = [None, *projects]  # None: the root
        workers = max(1, min(_MAX_CHECK_WORKERS, len(tasks)))
        # Daemon threads that start nothing once the run is interrupted.
        pages = _cancel.map_in_threads(
            lambda task: self.verify_root() if task is None else self.fetch(task),
            tasks,
            workers=workers,
            cancellation=_cancel.current(),
            name="publish-plugins-check",
        )
        return dict(zip(projects, pages[1:], strict=True))

    def verify_root(self) -> None:
        """Make sure the check URL is a simple index root before any 404 is taken as "absent"."""
        if self.check_url in KNOWN_SIMPLE_ROOTS:
            return  # PyPI's and TestPyPI's roots: known, and 30 MB each
        if not serves_a_root(self.check_url):
            self.emit(RootlessIndex(self.check_url))
            return
        self._root = self._read_root(whole=False)

    def _read_root(self, *, whole: bool) -> RootListing:
        return self._retrying(
            "checking the check URL",
            lambda: verify_index_root(
                self.client,
                self.check_url,
                auth=self.auth,
                auth_origin=self.repository.upload_url,
                timeout=self.repository.timeout,
                whole=whole,
            ),
        )

    def fetch(self, project: str) -> ProjectFiles | None:
        """One project's page; connection trouble, 429 and 5xx are retried with the run's policy."""
        return self._retrying(
            f"checking {project}",
            lambda: fetch_project_files(
                self.client,
                self.check_url,
                project,
                auth=self.auth,
                auth_origin=self.repository.upload_url,
                timeout=self.repository.timeout,
                forwarded=self._forwarded,
            ),
        )

    def _retrying(self, what: str, call: Callable[[], _T]) -> _T:
        def attempt(_tries: int) -> _T:
            try:
                return call()
            except RetryableIndexError as exc:
                raise TryAgain(str(exc), exc.response) from None

        def give_up(last: TryAgain, tries: int) -> NoReturn:
            raise IndexQueryError(f"{last.reason} (gave up after {tries} tries)") from None

        def announce(again: TryAgain, tries: int, delay: float) -> None:
            self.emit(Retrying(what, again.reason, tries, delay))

        return Retrier(self.options.retry).run(attempt, give_up=give_up, before_wait=announce)

    def _forwarded(self, project: str, target: str) -> None:
        """The index sends ``project`` to another index's page: absent only if its root does not list it."""
        if self.check_url in KNOWN_SIMPLE_ROOTS:
            raise IndexQueryError(f"{self.check_url} redirected {project} to another origin ({target})")
        with self._root_lock:
            if self._root is None or self._root.projects is None:
                self._root = self._read_root(whole=True)
            projects = self._root.projects
        if projects is None:  # a whole read always lists them; never guess "not listed"
            raise IndexQueryError(f"cannot read the project list of {redact(self.check_url)}")
        listed = project in projects
        if listed:
            raise IndexQueryError(
                f"the index lists {project} but sends its page to another origin ({target}); refusing to "
                "take that page as the index's: pass the index's own simple URL as --check-url"
            )
        self.emit(ProjectForwarded(project, target))

    def decide(self, dist: Distribution, page: ProjectFiles | None) -> Decision:
        """The policy's decision for one local file against what the page lists with its identity."""
        decision, comparable = self._by_digest(dist, page)
        if isinstance(decision, Skip) and decision.weak:
            self.emit(WeakHashMatch(dist.filename))
        return decision if comparable is None else self._equivalent(dist, *comparable)

    def decide_all(
        self,
        files: Sequence[tuple[Distribution, ProjectFiles | None]],
        on_decided: Callable[[int, Decision], None],
    ) -> None:
        """:meth:`decide` for every file, each decision passed to ``on_decided`` in the files' order, as
        soon as it and those before it are made, so that each file's lines stay together. The index's
        copies that conflicting files are compared with (equivalent archives) are downloaded concurrently
        once every digest is compared, as the pages were read; the files from the first of them on are
        decided then. The caller tells of a weak match (:class:`WeakHashMatch`) with the file's decision.
        """
        first: list[tuple[Decision, tuple[Conflict, RemoteFile] | None]] = []
        told = 0
        for dist, page in files:
            first.append(self._by_digest(dist, page))
            while told < len(first) and first[told][1] is None:
                on_decided(told, first[told][0])
                told += 1
        to_compare = [(index, comparable) for index, (_, comparable) in enumerate(first) if comparable]

        def compare(item: tuple[int, tuple[Conflict, RemoteFile]]) -> Decision:
            index, comparable = item
            return self._equivalent(files[index][0], *comparable)

        compared = dict(
            zip(
                (index for index, _comparable in to_compare),
                _cancel.map_in_threads(
                    compare,
                    to_compare,
                    workers=max(1, min(_MAX_CHECK_WORKERS, len(to_compare))),
                    cancellation=_cancel.current(),
                    name="publish-plugins-compare",
                ),
                strict=True,
            )
        )
        for index in range(told, len(files)):
            on_decided(index, compared.get(index, first[index][0]))

    def _by_digest(
        self, dist: Distribution, page: ProjectFiles | None
    ) -> tuple[Decision, tuple[Conflict, RemoteFile] | None]:
        """The decision from the digests alone, and when it is a conflict the archives' contents may
        resolve, that conflict and the index's file to compare with (:meth:`_equivalent`)."""
        remote = page.matching(dist.identity) if page else []
        if not remote:
            # Nothing to compare with: the digest is not needed yet (the upload computes or takes it then).
            return decide(LocalFacts(dist.filename, {}), [], self.options.mode), None
        facts = [self._remote_facts(entry) for entry in remote]
        local = LocalFacts(dist.filename, dist.digests({fact.algorithm for fact in facts} | {"sha256"}))
        decision = decide(local, facts, self.options.mode)
        # Only in strict mode (--skip-existing keeps the index's file anyway: nothing to download), only for
        # one file of that name listed once (an ambiguous listing stays a conflict), and unless
        # byte-identical files are required (--require-identical).
        same_name = [entry for entry in remote if entry.filename == dist.filename]
        if self.options.require_identical or len(same_name) != 1 or not isinstance(decision, Conflict):
            return decision, None
        return decision, (decision, same_name[0])

    def _equivalent(self, dist: Distribution, decision: Conflict, remote: RemoteFile) -> Decision:
        """A conflict under the same name: none when the archives hold the same files ("equivalent").

        The index's copy is downloaded no further than the local archive's contents could fill, checked
        against the digest the index lists, and compared member by member. Whatever keeps the comparison
        from being made leaves the conflict as it is, with the reason.
        """
        comparison = decision.comparison
        self.emit(ComparingContents(dist.filename))
        from ._archive_contents import ArchiveError, compare_with, read_local

        try:
            local = read_local(dist.path, kind=dist.identity.kind)
        except ArchiveError as exc:
            return Conflict(f"{decision.reason}: cannot be compared ({exc})", comparison)
        with tempfile.TemporaryDirectory(prefix="publish-plugins-") as folder:
            copy = Path(folder) / "index-copy"
            difference: str | None
            try:
                with copy.open("wb") as stream:

                    def restart() -> None:  # each redirect hop writes the copy afresh
                        stream.seek(0)
                        stream.truncate()

                    listed = self._download(
                        remote,
                        stream.write,
                        comparison.algorithm,
                        max_bytes=local.copy_bound,
                        restart=restart,
                    )
            except _CopyTooLarge:
                difference = "the index's copy is larger than the local file's contents"
            except IndexQueryError as exc:
                difference = f"the index's copy could not be compared ({exc})"
            else:
                if listed != comparison.index_digest:
                    # Being written (pypiserver writes in place) or served inconsistently: not comparable,
                    # so the conflict stands (never turned into a skip on a copy that is not the listed one).
                    algorithm = comparison.algorithm
                    difference = f"the index's copy does not match the {algorithm} digest its page lists"
                else:
                    try:
                        difference = compare_with(local, copy, kind=dist.identity.kind)
                    except ArchiveError as exc:
                        difference = f"the index's copy cannot be compared ({exc})"
        if difference is not None:
            return Conflict(f"{decision.reason}: {difference}", comparison)
        reason = (
            "equivalent (same files inside; the archives differ only in timestamps/order/compression) "
            f"(local {comparison.algorithm}:{comparison.local_digest}, "
            f"index {comparison.algorithm}:{comparison.index_digest})"
        )
        return Skip("equivalent", reason, comparison)

    def _remote_facts(self, remote: RemoteFile) -> RemoteFacts:
        listed = remote.strongest_hash
        if listed is not None:
            return RemoteFacts(remote.filename, *listed)
        # The index lists no usable hash: read its copy and hash that; never decide on the name alone.
        self.emit(DownloadingToCompare(clean_server_text(remote.filename, 120)))
        return RemoteFacts(remote.filename, "sha256", self._download_sha256(remote))

    def _download_sha256(self, remote: RemoteFile) -> str:
        """sha256 of the index's copy, streamed (never held in memory), within --timeout and a size cap."""
        return self._download(remote, lambda _chunk: None, "sha256")

    def _download(
        self,
        remote: RemoteFile,
        sink: Callable[[bytes], object],
        algorithm: str,
        *,
        max_bytes: int | None = None,
        restart: Callable[[], None] | None = None,
    ) -> str:
        """Stream the index's copy to ``sink`` within --timeout and a size cap; its digest by ``algorithm``.

        The bytes are hashed as they come: ``Accept-Encoding: identity``, as pip asks, and no decoding,
        so that a server labelling a .tar.gz ``Content-Encoding: gzip`` does not get its inner tar hashed.
        """
        url = remote.url
        name = clean_server_text(remote.filename, 120)
        timeout = self.repository.timeout
        ends = time.monotonic() + timeout  # one deadline for the download and its redirects
        for _ in range(_MAX_DOWNLOAD_REDIRECTS + 1):
            # Credentials only to the upload URL's origin, also after a redirect (PyPI's files live on
            # another host than its pages).
            auth = self.auth if same_origin(url, self.repository.upload_url) else None
            digest = new_hasher(algorithm)
            if restart is not None:
                restart()  # a redirect's body is not the file

            def take(chunk: bytes, digest: Hasher = digest) -> None:
                digest.update(chunk)
                sink(chunk)

            try:
                remaining = ends - time.monotonic()
                if remaining <= 0:
                    raise httpx.ReadTimeout("no time left")
                answer = read_answer(
                    self.client,
                    "GET",
                    url,
                    headers={},
                    auth=auth,
                    timeout=remaining,
                    max_bytes=MAX_DOWNLOAD_BYTES if max_bytes is None else max_bytes,
                    sink=take,
                    decode=False,
                )
            except httpx.TimeoutException:
                raise IndexQueryError(
                    f"cannot download {name} from the index to compare it: no complete answer within "
                    f"{timeout:g} s (--timeout)"
                ) from None
            except httpx.HTTPError as exc:
                raise IndexQueryError(
                    f"cannot download {name} from the index to compare it: {describe_error(exc)}"
                ) from None
            except BodyTooLarge as exc:
                if max_bytes is not None:
                    raise _CopyTooLarge from None
                raise IndexQueryError(
                    f"cannot download {name} from the index to compare it: {clean_server_text(str(exc))}"
                ) from None
            except BadAnswer as exc:
                raise IndexQueryError(
                    f"cannot download {name} from the index to compare it: {clean_server_text(str(exc))}"
                ) from None
            if not answer.is_redirect:
                break
            url = resolve_location(answer, url)
        else:
            raise IndexQueryError(f"cannot download {name} from the index: too many redirects")
        if answer.status != 200:
            raise IndexQueryError(
                f"cannot download {name} from the index to compare it: "
                f"{answer.status} {clean_server_text(answer.reason, 80)}"
            )
        return digest.hexdigest()
