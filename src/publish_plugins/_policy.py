"""The decision for one file, pure: (local file, what the index lists, mode) → Upload | Skip | Conflict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ._text import clean_server_text
from .events import Comparison, SkipKind
from .options import Mode

__all__ = ["Conflict", "Decision", "LocalFacts", "RemoteFacts", "Skip", "Upload", "decide"]


@dataclass(frozen=True, slots=True)
class LocalFacts:
    """The local file: its name and the digests needed to compare with the remote files."""

    filename: str
    digests: dict[str, str]


@dataclass(frozen=True, slots=True)
class RemoteFacts:
    """A file the index lists with the same distribution identity, and the digest to compare with.

    ``algorithm`` is the strongest one the index lists (or sha256 of the downloaded file when it lists none).
    """

    filename: str
    algorithm: str
    digest: str


@dataclass(frozen=True, slots=True)
class Upload:
    reason: str


@dataclass(frozen=True, slots=True)
class Skip:
    """Not uploaded: identical, or (``existing``) kept as it is on the index as ``--skip-existing`` asks."""

    kind: SkipKind
    reason: str
    comparison: Comparison
    weak: bool = False  # the match rests on md5 alone

    @property
    def remote(self) -> RemoteFacts:
        return _remote(self.comparison)


@dataclass(frozen=True, slots=True)
class Conflict:
    """Refused: the index has the same name or distribution with other content, or lists it ambiguously."""

    reason: str
    comparison: Comparison

    @property
    def remote(self) -> RemoteFacts:
        return _remote(self.comparison)


def _remote(comparison: Comparison) -> RemoteFacts:
    return RemoteFacts(comparison.index_filename, comparison.algorithm, comparison.index_digest)


Decision = Upload | Skip | Conflict


def decide(local: LocalFacts, remote: Sequence[RemoteFacts], mode: Mode) -> Decision:
    """Decide what to do with one local file (DESIGN.md, "Modes").

    ``remote`` holds the index's files with the local file's distribution identity. The same file name is
    compared first; another spelling of the same identity (``Foo_Bar-1.0.tar.gz`` against
    ``foo_bar-1.0.tar.gz``) occupies the slot on PyPI, so it conflicts in strict mode.
    """
    if not remote:
        return Upload("not on the index")
    same_name = [entry for entry in remote if entry.filename == local.filename]
    for entry in same_name or remote:
        if local.digests.get(entry.algorithm) is None:
            raise ValueError(f"no local {entry.algorithm} digest for {local.filename}")
    matching = [entry for entry in same_name if local.digests[entry.algorithm] == entry.digest]
    if matching and len(matching) == len(same_name):
        entry = matching[0]
        weak = all(match.algorithm == "md5" for match in matching)
        return Skip("identical", f"identical ({entry.algorithm} matches)", _compare(local, entry), weak=weak)
    if matching:
        # One name listed twice with different content: which copy an installer gets is up to the index,
        # so no copy counts as "identical".
        entry = next(entry for entry in same_name if entry not in matching)
        listed = ", ".join(f"{item.algorithm}:{item.digest}" for item in same_name)
        reason = (
            f"the index lists {local.filename} {len(same_name)} times with different content ({listed}); "
            "which copy is served is ambiguous"
        )
    else:
        entry = (same_name or list(remote))[0]
        local_digest = local.digests[entry.algorithm]
        if entry.filename != local.filename:
            same_bytes = local_digest == entry.digest
            what = "the same content" if same_bytes else "different content"
            # The index's name is the index's text: printed clean (packaging's versions allow odd spaces).
            reason = (
                f"the index has {clean_server_text(entry.filename, 120)} for the same distribution ({what})"
            )
        else:
            reason = (
                f"the index has different content "
                f"(local {entry.algorithm}:{local_digest}, index {entry.algorithm}:{entry.digest})"
            )
    if mode == "skip-existing":
        return Skip("existing", reason, _compare(local, entry))
    return Conflict(reason, _compare(local, entry))


def _compare(local: LocalFacts, remote: RemoteFacts) -> Comparison:
    return Comparison(
        local.filename, remote.algorithm, local.digests[remote.algorithm], remote.digest, remote.filename
    )
