"""Read and validate one wheel or sdist: file name, core metadata, digests, upload form fields."""

from __future__ import annotations

import os
import stat
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from packaging.metadata import ExceptionGroup, InvalidMetadata, Metadata, RawMetadata, parse_email
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from ._hashing import file_digests
from ._identity import SDIST_SUFFIXES, Identity, InvalidFilename, identity_of
from .errors import InvalidDistribution

__all__ = ["Distribution", "DistributionError", "read_distribution", "upload_form_fields"]

# Core metadata is small; a larger member is a broken or hostile archive.
_MAX_METADATA_BYTES = 16 * 1024 * 1024


class DistributionError(ValueError):
    """A file that cannot be published; ``problem`` names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.problem = InvalidDistribution(str(path), reason)
        super().__init__(str(self.problem))


@dataclass(eq=False)
class Distribution:
    """A validated local distribution file.

    Digests are computed on demand and cached, so a file that is skipped is read only once (for sha256);
    ``prefetched`` holds digests being computed in the background, taken before hashing anew.
    """

    path: Path
    filename: str
    filetype: Literal["bdist_wheel", "sdist"]
    identity: Identity
    name: str  # as written in the metadata
    version: str  # as written in the metadata
    pyversion: str
    size: int
    metadata: RawMetadata
    prefetched: Future[dict[str, str]] | None = field(default=None, repr=False)
    _digests: dict[str, str] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def project(self) -> NormalizedName:
        return self.identity.name

    @property
    def sha256(self) -> str:
        return self.digests(["sha256"])["sha256"]

    def known_sha256(self) -> str | None:
        """The sha256 if it is already known, without waiting or reading the file."""
        return self.known_digests(["sha256"]).get("sha256")

    def known_digests(self, algorithms: Iterable[str]) -> dict[str, str]:
        """Those of the digests that are already known, without waiting or reading the file."""
        known = dict(self._digests)
        future = self.prefetched
        if future is not None and future.done() and not future.cancelled():
            known = {**future.result(), **known}
        return {name: known[name] for name in algorithms if name in known}

    def digests(self, algorithms: Iterable[str]) -> dict[str, str]:
        """Digests by algorithm name (hashlib names, or ``blake2_256``), computed in one pass when missing."""
        wanted = list(dict.fromkeys(algorithms))
        with self._lock:
            missing = [name for name in wanted if name not in self._digests]
            if missing and self.prefetched is not None and not self.prefetched.cancelled():
                self._digests.update(self.prefetched.result())
                self.prefetched = None
                missing = [name for name in wanted if name not in self._digests]
            if missing:
                self._digests.update(file_digests(self.path, missing))
            return {name: self._digests[name] for name in wanted}


def read_distribution(path: Path) -> Distribution:
    """Read, validate and describe one file; raise DistributionError naming the file and the reason."""
    filename = path.name
    size = _check_regular_file(path)
    if (
        not filename.endswith(".whl")
        and filename.lower().endswith(SDIST_SUFFIXES)
        and not filename.endswith(".tar.gz")
    ):
        raise DistributionError(path, "sdists must be .tar.gz archives (PEP 625); other formats are refused")
    if not filename.endswith((".whl", ".tar.gz")):
        raise DistributionError(path, "not a wheel (.whl) or sdist (.tar.gz)")
    try:
        identity = identity_of(filename)
    except InvalidFilename as exc:
        raise DistributionError(path, f"invalid file name: {exc}") from None
    if size == 0:
        raise DistributionError(path, "the file is empty")
    if identity.kind == "wheel":
        raw_metadata = _wheel_metadata(path, identity)
        pyversion = filename[:-4].split("-")[-3]
        filetype: Literal["bdist_wheel", "sdist"] = "bdist_wheel"
    else:
        raw_metadata = _sdist_metadata(path, identity)
        pyversion = "source"
        filetype = "sdist"
    raw, metadata = _parse_metadata(path, raw_metadata)
    _check_matches_filename(path, metadata, identity)
    return Distribution(
        path=path,
        filename=filename,
        filetype=filetype,
        identity=identity,
        name=metadata.name,
        version=str(metadata.version),
        pyversion=pyversion,
        size=size,
        metadata=raw,
    )


def _check_regular_file(path: Path) -> int:
    """The size of a readable regular file; raise DistributionError for anything else."""
    try:
        info = path.stat()
        mode = info.st_mode
    except FileNotFoundError:
        if path.is_symlink():
            reason = "broken symbolic link"
        elif any(char in path.name for char in "*?["):
            reason = "no such file (a shell pattern that matched nothing?)"
        else:
            reason = "no such file"
        raise DistributionError(path, reason) from None
    except OSError as exc:
        raise DistributionError(path, f"cannot read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise DistributionError(path, "is a directory, not a file")
    if not stat.S_ISREG(mode):
        raise DistributionError(path, "not a regular file")
    if not os.access(path, os.R_OK):
        raise DistributionError(path, "permission denied")
    return info.st_size


def _unsafe_member(name: str) -> bool:
    """Absolute paths, drive letters and ``..`` components: a member that would escape on extraction."""
    # String operations rather than PurePosixPath: a wheel can hold thousands of members.
    posix = name.replace("\\", "/")
    return posix.startswith("/") or ".." in posix.split("/") or (len(name) > 1 and name[1] == ":")


def _wheel_metadata(path: Path, identity: Identity) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            for name in names:
                if _unsafe_member(name):
                    raise DistributionError(path, f"unsafe member path in the archive: {name!r}")
            dist_infos = {
                name.split("/", 1)[0] for name in names if name.split("/", 1)[0].endswith(".dist-info")
            }
            matching = [
                folder
                for folder in dist_infos
                if _folder_matches(folder.removesuffix(".dist-info"), identity)
            ]
            if not matching:
                found = ", ".join(sorted(dist_infos)) or "none"
                raise DistributionError(
                    path, f"no .dist-info folder for {identity.name} {identity.version} (found: {found})"
                )
            if len(matching) > 1:
                raise DistributionError(path, f"several .dist-info folders: {', '.join(sorted(matching))}")
            folder = matching[0]
            if f"{folder}/WHEEL" not in names:
                raise DistributionError(path, f"{folder}/WHEEL is missing")
            if f"{folder}/METADATA" not in names:
                raise DistributionError(path, f"{folder}/METADATA is missing")
            info = archive.getinfo(f"{folder}/METADATA")
            if info.file_size > _MAX_METADATA_BYTES:
                raise DistributionError(path, "METADATA is implausibly large")
            return archive.read(info)
    except DistributionError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise DistributionError(path, f"not a valid wheel (zip) archive: {_one_line(exc)}") from None
    except OSError as exc:
        raise DistributionError(path, f"cannot read: {exc.strerror or _one_line(exc)}") from None


def _folder_matches(stem: str, identity: Identity) -> bool:
    name, _, version = stem.rpartition("-")
    if not name:
        return False
    try:
        return canonicalize_name(name) == identity.name and Version(version) == Version(identity.version)
    except ValueError:
        return False


def _sdist_metadata(path: Path, identity: Identity) -> bytes:
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = archive.getmembers()
            top = _single_top_folder(path, members)
            if not _folder_matches(top, identity):
                raise DistributionError(
                    path, f"top folder {top!r} does not match {identity.name} {identity.version}"
                )
            pkg_info = [m for m in members if m.name == f"{top}/PKG-INFO"]
            if not pkg_info:
                raise DistributionError(path, f"{top}/PKG-INFO is missing")
            if len(pkg_info) > 1:
                raise DistributionError(path, f"{top}/PKG-INFO appears more than once")
            member = pkg_info[0]
            if not member.isfile():
                raise DistributionError(path, f"{top}/PKG-INFO is not a regular file")
            if member.size > _MAX_METADATA_BYTES:
                raise DistributionError(path, "PKG-INFO is implausibly large")
            stream = archive.extractfile(member)
            if stream is None:
                raise DistributionError(path, f"{top}/PKG-INFO cannot be read")
            return stream.read()
    except DistributionError:
        raise
    except (tarfile.TarError, EOFError, ValueError, zlib.error) as exc:
        raise DistributionError(path, f"not a valid sdist (.tar.gz) archive: {_one_line(exc)}") from None
    except OSError as exc:
        raise DistributionError(path, f"not a valid sdist (.tar.gz) archive: {_one_line(exc)}") from None


def _single_top_folder(path: Path, members: list[tarfile.TarInfo]) -> str:
    """The one top folder of a safe archive: no member or link may point outside it."""
    tops: set[str] = set()
    for member in members:
        if _unsafe_member(member.name):
            raise DistributionError(path, f"unsafe member path in the archive: {member.name!r}")
        if member.issym() or member.islnk():
            target = str(PurePosixPath(member.name).parent / member.linkname)
            if _unsafe_member(member.linkname) or ".." in PurePosixPath(target).parts:
                raise DistributionError(path, f"link escapes the archive: {member.name!r}")
        tops.add(member.name.split("/", 1)[0])
    if len(tops) != 1:
        raise DistributionError(path, f"an sdist has one top folder; found {len(tops)}")
    return tops.pop()


def _parse_metadata(path: Path, data: bytes) -> tuple[RawMetadata, Metadata]:
    """The raw fields (for the upload form) and the validated metadata, parsed once."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DistributionError(path, "core metadata is not valid UTF-8") from None
    raw, unparsed = parse_email(text)
    if unparsed:
        fields = ", ".join(sorted(unparsed))
        raise DistributionError(path, f"invalid or unknown core metadata fields: {fields}")
    try:
        return raw, Metadata.from_raw(raw, validate=True)
    except ExceptionGroup as group:
        messages = "; ".join(_metadata_message(exc) for exc in group.exceptions)
        raise DistributionError(path, f"invalid core metadata: {messages}") from None
    except InvalidMetadata as exc:
        raise DistributionError(path, f"invalid core metadata: {_metadata_message(exc)}") from None


def _metadata_message(exc: BaseException) -> str:
    return _one_line(exc)


def _check_matches_filename(path: Path, metadata: Metadata, identity: Identity) -> None:
    if canonicalize_name(metadata.name) != identity.name:
        raise DistributionError(
            path, f"metadata name {metadata.name!r} does not match the file name ({identity.name})"
        )
    if metadata.version != Version(identity.version):
        raise DistributionError(
            path, f"metadata version {metadata.version} does not match the file name ({identity.version})"
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


# Form field names of the legacy upload API, as Warehouse's forklift and twine name them, by RawMetadata key.
_FORM_NAMES: dict[str, str] = {
    "metadata_version": "metadata_version",
    "name": "name",
    "version": "version",
    "summary": "summary",
    "description": "description",
    "description_content_type": "description_content_type",
    "keywords": "keywords",
    "home_page": "home_page",
    "download_url": "download_url",
    "author": "author",
    "author_email": "author_email",
    "maintainer": "maintainer",
    "maintainer_email": "maintainer_email",
    "license": "license",
    "license_expression": "license_expression",
    "license_files": "license_file",
    "classifiers": "classifiers",
    "platforms": "platform",
    "supported_platforms": "supported_platform",
    "requires_dist": "requires_dist",
    "requires_python": "requires_python",
    "requires_external": "requires_external",
    "project_urls": "project_urls",
    "provides_extra": "provides_extra",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
    "requires": "requires",
    "provides": "provides",
    "obsoletes": "obsoletes",
    "dynamic": "dynamic",
}


# sha256 only, as uv sends it and twine since 6.2 (no md5): every index that checks a digest checks this
# one (Warehouse needs at least one; Gitea requires sha256), and md5 and blake2 would triple the hashing.
UPLOAD_DIGESTS = ("sha256",)


def upload_form_fields(dist: Distribution) -> list[tuple[str, str]]:
    """The legacy upload form's fields before the file: action, protocol, file type and metadata.

    Name and version come first: devpi reads them before anything else. The digests (UPLOAD_DIGESTS) are
    not among them: the upload body sends them after the file, so that the first byte need not wait for a
    whole pass over a large file (see _upload_request.UploadBody).
    """
    meta = dist.metadata
    fields: list[tuple[str, str]] = [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", dist.name),
        ("version", dist.version),
        ("filetype", dist.filetype),
        ("pyversion", dist.pyversion),
    ]
    for key, form_name in _FORM_NAMES.items():
        if key in ("name", "version"):
            continue
        value = meta.get(key)
        if value is None:
            continue
        if key == "keywords" and isinstance(value, list):
            fields.append((form_name, ",".join(value)))
        elif key == "project_urls" and isinstance(value, dict):
            fields.extend((form_name, f"{label}, {url}") for label, url in value.items())
        elif isinstance(value, list):
            fields.extend((form_name, str(item)) for item in value)
        else:
            fields.append((form_name, str(value)))
    return fields
