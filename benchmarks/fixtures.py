"""The distributions the scenarios publish, generated once per benchmark session.

Built with the test suite's generators (valid wheels with METADATA/WHEEL/RECORD, PEP 625 sdists), so
every tool accepts them. Contents are incompressible pseudo-random bytes, different for every file.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .harness import link_files
from .support import dists

MIB = 1024 * 1024
KIB = 1024
_PYTHONS = ("cp39", "cp310", "cp311", "cp312", "cp313")
_PLATFORMS = (
    "manylinux_2_17_x86_64",
    "manylinux_2_17_aarch64",
    "musllinux_1_2_x86_64",
    "win_amd64",
    "macosx_11_0_arm64",
)
# 25 distinct tags: a release of up to 25 wheels, as a compiled project ships them.
WHEEL_TAGS = tuple(f"{py}-{py}-{plat}" for py in _PYTHONS for plat in _PLATFORMS)


@dataclass(frozen=True)
class DistFile:
    """A generated distribution and the form fields a plain uploader (the curl floor) sends with it."""

    path: Path
    name: str
    version: str
    filetype: str  # bdist_wheel | sdist
    pyversion: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def project(self) -> str:
        return str(dists.canonicalize_name(self.name))


@dataclass(frozen=True)
class ProjectDir:
    """A project folder with ``pyproject.toml`` and ``dist/``, for tools that publish a project's dist/."""

    name: str
    version: str
    root: Path

    @property
    def dist(self) -> Path:
        return self.root / "dist"


@dataclass(frozen=True)
class FileSet:
    """What a scenario publishes: files in upload order (wheels first) and their project folders."""

    key: str
    files: tuple[DistFile, ...]
    projects: tuple[ProjectDir, ...]

    @property
    def paths(self) -> list[Path]:
        """The files as each tool is given them: inside the project folders' dist/."""
        by_name = {p.name: p for p in self.projects}
        return [by_name[f.project].dist / f.filename for f in self.files]

    @property
    def project_names(self) -> list[str]:
        return [p.name for p in self.projects]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _describe(path: Path, name: str, version: str) -> DistFile:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(MIB):
            digest.update(chunk)
    if path.name.endswith(".whl"):
        filetype, pyversion = "bdist_wheel", path.name[:-4].split("-")[-3]
    else:
        filetype, pyversion = "sdist", "source"
    return DistFile(path, name, version, filetype, pyversion, digest.hexdigest(), path.stat().st_size)


def wheel(folder: Path, name: str, version: str, *, tag: str, size: int, seed: int) -> DistFile:
    path = dists.make_large_wheel(folder, name, version, size, seed=seed, tag=tag)
    return _describe(path, name, version)


def sdist(folder: Path, name: str, version: str, seed: int) -> DistFile:
    path = dists.make_sdist(folder, name, version, payload=f"sdist {seed}".encode())
    return _describe(path, name, version)


def release(folder: Path, name: str, wheels: int, wheel_size: int, *, seed: int = 0) -> list[DistFile]:
    """``wheels`` wheels of ``wheel_size`` bytes and one sdist of version 1.0.0, wheels first."""
    if wheels > len(WHEEL_TAGS):
        raise ValueError(f"at most {len(WHEEL_TAGS)} wheels per release")
    built = [
        wheel(folder, name, "1.0.0", tag=tag, size=wheel_size, seed=seed + index)
        for index, tag in enumerate(WHEEL_TAGS[:wheels])
    ]
    built.sort(key=lambda f: f.filename)
    return [*built, sdist(folder, name, "1.0.0", seed)]


def rebuilt(original: DistFile, folder: Path) -> DistFile:
    """The same file name holding the same files with other bytes: a rebuild without SOURCE_DATE_EPOCH.

    Every member keeps its name, bytes and mode; only the times change (zip member times, tar mtimes
    and the gzip header), as when an unchanged project is built again a day later.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / original.filename
    if original.filename.endswith(".whl"):
        with zipfile.ZipFile(original.path) as source, zipfile.ZipFile(target, "w") as out:
            for info in source.infolist():
                copy = zipfile.ZipInfo(info.filename, (2024, 6, 1, 12, 0, 0))
                copy.compress_type, copy.external_attr = info.compress_type, info.external_attr
                copy.file_size = info.file_size
                with source.open(info) as member, out.open(copy, "w") as written:
                    shutil.copyfileobj(member, written, MIB)
    else:
        with (
            tarfile.open(original.path, "r:gz") as source,
            target.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=1_717_243_200) as compressed,
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as out,
        ):
            for entry in source.getmembers():
                entry.mtime = 1_717_243_200
                out.addfile(entry, source.extractfile(entry) if entry.isfile() else None)
    return _describe(target, original.name, original.version)


def project_dirs(root: Path, key: str, files: Sequence[DistFile]) -> FileSet:
    """Lay the files out as project folders (one per project: pyproject.toml + dist/)."""
    projects: dict[str, ProjectDir] = {}
    for item in files:
        if item.project not in projects:
            folder = root / key / item.project
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "pyproject.toml").write_text(_pyproject(item.name, item.version))
            projects[item.project] = ProjectDir(item.project, item.version, folder)
        link_files([item.path], projects[item.project].dist)
    return FileSet(key, tuple(files), tuple(projects.values()))


def _pyproject(name: str, version: str) -> str:
    # Enough for `pdm publish --no-build` and `poetry publish` to know the project (PEP 621 table).
    return (
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
        'description = "publish-plugins benchmark project"\nrequires-python = ">=3.9"\n\n'
        '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
    )
