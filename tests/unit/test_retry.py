"""When to try again: exponential backoff with jitter, and the server's Retry-After."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from publish_plugins.retry import RetryPolicy


def _answer(retry_after: str) -> httpx.Response:
    # As on the wire: header bytes, which httpx reads as latin-1.
    return httpx.Response(503, headers=[(b"Retry-After", retry_after.encode("latin-1", "replace"))])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0.0), ("7", 7.0), (" 12 ", 12.0), ("3600", 30.0)],  # capped at max_delay
)
def test_retry_after_in_seconds(value: str, expected: float) -> None:
    assert RetryPolicy(max_delay=30).delay(1, _answer(value)) == expected


def test_retry_after_as_an_http_date() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)
    assert 15 <= RetryPolicy().delay(1, _answer(when)) <= 20


@pytest.mark.parametrize("value", ["", "soon", "-5", "1.5e3", "\u00b2", "\u00b9\u00b3", "Thu, 99 Foo 2026"])
def test_an_unreadable_retry_after_falls_back_to_the_backoff(value: str) -> None:
    """Not a number of seconds nor a date (``"²"`` passes str.isdigit()): the policy's own backoff."""
    delay = RetryPolicy(backoff=1.0).delay(1, _answer(value))
    assert 0.5 <= delay <= 1.0


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(backoff=1.0, max_delay=5.0)
    assert 0.5 <= policy.delay(1) <= 1.0
    assert 1.0 <= policy.delay(2) <= 2.0
    assert 2.0 <= policy.delay(3) <= 4.0
    assert policy.delay(10) <= 5.0
