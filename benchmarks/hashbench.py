"""Hashing micro-benchmark, run as a script in the interpreter that has publish_plugins installed.

``python benchmarks/hashbench.py FILE REPEATS`` prints one JSON object: seconds (median of REPEATS) per
method, with the file in the page cache (read once first), so the figures are hashing, not the disk.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK = 1024 * 1024
THREE = ("sha256", "md5", "blake2_256")


def _new(name: str) -> Any:
    if name == "blake2_256":
        return hashlib.blake2b(digest_size=32)
    if name == "md5":
        return hashlib.md5(usedforsecurity=False)
    return hashlib.new(name)


def plain_loop(path: Path, names: tuple[str, ...] = ("sha256",)) -> list[str]:
    """The obvious single pass: read 1 MiB, update every hasher, one after the other."""
    hashers = [_new(name) for name in names]
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            for hasher in hashers:
                hasher.update(chunk)
    return [h.hexdigest() for h in hashers]


def file_digest(path: Path) -> list[str]:
    with path.open("rb") as stream:
        # hashlib.file_digest is new in 3.11 (the project supports 3.10: looked up, not imported).
        digest = getattr(hashlib, "file_digest")(stream, "sha256")  # noqa: B009
        return [digest.hexdigest()]


def beside_a_busy_thread(function: Callable[[], object], *, switch_interval: float | None = None) -> object:
    """``function`` in a background thread while this one runs Python code and never waits: a run's
    background hashing while its main thread imports. The time is the background thread's."""
    previous = sys.getswitchinterval()
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(function()))
    try:
        worker.start()
        spin = 0
        while worker.is_alive():
            spin += sum(range(1000))  # pure Python: holds the GIL until made to give it up
    finally:
        worker.join()
        sys.setswitchinterval(previous)
    return result[0]


def reused_buffer(path: Path, size: int) -> list[str]:
    """sha256 through one reused buffer of ``size`` bytes (the run's background hashing)."""
    hasher = hashlib.sha256()
    buffer = bytearray(size)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as stream:
        while read := stream.readinto(buffer):
            hasher.update(view[:read])
    return [hasher.hexdigest()]


def _time(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    times = []
    value: object = None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def main(argv: list[str]) -> int:
    path, repeats = Path(argv[0]), int(argv[1])
    from publish_plugins._hashing import file_digests

    plain_loop(path)  # page cache
    methods: dict[str, Callable[[], object]] = {
        "hashlib sha256, 1 MiB read loop": lambda: plain_loop(path),
        "hashlib.file_digest sha256": lambda: file_digest(path),
        "file_digests([sha256])": lambda: list(file_digests(path, ["sha256"]).values()),
        "hashlib sha256+md5+blake2b-256, one pass, serial": lambda: plain_loop(path, THREE),
        "file_digests([sha256, md5, blake2_256])": lambda: list(file_digests(path, list(THREE)).values()),
        # The run's background hashing beside a busy main thread: the old setting, then the current one
        # (_hashing: 1 MiB buffer, switch interval 0.5 ms while it runs).
        "beside a busy thread: 8 MiB buffer, switch interval 5 ms": lambda: beside_a_busy_thread(
            lambda: reused_buffer(path, 8 * CHUNK), switch_interval=0.005
        ),
        "beside a busy thread: 1 MiB buffer, switch interval 5 ms": lambda: beside_a_busy_thread(
            lambda: reused_buffer(path, CHUNK), switch_interval=0.005
        ),
        "beside a busy thread: 1 MiB buffer, switch interval 0.5 ms": lambda: beside_a_busy_thread(
            lambda: reused_buffer(path, CHUNK), switch_interval=0.0005
        ),
    }
    results: dict[str, float] = {}
    digests: dict[str, object] = {}
    for name, function in methods.items():
        results[name], digests[name] = _time(function, repeats)
    same = digests["file_digests([sha256])"] == digests["hashlib sha256, 1 MiB read loop"]
    same3 = (
        digests["file_digests([sha256, md5, blake2_256])"]
        == digests["hashlib sha256+md5+blake2b-256, one pass, serial"]
    )
    size = path.stat().st_size
    print(json.dumps({"size": size, "seconds": results, "digests_agree": same and same3}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
