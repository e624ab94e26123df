"""The run's cancellation (``_cancel``): waits that end at once, workers that start nothing new, handlers
that are restored. The signals themselves are sent to real commands in tests/integration/test_interrupts.py.
"""

from __future__ import annotations

import signal
import threading

import pytest

from publish_plugins import _cancel
from publish_plugins.errors import Interrupted


@pytest.mark.parametrize("workers", [1, 3])
def test_results_keep_the_order_of_the_items(workers: int) -> None:
    results = _cancel.map_in_threads(
        lambda n: n * n, [3, 1, 2, 5], workers=workers, cancellation=_cancel.Cancellation(), name="t"
    )
    assert results == [9, 1, 4, 25]


@pytest.mark.parametrize("workers", [1, 3])
def test_every_item_runs_and_the_first_error_in_item_order_is_raised(workers: int) -> None:
    seen: list[int] = []

    def work(n: int) -> int:
        seen.append(n)
        if n in (2, 4):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 2"):
        _cancel.map_in_threads(
            work, [1, 2, 3, 4], workers=workers, cancellation=_cancel.Cancellation(), name="t"
        )
    assert sorted(seen) == [1, 2, 3, 4]  # as ThreadPoolExecutor.map: the others still ran


@pytest.mark.parametrize("workers", [1, 2])
def test_nothing_starts_once_cancelled(workers: int) -> None:
    cancellation = _cancel.Cancellation()
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        cancellation.cancel(signal.SIGTERM)
        return n

    with pytest.raises(_cancel.Cancelled):
        _cancel.map_in_threads(work, list(range(10)), workers=workers, cancellation=cancellation, name="t")
    assert len(started) <= workers  # each worker finished the item it had, and took no other


def test_a_wait_ends_as_soon_as_the_run_is_cancelled() -> None:
    cancellation = _cancel.Cancellation()
    threading.Timer(0.05, cancellation.cancel, args=(signal.SIGINT,)).start()
    with pytest.raises(_cancel.Cancelled):
        cancellation.sleep(60)  # a hang here fails the run's timeout, not a timing assertion
    assert cancellation.signum == signal.SIGINT


def test_handlers_are_installed_for_the_run_only() -> None:
    assert threading.current_thread() is threading.main_thread()
    before = [signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)]
    cancellation = _cancel.Cancellation()
    with _cancel.handle_signals(cancellation) as handler:
        assert signal.getsignal(signal.SIGTERM) is handler
        signal.raise_signal(signal.SIGTERM)  # not armed yet: recorded, not raised
        assert cancellation.signum == signal.SIGTERM
        with pytest.raises(_cancel.Cancelled):
            handler.arm()
    assert [signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)] == before


def test_an_ignored_signal_stays_ignored() -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with _cancel.handle_signals(_cancel.Cancellation()):
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.parametrize(
    ("signum", "uploaded", "cut_off", "code", "message"),
    [
        (signal.SIGINT, 0, (), 130, "interrupted (SIGINT): nothing was uploaded"),
        (
            signal.SIGTERM,
            2,
            (),
            143,
            "interrupted (SIGTERM): 2 file(s) had been uploaded by this run; a re-run uploads what is missing",
        ),
        (
            signal.SIGINT,
            1,
            ("a-1.0.tar.gz",),
            130,
            "interrupted (SIGINT): 1 file(s) had been uploaded by this run; the upload of a-1.0.tar.gz was "
            "cut off; a re-run checks the index and uploads what is missing",
        ),
    ],
)
def test_interrupted_says_what_went_up(
    signum: int, uploaded: int, cut_off: tuple[str, ...], code: int, message: str
) -> None:
    error = Interrupted(signum, uploaded=uploaded, cut_off=cut_off)
    assert error.exit_code == code
    assert str(error) == message
