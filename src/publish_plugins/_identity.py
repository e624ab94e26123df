"""Distribution identity: which files an index treats as "the same file", parsed from file names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion

__all__ = [
    "SDIST_SUFFIXES",
    "Identity",
    "InvalidFilename",
    "identity_of",
    "is_distribution_filename",
    "remote_identity_of",
]

# PyPI accepts only .tar.gz sdists (PEP 625); the others are recognised so that they can be refused by name.
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tar", ".tgz", ".tbz")
_OTHER_DIST_SUFFIXES = (".egg", ".exe", ".msi", ".rpm", ".dmg", ".deb")


class InvalidFilename(ValueError):
    """A file name that does not parse as a wheel or sdist name."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Normalized project name, canonical version, and the wheel's build tag and tags, or "sdist".

    Two files with the same identity are one distribution to an index: PyPI keeps one sdist per release
    and one wheel per tag set, whatever the spelling of the file name.
    """

    name: NormalizedName
    version: str
    kind: Literal["sdist", "wheel"]
    tags: str = ""  # for wheels: "build-tag|sorted tags"; empty for sdists
    shown_version: str = field(default="", compare=False)  # as the file name writes it, for messages

    def __str__(self) -> str:
        what = "sdist" if self.kind == "sdist" else f"wheel {self.tags.removeprefix('|')}"
        return f"{self.name} {self.shown_version or self.version} ({what})"


def is_distribution_filename(filename: str) -> bool:
    """Whether the name looks like a distribution at all (wheel, sdist, or a legacy format to refuse)."""
    lower = filename.lower()
    return lower.endswith((".whl", *SDIST_SUFFIXES, *_OTHER_DIST_SUFFIXES))


def identity_of(filename: str) -> Identity:
    """Parse a wheel or ``.tar.gz`` sdist file name into its identity; raise InvalidFilename otherwise."""
    try:
        if filename.endswith(".whl"):
            name, version, build, tags = parse_wheel_filename(filename)
            build_text = "".join(str(part) for part in build) if build else ""
            tag_text = ".".join(sorted(str(tag) for tag in tags))
            return Identity(
                name, canonicalize_version(version), "wheel", f"{build_text}|{tag_text}", str(version)
            )
        if filename.endswith(".tar.gz"):
            name, version = parse_sdist_filename(filename)
            return Identity(name, canonicalize_version(version), "sdist", shown_version=str(version))
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        raise InvalidFilename(_first_line(str(exc))) from None
    raise InvalidFilename(f"not a wheel or .tar.gz sdist file name: {filename!r}")


def remote_identity_of(filename: str) -> Identity | None:
    """Identity of a file an index lists, or None if its name does not parse.

    Old sdists in other archive formats (``.zip`` on PyPI) count as the release's sdist.
    """
    for suffix in SDIST_SUFFIXES:
        if filename.lower().endswith(suffix) and suffix != ".tar.gz":
            filename = filename[: -len(suffix)] + ".tar.gz"
            break
    try:
        return identity_of(filename)
    except InvalidFilename:
        return None


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "invalid file name"
