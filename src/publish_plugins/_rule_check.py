"""The index's upload rules applied to a run: which rules, each file's facts, the 14-day rule's release
state from the index's page. The rules themselves are in ``_index_rules`` (PyPI's, from Warehouse)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._distribution import Distribution
from ._simple_pages import ProjectFiles
from .errors import InvalidDistribution
from .options import PublishOptions

if TYPE_CHECKING:  # loaded when the rules apply: trove-classifiers is a large table
    from ._index_rules import FileFacts, ReleaseState

__all__ = ["facts_of", "release_state", "rule_problems", "rules_apply", "size_problems"]

# The upload URLs whose index is PyPI's: its rules apply there without being asked for.
_PYPI_HOSTS = frozenset({"upload.pypi.org", "test.pypi.org", "pypi.org"})


def rules_apply(options: PublishOptions, upload_url: str) -> bool:
    """Whether PyPI's rules apply: asked for (``pypi``), or ``auto`` and the upload URL is PyPI's."""
    if options.index_rules != "auto":
        return options.index_rules == "pypi"
    from ._httpx import httpx

    return httpx.URL(upload_url).host in _PYPI_HOSTS


def facts_of(dist: Distribution) -> FileFacts:
    """What the rules look at, from a read distribution (``_index_rules.FileFacts``)."""
    from packaging.utils import parse_wheel_filename

    from ._index_rules import FileFacts

    tags: tuple[str, ...] = ()
    if dist.identity.kind == "wheel":
        tags = tuple(sorted({tag.platform for tag in parse_wheel_filename(dist.filename)[3]}))
    metadata = dist.metadata
    classifiers = metadata.get("classifiers") or []
    return FileFacts(
        filename=dist.filename,
        size=dist.size,
        kind=dist.identity.kind,
        name=dist.name,
        version=dist.version,
        metadata_version=str(metadata.get("metadata_version", "")),
        classifiers=tuple(str(item) for item in classifiers),
        license_expression=metadata.get("license_expression"),
        wheel_tags=tags,
    )


def size_problems(dists: Sequence[Distribution], max_size: int) -> list[InvalidDistribution]:
    """``--max-file-size``: every file over it, with PyPI's wording ("File too large")."""
    from ._index_rules import size_problem

    found = []
    for dist in dists:
        problem = size_problem(facts_of(dist), max_size)
        if problem is not None:
            found.append(InvalidDistribution(str(dist.path), problem.message))
    return found


def rule_problems(dist: Distribution, page: ProjectFiles | None = None) -> list[InvalidDistribution]:
    """Every PyPI rule the file breaks; with the project's ``page``, also the 14-day rule (for a file that
    will be uploaded: an identical file is answered before its release's age is looked at)."""
    from ._index_rules import check_file

    release = release_state(dist, page) if page is not None else None
    problems = check_file(facts_of(dist), release=release)
    if page is not None:  # the file's own rules were checked before the index was read
        problems = [problem for problem in problems if problem.rule == "release-age"]
    return [InvalidDistribution(str(dist.path), f"PyPI would refuse it: {p.message}") for p in problems]


def release_state(dist: Distribution, page: ProjectFiles) -> ReleaseState:
    """The release's first upload on the index, from PEP 700 upload times (``_index_rules.ReleaseState``)."""
    from ._index_rules import ReleaseState

    version = dist.identity.version
    files = [remote for remote in page.files if (identity := remote.identity) and identity.version == version]
    if not files:
        return ReleaseState(first_upload=None, upload_times_known=True)  # a new release
    times = [remote.upload_time for remote in files]
    if any(when is None for when in times):
        return ReleaseState(first_upload=None, upload_times_known=False)
    first = min(when for when in times if when is not None)
    return ReleaseState(first_upload=first, upload_times_known=True)
