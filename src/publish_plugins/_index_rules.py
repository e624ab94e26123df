"""PyPI's own upload rules for one file, pure: refuse a release before its first byte, not half-way.

Every rule mirrors a refusal in Warehouse (pypi/warehouse at 6b62157, 2026-08-21): the function it comes
from is named beside it, and each message starts with PyPI's own wording, then says what to change.
Warehouse answers with the first refusal only; here every rule is checked, so one run shows them all.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

from packaging.licenses import canonicalize_license_expression
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version
from trove_classifiers import all_classifiers, deprecated_classifiers

__all__ = [
    "DEFAULT_MAX_FILE_SIZE",
    "RELEASE_AGE_LIMIT",
    "FileFacts",
    "ReleaseState",
    "RuleProblem",
    "check_file",
    "over_default_size",
    "parse_size",
    "size_problem",
]

_MIB = 1024**2

# warehouse/constants.py MAX_FILESIZE: the limit of a project nobody raised (up to 1 GiB on request).
DEFAULT_MAX_FILE_SIZE = 100 * _MIB
# warehouse/forklift/legacy.py MAXIMUM_AGE_FOR_NEW_UPLOADS_DAYS (PR #19727).
RELEASE_AGE_LIMIT = timedelta(days=14)

_SIZE_DOCS = "https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase"
_LOCAL_VERSION_DOCS = (
    "https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers"
)


@dataclass(frozen=True, slots=True)
class FileFacts:
    """One distribution file, as plain values: the module does not read files or know the run."""

    filename: str
    size: int
    kind: Literal["wheel", "sdist"]
    name: str  # project name as in the metadata
    version: str  # as in the metadata
    metadata_version: str  # Metadata-Version
    classifiers: tuple[str, ...]
    license_expression: str | None  # License-Expression (metadata 2.4), None when absent
    wheel_tags: tuple[str, ...]  # platform tags of a wheel's file name; () for an sdist


@dataclass(frozen=True, slots=True)
class RuleProblem:
    """One refusal PyPI would give: ``rule`` is a short id, ``message`` one line (PyPI's words, the fix)."""

    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class ReleaseState:
    """What the index's page tells about the file's release, for the 14-day rule."""

    first_upload: datetime | None  # earliest PEP 700 upload-time of the release's files; None: no file there
    upload_times_known: bool  # False when the index gave no upload times (the rule is then skipped)


def check_file(
    facts: FileFacts, *, release: ReleaseState | None = None, now: datetime | None = None
) -> list[RuleProblem]:
    """Every rule PyPI would refuse this file for (empty: none).

    Size over DEFAULT_MAX_FILE_SIZE is not a problem here (a project's limit may be raised): see
    over_default_size() and size_problem(). ``release`` is for a file that will be uploaded: Warehouse
    answers 200 to an identical re-upload before it looks at the release's age.
    """
    problems: list[RuleProblem] = []
    problems.extend(_metadata_version_problems(facts))
    version = _parse_version(facts, problems)
    problems.extend(_license_problems(facts))
    problems.extend(_classifier_problems(facts))
    if facts.kind == "sdist":
        problems.extend(_sdist_name_problems(facts, version))
    else:
        problems.extend(_wheel_name_problems(facts, version))
        problems.extend(_platform_problems(facts))
    if release is not None:
        problems.extend(_release_age_problems(release, now))
    return problems


def over_default_size(facts: FileFacts) -> bool:
    """Whether the file is over PyPI's default limit (legacy.py ``file_upload``: ``file_size > limit``)."""
    return facts.size > DEFAULT_MAX_FILE_SIZE


def size_problem(facts: FileFacts, max_size: int) -> RuleProblem | None:
    """The "file-size" refusal for ``--max-file-size``: None when the file fits.

    warehouse/forklift/legacy.py ``file_upload`` ("File too large"): PyPI prints the limit in MiB and calls
    it MB.
    """
    if facts.size <= max_size:
        return None
    limit = f"{max_size // _MIB} MB" if max_size % _MIB == 0 else f"{max_size} bytes"
    return RuleProblem(
        "file-size",
        f"File too large. Limit for project {facts.name!r} is {limit}. See {_SIZE_DOCS} for more "
        f"information. {facts.filename} is {facts.size} bytes: make it smaller, or ask PyPI for a larger "
        "limit and pass it as --max-file-size.",
    )


_SIZE_RE = re.compile(r"(?P<number>\d+(?:\.\d+)?)\s*(?P<unit>[kmg](?:i?b)?|b)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """Bytes from ``--max-file-size``: "500000", "100M", "100MiB", "1.5G"; ValueError with the reason.

    K, M and G are powers of 1024 with or without "B"/"iB": PyPI's "Limit ... is 100 MB" means 100 MiB,
    so its own message pasted back gives its limit.
    """
    match = _SIZE_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a size: {text!r} (bytes, or a number with K, M or G, such as 100M or 1.5G)")
    unit = match["unit"] or ""
    multiplier = _UNITS[unit[:1].lower()]
    number = Decimal(match["number"])  # exact, so "1.5G" is 1536 MiB to the byte
    if multiplier == 1 and number != number.to_integral_value():
        raise ValueError(f"a size in bytes is a whole number: {text!r}")
    size = int(number * multiplier)
    if size <= 0:
        raise ValueError(f"a size must be more than 0 bytes: {text!r}")
    return size


# --- metadata: warehouse/forklift/metadata.py _validate_metadata, and packaging.metadata below it ---

# metadata.py SUPPORTED_METADATA_VERSIONS (the same list as packaging 26.2's _VALID_METADATA_VERSIONS).
# Not 2.0 (PEP 426, never accepted, yet old bdist_wheel wrote it), and not what a newer packaging
# already knows (2.6 in packaging 26.4): the run's own metadata check accepts those, PyPI does not.
_SUPPORTED_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5")


def _metadata_version_problems(facts: FileFacts) -> list[RuleProblem]:
    if facts.metadata_version in _SUPPORTED_METADATA_VERSIONS:
        return []
    accepted = ", ".join(_SUPPORTED_METADATA_VERSIONS)
    return [
        RuleProblem(
            "metadata-version",
            f"{facts.metadata_version!r} is not a valid metadata version. Rebuild with a build backend "
            f"that writes a Metadata-Version PyPI accepts ({accepted}).",
        )
    ]


def _parse_version(facts: FileFacts, problems: list[RuleProblem]) -> Version | None:
    """The version, or None after recording why it does not parse (packaging's _process_version)."""
    try:
        version = Version(facts.version)
    except InvalidVersion:
        problems.append(
            RuleProblem(
                "version",
                f"{facts.version!r} is invalid for 'version'. Use a PEP 440 version such as 1.0 or 1.0rc1.",
            )
        )
        return None
    if version.local is not None:
        # metadata.py _validate_metadata: "We don't allow the use of the 'local version' field".
        problems.append(
            RuleProblem(
                "local-version",
                f"The use of local versions in '{version}' is not allowed. See {_LOCAL_VERSION_DOCS} for "
                "more information. Drop the '+...' part (setuptools-scm adds one for an untagged or "
                'dirty checkout: local_scheme = "no-local-version").',
            )
        )
    return version


def _license_problems(facts: FileFacts) -> list[RuleProblem]:
    expression = facts.license_expression
    if expression is None:
        return []
    problems: list[RuleProblem] = []
    # packaging Metadata.from_raw refuses a field newer than the file's Metadata-Version; it only checks
    # this when the metadata version itself is valid.
    if facts.metadata_version in _SUPPORTED_METADATA_VERSIONS and _older_than_2_4(facts.metadata_version):
        problems.append(
            RuleProblem(
                "license-expression",
                "license-expression introduced in metadata version 2.4, not "
                f"{facts.metadata_version}. Rebuild with a build backend that writes Metadata-Version 2.4 "
                "or later.",
            )
        )
    try:
        canonicalize_license_expression(expression)
    except ValueError as exc:
        # packaging Metadata._process_license_expression, which Warehouse's metadata.parse runs.
        problems.append(
            RuleProblem(
                "license-expression",
                f"{expression!r} is invalid for 'license-expression'. {exc}: use an SPDX expression "
                "such as 'MIT' or 'Apache-2.0 OR MIT' (https://spdx.org/licenses/).",
            )
        )
    return problems


def _older_than_2_4(metadata_version: str) -> bool:
    return _SUPPORTED_METADATA_VERSIONS.index(metadata_version) < _SUPPORTED_METADATA_VERSIONS.index("2.4")


_KNOWN_CLASSIFIERS = frozenset(all_classifiers)  # includes the deprecated ones, as Warehouse checks them


def _classifier_problems(facts: FileFacts) -> list[RuleProblem]:
    """metadata.py _validate_metadata: unknown classifiers, then deprecated ones, each sorted."""
    used = set(facts.classifiers)
    problems = [
        RuleProblem("classifier", f"{c!r} is not a valid classifier.{_closest_classifier(c)}")
        for c in sorted(used - _KNOWN_CLASSIFIERS)
    ]
    for classifier in sorted(used & deprecated_classifiers.keys()):
        deprecated_by = deprecated_classifiers[classifier]
        if deprecated_by:
            # Warehouse formats the list itself: "use one of ['...'] instead."
            text = f"The classifier {classifier!r} has been deprecated, use one of {deprecated_by} instead."
            problems.append(RuleProblem("classifier", f"{text} Replace it in the project's classifiers."))
        else:
            text = f"The classifier {classifier!r} has been deprecated."
            problems.append(RuleProblem("classifier", f"{text} Remove it from the project's classifiers."))
    return problems


def _closest_classifier(classifier: str) -> str:
    close = difflib.get_close_matches(classifier, sorted(_KNOWN_CLASSIFIERS), n=1, cutoff=0.8)
    if close:
        return f" Did you mean {close[0]!r}? (list: https://pypi.org/classifiers/)"
    return " Use one from https://pypi.org/classifiers/."


# --- file names: warehouse/forklift/legacy.py _validate_filename and file_upload ---

# legacy.py _dist_file_re and forms.py _filetype_extension_mapping["sdist"]; .zip passes this step and is
# refused by the PEP 625 name below.
_DIST_FILE_RE = re.compile(r".+?(?P<extension>\.(tar\.gz|zip|whl))$", re.IGNORECASE)
_SDIST_EXTENSIONS = (".tar.gz", ".zip")
_REBUILD_SDIST = "Rebuild it with a build backend that writes PEP 625 sdist names (python -m build --sdist)."


def _sdist_name_problems(facts: FileFacts, version: Version | None) -> list[RuleProblem]:
    """The steps of file_upload for an sdist, first refusal only, as PyPI stops there."""
    refusal = _sdist_extension_refusal(facts.filename) or _sdist_name_refusal(facts, version)
    return [RuleProblem("sdist-name", f"{refusal} {_REBUILD_SDIST}")] if refusal else []


def _sdist_extension_refusal(filename: str) -> str | None:
    """legacy.py _validate_filename: the extension must be one of the sdist ones, case and all."""
    match = _DIST_FILE_RE.match(filename)
    if match is None:
        return (
            "Invalid file extension: Use .tar.gz, .whl or .zip extension. See "
            "https://www.python.org/dev/peps/pep-0527 and https://peps.python.org/pep-0715/ for more "
            "information."
        )
    if match["extension"] not in _SDIST_EXTENSIONS:
        return (
            f"Invalid file extension: Extension {match['extension']} is invalid for filetype sdist. "
            "See https://www.python.org/dev/peps/pep-0527 for more information."
        )
    return None


def _sdist_name_refusal(facts: FileFacts, version: Version | None) -> str | None:
    """legacy.py file_upload: the sdist name must parse, name the project, then be exactly PEP 625's."""
    filename = facts.filename
    try:
        name_from_filename, _ = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return f"Invalid source distribution filename: {filename}"
    if version is None:
        return None  # already refused as "version"; the expected name needs a version
    project = canonicalize_name(facts.name)
    if version.is_postrelease and name_from_filename != project and filename.count("-") >= 2:
        # file_upload's edge case: a post-release written "1.0-1" puts a hyphen in the version.
        candidate = filename.rpartition("-")[0].rpartition("-")[0]
        try:
            Version(filename[len(candidate) + 1 : -len(".tar.gz")])
        except InvalidVersion:
            pass
        else:
            name_from_filename = canonicalize_name(candidate)
    expected_name = project.replace("-", "_")
    if canonicalize_name(name_from_filename) != project:
        return f"Start filename for {facts.name!r} with {expected_name!r}."
    # PEP 625: the exact name, with the normalized version, and .tar.gz only.
    expected = f"{expected_name}-{version}.tar.gz"
    if filename != expected:
        return f"Filename {filename!r} is invalid, should be {expected!r}."
    return None


def _wheel_name_problems(facts: FileFacts, version: Version | None) -> list[RuleProblem]:
    """file_upload's wheel name checks (PEP 427 / PEP 503), first refusal only."""
    filename = facts.filename
    try:
        name, version_from_filename, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        text = str(exc).rstrip(".")  # packaging's message, as Warehouse returns it, has no full stop
        return [RuleProblem("wheel-name", f"{text}. Rebuild the wheel (python -m build --wheel).")]
    rebuild = "Rebuild the wheel with a current build backend, which writes normalized names."
    canonical = canonicalize_name(facts.name)
    if canonical != name:
        return [
            RuleProblem(
                "wheel-name",
                f"Start filename for {facts.name!r} with {canonical.replace('-', '_')!r}. {rebuild}",
            )
        ]
    # parse_wheel_filename normalizes the name, so the check reads the name as it is written.
    written = filename.split("-", 1)[0]
    normalized = canonical.replace("-", "_")
    if written != normalized:
        return [
            RuleProblem(
                "wheel-name",
                f"Filename {filename!r} should contain the normalized project name {normalized!r}, not "
                f"{written!r}. {rebuild}",
            )
        ]
    if version is not None and version != version_from_filename:
        return [
            RuleProblem(
                "wheel-name",
                f"Version in filename should be {str(version)!r} not {str(version_from_filename)!r}. "
                f"{rebuild}",
            )
        ]
    return []


# --- platform tags: warehouse/forklift/legacy.py _valid_platform_tag, copied rule for rule ---

_ALLOWED_PLATFORMS = frozenset(
    {
        "any",
        "win32",
        "win_arm64",
        "win_amd64",
        "win_ia64",
        "manylinux1_x86_64",
        "manylinux1_i686",
        "manylinux2010_x86_64",
        "manylinux2010_i686",
        "manylinux2014_x86_64",
        "manylinux2014_i686",
        "manylinux2014_aarch64",
        "manylinux2014_armv7l",
        "manylinux2014_ppc64",
        "manylinux2014_ppc64le",
        "manylinux2014_s390x",
        # piwheels' Raspberry Pi wheels (warehouse #2012): the only plain linux_* tags PyPI takes.
        "linux_armv6l",
        "linux_armv7l",
    }
)
# Warehouse uses re.match (anchored at the start only); so does this copy, to accept exactly what it does.
_MACOSX_RE = re.compile(r"macosx_(?P<major>\d+)_(?P<minor>\d+)_(?P<arch>.*)")
_MACOSX_ARCHES = frozenset(
    {"ppc", "ppc64", "i386", "x86_64", "arm64", "intel", "fat", "fat3", "fat64", "universal", "universal2"}
)
# macOS 11 and later: only macosx_<major>_0; 10.x keeps its minor (packaging.python.org #1933).
_MACOSX_MAJOR_VERSIONS = frozenset({"11", "12", "13", "14", "15", "26"})
_IOS_RE = re.compile(r"ios_(\d+)_(\d+)_(?P<arch>.*)_(iphoneos|iphonesimulator)")
_IOS_ARCHES = frozenset({"arm64", "x86_64"})
_ANDROID_RE = re.compile(r"android_(\d+)_(?P<arch>.*)")
_ANDROID_ARCHES = frozenset({"armeabi_v7a", "arm64_v8a", "x86", "x86_64"})
_LINUX_RE = re.compile(r"(?P<libc>(many|musl))linux_(\d+)_(\d+)_(?P<arch>.*)")
_JOINTLINUX_ARCHES = frozenset({"x86_64", "i686", "aarch64", "armv7l", "ppc64le", "s390x", "riscv64"})
_MANYLINUX_ARCHES = _JOINTLINUX_ARCHES | {"ppc64"}
_MUSLLINUX_ARCHES = _JOINTLINUX_ARCHES
_PYEMSCRIPTEN_RE = re.compile(r"pyemscripten_(?P<major>\d+)_(?P<minor>\d+)_wasm32")


def _valid_platform_tag(tag: str) -> bool:
    if tag in _ALLOWED_PLATFORMS:
        return True
    if m := _LINUX_RE.match(tag):
        # A many/musllinux_X_Y tag is decided by its arch alone, as in Warehouse.
        return m["arch"] in (_MUSLLINUX_ARCHES if m["libc"] == "musl" else _MANYLINUX_ARCHES)
    return (
        _valid_macosx_tag(tag)
        or _arch_in(_IOS_RE, tag, _IOS_ARCHES)
        or _arch_in(_ANDROID_RE, tag, _ANDROID_ARCHES)
        or bool(_PYEMSCRIPTEN_RE.match(tag))
    )


def _valid_macosx_tag(tag: str) -> bool:
    m = _MACOSX_RE.match(tag)
    if m is None or m["arch"] not in _MACOSX_ARCHES:
        return False
    return m["major"] == "10" or (m["major"] in _MACOSX_MAJOR_VERSIONS and m["minor"] == "0")


def _arch_in(pattern: re.Pattern[str], tag: str, arches: frozenset[str]) -> bool:
    m = pattern.match(tag)
    return m is not None and m["arch"] in arches


def _platform_problems(facts: FileFacts) -> list[RuleProblem]:
    # packaging's Tag lowercases the platform, and a compressed tag set ("a.b") is several tags.
    tags = sorted({part.lower() for tag in facts.wheel_tags for part in tag.split(".")})
    return [
        RuleProblem(
            "platform-tag",
            f"Binary wheel '{facts.filename}' has an unsupported platform tag '{tag}'. "
            + _platform_advice(tag),
        )
        for tag in tags
        if not _valid_platform_tag(tag)
    ]


def _platform_advice(tag: str) -> str:
    if tag.startswith("linux_"):
        return "Repair it with auditwheel for a manylinux or musllinux tag (linux_* tags are for local use)."
    m = _MACOSX_RE.match(tag)
    if m and m["major"] != "10" and m["minor"] != "0":
        return f"From macOS 11 on PyPI takes only macosx_<major>_0: tag it macosx_{m['major']}_0_{m['arch']}."
    if m and m["major"] != "10" and m["major"] not in _MACOSX_MAJOR_VERSIONS:
        return f"PyPI does not take macOS {m['major']} wheels yet: target an older macOS version."
    return (
        "Use a tag PyPI takes: manylinux/musllinux (auditwheel), macosx, win, ios, android, pyemscripten, "
        "or any."
    )


# --- release age: warehouse/forklift/legacy.py file_upload, "closed-release" (PR #19727) ---


def _release_age_problems(release: ReleaseState, now: datetime | None) -> list[RuleProblem]:
    if not release.upload_times_known or release.first_upload is None:
        return []  # no upload times to judge by, or a new release
    now = _aware(now if now is not None else datetime.now(timezone.utc))
    first = _aware(release.first_upload)
    # Warehouse refuses when release.created < now - 14 days; the earliest file upload stands for
    # release.created (equal unless files were deleted, when the release is older still).
    if first >= now - RELEASE_AGE_LIMIT:
        return []
    days = (now - first).days
    return [
        RuleProblem(
            "release-age",
            f"Uploading new files to releases older than {RELEASE_AGE_LIMIT.days} days is not allowed. "
            f"This release was first uploaded {days} days ago ({first:%Y-%m-%d %H:%M} UTC): publish the "
            "file under a new version.",
        )
    ]


def _aware(moment: datetime) -> datetime:
    """PEP 700 upload times are UTC; a naive datetime is taken as UTC too."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
