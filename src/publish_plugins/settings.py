"""Plain values a front end hands the core: where to publish, with which credentials, in which mode."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from .policy import Mode
from .retry import RetryPolicy

__all__ = ["DEFAULT_TIMEOUT", "PublishOptions", "Repository"]

DEFAULT_TIMEOUT = 60.0


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

    def __post_init__(self) -> None:
        # Credentials written into the URL become ordinary credentials, so they are handled (and hidden)
        # like any others and never shown as part of the URL.
        parts = urlsplit(self.upload_url)
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

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every form the password can take in text an index echoes back: plain, URL-quoted, Basic header."""
        if not self.password:
            return ()
        basic = base64.b64encode(f"{self.username or ''}:{self.password}".encode()).decode()
        return tuple(dict.fromkeys((self.password, quote(self.password, safe=""), basic)))


@dataclass(frozen=True)
class PublishOptions:
    """How to run: mode, dry run, report file, parallel uploads, retries."""

    mode: Mode = "strict"
    dry_run: bool = False
    report_path: Path | None = None
    jobs: int = 1
    retry: RetryPolicy = field(default_factory=RetryPolicy)
