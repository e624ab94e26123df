"""The index check of a run: one page per project (retried), the index's hashes, a decision per file."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ._httpx import httpx
from .client import basic_auth, describe_error
from .distribution import Distribution
from .errors import IndexQueryError
from .events import EventListener, Notice, Retrying
from .hashing import CHUNK_SIZE
from .index import ProjectFiles, RemoteFile, RetryableIndexError, fetch_project_files
from .policy import Decision, LocalFacts, RemoteFacts, Skip, decide
from .settings import PublishOptions, Repository
from .urls import same_origin

__all__ = ["IndexChecker"]

_MAX_CHECK_WORKERS = 8


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

    def fetch_all(self, projects: Sequence[str]) -> dict[str, ProjectFiles | None]:
        """Every project's page, read concurrently: one request per project, not per file."""
        workers = max(1, min(_MAX_CHECK_WORKERS, len(projects)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="publish-plugins-check") as pool:
            pages = list(pool.map(self.fetch, projects))
        return dict(zip(projects, pages, strict=True))

    def fetch(self, project: str) -> ProjectFiles | None:
        """One project's page; connection trouble, 429 and 5xx are retried with the run's policy."""
        retry = self.options.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                return fetch_project_files(
                    self.client,
                    self.check_url,
                    project,
                    auth=self.auth,
                    auth_origin=self.repository.upload_url,
                )
            except RetryableIndexError as exc:
                if attempt > retry.retries:
                    raise IndexQueryError(f"{exc} (gave up after {attempt} tries)") from None
                delay = retry.delay(attempt, exc.response)
                self.emit(Retrying(f"checking {project}", str(exc), attempt, delay))
                time.sleep(delay)

    def decide(self, dist: Distribution, page: ProjectFiles | None) -> Decision:
        """The policy's decision for one local file against what the page lists with its identity."""
        remote = page.matching(dist.identity) if page else []
        if not remote:
            # Nothing to compare with: the digest is not needed yet (the upload computes or takes it then).
            return decide(LocalFacts(dist.filename, {}), [], self.options.mode)
        facts = [self._remote_facts(entry) for entry in remote]
        local = LocalFacts(dist.filename, dist.digests({fact.algorithm for fact in facts} | {"sha256"}))
        decision = decide(local, facts, self.options.mode)
        if isinstance(decision, Skip) and decision.weak:
            self.emit(
                Notice(f"{dist.filename}: the index lists only an md5 digest; the match is weak", "warning")
            )
        return decision

    def _remote_facts(self, remote: RemoteFile) -> RemoteFacts:
        listed = remote.strongest_hash
        if listed is not None:
            return RemoteFacts(remote.filename, *listed)
        # The index lists no usable hash: read its copy and hash that; never decide on the name alone.
        self.emit(
            Notice(f"{remote.filename}: the index lists no hash; downloading its copy to compare", "info")
        )
        return RemoteFacts(remote.filename, "sha256", self._download_sha256(remote))

    def _download_sha256(self, remote: RemoteFile) -> str:
        auth = self.auth if same_origin(remote.url, self.repository.upload_url) else None
        digest = hashlib.sha256()
        try:
            with self.client.stream(
                "GET",
                remote.url,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                # httpx drops the Authorization header when a redirect leaves the origin.
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
                f"cannot download {remote.filename} from the index: {describe_error(exc)}"
            ) from None
        return digest.hexdigest()
