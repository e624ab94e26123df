"""Trusted publishing: an upload token the index mints for the CI's OIDC identity, as PyPI does it.

``GET <upload origin>/_/oidc/audience`` names the audience (403: disabled there, 404: not supported); the
CI gives an OIDC token for it (the ``id`` package: GitHub Actions, GitLab CI, Google Cloud, Buildkite,
CircleCI); ``POST <upload origin>/_/oidc/mint-token`` with ``{"token": ...}`` exchanges it for an upload
token, the password of ``__token__``, valid 15 minutes and minted again before it expires. Warehouse:
``warehouse/oidc/views.py`` (``mint_token``: 422 with ``errors: [{code, description}]`` on a refusal);
research/trusted-publishing.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Mapping

from ._bounded import Answer, BadAnswer, read_answer
from ._ci import SUPPORTED_CIS, detected_ci
from ._http_client import basic_auth, describe_error
from ._httpx import httpx
from ._retry import RETRYABLE_STATUS, Retrier, TryAgain, is_retryable_error
from ._text import clean_server_text
from ._urls import is_loopback
from .errors import PublishError, TrustedPublishingFailed
from .events import EventListener, Retrying, TokenMinted, TokenRenewalFailed, TrustedPublishingNotUsed
from .options import Repository, RetryPolicy, secret_forms

__all__ = ["RENEW_BEFORE", "TOKEN_LIFETIME", "UploadCredentials", "borrowed_audience", "token_claims"]

TOKEN_LIFETIME = 900.0  # PyPI's minted tokens live 15 minutes
RENEW_BEFORE = 300.0  # mint again when less than this is left: an upload must not outlive its token (twine)
_MAX_ANSWER = 64 * 1024  # an audience or a minted token is a few hundred bytes

# The claims an index matches a trusted publisher on (PyPI: GitHub, GitLab, Google), shown after a refusal
# so they can be compared with the publisher configured there. None of them is a secret.
_CLAIMS = (
    "sub",
    "repository",
    "repository_owner",
    "repository_owner_id",
    "job_workflow_ref",
    "workflow_ref",
    "ref",
    "environment",
    "project_path",
    "ci_config_ref_uri",
    "namespace_path",
    "email",
)


# The audiences of PyPI and TestPyPI, and the hosts that may ask for them. An OIDC token for "pypi" mints
# upload tokens at PyPI: another index asking for it would get a token it could use there, as this job.
_AUDIENCE_HOSTS: Mapping[str, frozenset[str]] = {
    "pypi": frozenset({"upload.pypi.org", "pypi.org"}),
    "testpypi": frozenset({"test.pypi.org"}),
}


def borrowed_audience(audience: str, url: str | httpx.URL) -> str | None:
    """Why an index may not have a token for ``audience`` (PyPI's or TestPyPI's, asked by another host),
    or None. This machine (a local fake or relay) may ask for any."""
    hosts = _AUDIENCE_HOSTS.get(audience)
    host = httpx.URL(str(url)).host
    if hosts is None or host in hosts or is_loopback(url):
        return None
    return (
        f"trusted publishing: {host} asks for an OIDC token for the audience {audience!r}, which is "
        f"{'PyPI' if audience == 'pypi' else 'TestPyPI'}'s: a token it could use to publish there as this "
        "job; refusing (check the upload URL)"
    )


def token_claims(jwt: str) -> tuple[tuple[str, str], ...]:
    """The non-secret claims of an OIDC token (unverified: only to show them), as ``(name, value)``."""
    try:
        payload = jwt.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return ()
    if not isinstance(data, dict):
        return ()
    return tuple(
        (name, clean_server_text(str(data[name]), limit=200))
        for name in _CLAIMS
        if isinstance(data.get(name), (str, int)) and not isinstance(data.get(name), bool)
    )


class _Unanswered(Exception):
    """No usable answer to an exchange request, after the retries: what went wrong."""


class _NotOffered(Exception):
    """The index does not offer trusted publishing (or this run must not use it): the reason."""


class UploadCredentials:
    """The uploads' credentials: the repository's own, or an upload token minted by trusted publishing.

    ``prepare()`` decides, before the first upload (a run with nothing to upload mints nothing);
    ``auth()`` gives the credentials for each upload attempt and mints again when the token is about to
    expire. Every secret met on the way (the CI's OIDC token, the minted token) goes to ``add_secrets`` at
    once, so that the run masks it in every message; a minted token is announced first (``TokenMinted``),
    so that a front end on GitHub Actions masks it in the log before anything else can print it.
    """

    def __init__(
        self,
        client: httpx.Client,
        repository: Repository,
        *,
        emit: EventListener,
        add_secrets: Callable[[tuple[str, ...]], None],
        retry: RetryPolicy | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.repository = repository
        self.emit = emit
        self.add_secrets = add_secrets
        self.retry = retry or RetryPolicy()
        self.environ = os.environ if environ is None else environ
        self.clock = clock
        self.wall_clock = wall_clock
        self.origin = str(httpx.URL(repository.upload_url).copy_with(path="/", query=None, fragment=None))
        self.origin = self.origin.rstrip("/")
        self.not_used: str | None = None  # why trusted publishing was not used, for a refused upload's hint
        self.prepared = False  # prepare() ran (once per run, before the first upload)
        self._static = basic_auth(repository)
        self._token: str | None = None
        self._ci = ""
        self._audience = ""
        self._renew_at = 0.0
        self._expires_at = 0.0
        self._lock = threading.Lock()

    @property
    def minted(self) -> bool:
        """True once the uploads go with a minted token."""
        return self._token is not None

    @property
    def username(self) -> str | None:
        return "__token__" if self._token is not None else self.repository.username

    def prepare(self, *, mint: bool = True) -> None:
        """Mint an upload token if the mode and the situation call for it; raise TrustedPublishingFailed
        when it is required (``always``) or offered and refused.

        ``mint=False`` (a dry run) checks what needs no token (the CI, the index's audience) and stops
        before the mint, which uses up the CI's token and may create the project (a pending publisher).
        """
        self.prepared = True
        mode = self.repository.trusted_publishing
        if mode == "never":
            return
        required = mode == "always"
        if self.repository.password:
            return  # automatic with credentials given: they are used (always refuses them in Repository)
        ci = detected_ci(self.environ)
        if ci is None:
            if required:
                raise TrustedPublishingFailed(
                    "trusted publishing is required ('always'), but no CI with an OIDC identity was detected "
                    f"({SUPPORTED_CIS}); run it in such a job, or give a token and choose 'automatic'"
                )
            self._not_used(f"no CI with an OIDC identity detected ({SUPPORTED_CIS})")
            return
        request_token = self.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        if request_token:
            self.add_secrets((request_token,))
        try:
            self._audience = self._fetch_audience()
        except _NotOffered as exc:
            if required:
                raise TrustedPublishingFailed(
                    f"trusted publishing is required ('always'), but {exc}"
                ) from None
            self._not_used(str(exc))
            return
        self._ci = ci
        if not mint:
            self._not_used(f"dry run: an upload token would be minted at {self.origin} for {ci}")
            return
        self._mint(renewal=False)

    def auth(self) -> httpx.Auth | None:
        """The credentials for the next upload attempt; a minted token is renewed when about to expire."""
        if self._token is None:
            return self._static
        with self._lock:
            if self.clock() >= self._renew_at:
                try:
                    self._mint(renewal=True)
                except PublishError as exc:
                    left = self._expires_at - self.clock()
                    if left <= 0:
                        raise
                    # Try again a little later, not before every upload.
                    self._renew_at = self.clock() + min(60.0, left / 2)
                    self.emit(TokenRenewalFailed(str(exc), left))
            return httpx.BasicAuth("__token__", self._token or "")

    # ---- the exchange ------------------------------------------------------------------------------------

    def _not_used(self, reason: str) -> None:
        self.not_used = reason
        self.emit(TrustedPublishingNotUsed(reason))

    def _fetch_audience(self) -> str:
        url = httpx.URL(self.origin + "/_/oidc/audience")
        if url.scheme != "https" and not is_loopback(url):
            raise _NotOffered(
                "the upload URL is plain http: an OIDC token goes only over https (or to this machine)"
            )
        try:
            answer = self._request("GET", str(url), lambda: None)
        except _Unanswered as exc:
            raise _NotOffered(f"{url} could not be read: {exc}") from None
        if answer.status == 403:
            raise _NotOffered(f"{self.origin} has trusted publishing turned off (403 at {url})")
        if answer.status == 404:
            raise _NotOffered(f"{self.origin} does not support trusted publishing (404 at {url})")
        if answer.status != 200:
            raise _NotOffered(f"{url} answered {answer.status} {clean_server_text(answer.reason)}")
        audience = _json(answer.body).get("audience")
        if not isinstance(audience, str) or not audience.strip():
            raise _NotOffered(f"{url} did not answer with an audience")
        audience = audience.strip()
        borrowed = borrowed_audience(audience, url)
        if borrowed is not None:
            raise TrustedPublishingFailed(borrowed)
        return audience

    def _ci_token(self) -> str:
        """The CI's OIDC token for the audience (``id``), added to the secrets before anything else."""
        try:
            import id as oidc_id
        except ImportError:
            raise PublishError(
                "trusted publishing needs the `id` package, which publish-plugins depends on: reinstall it"
            ) from None
        try:
            jwt = oidc_id.detect_credential(self._audience)
        except oidc_id.GitHubOidcPermissionCredentialError:
            raise TrustedPublishingFailed(
                "trusted publishing: GitHub Actions gives this job no OIDC token; give the job "
                "permissions: id-token: write"
            ) from None
        except oidc_id.IdentityError as exc:
            raise TrustedPublishingFailed(
                f"trusted publishing: cannot get an OIDC token from {self._ci}: {clean_server_text(str(exc))}"
            ) from None
        if not jwt:
            raise TrustedPublishingFailed(
                f"trusted publishing: {self._ci} was detected, but it offers no OIDC token for the "
                f"audience {self._audience!r}"
            )
        self.add_secrets((jwt,))
        return str(jwt)

    def _mint(self, *, renewal: bool) -> None:
        url = self.origin + "/_/oidc/mint-token"
        tokens: list[str] = []

        def body() -> bytes:
            # A fresh OIDC token for each try: each is good for one mint (GitLab's is the job's one token).
            tokens.append(self._ci_token())
            return json.dumps({"token": tokens[-1]}).encode()

        try:
            answer = self._request("POST", url, body)
        except _Unanswered as exc:
            raise TrustedPublishingFailed(
                f"trusted publishing: cannot mint an upload token at {url}: {exc}"
            ) from None
        jwt = tokens[-1]
        data = _json(answer.body)
        token = data.get("token")
        if answer.status != 200 or not isinstance(token, str) or not token:
            raise self._refusal(url, answer.status, answer.reason, data, jwt)
        if not _TOKEN.fullmatch(token):
            # A token goes into an HTTP header and, on GitHub, into a workflow command line: text with a
            # line break in it could give the job's log commands of the index's choosing.
            raise TrustedPublishingFailed(
                f"trusted publishing: {url} answered with an upload token that is not one line of token "
                "characters; refusing it"
            )
        # From here the token is a secret of the run: announced (GitHub masks it), then masked everywhere.
        lifetime = _lifetime(data.get("expires"), self.wall_clock())
        self.emit(TokenMinted(self.origin, self._ci, lifetime, renewal, token=token))
        self.add_secrets(secret_forms("__token__", token))
        self._token = token
        now = self.clock()
        self._expires_at = now + lifetime
        self._renew_at = now + max(lifetime - RENEW_BEFORE, 0.0)

    def _request(self, method: str, url: str, body: Callable[[], bytes | None]) -> Answer:
        """One exchange request, tried again on a network error, a 5xx or a 429 (the run's retry policy)."""

        def attempt(_tries: int) -> Answer:
            content = body()
            headers = {"Accept": "application/json"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            try:
                answer = read_answer(
                    self.client,
                    method,
                    url,
                    headers=headers,
                    auth=None,
                    timeout=self.repository.timeout,
                    max_bytes=_MAX_ANSWER,
                    content=None if content is None else [content],
                )
            except BadAnswer as exc:
                raise _Unanswered(clean_server_text(str(exc))) from None
            except httpx.HTTPError as exc:
                if not is_retryable_error(exc):
                    raise _Unanswered(describe_error(exc)) from None
                raise TryAgain(describe_error(exc)) from None
            if answer.status in RETRYABLE_STATUS:
                raise TryAgain(f"{answer.status} {clean_server_text(answer.reason)}", answer)
            return answer

        def give_up(last: TryAgain, tries: int) -> Answer:
            raise _Unanswered(f"{last.reason} (gave up after {tries} tries)")

        def announce(again: TryAgain, tries: int, delay: float) -> None:
            self.emit(Retrying(f"trusted publishing ({url})", again.reason, tries, delay))

        return Retrier(self.retry).run(attempt, give_up=give_up, before_wait=announce)

    def _refusal(
        self, url: str, status: int, reason: str, data: dict[str, object], jwt: str
    ) -> TrustedPublishingFailed:
        errors: list[tuple[str, str]] = []
        listed = data.get("errors")
        for item in listed if isinstance(listed, list) else []:
            if isinstance(item, dict):
                code = clean_server_text(str(item.get("code", "")), limit=80)
                description = clean_server_text(str(item.get("description", "")))
                errors.append((code, description))
        claims = token_claims(jwt)
        if errors:
            said = "; ".join(f"{code}: {text}" if text else code for code, text in errors)
        else:
            message = data.get("message")
            said = clean_server_text(str(message)) if message else f"{status} {clean_server_text(reason)}"
        shown = ", ".join(f"{name}={value}" for name, value in claims)
        tail = f"; the {self._ci} token's claims: {shown}" if shown else ""
        return TrustedPublishingFailed(
            f"trusted publishing: {self.origin} refused to mint an upload token ({said}){tail}; compare them "
            "with the trusted publisher configured for the project on the index",
            errors=errors,
            claims=claims,
        )


# PyPI's tokens are macaroons in URL-safe base64 after "pypi-"; room for other indexes' token formats.
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{1,8192}")


def _json(body: bytes) -> dict[str, object]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # deeply nested arrays: not an answer either
        return {}
    return data if isinstance(data, dict) else {}


def _lifetime(expires: object, now: float) -> float:
    """Seconds the minted token stays valid: until ``expires`` (epoch seconds), at most PyPI's 15 minutes."""
    if isinstance(expires, bool) or not isinstance(expires, (int, float)) or not math.isfinite(expires):
        return TOKEN_LIFETIME
    return min(max(float(expires) - now, 0.0), TOKEN_LIFETIME)
