"""When and how long to wait before trying a request again."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

__all__ = ["RETRYABLE_STATUS", "RetryPolicy", "is_retryable_error"]

# 429 and the 5xx answers a proxy or an overloaded index gives; 501/505 would not change on a retry.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class _Answer(Protocol):
    """Any answer with headers (an httpx response, an index answer): Retry-After is read from them."""

    @property
    def headers(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded both in tries and in the longest wait."""

    retries: int = 3
    backoff: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, response: _Answer | None = None) -> float:
        """Seconds to wait before try ``attempt + 1`` (attempt counts from 1); honours Retry-After."""
        if response is not None:
            after = _retry_after(response.headers.get("Retry-After"))
            if after is not None:
                return min(after, self.max_delay)
        base: float = self.backoff * 2.0 ** (attempt - 1)
        return min(base * (0.5 + random.random() / 2), self.max_delay)  # noqa: S311 (jitter, not crypto)


def is_retryable_error(exc: BaseException) -> bool:
    """Transport failures worth another try: refused or reset connections, timeouts, broken answers."""
    from ._httpx import httpx

    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²": str.isdigit() takes it, float() does not
        return float(value)
    # Imported here: an HTTP date is rare, and email.utils is a noticeable part of start-up.
    from datetime import datetime, timezone
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
