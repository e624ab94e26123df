"""A corpus of malformed distributions, each with the words its one-line error must contain.

Every builder writes into a fresh folder and returns the path to pass on the command line (some cases
return several paths). The corpus is shared by the unit tests of reading and the end-to-end test that
proves nothing at all is uploaded when one file is bad.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .dists import core_metadata, make_sdist, make_wheel

NAME = "bad-demo"
VERSION = "1.0"
WHEEL = "bad_demo-1.0-py3-none-any.whl"
SDIST = "bad_demo-1.0.tar.gz"
WHEEL_FILE = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


@dataclass(frozen=True)
class BadCase:
    """One malformed input: how to build it and what the error must say."""

    id: str
    build: Callable[[Path], list[Path]]
    expect: str  # a fragment of the reason, lowercase
    exit_code: int = 2


def _zip(path: Path, members: dict[str, bytes]) -> list[Path]:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return [path]


def _tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> list[Path]:
    with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return [path]


def _meta(name: str = NAME, version: str = VERSION, **extra: str) -> bytes:
    return core_metadata(name, version, extra_metadata=extra or None)


def _wheel_members(meta: bytes, dist_info: str = "bad_demo-1.0.dist-info") -> dict[str, bytes]:
    return {"bad_demo/__init__.py": b"", f"{dist_info}/METADATA": meta, f"{dist_info}/WHEEL": WHEEL_FILE}


def _truncated_wheel(d: Path) -> list[Path]:
    good = make_wheel(d / "src", NAME, VERSION)
    data = good.read_bytes()
    (d / WHEEL).write_bytes(data[: len(data) // 2])
    return [d / WHEEL]


def _symlink(target: str) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        link = d / WHEEL
        link.symlink_to(target)
        return [link]

    return build


def _unreadable(d: Path) -> list[Path]:
    path = make_wheel(d, NAME, VERSION)
    path.chmod(0)
    return [path]


def _changed_name_meta(d: Path) -> list[Path]:
    return _zip(d / WHEEL, _wheel_members(_meta(name="other-project")))


def _two_of_one_identity(d: Path) -> list[Path]:
    first = make_sdist(d, NAME, VERSION)
    second = make_sdist(d / "other", NAME, VERSION, filename="Bad_Demo-1.0.tar.gz")
    return [first, second]


def _same_file_twice(d: Path) -> list[Path]:
    path = make_wheel(d, NAME, VERSION)
    return [path, path]


def _sdist(members: dict[str, bytes], mode: str = "w:gz", name: str = SDIST) -> Callable[[Path], list[Path]]:
    return lambda d: _tar(d / name, members, mode)


def _wheel(members: dict[str, bytes], name: str = WHEEL) -> Callable[[Path], list[Path]]:
    return lambda d: _zip(d / name, members)


def _raw(name: str, data: bytes) -> Callable[[Path], list[Path]]:
    def build(d: Path) -> list[Path]:
        (d / name).write_bytes(data)
        return [d / name]

    return build


def _directory(d: Path) -> list[Path]:
    (d / WHEEL).mkdir()
    return [d / WHEEL]


def _sdist_with_traversal_link(d: Path) -> list[Path]:
    path = d / SDIST
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("bad_demo-1.0/PKG-INFO")
        data = _meta()
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("bad_demo-1.0/evil")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../../etc/passwd"
        archive.addfile(link)
    return [path]


PKG = "bad_demo-1.0/PKG-INFO"
CASES: list[BadCase] = [
    BadCase("empty-wheel", _raw(WHEEL, b""), "empty"),
    BadCase("empty-sdist", _raw(SDIST, b""), "empty"),
    BadCase("not-a-zip", _raw(WHEEL, b"this is not a zip archive at all" * 10), "not a valid wheel"),
    BadCase("truncated-wheel", _truncated_wheel, "not a valid wheel"),
    BadCase("not-gzip", _raw(SDIST, b"plain text, not gzip" * 10), "not a valid sdist"),
    BadCase("truncated-sdist", lambda d: [_truncate(make_sdist(d, NAME, VERSION))], "not a valid sdist"),
    BadCase(
        "wheel-without-metadata", _wheel({"bad_demo-1.0.dist-info/WHEEL": WHEEL_FILE}), "metadata is missing"
    ),
    BadCase(
        "wheel-without-wheel-file", _wheel({"bad_demo-1.0.dist-info/METADATA": _meta()}), "wheel is missing"
    ),
    BadCase("wheel-without-dist-info", _wheel({"bad_demo/__init__.py": b""}), "no .dist-info"),
    BadCase(
        "dist-info-of-another-name", _wheel(_wheel_members(_meta(), "other-1.0.dist-info")), "no .dist-info"
    ),
    BadCase(
        "dist-info-of-another-version",
        _wheel(_wheel_members(_meta(), "bad_demo-2.0.dist-info")),
        "no .dist-info",
    ),
    BadCase("metadata-name-mismatch", _changed_name_meta, "does not match"),
    BadCase("metadata-version-mismatch", _wheel(_wheel_members(_meta(version="2.0"))), "does not match"),
    BadCase(
        "invalid-metadata-version",
        _wheel(_wheel_members(_meta(version="not.a.version!"))),
        "invalid core metadata",
    ),
    BadCase(
        "missing-name-field",
        _wheel(_wheel_members(b"Metadata-Version: 2.1\nVersion: 1.0\n")),
        "invalid core metadata",
    ),
    BadCase(
        "missing-metadata-version",
        _wheel(_wheel_members(b"Name: bad-demo\nVersion: 1.0\n")),
        "invalid core metadata",
    ),
    BadCase(
        "unknown-metadata-version",
        _wheel(_wheel_members(b"Metadata-Version: 9.9\nName: bad-demo\nVersion: 1.0\n")),
        "invalid core metadata",
    ),
    BadCase(
        "invalid-requires-dist",
        _wheel(_wheel_members(_meta(**{"Requires-Dist": "foo >>>> 1"}))),
        "invalid core metadata",
    ),
    BadCase(
        "unknown-metadata-field",
        _wheel(_wheel_members(_meta(**{"X-Whatever": "1"}))),
        "unknown core metadata",
    ),
    BadCase(
        "undecodable-metadata",
        _wheel(_wheel_members(b"Metadata-Version: 2.1\nName: bad-demo\nVersion: 1.0\nSummary: \xff\xfe\n")),
        "utf-8",
    ),
    BadCase("sdist-without-pkg-info", _sdist({"bad_demo-1.0/setup.py": b""}), "pkg-info is missing"),
    BadCase("sdist-top-folder-mismatch", _sdist({"other-1.0/PKG-INFO": _meta()}), "does not match"),
    BadCase("sdist-two-top-folders", _sdist({PKG: _meta(), "stray.txt": b""}), "one top folder"),
    BadCase("sdist-zip", _raw("bad_demo-1.0.zip", b"PK"), ".tar.gz"),
    BadCase("sdist-tar-bz2", _sdist({PKG: _meta()}, "w:bz2", "bad_demo-1.0.tar.bz2"), ".tar.gz"),
    BadCase("invalid-wheel-tags", _raw("bad_demo-1.0-py3-none.whl", b"PK"), "invalid file name"),
    BadCase("invalid-wheel-version", _raw("bad_demo-1.0!!-py3-none-any.whl", b"PK"), "invalid file name"),
    BadCase("directory-named-whl", _directory, "directory"),
    BadCase("broken-symlink", _symlink("/nonexistent/target.whl"), "broken symbolic link"),
    BadCase("unreadable-file", _unreadable, "permission denied"),
    BadCase("missing-file", lambda d: [d / WHEEL], "no such file"),
    BadCase("same-file-twice", _same_file_twice, "more than once"),
    BadCase("two-files-one-identity", _two_of_one_identity, "same distribution"),
    BadCase(
        "path-traversal-wheel", _wheel({**_wheel_members(_meta()), "../../evil.py": b""}), "unsafe member"
    ),
    BadCase("absolute-member-wheel", _wheel({**_wheel_members(_meta()), "/etc/evil": b""}), "unsafe member"),
    BadCase("path-traversal-sdist", _sdist({PKG: _meta(), "bad_demo-1.0/../../evil": b""}), "unsafe member"),
    BadCase("sdist-link-escapes", _sdist_with_traversal_link, "link escapes"),
    BadCase(
        "duplicate-pkg-info",
        lambda d: _tar_pairs(d / SDIST, [(PKG, _meta()), (PKG, _meta())]),
        "more than once",
    ),
    BadCase("fifo-named-whl", lambda d: _fifo(d / WHEEL), "not a regular file"),
]

# root reads files whatever their mode: this case only means something for an ordinary user.
ROOT_IGNORES_PERMISSIONS = {"unreadable-file"}


def _tar_pairs(path: Path, members: list[tuple[str, bytes]]) -> list[Path]:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return [path]


def _fifo(path: Path) -> list[Path]:
    os.mkfifo(path)
    return [path]


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    return path
