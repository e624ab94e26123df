"""publish-plugins: publish Python distributions safely, re-runnable on any index.

The core reads the index before uploading, compares content by hash and refuses a conflicting release before
sending a byte. It prints nothing: front ends pass an event listener and render events their own way.
"""

from __future__ import annotations

from ._version import __version__
from .errors import (
    EXIT_CONFLICT,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    ConflictError,
    IndexQueryError,
    InvalidDistribution,
    InvalidDistributions,
    PublishError,
    UploadFailed,
    UsageError,
)
from .events import Event, EventListener
from .policy import Mode
from .publish import PublishResult, publish
from .retry import RetryPolicy
from .selection import ProjectRef
from .settings import PublishOptions, Repository
from .urls import check_url_for, redact

__all__ = [
    "EXIT_CONFLICT",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "ConflictError",
    "Event",
    "EventListener",
    "IndexQueryError",
    "InvalidDistribution",
    "InvalidDistributions",
    "Mode",
    "ProjectRef",
    "PublishError",
    "PublishOptions",
    "PublishResult",
    "Repository",
    "RetryPolicy",
    "UploadFailed",
    "UsageError",
    "__version__",
    "check_url_for",
    "publish",
    "redact",
]
