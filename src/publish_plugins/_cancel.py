"""Stopping a run at once on Ctrl-C (SIGINT) or SIGTERM.

One :class:`Cancellation` per run. Every worker checks it before it starts an upload, a retry or a second
look at the index, every wait between tries is a wait on it, and an upload body checks it between chunks,
so nothing new starts after the signal and a body being sent is cut off. Worker threads are daemon threads:
an upload stuck in a socket call can never keep the process alive once the main thread has finished.

While :func:`publish` runs in the main thread, SIGINT and SIGTERM (when they have Python's default
handling) set the run's cancellation and raise in the main thread: ``KeyboardInterrupt`` for SIGINT, as
Python does, and :class:`Terminated` for SIGTERM. Both are ``BaseException``, so no ``except Exception``
on the way swallows them; ``publish()`` turns them into the ``Interrupted`` error. The core installs
the handlers for the duration of a run only and prints nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TypeVar

__all__ = [
    "CUT_OFF",
    "Cancellation",
    "Cancelled",
    "SignalHandler",
    "Terminated",
    "current",
    "handle_signals",
    "map_in_threads",
    "running",
]

T = TypeVar("T")
R = TypeVar("R")

# How the record of an upload that was being sent when the run was interrupted begins.
CUT_OFF = "interrupted during its upload"


class Cancelled(BaseException):
    """Raised where a cancelled run would otherwise start or continue something.

    A BaseException, like KeyboardInterrupt: code that catches Exception to retry or to go on must not
    catch it.
    """


class Terminated(BaseException):
    """SIGTERM, raised in the main thread as Python raises KeyboardInterrupt for SIGINT."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        self.signum = signum
        super().__init__(signum)


class Cancellation:
    """A run's "stop now": set once, by a signal (or any exception that ends the run), never cleared."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signum: int | None = None  # the signal that stopped the run, when a signal did

    def cancel(self, signum: int | None = None) -> None:
        if self.signum is None and signum is not None:
            self.signum = signum
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`Cancelled` if the run is cancelled: call before starting anything new."""
        if self._event.is_set():
            raise Cancelled

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, or raise :class:`Cancelled` as soon as the run is cancelled."""
        if self._event.wait(max(0.0, seconds)):
            raise Cancelled


_current: contextvars.ContextVar[Cancellation | None] = contextvars.ContextVar(
    "publish_plugins_cancellation", default=None
)


def current() -> Cancellation:
    """The cancellation of the run in progress (a fresh one, never set, outside a run)."""
    return _current.get() or Cancellation()


@contextlib.contextmanager
def running(cancellation: Cancellation) -> Iterator[None]:
    """Make ``cancellation`` the current one here and in threads started by :func:`map_in_threads`."""
    token = _current.set(cancellation)
    try:
        yield
    finally:
        _current.reset(token)


class SignalHandler:
    """SIGINT and SIGTERM while a run is in progress: cancel it, raise once in the main thread.

    Armed, a signal raises; disarmed, it is only recorded in the cancellation. Armed only inside the run's
    ``try``, so that whatever a signal raises is handled there; disarmed again once the first signal was
    raised and while the report is written: raising again would cut the report short, and nothing that
    could hang is left.
    """

    def __init__(self, cancellation: Cancellation) -> None:
        self.cancellation = cancellation
        self.armed = False

    def arm(self) -> None:
        """Raise on the next signal; a signal that came before is raised now (as Cancelled)."""
        self.armed = True
        self.cancellation.check()

    def disarm(self) -> None:
        self.armed = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.cancellation.cancel(signum)
        if not self.armed:
            return
        self.armed = False
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Terminated(signum)


@contextlib.contextmanager
def handle_signals(cancellation: Cancellation) -> Iterator[SignalHandler]:
    """Install the run's SIGINT and SIGTERM handler (main thread only); restore the previous ones after.

    A signal handled by someone else (a host's own handler, or ignored: ``nohup``, a background job) is
    left alone. The handler starts disarmed (see :class:`SignalHandler`).
    """
    handlers = SignalHandler(cancellation)
    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
    if threading.current_thread() is threading.main_thread():
        for signum, default in (
            (signal.SIGINT, signal.default_int_handler),
            (signal.SIGTERM, signal.SIG_DFL),
        ):
            with contextlib.suppress(ValueError, OSError):
                if signal.getsignal(signum) is default:
                    previous[signum] = signal.signal(signum, handlers)
    try:
        yield handlers
    finally:
        handlers.disarm()
        for number, handler in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(number, handler)


def map_in_threads(
    function: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int,
    cancellation: Cancellation,
    name: str,
) -> list[R]:
    """``function`` over ``items`` on up to ``workers`` threads; the results in the order of ``items``.

    Every item is taken unless the run is cancelled, as ``ThreadPoolExecutor.map`` would; then the first
    error (in the order of the items) is raised. With one worker the items run in this thread, so a signal
    interrupts a blocking call at once. Otherwise the workers are daemon threads, and a signal that
    interrupts this thread's wait leaves them behind: they start nothing new (the cancellation), and a
    request they are stuck in cannot keep the process alive, as a ThreadPoolExecutor's workers would.
    """
    if workers <= 1 or len(items) <= 1:
        results: list[R] = []
        first_error: BaseException | None = None
        for item in items:
            cancellation.check()
            try:
                results.append(function(item))
            except Exception as exc:
                first_error = first_error or exc
                results.append(None)  # type: ignore[arg-type]  # never returned: the error is raised
        if first_error is not None:
            raise first_error
        return results

    slots: list[R | None] = [None] * len(items)
    errors: dict[int, BaseException] = {}
    lock = threading.Lock()
    pending = iter(range(len(items)))

    def work() -> None:
        while not cancellation.cancelled:
            with lock:
                index = next(pending, None)
            if index is None:
                return
            try:
                slots[index] = function(items[index])
            except BaseException as exc:  # handed to the main thread, Cancelled included
                errors[index] = exc

    threads = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(work,),
            name=f"{name}-{number}",
            daemon=True,
        )
        for number in range(min(workers, len(items)))
    ]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()  # interruptible: a signal raises here in the main thread
    except BaseException:
        cancellation.cancel()
        raise
    cancellation.check()
    if errors:
        raise errors[min(errors)]
    return slots  # type: ignore[return-value]  # every slot was filled: no error, not cancelled
