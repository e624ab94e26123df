"""PEP 740 attestations beside a distribution: found, checked offline before anything is sent, and sent
with the file in the upload's ``attestations`` field.

``<file>.<kind>.attestation`` (PyPA's publish action writes ``<file>.publish.attestation``; twine and uv
look for ``<file>.*.attestation``) holds one attestation object: ``version`` 1, ``verification_material``
(certificate, transparency entries), ``envelope`` (a base64 in-toto statement and its signature). The
index verifies the signature against the publisher; what can be checked here, without a network, is what
makes an index refuse the upload after others of the release went up: the shape, one attestation per
predicate type, and a statement whose one subject is this file (name and sha256). Warehouse:
``warehouse/attestations/services.py`` and ``pypi_attestations`` (``Attestation.verify``).
"""

from __future__ import annotations

import base64
import binascii
import glob
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._identity import InvalidFilename, identity_of
from .errors import InvalidDistribution

__all__ = [
    "ATTESTATION_SUFFIX",
    "Attestation",
    "attestation_paths",
    "attested_filename",
    "form_value",
    "read_attestation",
    "read_attestations",
]

ATTESTATION_SUFFIX = ".attestation"
_MAX_BYTES = 4 * 1024 * 1024  # a real one is a few KiB; a bound, as for every read
_STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


@dataclass(frozen=True)
class Attestation:
    """One checked attestation file: where it is, what it attests, and the object to send."""

    path: Path
    predicate_type: str
    content: dict[str, Any]


class _Bad(ValueError):
    """Why an attestation is unusable."""


def attestation_paths(dist_path: Path) -> list[Path]:
    """The attestation files beside a distribution: ``<file>.<kind>.attestation``, sorted."""
    pattern = f"{glob.escape(dist_path.name)}.*{ATTESTATION_SUFFIX}"
    return sorted(path for path in dist_path.parent.glob(pattern) if path.is_file())


def attested_filename(path: Path) -> str | None:
    """The distribution an attestation file is named after (``x.whl.publish.attestation`` → ``x.whl``)."""
    name = path.name
    if not name.endswith(ATTESTATION_SUFFIX):
        return None
    stem = name[: -len(ATTESTATION_SUFFIX)]
    base, dot, kind = stem.rpartition(".")
    return base if dot and kind and base else None


def read_attestations(
    paths: list[Path], *, dist_path: Path, filename: str, sha256: str
) -> tuple[list[Attestation], list[InvalidDistribution]]:
    """Check every attestation of one file; the good ones, and a problem for each bad one."""
    good: list[Attestation] = []
    problems: list[InvalidDistribution] = []
    for path in paths:
        try:
            good.append(read_attestation(path, filename=filename, sha256=sha256))
        except _Bad as exc:
            problems.append(InvalidDistribution(str(path), f"{exc} (the attestation of {dist_path})"))
    seen: dict[str, Path] = {}
    for attestation in good:
        other = seen.setdefault(attestation.predicate_type, attestation.path)
        if other != attestation.path:
            problems.append(
                InvalidDistribution(
                    str(attestation.path),
                    f"a second attestation of {dist_path} for {attestation.predicate_type} (also {other}); "
                    "an index takes one per predicate type",
                )
            )
    return good, problems


def read_attestation(path: Path, *, filename: str, sha256: str) -> Attestation:
    """One attestation file, checked against the file it is for; raise ``_Bad`` with the reason."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise _Bad(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > _MAX_BYTES:
        raise _Bad(f"larger than {_MAX_BYTES // (1024 * 1024)} MiB: not an attestation")
    try:
        content = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: nested beyond any reason
        raise _Bad("not valid JSON") from None
    if not isinstance(content, dict):
        raise _Bad("not an attestation object (a JSON object with version, verification_material, envelope)")
    if content.get("version") != 1:
        raise _Bad(f"attestation version {content.get('version')!r}, expected 1")
    material = _object(content, "verification_material")
    _base64(material, "certificate", "verification_material")
    entries = material.get("transparency_entries")
    if not isinstance(entries, list) or not entries:
        raise _Bad("verification_material.transparency_entries is missing or empty")
    envelope = _object(content, "envelope")
    _base64(envelope, "signature", "envelope")
    statement = _statement(_base64(envelope, "statement", "envelope"))
    predicate_type = statement.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        raise _Bad("the statement has no predicateType")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise _Bad("the statement must have exactly one subject")
    subject = subjects[0]
    name = subject.get("name")
    if not isinstance(name, str) or not _same_file(name, filename):
        raise _Bad(f"it attests {str(name)[:200]!r}, not {filename}: from another file or an earlier build")
    digests = subject.get("digest")
    attested = digests.get("sha256") if isinstance(digests, dict) else None
    if not isinstance(attested, str) or attested.lower() != sha256:
        shown = attested[:64] if isinstance(attested, str) else "none"
        raise _Bad(f"it attests sha256 {shown}, but {filename} has sha256 {sha256}: a stale attestation")
    return Attestation(path, predicate_type, content)


def form_value(attestations: list[Attestation]) -> str:
    """The upload's ``attestations`` field: a JSON array of the attestation objects."""
    return json.dumps([attestation.content for attestation in attestations], separators=(",", ":"))


def _object(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise _Bad(f"{key} is missing or not an object")
    return value


def _base64(parent: dict[str, Any], key: str, where: str) -> bytes:
    value = parent.get(key)
    if not isinstance(value, str) or not value:
        raise _Bad(f"{where}.{key} is missing or not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Bad(f"{where}.{key} is not base64") from None


def _statement(raw: bytes) -> dict[str, Any]:
    try:
        statement = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Bad("envelope.statement is not a JSON in-toto statement") from None
    if not isinstance(statement, dict) or statement.get("_type") != _STATEMENT_TYPE:
        raise _Bad(f"envelope.statement is not an in-toto statement ({_STATEMENT_TYPE})")
    return statement


def _same_file(attested: str, filename: str) -> bool:
    """The subject names this file: as spelled, or the same distribution spelled otherwise (as an index
    normalizes both before comparing: ``Foo_Bar-1.0.tar.gz`` is ``foo_bar-1.0.tar.gz``)."""
    if attested == filename:
        return True
    try:
        return identity_of(attested) == identity_of(filename)
    except InvalidFilename:
        return False
