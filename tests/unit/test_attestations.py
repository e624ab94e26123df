"""Attestations checked offline before anything is sent: shape, one per predicate type, this file's
name and sha256; what goes in the upload's ``attestations`` field."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from tests.support.attestations import SLSA_PREDICATE, attestation_for, write_attestation

from publish_plugins._attestations import (
    attestation_paths,
    attested_filename,
    form_value,
    read_attestation,
    read_attestations,
)

WHEEL = "demo_pkg-1.0-py3-none-any.whl"


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    path = tmp_path / WHEEL
    path.write_bytes(b"not really a wheel, but bytes with a digest")
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check(path: Path, wheel: Path) -> None:
    read_attestation(path, filename=wheel.name, sha256=_sha256(wheel))


def test_a_good_attestation_is_taken_with_its_predicate_type(wheel: Path) -> None:
    path = write_attestation(wheel)
    attestation = read_attestation(path, filename=wheel.name, sha256=_sha256(wheel))
    assert attestation.predicate_type == "https://docs.pypi.org/attestations/publish/v1"
    assert attestation.content == json.loads(path.read_text())
    assert json.loads(form_value([attestation])) == [attestation.content]


def test_the_files_beside_a_distribution_are_found_by_name(wheel: Path) -> None:
    publish = write_attestation(wheel)
    slsa = write_attestation(wheel, "slsa")
    (wheel.parent / "other-1.0.tar.gz.publish.attestation").write_text("{}")
    (wheel.parent / f"{WHEEL}.attestation").write_text("{}")  # no kind: not an attestation file name
    assert attestation_paths(wheel) == sorted([publish, slsa])
    assert attested_filename(publish) == WHEEL
    assert attested_filename(wheel.parent / f"{WHEEL}.attestation") == "demo_pkg-1.0-py3-none-any"


def _rewrite(path: Path, change: Any) -> Path:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


def _statement(data: dict[str, Any], **changes: Any) -> None:
    statement = json.loads(base64.b64decode(data["envelope"]["statement"]))
    statement.update(changes)
    data["envelope"]["statement"] = base64.b64encode(json.dumps(statement).encode()).decode()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d.update(version=2), "attestation version 2, expected 1"),
        (lambda d: d.pop("envelope"), "envelope is missing or not an object"),
        (lambda d: d.pop("verification_material"), "verification_material is missing or not an object"),
        (
            lambda d: d["verification_material"].update(transparency_entries=[]),
            "verification_material.transparency_entries is missing or empty",
        ),
        (
            lambda d: d["verification_material"].update(certificate="***"),
            "verification_material.certificate is not base64",
        ),
        (lambda d: d["envelope"].update(signature=None), "envelope.signature is missing or not a string"),
        (
            lambda d: d["envelope"].update(statement=base64.b64encode(b"[1]").decode()),
            "envelope.statement is not an in-toto statement",
        ),
        (
            lambda d: d["envelope"].update(statement=base64.b64encode(b"\xff").decode()),
            "envelope.statement is not a JSON in-toto statement",
        ),
        (lambda d: _statement(d, predicateType=""), "the statement has no predicateType"),
        (lambda d: _statement(d, subject=[]), "the statement must have exactly one subject"),
        (
            lambda d: _statement(d, subject=[{"name": WHEEL}, {"name": WHEEL}]),
            "the statement must have exactly one subject",
        ),
    ],
)
def test_a_malformed_attestation_is_refused_with_the_reason(wheel: Path, change: Any, reason: str) -> None:
    path = _rewrite(write_attestation(wheel), change)
    with pytest.raises(ValueError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        _check(path, wheel)


@pytest.mark.parametrize("content", [b"", b"{", b"\xff\xfe", b"[]", b"null", b'"text"'])
def test_what_is_not_an_attestation_object_is_refused(wheel: Path, content: bytes) -> None:
    path = wheel.parent / f"{WHEEL}.publish.attestation"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"not valid JSON|not an attestation object"):
        _check(path, wheel)


def test_a_huge_file_is_refused_without_reading_it_all(wheel: Path) -> None:
    path = wheel.parent / f"{WHEEL}.publish.attestation"
    with path.open("wb") as stream:
        stream.truncate(5 * 1024 * 1024)
    with pytest.raises(ValueError, match="larger than 4 MiB"):
        _check(path, wheel)


def test_a_stale_attestation_names_both_digests(wheel: Path) -> None:
    path = write_attestation(wheel, sha256="0" * 64)
    with pytest.raises(
        ValueError, match=f"attests sha256 {'0' * 64}, but {WHEEL} has sha256 {_sha256(wheel)}"
    ):
        _check(path, wheel)


def test_an_attestation_of_another_file_is_refused(wheel: Path) -> None:
    path = write_attestation(wheel, name="demo_pkg-0.9-py3-none-any.whl")
    with pytest.raises(ValueError, match=r"attests 'demo_pkg-0\.9-py3-none-any\.whl', not demo_pkg-1\.0"):
        _check(path, wheel)


def test_the_subject_may_spell_the_same_distribution_otherwise(wheel: Path) -> None:
    """An index normalizes both names: Demo.Pkg-1.0.0 is demo_pkg-1.0."""
    path = write_attestation(wheel, name="Demo.Pkg-1.0.0-py3-none-any.whl")
    assert read_attestation(path, filename=wheel.name, sha256=_sha256(wheel)).path == path


def test_two_of_one_predicate_type_are_refused_and_every_problem_is_named(wheel: Path) -> None:
    first = write_attestation(wheel)
    second = write_attestation(wheel, "again")
    stale = write_attestation(wheel, "slsa", predicate_type=SLSA_PREDICATE, sha256="1" * 64)
    good, problems = read_attestations(
        [first, second, stale], dist_path=wheel, filename=wheel.name, sha256=_sha256(wheel)
    )
    assert [item.path for item in good] == [first, second]
    assert [problem.path for problem in problems] == [str(stale), str(second)]
    assert problems[0].reason.endswith(f"(the attestation of {wheel})")
    assert problems[1].reason == (
        f"a second attestation of {wheel} for https://docs.pypi.org/attestations/publish/v1 (also {first}); "
        "an index takes one per predicate type"
    )


def test_the_form_value_is_a_compact_json_array_in_order(wheel: Path) -> None:
    objects = [attestation_for(wheel), attestation_for(wheel, predicate_type=SLSA_PREDICATE)]
    paths = []
    for kind, item in zip(("publish", "slsa"), objects, strict=True):
        path = wheel.parent / f"{WHEEL}.{kind}.attestation"
        path.write_text(json.dumps(item, indent=4))
        paths.append(path)
    good, problems = read_attestations(paths, dist_path=wheel, filename=wheel.name, sha256=_sha256(wheel))
    assert not problems
    value = form_value(good)
    assert json.loads(value) == objects
    assert "\n" not in value
    assert ", " not in value


def test_json_nested_beyond_reason_is_refused_in_one_line(wheel: Path) -> None:
    """json.loads raises RecursionError on deep nesting: bad input, not a traceback (review)."""
    path = wheel.parent / f"{WHEEL}.publish.attestation"
    path.write_text("[" * 100_000)
    with pytest.raises(ValueError, match=r"^not valid JSON$"):
        _check(path, wheel)
