"""publish-plugins: publish Python distributions safely, re-runnable on any index.

The core reads the index before uploading, compares content by hash and refuses a conflicting release before
sending a byte. It prints nothing: front ends pass an event listener and render events their own way.

The public API is this package's names and three modules: ``options`` (what a front end hands the core),
``events`` (what happened, as data) and ``errors`` (the exception tree); every other module is internal
(a leading underscore) and may change. Names are imported on first use: hosts load the front ends at
start-up (poetry loads every plugin for every command), and importing the package must not cost them the
HTTP stack.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._run import PublishResult, publish
    from ._urls import check_url_for, redact
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
    from .options import Mode, ProjectRef, PublishOptions, Repository, RetryPolicy

_LAZY = {
    "EXIT_CONFLICT": "errors",
    "EXIT_FAILURE": "errors",
    "EXIT_OK": "errors",
    "EXIT_USAGE": "errors",
    "ConflictError": "errors",
    "IndexQueryError": "errors",
    "InvalidDistribution": "errors",
    "InvalidDistributions": "errors",
    "PublishError": "errors",
    "UploadFailed": "errors",
    "UsageError": "errors",
    "Event": "events",
    "EventListener": "events",
    "Mode": "options",
    "PublishResult": "_run",
    "publish": "_run",
    "RetryPolicy": "options",
    "ProjectRef": "options",
    "PublishOptions": "options",
    "Repository": "options",
    "check_url_for": "_urls",
    "redact": "_urls",
}

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'publish_plugins' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
