"""PEP 740 attestation objects for tests: well-formed, unsigned, and checked the way PyPI checks them.

An attestation here has the shape PyPI's upload form takes (research/trusted-publishing.md,
"Attestations"): ``version``, ``verification_material`` (certificate, transparency entries) and an
``envelope`` whose ``statement`` is a base64 in-toto statement naming the file and its sha256. Nothing
is signed (Sigstore needs the network): the certificate and signature are stand-in bytes, and
:func:`check_attestations` checks only what can be checked offline, with PyPI's wording.

    path = write_attestation(wheel)                      # <wheel>.publish.attestation, beside it
    stale = attestation_for(wheel, sha256="0" * 64)      # names the file, not its content
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PUBLISH_PREDICATE = "https://docs.pypi.org/attestations/publish/v1"
SLSA_PREDICATE = "https://slsa.dev/provenance/v1"
SUPPORTED_PREDICATES = (PUBLISH_PREDICATE, SLSA_PREDICATE)  # PyPI: at most one of each per file
# The predicate a kind of attestation file carries by default (``<dist>.<kind>.attestation``).
KIND_PREDICATES = {"publish": PUBLISH_PREDICATE, "slsa": SLSA_PREDICATE}
# What PyPI puts before every attestation problem in its 400 answer.
INVALID_PREFIX = "Invalid attestations supplied during upload: "
_FAKE_CERTIFICATE = b"0\x82\x02\x9a0\x82\x02 \xa0\x03\x02\x01\x02 not a real certificate (tests)"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def attestation_for(
    dist_path: Path,
    *,
    predicate_type: str = PUBLISH_PREDICATE,
    name: str | None = None,
    sha256: str | None = None,
) -> dict[str, Any]:
    """Return an attestation object for the file at ``dist_path``.

    ``name`` and ``sha256`` replace the file's name and digest in the statement's subject (a stale or
    foreign attestation). The result is deterministic: the same inputs give the same object.
    """
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name or dist_path.name, "digest": {"sha256": sha256 or _file_sha256(dist_path)}}
        ],
        "predicateType": predicate_type,
        "predicate": {},
    }
    statement_bytes = json.dumps(statement, sort_keys=True).encode()
    return {
        "version": 1,
        "verification_material": {
            "certificate": _b64(_FAKE_CERTIFICATE),
            "transparency_entries": [
                {"logIndex": "1", "kindVersion": {"kind": "dsse", "version": "0.0.1"}},
            ],
        },
        "envelope": {
            "statement": _b64(statement_bytes),
            # Stands in for an ECDSA signature: derived from the statement, so it is deterministic.
            "signature": _b64(hashlib.sha512(statement_bytes).digest()),
        },
    }


def attestation_path(dist_path: Path, kind: str = "publish") -> Path:
    """Return ``<dist>.<kind>.attestation`` beside the distribution."""
    return dist_path.with_name(f"{dist_path.name}.{kind}.attestation")


def write_attestation(dist_path: Path, kind: str = "publish", **kwargs: Any) -> Path:
    """Write :func:`attestation_for` (``kwargs`` passed on) as ``<dist>.<kind>.attestation``; return it.

    The predicate type defaults to the kind's (``publish``: PyPI publish v1, ``slsa``: SLSA provenance).
    """
    kwargs.setdefault("predicate_type", KIND_PREDICATES.get(kind, PUBLISH_PREDICATE))
    path = attestation_path(dist_path, kind)
    path.write_text(json.dumps(attestation_for(dist_path, **kwargs)))
    return path


class AttestationError(ValueError):
    """PyPI would refuse these attestations; the message is PyPI's, without :data:`INVALID_PREFIX`."""


def _statement(attestation: object) -> dict[str, Any]:
    """Check one attestation's shape and return its decoded statement (``AttestationError`` if bad)."""
    if not isinstance(attestation, dict) or attestation.get("version") != 1:
        raise AttestationError("Malformed attestations: not a version 1 attestation object")
    material = attestation.get("verification_material")
    envelope = attestation.get("envelope")
    if not isinstance(material, dict) or not isinstance(envelope, dict):
        raise AttestationError("Malformed attestations: verification_material and envelope are required")
    entries = material.get("transparency_entries")
    if not isinstance(entries, list) or not entries:
        raise AttestationError("Malformed attestations: transparency_entries must be a non-empty list")
    try:
        base64.b64decode(material["certificate"], validate=True)
        base64.b64decode(envelope["signature"], validate=True)
        statement = json.loads(base64.b64decode(envelope["statement"], validate=True))
    except (KeyError, TypeError, ValueError, binascii.Error) as error:
        raise AttestationError(f"Malformed attestations: {error}") from error
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise AttestationError("Malformed attestations: the envelope holds no in-toto v1 statement")
    return statement


def check_attestations(raw: str, filename: str, sha256: str) -> list[dict[str, Any]]:
    """Check an upload's ``attestations`` field against the uploaded file as PyPI does, offline.

    Checks the shape, the count (at least 1, at most 2), that each statement names ``filename`` with
    ``sha256``, that its predicate type is supported and that no predicate type repeats. No signature
    is verified. Returns the attestations; raises :class:`AttestationError` with PyPI's message.
    """
    try:
        attestations = json.loads(raw)
    except ValueError as error:
        raise AttestationError(f"Malformed attestations: {error}") from error
    if not isinstance(attestations, list):
        raise AttestationError("Malformed attestations: a JSON array is required")
    if not attestations:
        raise AttestationError("Malformed attestations: an empty attestation set is not permitted")
    if len(attestations) > len(SUPPORTED_PREDICATES):
        raise AttestationError(
            f"A maximum of {len(SUPPORTED_PREDICATES)} attestations per file are supported"
        )
    seen: set[str] = set()
    for attestation in attestations:
        statement = _statement(attestation)
        unverified = "Could not verify the uploaded artifact using the included attestation: "
        subjects = statement.get("subject")
        if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
            raise AttestationError(unverified + "too many subjects in statement (must be exactly one)")
        subject = subjects[0]
        if subject.get("name") != filename:
            raise AttestationError(
                f"{unverified}subject does not match distribution name: {subject.get('name')} != {filename}"
            )
        digest = (subject.get("digest") or {}).get("sha256")
        if digest != sha256:
            raise AttestationError(
                f"{unverified}subject does not match distribution digest: {digest} != {sha256}"
            )
        predicate_type = statement.get("predicateType")
        if predicate_type not in SUPPORTED_PREDICATES:
            raise AttestationError(f"Attestation with unsupported predicate type: {predicate_type}")
        if predicate_type in seen:
            raise AttestationError(
                f"Multiple attestations for the same file with the same predicate type "
                f"({predicate_type}) are not supported"
            )
        seen.add(predicate_type)
    return attestations
