"""What a front end hands ``publish()``: where to publish, with which credentials, in which mode, which
project; and the rules their values follow, for front ends to check what a user typed.

Standard library only (httpx loads later, while the files are hashed): front ends import this at start-up.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from ._urls import validate_url
from .errors import UsageError

if TYPE_CHECKING:
    from ._retry import Answer

__all__ = [
    "DEFAULT_TIMEOUT",
    "INDEX_RULES",
    "TRUSTED_PUBLISHING",
    "IndexRules",
    "Mode",
    "ProjectRef",
    "PublishOptions",
    "Repository",
    "RetryPolicy",
    "TrustedPublishing",
    "count_problem",
    "missing_password_message",
    "parse_count",
    "parse_seconds",
    "parse_trusted_publishing",
    "seconds_problem",
    "secret_forms",
]

DEFAULT_TIMEOUT = 60.0

# strict: a file on the index with other content stops the run; skip-existing: it stays as it is.
Mode = Literal["strict", "skip-existing"]
IndexRules = Literal["auto", "pypi", "none"]
INDEX_RULES: tuple[IndexRules, ...] = ("auto", "pypi", "none")

# Trusted publishing (OIDC), as uv names it: automatic tries it only when no credentials were given and a
# supported CI is detected; always requires it (and refuses credentials given too); never turns it off.
TrustedPublishing = Literal["automatic", "always", "never"]
TRUSTED_PUBLISHING: tuple[TrustedPublishing, ...] = ("automatic", "always", "never")


def seconds_problem(value: object, *, zero_ok: bool = False) -> str | None:
    """Why ``value`` is not a usable number of seconds (finite, above 0 or with ``zero_ok`` 0 or more)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "not a number of seconds"
    if not math.isfinite(value):
        return "must be a finite number of seconds"
    if value < 0 if zero_ok else value <= 0:
        return "must be 0 seconds or more" if zero_ok else "must be more than 0 seconds"
    return None


def count_problem(value: object, *, minimum: int) -> str | None:
    """Why ``value`` is not a whole number of at least ``minimum`` (``--jobs``: 1, ``--retries``: 0)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "not a whole number"
    if value < minimum:
        return f"must be at least {minimum}"
    return None


def parse_seconds(text: str, *, zero_ok: bool = False) -> float:
    """Seconds as typed (``--timeout``, ``--retry-backoff``, a host's setting); ValueError with the reason."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError("not a number of seconds") from None
    problem = seconds_problem(value, zero_ok=zero_ok)
    if problem is not None:
        raise ValueError(problem)
    return value


def parse_count(text: str, *, minimum: int) -> int:
    """A whole number as typed (``--jobs``, ``--retries``); ValueError with the reason if unusable."""
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", stripped):
        raise ValueError("not a whole number")
    value = int(stripped)
    problem = count_problem(value, minimum=minimum)
    if problem is not None:
        raise ValueError(problem)
    return value


def parse_trusted_publishing(text: str) -> TrustedPublishing:
    """``--trusted-publishing`` as typed; ValueError with the choices if it is none of them."""
    value = text.strip().lower()
    for choice in TRUSTED_PUBLISHING:
        if value == choice:
            return choice
    raise ValueError(f"choose one of {', '.join(TRUSTED_PUBLISHING)}")


def missing_password_message(username: str, how: str, *, where: str | None = None) -> str:
    """The one line for a user name without a password (the run would go anonymous and be refused).

    ``where`` names where the user name came from (``-u``, ``http-basic.NAME.username``), ``how`` how this
    front end takes a password.
    """
    what = f"the user name {username!r} (from {where})" if where else f"the user name {username!r}"
    return f"{what} was given without a password: {how}"


@dataclass(frozen=True)
class Repository:
    """The upload target and how to reach it. ``password`` may be an API token (user ``__token__``)."""

    upload_url: str
    check_url: str | None = None  # derived from upload_url when None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_cert: str | None = None  # CA bundle file; None means the default trust store
    verify: bool = True
    client_cert: str | None = None
    client_key: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    trusted_publishing: TrustedPublishing = "automatic"

    def __post_init__(self) -> None:
        # Checked before anything reads them: a URL that does not parse may hold a password, and parsers
        # quote it in their errors (_urls.validate_url never does).
        validate_url(self.upload_url, what="upload URL")
        if self.check_url is not None:
            validate_url(self.check_url, what="check URL")
        problem = seconds_problem(self.timeout)
        if problem is not None:
            raise UsageError(f"timeout: {problem}, got {self.timeout!r}")
        # Credentials written into the URL become ordinary credentials, so they are handled (and hidden)
        # like any others and never shown as part of the URL.
        try:
            parts = urlsplit(self.upload_url)
        except ValueError:  # validate_url lets through nothing urlsplit refuses; if it did: no quoting
            raise UsageError("upload URL: not a valid URL") from None
        if parts.username is not None or parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            object.__setattr__(self, "upload_url", urlunsplit(parts._replace(netloc=host)))
            if self.username is None and parts.username:
                object.__setattr__(self, "username", unquote(parts.username))
            if self.password is None and parts.password is not None:
                object.__setattr__(self, "password", unquote(parts.password))
        # A password alone is a token: PyPI and most indexes expect the user "__token__" with it.
        if self.password and not self.username:
            object.__setattr__(self, "username", "__token__")
        # A user name alone sends no credentials at all: the upload would be refused with a 401 or 403
        # that does not say why. Front ends say where the name came from before they get here.
        if self.username and not self.password:
            raise UsageError(missing_password_message(self.username, "give its password or token too"))
        if self.trusted_publishing not in TRUSTED_PUBLISHING:
            choices = ", ".join(TRUSTED_PUBLISHING)
            raise UsageError(f"trusted publishing: {self.trusted_publishing!r} is not one of {choices}")
        if self.trusted_publishing == "always" and self.password:
            raise UsageError(
                "trusted publishing 'always' mints its own upload token: remove the user name and password "
                "(or token) given too, or choose 'automatic'"
            )

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form the password can take in text an index echoes back: plain, URL-quoted, Basic header."""
        return secret_forms(self.username, self.password)


def secret_forms(username: str | None, password: str | None) -> tuple[str, ...]:
    """Every form ``password`` can take in text an index echoes back: plain, URL-quoted, Basic header."""
    if not password:
        return ()
    basic = base64.b64encode(f"{username or ''}:{password}".encode()).decode()
    return tuple(dict.fromkeys((password, quote(password, safe=""), basic)))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded both in tries and in the longest wait.

    ``retries`` tries after the first; the wait before try ``n + 1`` is ``backoff * 2 ** (n - 1)`` seconds,
    scaled by a random factor between 0.5 and 1, or the server's Retry-After; never more than ``max_delay``.
    """

    retries: int = 3
    backoff: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, response: Answer | None = None) -> float:
        """Seconds to wait before try ``attempt + 1`` (attempt counts from 1); honours Retry-After."""
        from ._retry import Retrier

        return Retrier(self).delay(attempt, response)


@dataclass(frozen=True)
class ProjectRef:
    """The current project, as its host or pyproject.toml names it; version None means any version."""

    name: str
    version: str | None = None


@dataclass(frozen=True)
class PublishOptions:
    """How to run: mode, dry run, report file, parallel uploads, retries."""

    mode: Mode = "strict"
    dry_run: bool = False
    report_path: Path | None = None
    jobs: int = 1
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    attestations: bool = True  # send each file's PEP 740 attestations (<file>.<kind>.attestation) with it
    # Only byte-identical files count as already published: no "equivalent" archives (same files inside).
    require_identical: bool = False
    # The index's own upload rules, checked for every file before the first upload: "auto" applies PyPI's
    # to PyPI and TestPyPI upload URLs, "pypi" to any index (one that mirrors PyPI's rules), "none" to none.
    index_rules: IndexRules = "auto"
    # A file larger than this is refused before anything is uploaded (PyPI's default limit, 100 MiB, is
    # only a warning: a project's limit may have been raised, and the index does not say).
    max_file_size: int | None = None
    # Each project of a run is its own unit: a conflict or failure in one does not hold back the others.
    per_project: bool = False

    def __post_init__(self) -> None:
        problem = count_problem(self.jobs, minimum=1)
        if problem is not None:
            raise UsageError(f"jobs: {problem}, got {self.jobs!r}")
        if self.index_rules not in INDEX_RULES:
            raise UsageError(f"index rules: {self.index_rules!r} is not one of {', '.join(INDEX_RULES)}")
        size = self.max_file_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise UsageError(f"max file size: must be a number of bytes above 0, got {size!r}")
        problem = count_problem(self.retry.retries, minimum=0)
        if problem is not None:
            raise UsageError(f"retries: {problem}, got {self.retry.retries!r}")
        for name in ("backoff", "max_delay"):
            value = getattr(self.retry, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise UsageError(
                    f"retry {name}: must be a finite number of seconds, 0 or more, got {value!r}"
                )
