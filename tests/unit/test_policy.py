"""The decision table of DESIGN.md, as a pure function."""

from __future__ import annotations

import pytest

from publish_plugins._policy import Conflict, LocalFacts, RemoteFacts, Skip, Upload, decide
from publish_plugins.events import Comparison

LOCAL = LocalFacts("demo-1.0-py3-none-any.whl", {"sha256": "aa" * 32, "md5": "bb" * 16, "sha512": "cc" * 64})
SAME = RemoteFacts("demo-1.0-py3-none-any.whl", "sha256", "aa" * 32)
DIFFERENT = RemoteFacts("demo-1.0-py3-none-any.whl", "sha256", "ff" * 32)
OTHER_SPELLING_SAME = RemoteFacts("Demo-1.0-py3-none-any.whl", "sha256", "aa" * 32)
MD5_SAME = RemoteFacts("demo-1.0-py3-none-any.whl", "md5", "bb" * 16)
SHA512_DIFFERENT = RemoteFacts("demo-1.0-py3-none-any.whl", "sha512", "00" * 64)


@pytest.mark.parametrize(
    ("remote", "mode", "expected", "kind"),
    [
        ([], "strict", Upload, None),
        ([], "skip-existing", Upload, None),
        ([SAME], "strict", Skip, "identical"),
        ([SAME], "skip-existing", Skip, "identical"),
        ([DIFFERENT], "strict", Conflict, None),
        ([DIFFERENT], "skip-existing", Skip, "existing"),
        ([OTHER_SPELLING_SAME], "strict", Conflict, None),
        ([OTHER_SPELLING_SAME], "skip-existing", Skip, "existing"),
        ([OTHER_SPELLING_SAME, SAME], "strict", Skip, "identical"),
        ([SHA512_DIFFERENT], "strict", Conflict, None),
        ([MD5_SAME], "strict", Skip, "identical"),
    ],
    ids=[
        "absent-strict",
        "absent-skip",
        "identical-strict",
        "identical-skip",
        "different-strict",
        "different-skip",
        "other-spelling-strict",
        "other-spelling-skip",
        "exact-name-wins-over-other-spelling",
        "sha512-decides",
        "md5-only-match",
    ],
)
def test_decision_table(remote: list[RemoteFacts], mode: str, expected: type, kind: str | None) -> None:
    """Each row of the modes table gives the documented decision."""
    decision = decide(LOCAL, remote, mode)  # type: ignore[arg-type]
    assert isinstance(decision, expected)
    if kind is not None:
        assert isinstance(decision, Skip)
        assert decision.kind == kind


def test_conflict_names_both_hashes() -> None:
    """A conflict's reason carries the local and the index digest, so the user can see what differs."""
    decision = decide(LOCAL, [DIFFERENT], "strict")
    assert isinstance(decision, Conflict)
    assert "aa" * 32 in decision.reason
    assert "ff" * 32 in decision.reason


def test_skip_existing_warning_names_both_hashes() -> None:
    """--skip-existing still tells what differs."""
    decision = decide(LOCAL, [DIFFERENT], "skip-existing")
    assert isinstance(decision, Skip)
    assert "aa" * 32 in decision.reason
    assert "ff" * 32 in decision.reason


def test_md5_match_is_weak() -> None:
    """A match on md5 alone is flagged weak; a sha256 match is not."""
    weak = decide(LOCAL, [MD5_SAME], "strict")
    strong = decide(LOCAL, [SAME], "strict")
    assert isinstance(weak, Skip)
    assert weak.weak
    assert isinstance(strong, Skip)
    assert not strong.weak


def test_other_spelling_conflict_names_the_index_file() -> None:
    """An identity match under another file name says which file the index has."""
    decision = decide(LOCAL, [OTHER_SPELLING_SAME], "strict")
    assert isinstance(decision, Conflict)
    assert "Demo-1.0-py3-none-any.whl" in decision.reason


def test_missing_local_digest_is_a_programming_error() -> None:
    """The caller must compute the digest the index lists; deciding without it never guesses."""
    with pytest.raises(ValueError, match="sha384"):
        decide(
            LocalFacts("demo-1.0-py3-none-any.whl", {}),
            [RemoteFacts(SAME.filename, "sha384", "1" * 96)],
            "strict",
        )


@pytest.mark.parametrize("order", [[SAME, DIFFERENT], [DIFFERENT, SAME]], ids=["match-first", "match-last"])
def test_one_name_listed_twice_with_different_digests_is_ambiguous(order: list[RemoteFacts]) -> None:
    """No copy counts as identical when the index lists the name twice with different content: strict
    refuses naming both digests, --skip-existing skips with the same reason (the file does exist)."""
    strict = decide(LOCAL, order, "strict")
    lenient = decide(LOCAL, order, "skip-existing")

    assert isinstance(strict, Conflict)
    assert f"sha256:{'aa' * 32}" in strict.reason
    assert f"sha256:{'ff' * 32}" in strict.reason
    assert "2 times with different content" in strict.reason
    assert strict.remote == DIFFERENT
    assert isinstance(lenient, Skip)
    assert lenient.kind == "existing"
    assert lenient.reason == strict.reason


def test_one_name_listed_twice_with_the_same_digest_is_identical() -> None:
    same = Comparison(LOCAL.filename, "sha256", "aa" * 32, "aa" * 32, SAME.filename)
    assert decide(LOCAL, [SAME, SAME], "strict") == Skip("identical", "identical (sha256 matches)", same)


def test_one_name_listed_twice_matching_once_by_md5_and_once_by_sha512_differently() -> None:
    """Different algorithms per copy: each copy is compared by its own digest; one differs, so ambiguous."""
    assert isinstance(decide(LOCAL, [MD5_SAME, SHA512_DIFFERENT], "strict"), Conflict)


def test_a_decision_carries_what_was_compared() -> None:
    """Filename, algorithm and both digests are data on the decision, not only words in its reason."""
    conflict = decide(LOCAL, [SHA512_DIFFERENT], "strict")
    assert isinstance(conflict, Conflict)
    assert conflict.comparison == Comparison(LOCAL.filename, "sha512", "cc" * 64, "00" * 64, LOCAL.filename)
    other = decide(LOCAL, [OTHER_SPELLING_SAME], "skip-existing")
    assert isinstance(other, Skip)
    assert other.comparison.index_filename == "Demo-1.0-py3-none-any.whl"
    assert other.comparison.local_digest == other.comparison.index_digest
