"""Whether two distribution archives of one file name hold the same files: DESIGN.md's "equivalent".

A rebuilt, unchanged project can give an archive with other bytes: PDM's sdists carry the build time, and
any build without ``SOURCE_DATE_EPOCH`` stamps the members' times. Before that is called a conflict, the
run downloads the index's copy and compares what is inside: member names and kinds, link targets, each
file's bytes and its executable bit. Times, owners, the other permission bits, member order and the
compression (method, level, gzip header) are left out, and so are folder entries (see
:func:`compare_archives`).

Either archive may come from anyone, the index's copy above all, so everything read is bounded: the
decompressed bytes are counted as they are read, a chunk at a time, and a zip or gzip bomb stops at the
bound without filling the memory. Member names and library messages are shown as one clean line.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import stat
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, cast

from ._text import clean_server_text

try:
    import lzma

    _LZMA_ERRORS: tuple[type[Exception], ...] = (lzma.LZMAError,)
except ImportError:  # a Python built without lzma: zipfile then refuses such members with RuntimeError
    _LZMA_ERRORS = ()

__all__ = [
    "ArchiveError",
    "LocalArchive",
    "Member",
    "archive_members",
    "compare_archives",
    "compare_with",
    "read_local",
]

_CHUNK = 1024 * 1024
# tarfile reads a pax or GNU long-name header whole, in one read of the size the header claims; every
# other read here is at most _CHUNK. A header claiming more is refused before it is read: real ones hold
# a long path or a few attributes.
_MAX_TAR_READ = 16 * _CHUNK
# A symlink's target is a path; Linux's PATH_MAX.
_MAX_LINK_TARGET = 4096
# ZipInfo.create_system of a zip written on Unix: only then are the high 16 bits of external_attr a
# st_mode (file type and permission bits).
_ZIP_UNIX = 3
# What zipfile, zlib, bz2 and lzma raise on a broken or cut archive; RuntimeError and its subclass
# NotImplementedError for an encrypted member or an unknown compression method.
_ZIP_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    RuntimeError,
    zlib.error,
    *_LZMA_ERRORS,
)
# What tarfile, gzip and zlib raise on a broken or cut archive (gzip: OSError, EOFError when cut short).
_TAR_ERRORS = (tarfile.TarError, OSError, EOFError, zlib.error)
_KIND_WORDS = {"file": "file", "folder": "folder", "symlink": "symlink", "hardlink": "hard link"}


_MAX_TOTAL_BYTES = 8 * 1024**3
_MAX_MEMBERS = 200_000


@dataclass(frozen=True)
class Member:
    """One entry of an archive, normalized."""

    name: str  # the member path as stored, with a folder's trailing "/" removed; "./" prefix removed
    kind: Literal["file", "folder", "symlink", "hardlink"]
    executable: bool  # files: any x bit set (zip: from external_attr >> 16 when created on Unix; else False)
    digest: str  # files: sha256 hex of the content; links: the target; folders: ""


class ArchiveError(ValueError):
    """The archive cannot be read or is over a bound: the reason, one line."""


def archive_members(
    path: Path,
    *,
    kind: Literal["wheel", "sdist"],
    max_total_bytes: int = _MAX_TOTAL_BYTES,
    max_members: int = _MAX_MEMBERS,
) -> dict[str, Member]:
    """The members by name; ArchiveError when unreadable, duplicated names, or over a bound.

    A wheel is read as a zip, an sdist as a ``.tar.gz``. The decompressed bytes (a wheel's members, an
    sdist's whole tar stream) are counted while reading, in chunks: a zip or gzip bomb stops at
    ``max_total_bytes`` in bounded memory. ``max_members`` counts every entry, folders included.
    """
    budget = _Budget(max_total_bytes)
    if kind == "wheel":
        return _zip_members(path, budget, max_members)
    return _tar_members(path, budget, max_members)


@dataclass(frozen=True)
class LocalArchive:
    """A local archive's members, read once, and how far the index's copy may be read to compare with it."""

    members: dict[str, Member]
    decompressed: int  # bytes read once decompressed (an sdist's tar stream, headers included)

    @property
    def copy_bound(self) -> int:
        """Equivalent archives hold the same bytes once decompressed, give or take their headers: the
        index's copy is read (downloaded, decompressed) no further than this, so that a hostile index's
        bomb costs what the local file costs."""
        slack = 1024 * 1024 + 1024 * len(self.members) + self.decompressed // 8
        return min(self.decompressed + slack, _MAX_TOTAL_BYTES)


def read_local(path: Path, *, kind: Literal["wheel", "sdist"]) -> LocalArchive:
    """The local archive, for :func:`compare_with`; ArchiveError ("the local file: …") when unreadable."""
    budget = _Budget(_MAX_TOTAL_BYTES)
    members = _members_of("the local file", path, kind, budget)
    return LocalArchive(members, budget.used)


def compare_with(local: LocalArchive, remote: Path, *, kind: Literal["wheel", "sdist"]) -> str | None:
    """None when the index's copy at ``remote`` is equivalent to ``local``; otherwise a short reason naming
    the first difference, by member name. ArchiveError ("the index's copy: …") when it cannot be read.

    Folder entries are not compared: whether a zip or a tar stores an entry for each folder, or only the
    files (the folders then implied by their paths), depends on the tool and its version, not on the tree.
    Two builds of the same tree can differ there, and a folder holds no bytes of its own: every file in
    it, with its path, is compared.
    """
    budget = _Budget(local.copy_bound)
    try:
        remote_members = _members_of("the index's copy", remote, kind, budget)
    except ArchiveError:
        if budget.over:
            return "the index's copy holds more bytes than the local file"
        raise
    ours, theirs = _compared(local.members), _compared(remote_members)
    # The project's own files before the build's records (RECORD, PKG-INFO, SOURCES.txt), which differ
    # whenever a file does: the first difference named is the one that tells what changed.
    for name in sorted(ours.keys() | theirs.keys(), key=_records_last):
        reason = _difference(name, ours.get(name), theirs.get(name))
        if reason is not None:
            return reason
    return None


def compare_archives(local: Path, remote: Path, *, kind: Literal["wheel", "sdist"]) -> str | None:
    """:func:`compare_with` for two paths; ArchiveError names the side that cannot be read."""
    return compare_with(read_local(local, kind=kind), remote, kind=kind)


def _members_of(side: str, path: Path, kind: Literal["wheel", "sdist"], budget: _Budget) -> dict[str, Member]:
    try:
        if kind == "wheel":
            return _zip_members(path, budget, _MAX_MEMBERS)
        return _tar_members(path, budget, _MAX_MEMBERS)
    except ArchiveError as exc:
        raise ArchiveError(f"{side}: {exc}") from exc


def _compared(members: dict[str, Member]) -> dict[str, Member]:
    return {name: member for name, member in members.items() if member.kind != "folder"}


def _difference(name: str, ours: Member | None, theirs: Member | None) -> str | None:
    shown = _shown(name)
    if ours is None or theirs is None:
        side = "the local file" if theirs is None else "the index's copy"
        return f"only in {side}: {shown}"
    if ours.kind != theirs.kind:
        here, there = _KIND_WORDS[ours.kind], _KIND_WORDS[theirs.kind]
        return f"{shown}: a {here} locally, a {there} in the index's copy"
    if ours.digest != theirs.digest:
        if ours.kind == "file":
            return f"{shown} differs"
        return (
            f"{_KIND_WORDS[ours.kind]} {shown} points to {_shown(ours.digest)}, "
            f"not {_shown(theirs.digest)} as in the index's copy"
        )
    if ours.executable != theirs.executable:
        return f"{shown}: executable bit differs"
    return None


class _Budget:
    """Decompressed bytes read from one archive; going past the bound stops the reading."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.over = False  # the bound stopped the reading

    def take(self, count: int) -> None:
        self.used += count
        if self.used > self.limit:
            raise self.exceeded()

    def exceeded(self) -> ArchiveError:
        self.over = True
        return ArchiveError(f"more than {self.limit} bytes once decompressed (the bound)")


def _zip_members(path: Path, budget: _Budget, max_members: int) -> dict[str, Member]:
    members: dict[str, Member] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > max_members:
                raise _too_many(max_members)
            # zipfile never gives more than a member's declared size, so the declared sizes bound the
            # reading: a bomb that says what it is is refused before any of it is decompressed.
            if sum(entry.file_size for entry in entries) > budget.limit:
                raise budget.exceeded()
            _check_zip_layout(path, entries, archive.start_dir)
            for entry in entries:
                _add(members, _zip_member(archive, entry, budget))
    except _ZIP_ERRORS as exc:
        raise ArchiveError(f"cannot be read as a zip file: {_one_line(exc)}") from exc
    return members


def _check_zip_layout(path: Path, entries: list[zipfile.ZipInfo], directory: int) -> None:
    """The members, and nothing else, from the first byte to the central directory.

    zipfile reads members through the central directory only; tools that read the local headers in order
    (streaming unzippers) see whatever else lies in between: bytes before the first member, or a member
    between two, would be files the comparison never saw.
    """
    position = {0}
    with path.open("rb") as raw:
        for entry in sorted(entries, key=lambda item: item.header_offset):
            if entry.header_offset not in position:
                raise ArchiveError(f"bytes the directory does not list before {_shown(entry.filename)}")
            raw.seek(entry.header_offset)
            header = raw.read(30)
            if len(header) < 30 or header[:4] != b"PK\x03\x04":
                raise ArchiveError(f"{_shown(entry.filename)}: no local header where the directory says")
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            end = entry.header_offset + 30 + name_length + extra_length + entry.compress_size
            # A data descriptor after the data (flag bit 3): crc and sizes, with or without its signature,
            # 32- or 64-bit sizes.
            position = {end + size for size in (12, 16, 20, 24)} if entry.flag_bits & 0x08 else {end}
    if entries and directory not in position:
        raise ArchiveError("bytes the directory does not list before the central directory")


def _zip_member(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: _Budget) -> Member:
    if entry.is_dir():
        return Member(_normalized(entry.filename, folder=True), "folder", executable=False, digest="")
    name = _normalized(entry.filename)
    mode = entry.external_attr >> 16
    with archive.open(entry) as stream:
        if entry.create_system == _ZIP_UNIX and stat.S_ISLNK(mode):
            # Info-ZIP and Python's zipfile store a symlink as a member whose content is its target.
            target = stream.read(_MAX_LINK_TARGET + 1)
            budget.take(len(target))
            if len(target) > _MAX_LINK_TARGET:
                raise ArchiveError(f"{_shown(name)}: a symlink target over {_MAX_LINK_TARGET} bytes")
            return Member(name, "symlink", executable=False, digest=target.decode("utf-8", "surrogateescape"))
        # pip's rule (zip_item_is_executable), whatever system wrote the zip: what an install makes of it.
        executable = bool(mode and stat.S_ISREG(mode) and mode & 0o111)
        return Member(name, "file", executable=executable, digest=_sha256(stream, budget))


def _tar_members(path: Path, budget: _Budget, max_members: int) -> dict[str, Member]:
    members: dict[str, Member] = {}
    try:
        with path.open("rb") as raw, gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            stream = _CappedStream(unzipped, budget)
            # tarfile over our gzip stream, not "r:gz": every read and seek of the decompressed stream then
            # passes through _CappedStream, tarfile's own header reads included.
            with tarfile.open(fileobj=stream, mode="r:", encoding="utf-8") as archive:
                for info in archive:
                    if len(members) >= max_members:
                        raise _too_many(max_members)
                    _add(members, _tar_member(archive, info, budget))
            # tarfile stops quietly at a block that is not a valid header: other tools (GNU tar) skip it and
            # read on. What ends the archive must be the end-of-archive zeros, and nothing may follow them.
            if stream.last_read.strip(b"\0"):
                raise ArchiveError("a block that is not a tar header before the end of the archive")
            # To the end: gzip checks its CRC and length only there, and tarfile takes a stream cut at a
            # header as a shorter archive. A copy cut short must not pass for a smaller one.
            while chunk := stream.read(_CHUNK):
                if chunk.strip(b"\0"):
                    raise ArchiveError("data after the end of the tar archive")
    except _TAR_ERRORS as exc:
        raise ArchiveError(f"cannot be read as a .tar.gz file: {_one_line(exc)}") from exc
    return members


def _tar_member(archive: tarfile.TarFile, info: tarfile.TarInfo, budget: _Budget) -> Member:
    if info.isdir():
        return Member(_normalized(info.name, folder=True), "folder", executable=False, digest="")
    name = _normalized(info.name)
    if info.issym():
        return Member(name, "symlink", executable=False, digest=info.linkname)
    if info.islnk():
        # A hard link names another member: its name is normalized like that member's.
        return Member(name, "hardlink", executable=False, digest=_normalized(info.linkname))
    if info.ischr() or info.isblk() or info.isfifo():
        raise ArchiveError(f"{_shown(name)}: a device or fifo, not a distribution member")
    if not info.isreg():
        # tarfile would read an unknown type as a regular file; a distribution has none.
        raise ArchiveError(f"{_shown(name)}: a tar member of unknown type {info.type!r}")
    # extractfile gives None only for links and special files, handled above.
    with cast("IO[bytes]", archive.extractfile(info)) as stream:
        # Counted here too: a GNU sparse member reads as more bytes than the stream holds.
        return Member(name, "file", executable=bool(info.mode & 0o111), digest=_sha256(stream, budget))


class _CappedStream:
    """An sdist's decompressed tar stream as tarfile reads it, refused past the budget's bound."""

    def __init__(self, stream: gzip.GzipFile, budget: _Budget) -> None:
        self._stream = stream
        self._budget = budget
        self.last_read = b""  # the last read: after tarfile's last member, the block that ended it

    def read(self, size: int, /) -> bytes:
        if not 0 <= size <= _MAX_TAR_READ:
            raise ArchiveError(f"a tar header of {size} bytes, over the {_MAX_TAR_READ} allowed")
        data = self._stream.read(size)
        self._check(self._stream.tell())
        self.last_read = data
        return data

    def seek(self, position: int, whence: int = io.SEEK_SET, /) -> int:
        # gzip seeks forward by decompressing: a target past the bound is refused before the work.
        self._check(position if whence == io.SEEK_SET else self._stream.tell() + position)
        return self._stream.seek(position, whence)

    def tell(self) -> int:
        return self._stream.tell()

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes, /) -> int:
        raise io.UnsupportedOperation("read only")

    def close(self) -> None:
        """The gzip stream is closed by whoever opened it."""

    def _check(self, position: int) -> None:
        if position > self._budget.limit:
            raise self._budget.exceeded()


def _sha256(stream: IO[bytes], budget: _Budget) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        budget.take(len(chunk))
        digest.update(chunk)
    return digest.hexdigest()


def _add(members: dict[str, Member], member: Member) -> None:
    # Two entries of one name: which one an installer or unpacker takes differs between tools, so
    # the archive has no one content to compare.
    if member.name in members:
        raise ArchiveError(f"{_shown(member.name)} appears twice")
    members[member.name] = member


def _normalized(name: str, *, folder: bool = False) -> str:
    # Tools differ in writing "./pkg-1.0/..." or "pkg-1.0/...", and "pkg/" or "pkg" for a folder.
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/") if folder else name


def _too_many(max_members: int) -> ArchiveError:
    return ArchiveError(f"more than {max_members} members (the bound)")


def _shown(text: str) -> str:
    # Names come from the archive: shown without control characters, which could rewrite a terminal.
    return clean_server_text(text)


def _one_line(exc: BaseException) -> str:
    return clean_server_text(str(exc)) or type(exc).__name__


def _records_last(name: str) -> tuple[bool, str]:
    parts = name.split("/")
    record = any(part.endswith((".dist-info", ".egg-info")) for part in parts[:-1]) or parts[-1] == "PKG-INFO"
    return record, name
