"""The generated distributions are valid: packaging reads them and their RECORD hashes are right."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import resource
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.metadata import Metadata
from packaging.tags import Tag
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version
from tests.support.dists import (
    DistFactory,
    file_sha256,
    make_large_wheel,
    make_release,
    make_sdist,
    make_wheel,
)


def check_record(wheel: Path) -> dict[str, str]:
    """Assert that RECORD lists every member with its right sha256 and size; return the entries."""
    with zipfile.ZipFile(wheel) as archive:
        [record_name] = [name for name in archive.namelist() if name.endswith(".dist-info/RECORD")]
        rows = list(csv.reader(io.StringIO(archive.read(record_name).decode())))
        assert sorted(row[0] for row in rows) == sorted(archive.namelist())
        entries: dict[str, str] = {}
        for path, digest, size in rows:
            if path == record_name:
                assert (digest, size) == ("", "")
                continue
            algorithm, _, value = digest.partition("=")
            assert algorithm == "sha256"
            sha = hashlib.sha256()
            with archive.open(path) as member:
                while chunk := member.read(1 << 20):
                    sha.update(chunk)
            assert base64.urlsafe_b64encode(sha.digest()).rstrip(b"=").decode() == value
            assert archive.getinfo(path).file_size == int(size)
            entries[path] = digest
    return entries


def wheel_metadata(wheel: Path, name: str = "METADATA") -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        [path] = [p for p in archive.namelist() if p.endswith(f".dist-info/{name}")]
        return archive.read(path)


def test_wheel_is_valid_and_named_by_the_spec(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "Tiny_Pkg.Demo", "0.1.0-alpha1")

    assert wheel.name == "tiny_pkg_demo-0.1.0a1-py3-none-any.whl"
    name, version, build, tags = parse_wheel_filename(wheel.name)
    assert (name, version, build) == ("tiny-pkg-demo", Version("0.1.0a1"), ())
    assert tags == frozenset({Tag("py3", "none", "any")})

    metadata = Metadata.from_email(wheel_metadata(wheel), validate=True)
    assert canonicalize_name(metadata.name) == "tiny-pkg-demo"
    assert metadata.version == Version("0.1.0a1")

    entries = check_record(wheel)
    assert set(entries) == {
        "tiny_pkg_demo/__init__.py",
        "tiny_pkg_demo-0.1.0a1.dist-info/METADATA",
        "tiny_pkg_demo-0.1.0a1.dist-info/WHEEL",
    }
    wheel_file = wheel_metadata(wheel, "WHEEL").decode()
    assert "Root-Is-Purelib: true" in wheel_file
    assert "Tag: py3-none-any" in wheel_file


def test_wheel_with_compressed_tags_and_newer_metadata(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path,
        "demo",
        "2.0",
        tag="py2.py3-none-any",
        metadata_version="2.4",
        extra_metadata={"License-Expression": "MIT", "Requires-Dist": ["httpx>=0.27", "packaging"]},
    )
    _, _, _, tags = parse_wheel_filename(wheel.name)
    assert len(tags) == 2
    metadata = Metadata.from_email(wheel_metadata(wheel), validate=True)
    assert metadata.license_expression == "MIT"
    assert [str(requirement) for requirement in metadata.requires_dist or []] == ["httpx>=0.27", "packaging"]
    assert wheel_metadata(wheel, "WHEEL").decode().count("Tag: ") == 2
    check_record(wheel)


def test_sdist_is_valid_and_named_by_pep_625(tmp_path: Path) -> None:
    sdist = make_sdist(tmp_path, "Tiny_Pkg.Demo", "0.1.0")

    assert sdist.name == "tiny_pkg_demo-0.1.0.tar.gz"
    assert parse_sdist_filename(sdist.name) == ("tiny-pkg-demo", Version("0.1.0"))
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
        pkg_info = archive.extractfile("tiny_pkg_demo-0.1.0/PKG-INFO")
        assert pkg_info is not None
        metadata = Metadata.from_email(pkg_info.read(), validate=True)
    assert set(names) == {
        "tiny_pkg_demo-0.1.0/PKG-INFO",
        "tiny_pkg_demo-0.1.0/pyproject.toml",
        "tiny_pkg_demo-0.1.0/tiny_pkg_demo/__init__.py",
    }
    assert metadata.name == "Tiny_Pkg.Demo"


def test_filename_override_keeps_a_legacy_spelling(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, "Tiny_Pkg.Demo", "0.1.0", filename="Tiny_Pkg.Demo-0.1.0-py3-none-any.whl")
    sdist = make_sdist(tmp_path, "Tiny_Pkg.Demo", "0.1.0", filename="Tiny_Pkg.Demo-0.1.0.tar.gz")

    assert parse_wheel_filename(wheel.name)[0] == "tiny-pkg-demo"
    check_record(wheel)
    with tarfile.open(sdist) as archive:
        assert "Tiny_Pkg.Demo-0.1.0/PKG-INFO" in archive.getnames()


def test_builds_are_deterministic_and_payload_changes_content(tmp_path: Path) -> None:
    first = [path.read_bytes() for path in make_release(tmp_path / "a", "demo", "1.0")]
    again = [path.read_bytes() for path in make_release(tmp_path / "b", "demo", "1.0")]
    changed = make_release(tmp_path / "c", "demo", "1.0", payload=b"other")

    assert first == again
    assert [path.name for path in changed] == ["demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]
    assert all(old != path.read_bytes() for old, path in zip(first, changed, strict=True))


def test_large_wheel_is_stored_and_valid(tmp_path: Path) -> None:
    size = 3 * (1 << 20) + 12345
    wheel = make_large_wheel(tmp_path, "big", "1.0", size, seed=1)

    entries = check_record(wheel)
    with zipfile.ZipFile(wheel) as archive:
        info = archive.getinfo("big/blob.bin")
        assert (info.compress_type, info.file_size) == (zipfile.ZIP_STORED, size)
        blob = archive.read("big/blob.bin")
    assert len({blob[i : i + 4096] for i in range(0, len(blob), 1 << 20)}) == 4  # chunks differ
    other = make_large_wheel(tmp_path / "other", "big", "1.0", size, seed=2)
    assert check_record(other)["big/blob.bin"] != entries["big/blob.bin"]
    assert file_sha256(make_large_wheel(tmp_path / "again", "big", "1.0", size, seed=1)) == file_sha256(wheel)


def test_factory_writes_into_its_folder(dists: DistFactory) -> None:
    paths = [
        dists.wheel("a", "1"),
        dists.sdist("a", "1"),
        dists.large_wheel("b", "1", 10),
        *dists.release("c", "1"),
    ]
    assert {path.parent for path in paths} == {dists.directory}


@pytest.mark.slow
@pytest.mark.parametrize("size", [512 << 20, (2 << 30) + 1], ids=["512MiB", "2GiB"])
def test_large_wheel_memory_stays_flat(tmp_path: Path, size: int) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    wheel = make_large_wheel(tmp_path, "huge", "1.0", size)
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before

    assert grown_kib < 64 * 1024
    assert wheel.stat().st_size > size
    check_record(wheel)
    wheel.unlink()
