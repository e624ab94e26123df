"""Plain values a front end hands the core: where to publish, with which credentials, in which mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
        # A password alone is a token: PyPI and most indexes expect the user "__token__" with it.
        if self.password and not self.username:
            object.__setattr__(self, "username", "__token__")


@dataclass(frozen=True)
class PublishOptions:
    """How to run: mode, dry run, report file, parallel uploads, retries."""

    mode: Mode = "strict"
    dry_run: bool = False
    report_path: Path | None = None
    jobs: int = 1
    retry: RetryPolicy = field(default_factory=RetryPolicy)
