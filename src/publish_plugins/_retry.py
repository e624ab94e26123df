"""Trying again: how long to wait (backoff with jitter, Retry-After), and the one loop that does it.

The index check, the upload and the second look at the index after a refused upload all retry through
:class:`Retrier`, so they wait alike and stop alike: every wait is a wait on the run's cancellation, so Ctrl-C
or SIGTERM ends it at once and no try starts afterwards (``_cancel``). The clock, the sleep and the jitter are
injectable, so the waits can be tested without waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

from . import _cancel

if TYPE_CHECKING:
    from .options import RetryPolicy

__all__ = ["RETRYABLE_STATUS", "Retrier", "TryAgain", "is_retryable_error"]

_T = TypeVar("_T")

# 429 and the 5xx answers a proxy or an overloaded index gives; 501/505 would not change on a retry.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


class Answer(Protocol):
    """Any answer with headers (an httpx response, an index answer): Retry-After is read from them."""

    @property
    def headers(self) -> Mapping[str, str]: ...


class TryAgain(Exception):
    """Raised by one try that may succeed when tried again: ``reason`` is shown to the user, ``answer`` (the
    server's, when there was one) may ask for a wait with Retry-After."""

    def __init__(self, reason: str, answer: Answer | None = None) -> None:
        self.reason = reason
        self.answer = answer
        super().__init__(reason)


class Retrier:
    """Runs a try until it succeeds or the policy's retries are spent, waiting in between.

    ``cancellation`` defaults to the run's (:func:`_cancel.current`): no try starts once it is set, and the
    default ``sleep`` is a wait on it that raises :class:`_cancel.Cancelled` at once. ``clock`` gives the
    time in seconds since the epoch (for a Retry-After date), ``jitter`` a number in [0, 1).
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        cancellation: _cancel.Cancellation | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.cancellation = cancellation or _cancel.current()
        self._sleep = sleep or self.cancellation.sleep
        self._clock = clock
        self._jitter = jitter

    def delay(self, attempt: int, answer: Answer | None = None) -> float:
        """Seconds to wait before try ``attempt + 1`` (attempt counts from 1); honours Retry-After, capped."""
        policy = self.policy
        if answer is not None:
            after = self._retry_after(answer.headers.get("Retry-After"))
            if after is not None:
                return min(after, policy.max_delay)
        base: float = policy.backoff * 2.0 ** (attempt - 1)
        return min(base * (0.5 + self._jitter() / 2), policy.max_delay)

    def run(
        self,
        attempt: Callable[[int], _T],
        *,
        give_up: Callable[[TryAgain, int], _T],
        before_wait: Callable[[TryAgain, int, float], None] | None = None,
    ) -> _T:
        """``attempt(n)`` for n = 1, 2, … until it returns; it raises :class:`TryAgain` to be tried again.

        After the last retry, ``give_up(last TryAgain, tries)`` decides: it raises the caller's error, or
        returns a result. Before each wait, ``before_wait(TryAgain, tries so far, seconds)`` (to announce it).
        """
        tries = 0
        while True:
            tries += 1
            self.cancellation.check()
            try:
                return attempt(tries)
            except TryAgain as again:
                if tries > self.policy.retries:
                    return give_up(again, tries)
                seconds = self.delay(tries, again.answer)
                self.cancellation.check()
                if before_wait is not None:
                    before_wait(again, tries, seconds)
                self._sleep(seconds)

    def poll(self, read: Callable[[], _T], *, until: Callable[[_T], bool]) -> _T:
        """``read()`` until ``until(result)`` holds, with the waits between; once the retries are spent, the
        last result."""
        last: list[_T] = []

        def attempt(_tries: int) -> _T:
            result = read()
            if until(result):
                return result
            last[:] = [result]
            raise TryAgain("not yet")

        return self.run(attempt, give_up=lambda _again, _tries: last[0])

    def _retry_after(self, value: str | None) -> float | None:
        """Retry-After in seconds from now: a number of seconds or an HTTP date; None when unreadable."""
        if not value:
            return None
        value = value.strip()
        if value.isascii() and value.isdigit():  # not "²": str.isdigit() takes it, float() does not
            return float(value)
        # Imported here: an HTTP date is rare, and email.utils is a noticeable part of start-up.
        from datetime import timezone
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return max(0.0, when.timestamp() - self._clock())


def is_retryable_error(exc: BaseException) -> bool:
    """Transport failures worth another try: refused or reset connections, timeouts, broken answers."""
    from ._httpx import httpx

    return isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol)
