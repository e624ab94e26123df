"""When to try again (exponential backoff with jitter, the server's Retry-After) and the one retry loop."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from publish_plugins._cancel import Cancellation, Cancelled, running
from publish_plugins._retry import Retrier, TryAgain
from publish_plugins.options import RetryPolicy


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


# ---- the one retry loop (index check, upload, second look), with its clock, sleep and jitter injected ----


class _Clock:
    """A clock and a sleep that only move time forward: no test waits."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _retrier(clock: _Clock, **policy: float) -> Retrier:
    return Retrier(
        RetryPolicy(**policy),  # type: ignore[arg-type]
        cancellation=Cancellation(),
        sleep=clock.sleep,
        clock=clock.time,
        jitter=lambda: 1.0,  # the longest wait: backoff * 2 ** (n - 1)
    )


def test_the_loop_retries_with_backoff_until_a_try_succeeds() -> None:
    clock = _Clock()
    announced: list[tuple[str, int, float]] = []

    def attempt(tries: int) -> str:
        if tries < 3:
            raise TryAgain(f"503 on try {tries}")
        return "done"

    result = _retrier(clock, retries=3, backoff=1.0).run(
        attempt,
        give_up=lambda last, tries: pytest.fail("gave up"),
        before_wait=lambda again, tries, delay: announced.append((again.reason, tries, delay)),
    )
    assert result == "done"
    assert clock.slept == [1.0, 2.0]
    assert announced == [("503 on try 1", 1, 1.0), ("503 on try 2", 2, 2.0)]


def test_the_loop_gives_up_after_the_retries_with_the_last_problem() -> None:
    clock = _Clock()
    tried: list[int] = []

    def attempt(tries: int) -> str:
        tried.append(tries)
        raise TryAgain(f"problem {tries}")

    result = _retrier(clock, retries=2, backoff=0.5).run(
        attempt, give_up=lambda last, tries: f"{last.reason} after {tries} tries"
    )
    assert result == "problem 3 after 3 tries"
    assert tried == [1, 2, 3]
    assert clock.slept == [0.5, 1.0]


def test_no_retries_means_one_try_and_no_wait() -> None:
    clock = _Clock()

    def attempt(tries: int) -> str:
        raise TryAgain("down")

    assert _retrier(clock, retries=0).run(attempt, give_up=lambda last, tries: str(tries)) == "1"
    assert clock.slept == []


def test_the_loop_waits_as_retry_after_says_capped_at_max_delay() -> None:
    clock = _Clock()
    # Seconds, more than max_delay, and a date 12 s after the moment of the third answer (37 s from now).
    answers = iter([_answer("7"), _answer("3600"), _answer(format_datetime_at(clock.now + 37 + 12))])

    def attempt(tries: int) -> str:
        if tries <= 3:
            raise TryAgain("429", next(answers))
        return "done"

    assert _retrier(clock, retries=3, max_delay=30.0).run(attempt, give_up=lambda *_: "gave up") == "done"
    assert clock.slept == [7.0, 30.0, 12.0]


def format_datetime_at(epoch: float) -> str:
    return format_datetime(datetime.fromtimestamp(epoch, timezone.utc), usegmt=True)


def test_a_retry_after_date_in_the_past_means_no_wait() -> None:
    clock = _Clock()
    retrier = _retrier(clock)
    assert retrier.delay(1, _answer(format_datetime_at(clock.now - 60))) == 0.0


def test_jitter_shortens_the_wait_by_at_most_half() -> None:
    policy = RetryPolicy(backoff=2.0, max_delay=100.0)
    shortest = Retrier(policy, cancellation=Cancellation(), jitter=lambda: 0.0)
    longest = Retrier(policy, cancellation=Cancellation(), jitter=lambda: 1.0)
    assert [shortest.delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert [longest.delay(n) for n in (1, 2, 3)] == [2.0, 4.0, 8.0]


def test_poll_returns_the_first_result_that_holds_or_the_last_one() -> None:
    clock = _Clock()
    values = iter(["partial", "partial", "complete"])
    assert (
        _retrier(clock, retries=3).poll(lambda: next(values), until=lambda v: v == "complete") == "complete"
    )
    assert len(clock.slept) == 2

    clock = _Clock()
    assert _retrier(clock, retries=2).poll(lambda: "partial", until=lambda v: v == "complete") == "partial"
    assert len(clock.slept) == 2


def test_a_wait_ends_at_once_when_the_run_is_cancelled() -> None:
    """Ctrl-C or SIGTERM during a 30 s wait: the loop raises Cancelled at once and starts no other try."""
    cancellation = Cancellation()
    retrier = Retrier(RetryPolicy(retries=3, backoff=30.0, max_delay=30.0), cancellation=cancellation)
    tried: list[int] = []

    def attempt(tries: int) -> str:
        tried.append(tries)
        raise TryAgain("503")

    timer = threading.Timer(0.1, cancellation.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        retrier.run(attempt, give_up=lambda *_: "gave up")
    timer.join()
    assert time.monotonic() - started < 5
    assert tried == [1]


def test_a_cancelled_run_starts_no_try_and_announces_no_wait() -> None:
    cancellation = Cancellation()
    cancellation.cancel()
    with pytest.raises(Cancelled):
        Retrier(RetryPolicy(), cancellation=cancellation).run(
            lambda tries: pytest.fail("a try started"), give_up=lambda *_: "gave up"
        )

    cancellation = Cancellation()
    announced: list[int] = []

    def attempt(tries: int) -> str:
        cancellation.cancel()  # a signal during the try
        raise TryAgain("503")

    with pytest.raises(Cancelled):
        Retrier(RetryPolicy(), cancellation=cancellation).run(
            attempt, give_up=lambda *_: "gave up", before_wait=lambda *args: announced.append(1)
        )
    assert announced == []


def test_the_run_s_cancellation_is_the_default() -> None:
    cancellation = Cancellation()
    with running(cancellation):
        assert Retrier(RetryPolicy()).cancellation is cancellation
