"""Digests in one pass, and the choice of the strongest hash an index lists."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from publish_plugins._hashing import DigestPrefetch, file_digests, strongest_hash


@pytest.mark.parametrize("size", [0, 10, 3 * 1024 * 1024, 9 * 1024 * 1024 + 7])
def test_file_digests_match_hashlib(tmp_path: Path, size: int) -> None:
    """Every digest equals hashlib's, for small files and for files hashed on several threads."""
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path = tmp_path / "f"
    path.write_bytes(data)
    digests = file_digests(path, ["sha256", "md5", "blake2_256", "sha512"])
    assert digests == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "md5": hashlib.md5(data).hexdigest(),  # noqa: S324
        "blake2_256": hashlib.blake2b(data, digest_size=32).hexdigest(),
        "sha512": hashlib.sha512(data).hexdigest(),
    }


def test_progress_counts_every_byte(tmp_path: Path) -> None:
    """The chunk callback sees the whole file."""
    path = tmp_path / "f"
    path.write_bytes(b"a" * (5 * 1024 * 1024 + 3))
    seen: list[int] = []
    file_digests(path, ["sha256"], on_chunk=seen.append)
    assert sum(seen) == path.stat().st_size


@pytest.mark.parametrize(
    ("hashes", "expected"),
    [
        ({"sha256": "AB" * 32, "md5": "cd" * 16}, ("sha256", "ab" * 32)),
        ({"md5": "cd" * 16, "sha512": "ef" * 64}, ("sha512", "ef" * 64)),
        ({"sha384": "12" * 48, "sha256": "ab" * 32}, ("sha384", "12" * 48)),
        ({"blake2b": "34" * 32, "md5": "cd" * 16}, ("blake2_256", "34" * 32)),
        ({"blake2b": "34" * 64}, ("blake2b", "34" * 64)),
        ({"md5": "cd" * 16}, ("md5", "cd" * 16)),
        ({}, None),
        ({"sha256": "not-hex"}, None),
        ({"sha256": "ab" * 10}, None),
        ({"sha1": "ab" * 20, "whirlpool": "ab"}, None),
    ],
    ids=[
        "sha256-over-md5",
        "sha512-first",
        "sha384-over-sha256",
        "blake2-256",
        "blake2b-512",
        "md5-only",
        "none",
        "malformed",
        "wrong-length",
        "unknown-only",
    ],
)
def test_strongest_hash(hashes: dict[str, str], expected: tuple[str, str] | None) -> None:
    """sha512 > sha384 > sha256 > blake2b > md5; malformed and unknown entries are ignored."""
    assert strongest_hash(hashes) == expected


def test_prefetch_hashes_large_regular_files_and_leaves_others(tmp_path: Path) -> None:
    """Background hashing never opens a FIFO (reading it would block the run forever) nor fails on a
    missing file, and leaves small files to the run's own thread: those get no future, and whoever needs
    the digest reads the file then (and reports a missing one)."""
    large_content = b"x" * (1024 * 1024 + 1)
    large = tmp_path / "a.whl"
    large.write_bytes(large_content)
    fifo = tmp_path / "b.whl"
    os.mkfifo(fifo)
    missing = tmp_path / "c.whl"
    small = tmp_path / "d.whl"
    small.write_bytes(b"x" * 3000)
    prefetch = DigestPrefetch([large, fifo, missing, small], ["sha256"])
    try:
        future = prefetch.result(large)
        assert future is not None
        assert future.result(timeout=10) == {"sha256": hashlib.sha256(large_content).hexdigest()}
        assert prefetch.result(fifo) is None
        assert prefetch.result(missing) is None
        assert prefetch.result(small) is None
        assert prefetch.result(tmp_path / "other.whl") is None
    finally:
        prefetch.close()


def test_prefetch_shortens_the_switch_interval_only_while_it_hashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interpreter switches threads every 0.5 ms while background hashing runs (so the hasher gets the
    GIL back between chunks), and the interval is what it was once the last file is hashed, or at close."""
    import sys
    import threading

    previous = sys.getswitchinterval()
    large = tmp_path / "a.whl"
    large.write_bytes(os.urandom(3 * 1024 * 1024))
    hashing, go_on = threading.Event(), threading.Event()
    digests = DigestPrefetch._digests

    def held(self: DigestPrefetch, path: Path) -> dict[str, str]:
        hashing.set()
        go_on.wait(10)
        return digests(self, path)

    monkeypatch.setattr(DigestPrefetch, "_digests", held)
    prefetch = DigestPrefetch([large], ["sha256"])
    try:
        assert hashing.wait(10)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        go_on.set()
    future = prefetch.result(large)
    assert future is not None
    future.result(timeout=10)
    prefetch._pool.shutdown(wait=True)
    assert sys.getswitchinterval() == previous
    prefetch.close()  # after the restore: nothing more to restore
    assert sys.getswitchinterval() == previous

    # Closed while hashing: restored at once.
    go_on.clear()
    hashing.clear()
    closed = DigestPrefetch([large], ["sha256"])
    assert hashing.wait(10)
    closed.close()
    assert sys.getswitchinterval() == previous
    go_on.set()

    # Nothing to hash in the background: the interval is never touched.
    small = tmp_path / "b.whl"
    small.write_bytes(b"x")
    sys.setswitchinterval(0.002)
    try:
        DigestPrefetch([small], ["sha256"]).close()
        assert sys.getswitchinterval() == 0.002
    finally:
        sys.setswitchinterval(previous)


def test_overlapping_runs_put_the_switch_interval_back_once_both_are_done(tmp_path: Path) -> None:
    """Two runs at once (a host publishing from two threads): the second must not save the first one's
    short interval as "the interval" and leave it behind."""
    import sys

    previous = sys.getswitchinterval()
    large = tmp_path / "a.whl"
    large.write_bytes(os.urandom(2 * 1024 * 1024))
    first = DigestPrefetch([large], ["sha256"])
    second = DigestPrefetch([large], ["sha256"])
    first.close()
    second.close()
    for prefetch in (first, second):
        prefetch._pool.shutdown(wait=True)  # the restore tasks have run too
    assert sys.getswitchinterval() == previous
