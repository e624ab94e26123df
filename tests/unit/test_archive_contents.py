"""Comparing the contents of two distribution archives: what makes them "equivalent", and the bounds."""

from __future__ import annotations

import gzip
import hashlib
import io
import stat
import tarfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import pytest

from publish_plugins._archive_contents import ArchiveError, Member, archive_members, compare_archives

MiB = 1024 * 1024


@dataclass(frozen=True)
class E:
    """An entry to write: a file's content, a link's target, or nothing for a folder."""

    name: str
    data: bytes = b""
    kind: Literal["file", "folder", "symlink", "hardlink"] = "file"
    perm: int = 0o644


TREE = [
    E("pkg/__init__.py", b""),
    E("pkg/mod.py", b"print('hello')\n"),
    E("pkg/run.sh", b"#!/bin/sh\necho hi\n", perm=0o755),
    E("pkg/data/big.bin", bytes(range(256)) * 64),
    E("pkg/link", b"mod.py", kind="symlink", perm=0o777),
]

_ZIP_MODE = {"file": stat.S_IFREG, "folder": stat.S_IFDIR, "symlink": stat.S_IFLNK}
_TAR_TYPE = {
    "file": tarfile.REGTYPE,
    "folder": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
}


def make_zip(
    path: Path,
    entries: list[E],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    level: int | None = None,
    date: tuple[int, int, int, int, int, int] = (2024, 1, 2, 3, 4, 6),
    unix: bool = True,
    extra_mode: int = 0,
) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for entry in entries:
            name = entry.name + "/" if entry.kind == "folder" else entry.name
            info = zipfile.ZipInfo(name, date_time=date)
            info.create_system = 3 if unix else 0
            info.external_attr = (_ZIP_MODE[entry.kind] | entry.perm | extra_mode) << 16
            info.compress_type = compression
            archive.writestr(info, entry.data, compresslevel=level)
    return path


def make_tar_gz(
    path: Path,
    entries: list[E],
    *,
    mtime: int = 1_700_000_000,
    owner: tuple[int, str] = (0, "root"),
    gzip_mtime: int = 0,
    gzip_name: str = "",
    level: int = 9,
    tar_format: int = tarfile.PAX_FORMAT,
) -> Path:
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w", format=tar_format) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = _TAR_TYPE[entry.kind]
            info.mode = entry.perm
            info.mtime = mtime
            info.uid = info.gid = owner[0]
            info.uname = info.gname = owner[1]
            if entry.kind == "file":
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
            else:
                info.linkname = entry.data.decode()
                archive.addfile(info)
    write_gz(path, stream.getvalue(), mtime=gzip_mtime, name=gzip_name, level=level)
    return path


def write_gz(path: Path, data: bytes, *, mtime: int = 0, name: str = "", level: int = 9) -> Path:
    with path.open("wb") as raw, gzip.GzipFile(name, "wb", level, raw, mtime=mtime) as packed:
        packed.write(data)
    return path


def _octal(number: int) -> bytes:
    """A 12-byte tar number field."""
    return b"%011o\0" % number


def make(kind: Literal["wheel", "sdist"], path: Path, entries: list[E]) -> Path:
    return make_zip(path, entries) if kind == "wheel" else make_tar_gz(path, entries)


def pair(tmp_path: Path, kind: Literal["wheel", "sdist"], ours: list[E], theirs: list[E]) -> str | None:
    (tmp_path / "local").mkdir(exist_ok=True)
    (tmp_path / "remote").mkdir(exist_ok=True)
    name = "pkg-1.0-py3-none-any.whl" if kind == "wheel" else "pkg-1.0.tar.gz"
    local = make(kind, tmp_path / "local" / name, ours)
    remote = make(kind, tmp_path / "remote" / name, theirs)
    return compare_archives(local, remote, kind=kind)


def replaced(entries: list[E], name: str, **changes: Any) -> list[E]:
    return [replace(entry, **changes) if entry.name == name else entry for entry in entries]


KINDS = pytest.mark.parametrize("kind", ["wheel", "sdist"])


# What is read


def test_zip_members_are_normalized(tmp_path: Path) -> None:
    """A wheel's members: names without a folder's "/", kinds, exec bits, sha256 or link target."""
    path = make_zip(tmp_path / "a.whl", [E("pkg", kind="folder", perm=0o755), *TREE])
    members = archive_members(path, kind="wheel")
    assert members["pkg"] == Member("pkg", "folder", executable=False, digest="")
    assert members["pkg/mod.py"] == Member(
        "pkg/mod.py", "file", executable=False, digest=hashlib.sha256(b"print('hello')\n").hexdigest()
    )
    assert members["pkg/run.sh"].executable
    assert members["pkg/link"] == Member("pkg/link", "symlink", executable=False, digest="mod.py")
    assert list(members) == ["pkg", *(entry.name for entry in TREE)]


def test_zip_exec_bits_count_as_pip_counts_them_from_any_system(tmp_path: Path) -> None:
    """pip makes a file executable from external_attr's st_mode whatever system wrote the zip (its
    zip_item_is_executable): so does the comparison. A symlink is read only from a Unix zip."""
    path = make_zip(tmp_path / "a.whl", TREE, unix=False)
    members = archive_members(path, kind="wheel")
    assert members["pkg/run.sh"].executable
    assert not members["pkg/mod.py"].executable
    assert members["pkg/link"] == Member(
        "pkg/link", "file", executable=False, digest=hashlib.sha256(b"mod.py").hexdigest()
    )
    # An exec bit the installer honours is a difference, also from a zip made elsewhere (review).
    (tmp_path / "local").mkdir()
    files = [entry for entry in TREE if entry.kind == "file"]
    remote = make_zip(tmp_path / "b.whl", files, unix=False)
    local = make_zip(tmp_path / "local" / "b.whl", replaced(files, "pkg/run.sh", perm=0o644))
    assert compare_archives(local, remote, kind="wheel") == "pkg/run.sh: executable bit differs"


def test_a_block_that_is_not_a_header_before_more_members_is_refused(tmp_path: Path) -> None:
    """tarfile stops quietly at an invalid header; GNU tar skips it and unpacks what follows."""
    raw = gzip.decompress(make_tar_gz(tmp_path / "good.tar.gz", TREE).read_bytes())
    hidden = io.BytesIO()
    with tarfile.open(fileobj=hidden, mode="w", format=tarfile.PAX_FORMAT) as extra:
        info = tarfile.TarInfo("pkg/evil.py")
        info.size = 5
        extra.addfile(info, io.BytesIO(b"evil\n"))
    bad_block = b"\x01" * 512  # a header whose checksum cannot match
    # Where tarfile looks for the next header, right after the last member: the bad block, then more.
    path = tmp_path / "crafted.tar.gz"
    path.write_bytes(gzip.compress(raw[: _last_member_end(raw)] + bad_block + hidden.getvalue()))
    with pytest.raises(ArchiveError, match="a block that is not a tar header before the end of the archive"):
        archive_members(path, kind="sdist")


def _last_member_end(raw: bytes) -> int:
    """Where the end-of-archive zero blocks of an uncompressed tar begin."""
    position = 0
    while raw[position : position + 512].strip(b"\0"):
        info = tarfile.TarInfo.frombuf(raw[position : position + 512], "utf-8", "surrogateescape")
        position += 512 + (info.size + 511) // 512 * 512
    return position


def test_data_after_the_end_of_a_tar_is_refused(tmp_path: Path) -> None:
    good = make_tar_gz(tmp_path / "good.tar.gz", TREE)
    path = tmp_path / "trailing.tar.gz"
    path.write_bytes(gzip.compress(gzip.decompress(good.read_bytes()) + b"x" * 512))
    with pytest.raises(ArchiveError, match="data after the end of the tar archive"):
        archive_members(path, kind="sdist")


def test_tar_members_are_normalized(tmp_path: Path) -> None:
    """An sdist's members: "./" dropped (hard link targets too), folders kept, links with their target."""
    entries = [
        E("./pkg-1.0", kind="folder", perm=0o755),
        E("./pkg-1.0/run.sh", b"x", perm=0o700),
        E("./pkg-1.0/same.sh", b"./pkg-1.0/run.sh", kind="hardlink"),
        E("pkg-1.0/up", b"../elsewhere", kind="symlink"),
    ]
    members = archive_members(make_tar_gz(tmp_path / "a.tar.gz", entries), kind="sdist")
    assert members == {
        "pkg-1.0": Member("pkg-1.0", "folder", executable=False, digest=""),
        "pkg-1.0/run.sh": Member(
            "pkg-1.0/run.sh", "file", executable=True, digest=hashlib.sha256(b"x").hexdigest()
        ),
        "pkg-1.0/same.sh": Member("pkg-1.0/same.sh", "hardlink", executable=False, digest="pkg-1.0/run.sh"),
        "pkg-1.0/up": Member("pkg-1.0/up", "symlink", executable=False, digest="../elsewhere"),
    }


# Equivalent


@pytest.mark.parametrize(
    "variant",
    [
        {"date": (2030, 12, 31, 23, 59, 58)},
        {"compression": zipfile.ZIP_STORED},
        {"level": 1},
        {"compression": zipfile.ZIP_BZIP2},
        {"compression": zipfile.ZIP_LZMA},
        {"extra_mode": 0o020},  # group write: a permission bit other than x
    ],
    ids=["mtime", "stored", "level-1", "bzip2", "lzma", "other-permission-bits"],
)
def test_wheels_differing_only_outside_the_contents_are_equivalent(
    tmp_path: Path, variant: dict[str, Any]
) -> None:
    """Times, compression method and level, and the non-x permission bits are ignored."""
    local = make_zip(tmp_path / "local.whl", TREE)
    remote = make_zip(tmp_path / "remote.whl", TREE, **variant)
    assert local.read_bytes() != remote.read_bytes()
    assert compare_archives(local, remote, kind="wheel") is None


@pytest.mark.parametrize(
    "variant",
    [
        {"mtime": 0},
        {"owner": (1000, "builder")},
        {"gzip_mtime": 1_700_000_123},
        {"gzip_name": "pkg-1.0.tar"},
        {"level": 1},
        {"tar_format": tarfile.GNU_FORMAT},
    ],
    ids=["mtime", "owner", "gzip-mtime", "gzip-filename", "gzip-level", "gnu-format"],
)
def test_sdists_differing_only_outside_the_contents_are_equivalent(
    tmp_path: Path, variant: dict[str, Any]
) -> None:
    """Times, owners, the gzip header and level, and the tar format are ignored."""
    local = make_tar_gz(tmp_path / "local.tar.gz", TREE)
    remote = make_tar_gz(tmp_path / "remote.tar.gz", TREE, **variant)
    assert local.read_bytes() != remote.read_bytes()
    assert compare_archives(local, remote, kind="sdist") is None


@KINDS
def test_member_order_is_ignored(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """The same members written in another order are equivalent."""
    assert pair(tmp_path, kind, TREE, TREE[::-1]) is None


@KINDS
def test_a_folder_entry_on_one_side_only_is_still_equivalent(
    tmp_path: Path, kind: Literal["wheel", "sdist"]
) -> None:
    """Folder entries are not compared: one build stores them, another leaves them implied."""
    folders = [E("pkg", kind="folder", perm=0o755), E("pkg/data", kind="folder", perm=0o700)]
    assert pair(tmp_path, kind, folders + TREE, TREE) is None
    assert pair(tmp_path, kind, TREE, folders[:1] + TREE) is None


def test_dot_slash_prefix_is_ignored(tmp_path: Path) -> None:
    """ "./pkg/mod.py" and "pkg/mod.py" are the same member."""
    dotted = [E("./" + entry.name, entry.data, entry.kind, entry.perm) for entry in TREE]
    assert pair(tmp_path, "sdist", dotted, TREE) is None


def test_a_rebuilt_pdm_like_sdist_is_equivalent(tmp_path: Path) -> None:
    """Issue 14: the same tree archived at another time, gzip header included, is equivalent."""
    local = make_tar_gz(tmp_path / "local.tar.gz", TREE, mtime=1_700_000_000, gzip_mtime=1_700_000_000)
    remote = make_tar_gz(tmp_path / "remote.tar.gz", TREE, mtime=1_600_000_000, gzip_mtime=1_600_000_000)
    assert hashlib.sha256(local.read_bytes()).digest() != hashlib.sha256(remote.read_bytes()).digest()
    assert compare_archives(local, remote, kind="sdist") is None


# Not equivalent


@KINDS
def test_one_byte_differs(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """A file whose content differs by one byte is named."""
    changed = replaced(TREE, "pkg/mod.py", data=b"print('hellO')\n")
    assert pair(tmp_path, kind, changed, TREE) == "pkg/mod.py differs"


@KINDS
def test_a_file_on_one_side_only(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """An extra file is named with the side that has it."""
    extra = [*TREE, E("pkg/extra.py", b"x = 1\n")]
    assert pair(tmp_path, kind, TREE, extra) == "only in the index's copy: pkg/extra.py"
    assert pair(tmp_path, kind, extra, TREE) == "only in the local file: pkg/extra.py"


@KINDS
def test_executable_bit_differs(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """The x bits count (zip: external_attr from Unix; tar: the mode)."""
    changed = replaced(TREE, "pkg/run.sh", perm=0o644)
    assert pair(tmp_path, kind, changed, TREE) == "pkg/run.sh: executable bit differs"


@KINDS
def test_symlink_target_differs(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """A symlink pointing elsewhere is named with both targets."""
    changed = replaced(TREE, "pkg/link", data=b"run.sh")
    assert pair(tmp_path, kind, changed, TREE) == (
        "symlink pkg/link points to run.sh, not mod.py as in the index's copy"
    )


def test_hard_link_target_differs(tmp_path: Path) -> None:
    """A hard link to another member is a difference."""
    ours = [*TREE, E("pkg/same", b"pkg/mod.py", kind="hardlink")]
    theirs = [*TREE, E("pkg/same", b"pkg/run.sh", kind="hardlink")]
    assert pair(tmp_path, "sdist", ours, theirs) == (
        "hard link pkg/same points to pkg/mod.py, not pkg/run.sh as in the index's copy"
    )


@KINDS
def test_kind_differs(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """A symlink on one side and a file holding its target on the other are not the same."""
    changed = replaced(TREE, "pkg/link", kind="file", perm=0o644)
    assert pair(tmp_path, kind, changed, TREE) == ("pkg/link: a file locally, a symlink in the index's copy")


def test_the_first_difference_by_name_is_reported(tmp_path: Path) -> None:
    """Several differences: the first in name order is the reason."""
    changed = replaced(replaced(TREE, "pkg/run.sh", data=b"x"), "pkg/mod.py", data=b"y")
    assert pair(tmp_path, "wheel", changed, TREE) == "pkg/mod.py differs"


def test_names_are_shown_on_one_clean_line(tmp_path: Path) -> None:
    """A member name with a newline or an escape sequence cannot break or recolour the output."""
    extra = [*TREE, E("pkg/evil\n\x1b[31mred.py", b"")]
    assert pair(tmp_path, "wheel", TREE, extra) == "only in the index's copy: pkg/evil red.py"


# Unreadable or over a bound


@KINDS
def test_duplicate_names_are_refused(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """Two entries of one name: no one content to compare."""
    entries = [*TREE, E("pkg/mod.py", b"other")]
    if kind == "wheel":
        with pytest.warns(UserWarning, match="Duplicate name"):
            path = make_zip(tmp_path / "a.whl", entries)
    else:
        path = make_tar_gz(tmp_path / "a.tar.gz", entries)
    with pytest.raises(ArchiveError, match=r"^pkg/mod\.py appears twice$"):
        archive_members(path, kind=kind)


def test_names_equal_once_normalized_are_duplicates(tmp_path: Path) -> None:
    """ "./pkg/mod.py" and "pkg/mod.py" in one sdist are the same name twice."""
    path = make_tar_gz(tmp_path / "a.tar.gz", [*TREE, E("./pkg/mod.py", b"other")])
    with pytest.raises(ArchiveError, match=r"^pkg/mod\.py appears twice$"):
        archive_members(path, kind="sdist")


def test_zip_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    """A member that decompresses past max_total_bytes is refused."""
    path = make_zip(tmp_path / "bomb.whl", [E("pkg/zeros", bytes(2 * MiB))], level=9)
    assert path.stat().st_size < 10_000
    with pytest.raises(ArchiveError, match=r"^more than 1048576 bytes once decompressed \(the bound\)$"):
        archive_members(path, kind="wheel", max_total_bytes=MiB)
    assert len(archive_members(path, kind="wheel", max_total_bytes=3 * MiB)) == 1


def test_gzip_bomb_stops_at_the_bound(tmp_path: Path) -> None:
    """An sdist whose tar stream decompresses past max_total_bytes is refused."""
    path = make_tar_gz(tmp_path / "bomb.tar.gz", [E("pkg/zeros", bytes(2 * MiB))])
    with pytest.raises(ArchiveError, match=r"^more than 1048576 bytes once decompressed \(the bound\)$"):
        archive_members(path, kind="sdist", max_total_bytes=MiB)
    assert len(archive_members(path, kind="sdist", max_total_bytes=3 * MiB)) == 1


def test_a_huge_tar_header_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """tarfile reads a pax header whole: one claiming 32 MiB of zeros is refused, not read."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 32 * MiB
    stream = header.tobuf(tarfile.USTAR_FORMAT) + bytes(32 * MiB) + bytes(1024)
    path = write_gz(tmp_path / "pax.tar.gz", stream, level=1)
    with pytest.raises(ArchiveError, match=r"^a tar header of 33554432 bytes, over the 16777216 allowed$"):
        archive_members(path, kind="sdist")


def test_a_sparse_member_is_counted_as_read(tmp_path: Path) -> None:
    """A GNU sparse member reads as more than it stores: what is read counts against the bound."""
    info = tarfile.TarInfo("pkg/sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    info.size = 512
    header = bytearray(info.tobuf(tarfile.GNU_FORMAT))
    header[386:410] = _octal(0) + _octal(512)  # one stored block at offset 0
    header[483:495] = _octal(4 * MiB)  # then holes up to 4 MiB
    header[148:156] = b" " * 8  # the checksum is summed with its own field as spaces
    header[148:156] = b"%06o\0 " % sum(header)
    path = write_gz(tmp_path / "sparse.tar.gz", bytes(header) + b"x" * 512 + bytes(1024))
    assert archive_members(path, kind="sdist")["pkg/sparse"].kind == "file"
    with pytest.raises(ArchiveError, match="more than 1048576 bytes once decompressed"):
        archive_members(path, kind="sdist", max_total_bytes=MiB)


@KINDS
def test_too_many_members(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """More entries than max_members (folders count) are refused."""
    path = make(kind, tmp_path / "many", TREE)
    assert len(archive_members(path, kind=kind, max_members=len(TREE))) == len(TREE)
    with pytest.raises(ArchiveError, match=r"^more than 4 members \(the bound\)$"):
        archive_members(path, kind=kind, max_members=len(TREE) - 1)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, -8, -1])
def test_truncated_gzip_is_refused(tmp_path: Path, keep: float) -> None:
    """An sdist cut short, even only in its gzip trailer, is unreadable, not a smaller archive."""
    data = make_tar_gz(tmp_path / "whole.tar.gz", TREE).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: int(len(data) * keep)] if keep > 0 else data[: int(keep)])
    with pytest.raises(ArchiveError, match=r"^cannot be read as a \.tar\.gz file: ") as caught:
        archive_members(cut, kind="sdist")
    assert "\n" not in str(caught.value)


def test_truncated_zip_is_refused(tmp_path: Path) -> None:
    """A wheel cut short is unreadable."""
    data = make_zip(tmp_path / "whole.whl", TREE).read_bytes()
    cut = tmp_path / "cut.whl"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ArchiveError, match=r"^cannot be read as a zip file: File is not a zip file$"):
        archive_members(cut, kind="wheel")


def test_corrupt_zip_member_is_refused(tmp_path: Path) -> None:
    """A stored member whose bytes changed fails zipfile's CRC check."""
    path = make_zip(tmp_path / "a.whl", TREE, compression=zipfile.ZIP_STORED)
    data = path.read_bytes().replace(b"print('hello')", b"print('HELLO')")
    path.write_bytes(data)
    with pytest.raises(
        ArchiveError, match=r"^cannot be read as a zip file: Bad CRC-32 for file 'pkg/mod\.py'$"
    ):
        archive_members(path, kind="wheel")


@KINDS
def test_not_an_archive(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """A file of another format is unreadable, with the library's reason."""
    path = tmp_path / "junk"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(ArchiveError, match=r"^cannot be read as a (zip|\.tar\.gz) file: .+"):
        archive_members(path, kind=kind)


def test_missing_file_is_an_archive_error(tmp_path: Path) -> None:
    """A path that is not there is unreadable too."""
    with pytest.raises(ArchiveError, match="No such file"):
        archive_members(tmp_path / "gone.whl", kind="wheel")


@pytest.mark.parametrize("member_type", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_devices_and_fifos_are_refused(tmp_path: Path, member_type: bytes) -> None:
    """A device or a fifo is no distribution member."""
    info = tarfile.TarInfo("pkg/dev")
    info.type = member_type
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w") as archive:
        archive.addfile(info)
    path = write_gz(tmp_path / "dev.tar.gz", stream.getvalue())
    with pytest.raises(ArchiveError, match=r"^pkg/dev: a device or fifo, not a distribution member$"):
        archive_members(path, kind="sdist")


def test_unknown_tar_types_are_refused(tmp_path: Path) -> None:
    """tarfile would read an unknown member type as a file; here it is refused."""
    info = tarfile.TarInfo("pkg/odd")
    info.type = b"Q"
    stream = io.BytesIO()
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        archive.addfile(info)
    path = write_gz(tmp_path / "odd.tar.gz", stream.getvalue())
    with pytest.raises(ArchiveError, match=r"^pkg/odd: a tar member of unknown type b'Q'$"):
        archive_members(path, kind="sdist")


def test_overlong_zip_symlink_target_is_refused(tmp_path: Path) -> None:
    """A symlink's target is a path; 5000 bytes is none."""
    path = make_zip(tmp_path / "a.whl", [E("pkg/link", b"a" * 5000, kind="symlink")])
    with pytest.raises(ArchiveError, match=r"^pkg/link: a symlink target over 4096 bytes$"):
        archive_members(path, kind="wheel")


@KINDS
def test_compare_names_the_unreadable_side(tmp_path: Path, kind: Literal["wheel", "sdist"]) -> None:
    """compare_archives raises ArchiveError starting with the side that cannot be read."""
    good = make(kind, tmp_path / "good", TREE)
    bad = tmp_path / "bad"
    bad.write_bytes(b"garbage")
    with pytest.raises(ArchiveError, match=r"^the index's copy: cannot be read as a "):
        compare_archives(good, bad, kind=kind)
    with pytest.raises(ArchiveError, match=r"^the local file: cannot be read as a "):
        compare_archives(bad, good, kind=kind)


@KINDS
def test_the_index_copy_is_read_no_further_than_the_local_file_holds(
    tmp_path: Path, kind: Literal["wheel", "sdist"]
) -> None:
    """A copy that decompresses to far more than the local archive cannot be equivalent: its reading stops
    near the local file's size (a hostile index's bomb costs what the local file costs), not at 8 GiB."""
    bomb = [*TREE, replace(TREE[0], name="pkg/zeros.bin", data=bytes(8 * 1024 * 1024))]
    assert pair(tmp_path, kind, TREE, bomb) == "the index's copy holds more bytes than the local file"
    # The other way round is an ordinary difference: the local file is read in full.
    (tmp_path / "other").mkdir()
    assert pair(tmp_path / "other", kind, bomb, TREE) == "only in the local file: pkg/zeros.bin"


def test_a_member_hidden_before_the_zip_is_refused(tmp_path: Path) -> None:
    """zipfile reads through the central directory and skips bytes prepended to the zip; an unzipper that
    reads local headers in order would unpack them (review)."""
    real = make_zip(tmp_path / "real.whl", TREE).read_bytes()
    hidden = make_zip(tmp_path / "hidden.whl", [E("pkg/mod.py", b"import evil\n")]).read_bytes()
    prefix = hidden[: hidden.index(b"PK\x01\x02")]  # the hidden zip's local header and data only
    path = tmp_path / "crafted.whl"
    path.write_bytes(prefix + real)
    assert zipfile.ZipFile(path).read("pkg/mod.py") == b"print('hello')\n"  # what zipfile alone sees
    with pytest.raises(ArchiveError, match="bytes the directory does not list before"):
        archive_members(path, kind="wheel")


def test_real_zips_with_data_descriptors_are_read(tmp_path: Path) -> None:
    """Written to an unseekable stream, zipfile puts each member's sizes in a data descriptor after it."""

    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, chunk: Any) -> int:
            self.data += chunk
            return len(chunk)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:  # type: ignore[arg-type]
        for entry in TREE:
            if entry.kind == "file":
                archive.writestr(entry.name, entry.data)
    path = tmp_path / "streamed.whl"
    path.write_bytes(bytes(sink.data))
    assert sorted(archive_members(path, kind="wheel")) == sorted(e.name for e in TREE if e.kind == "file")
