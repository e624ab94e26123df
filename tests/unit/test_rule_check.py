"""Which runs PyPI's upload rules apply to, and the 14-day rule's view of a release on the index."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from tests.support.dists import make_wheel

from publish_plugins._distribution import read_distribution
from publish_plugins._rule_check import release_state, rules_apply
from publish_plugins._simple_pages import ProjectFiles, RemoteFile
from publish_plugins.options import PublishOptions


@pytest.mark.parametrize(
    ("rules", "url", "applies"),
    [
        ("auto", "https://upload.pypi.org/legacy/", True),
        ("auto", "https://test.pypi.org/legacy/", True),
        ("auto", "https://pypi.example.com/", False),
        ("auto", "http://127.0.0.1:8080/", False),
        ("pypi", "http://127.0.0.1:8080/", True),
        ("none", "https://upload.pypi.org/legacy/", False),
    ],
)
def test_pypis_rules_apply_to_pypi_or_when_asked(rules: str, url: str, applies: bool) -> None:
    assert rules_apply(PublishOptions(index_rules=rules), url) is applies  # type: ignore[arg-type]


def _page(*files: RemoteFile) -> ProjectFiles:
    return ProjectFiles("demo", "https://pypi.example.com/simple/demo/", files)


def _remote(filename: str, when: datetime | None) -> RemoteFile:
    return RemoteFile(filename, f"https://files.example/{filename}", {"sha256": "0" * 64}, upload_time=when)


def test_a_release_is_as_old_as_its_first_file_on_the_index(tmp_path: Path) -> None:
    dist = read_distribution(make_wheel(tmp_path, "demo", "1.0"))
    first = datetime(2026, 1, 1, tzinfo=timezone.utc)
    page = _page(
        _remote("demo-1.0.tar.gz", datetime(2026, 1, 5, tzinfo=timezone.utc)),
        _remote("demo-1.0-py2-none-any.whl", first),
        _remote("demo-0.9.tar.gz", datetime(2025, 1, 1, tzinfo=timezone.utc)),  # another release
    )
    state = release_state(dist, page)
    assert state.upload_times_known
    assert state.first_upload == first


def test_a_new_release_and_unknown_times(tmp_path: Path) -> None:
    dist = read_distribution(make_wheel(tmp_path, "demo", "1.0"))
    new = release_state(dist, _page(_remote("demo-0.9.tar.gz", None)))
    assert (new.first_upload, new.upload_times_known) == (None, True)
    unknown = release_state(dist, _page(_remote("demo-1.0.tar.gz", None)))
    assert unknown.upload_times_known is False  # never guessed: the rule is skipped and -v says so
