"""File digests in one streaming pass, hashers spread over the cores for large files."""

from __future__ import annotations

import hashlib
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

__all__ = [
    "CHUNK_SIZE",
    "HASH_PREFERENCE",
    "DigestPrefetch",
    "Hasher",
    "file_digests",
    "new_hasher",
    "strongest_hash",
]

CHUNK_SIZE = 1024 * 1024
# Strongest first (DESIGN.md). md5 is last: a match on md5 alone is weak and gets a warning.
HASH_PREFERENCE = ("sha512", "sha384", "sha256", "blake2b", "md5")
# While the run's main thread imports and parses, a background hasher gets the GIL back between chunks
# only when the main thread is made to give it up: after the interpreter's switch interval (5 ms by
# default). While hashing runs, the interval is 0.5 ms, so the hasher waits little for each chunk and the
# chunks can be small: 104 MiB hashed beside a busy thread took 0.23 s in 8 MiB chunks at 5 ms, 0.22 s in
# 1 MiB chunks at 0.5 ms (benchmarks/RESULTS.md, "Hashing"), with an eighth of the memory (one reused
# buffer, part of a run's peak resident memory, inside poetry too).
_PREFETCH_CHUNK_SIZE = CHUNK_SIZE
_PREFETCH_SWITCH_INTERVAL = 0.0005
# Below this size, thread hand-offs cost more than they save.
_PARALLEL_THRESHOLD = 8 * CHUNK_SIZE
# Files smaller than this are not hashed in the background (see _worth_prefetching).
_PREFETCH_MIN_SIZE = CHUNK_SIZE


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


def new_hasher(algorithm: str) -> Hasher:
    """A hashlib object by name; ``blake2_256`` is the 32-byte blake2b that Warehouse uses."""
    if algorithm == "md5":
        # md5 is only compared with what an index lists, or sent because Warehouse accepts it.
        return hashlib.md5(usedforsecurity=False)
    if algorithm == "blake2_256":
        return hashlib.blake2b(digest_size=32)
    return hashlib.new(algorithm)


def file_digests(
    path: Path,
    algorithms: Iterable[str],
    *,
    on_chunk: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, str]:
    """Hex digests of ``path`` for every algorithm, reading the file once.

    ``algorithms`` holds hashlib names, or ``blake2_256`` for the 32-byte blake2b that Warehouse uses.
    hashlib releases the GIL on large buffers, so with several algorithms each chunk is hashed on all of
    them at once in threads.
    """
    hashers = {name: new_hasher(name) for name in dict.fromkeys(algorithms)}
    size = path.stat().st_size
    if len(hashers) > 1 and size >= _PARALLEL_THRESHOLD:
        with path.open("rb") as stream:
            _hash_parallel(stream, list(hashers.values()), on_chunk)
    else:
        _hash_serial(path, list(hashers.values()), on_chunk, min(chunk_size, size + 1))
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def _hash_serial(
    path: Path, hashers: list[Hasher], on_chunk: Callable[[int], None] | None, buffer_size: int
) -> None:
    """One pass through one reused buffer (no allocation per chunk): a file no larger than it was when
    looked at takes one read, plus one to see its end; a file that grew is read to its end all the same."""
    buffer = bytearray(max(buffer_size, 1))
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as stream:
        while size := stream.readinto(buffer):
            piece = view[:size]
            for hasher in hashers:
                hasher.update(piece)
            if on_chunk is not None:
                on_chunk(size)


def _hash_parallel(stream: object, hashers: list[Hasher], on_chunk: Callable[[int], None] | None) -> None:
    read = stream.read  # type: ignore[attr-defined]
    with ThreadPoolExecutor(max_workers=len(hashers), thread_name_prefix="publish-plugins-hash") as pool:
        chunk: bytes = read(CHUNK_SIZE)
        while chunk:
            futures = [pool.submit(hasher.update, chunk) for hasher in hashers]
            # Read the next chunk while the hashers work on this one.
            following: bytes = read(CHUNK_SIZE)
            for future in futures:
                future.result()
            if on_chunk is not None:
                on_chunk(len(chunk))
            chunk = following


class DigestPrefetch:
    """Digests of files computed in a background thread from the start of a run.

    hashlib releases the GIL, so large files are hashed on another core while the run imports its HTTP
    stack, reads the archives and asks the index: on a re-run the digests are ready when they are needed.
    A file that is small or cannot be hashed here (gone, unreadable, not a regular file) gets no result;
    whoever needs its digest reads it then, and reports the error.
    """

    def __init__(self, paths: Sequence[Path], algorithms: Sequence[str]) -> None:
        self._algorithms = tuple(algorithms)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="publish-plugins-prefetch")
        wanted = [path for path in paths if _worth_prefetching(path)]
        self._interval = _ShorterSwitchInterval() if wanted else None
        self._futures = {path: self._pool.submit(self._digests, path) for path in wanted}
        if self._interval is not None:
            # Restored after the last file, or at close(): whichever comes first.
            self._pool.submit(self._interval.restore)

    def result(self, path: Path) -> Future[dict[str, str]] | None:
        return self._futures.get(path)

    def close(self) -> None:
        """Drop what has not started; a file being hashed is finished in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._interval is not None:
            self._interval.restore()

    def _digests(self, path: Path) -> dict[str, str]:
        try:
            # Checked again: the file may have been replaced since.
            if not stat.S_ISREG(path.stat().st_mode):
                return {}
            return file_digests(path, self._algorithms, chunk_size=_PREFETCH_CHUNK_SIZE)
        except OSError:
            return {}


class _ShorterSwitchInterval:
    """The interpreter's switch interval at most _PREFETCH_SWITCH_INTERVAL until :meth:`restore` (once).

    Runs may overlap (a host publishing from two threads): the first one in saves the interval, the last
    one out puts it back, unless someone else has changed it meanwhile.
    """

    _users = 0
    _saved = 0.0
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._restored = False
        with self._lock:
            if _ShorterSwitchInterval._users == 0:
                _ShorterSwitchInterval._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, _PREFETCH_SWITCH_INTERVAL))
            _ShorterSwitchInterval._users += 1

    def restore(self) -> None:
        with self._lock:
            if self._restored:
                return
            self._restored = True
            _ShorterSwitchInterval._users -= 1
            if _ShorterSwitchInterval._users == 0 and sys.getswitchinterval() == min(
                self._saved, _PREFETCH_SWITCH_INTERVAL
            ):
                sys.setswitchinterval(self._saved)


def _worth_prefetching(path: Path) -> bool:
    """Regular files of at least _PREFETCH_MIN_SIZE; smaller ones are hashed by whoever needs the digest.

    Hashing a small file is mostly Python work: a thread doing it holds the GIL against the run's main
    thread (400 wheels of 16 KiB: read alone 81 ms, read beside the prefetch 156 ms, prefetch alone 18 ms).
    """
    try:
        info = path.stat()
    except OSError:
        return False
    # Never open a FIFO or a device: reading it could block forever.
    return stat.S_ISREG(info.st_mode) and info.st_size >= _PREFETCH_MIN_SIZE


def strongest_hash(hashes: Mapping[str, str]) -> tuple[str, str] | None:
    """The (algorithm, lowercase hex) to compare with, strongest first; None when nothing usable is listed.

    The algorithm is a name :func:`new_hasher` takes: a 64-hex-digit blake2b is ``blake2_256``.
    Unknown algorithms and malformed values are ignored, as the simple API spec allows.
    """
    normalized = {str(name).lower().replace("-", "_"): value for name, value in hashes.items()}
    for algorithm in HASH_PREFERENCE:
        keys = ("blake2b", "blake2b_256", "blake2_256") if algorithm == "blake2b" else (algorithm,)
        for key in keys:
            value = normalized.get(key)
            if not (isinstance(value, str) and _is_hex(value)):
                continue
            value = value.lower()
            if algorithm == "blake2b":
                if len(value) == 64:
                    return "blake2_256", value
                if len(value) == 128:
                    return "blake2b", value
                continue
            if len(value) == _HEX_LENGTHS[algorithm]:
                return algorithm, value
    return None


_HEX_LENGTHS = {"sha512": 128, "sha384": 96, "sha256": 64, "md5": 32}


def _is_hex(value: str) -> bool:
    if not value or len(value) % 2:
        return False
    try:
        bytes.fromhex(value)
    except ValueError:
        return False
    return True
