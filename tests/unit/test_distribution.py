"""Reading and validating local distributions; the upload form built from their metadata."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.support.bad_dists import CASES, ROOT_IGNORES_PERMISSIONS, BadCase
from tests.support.dists import make_sdist, make_wheel

from publish_plugins._distribution import DistributionError, read_distribution, upload_form_fields
from publish_plugins._run import publish
from publish_plugins.errors import InvalidDistributions
from publish_plugins.options import Repository


def test_valid_wheel_is_described(tmp_path: Path) -> None:
    """Name, version, identity, file type and python tag come from the file and its METADATA."""
    path = make_wheel(tmp_path, "Tiny_Pkg.Demo", "0.1.0", tag="py2.py3-none-any")
    dist = read_distribution(path)
    assert (dist.name, dist.version, dist.project) == ("Tiny_Pkg.Demo", "0.1.0", "tiny-pkg-demo")
    assert dist.filetype == "bdist_wheel"
    assert dist.pyversion == "py2.py3"
    assert dist.size == path.stat().st_size


def test_valid_sdist_is_described(tmp_path: Path) -> None:
    """An sdist's metadata comes from its top folder's PKG-INFO; pyversion is "source"."""
    dist = read_distribution(make_sdist(tmp_path, "tiny-demo", "2.0"))
    assert (dist.filetype, dist.pyversion, dist.version) == ("sdist", "source", "2.0")


def test_upload_form_fields(tmp_path: Path) -> None:
    """The fields before the file: action, protocol, type, metadata (lists repeated); the digests follow the
    file (UploadBody, tests/unit/test_upload_body.py)."""
    path = make_wheel(
        tmp_path,
        "tiny-demo",
        "1.0",
        metadata_version="2.4",
        extra_metadata={
            "Classifier": ["Programming Language :: Python", "Typing :: Typed"],
            "Requires-Dist": ["httpx>=0.27", "packaging"],
            "Keywords": "a,b",
            "Project-URL": ["Home, https://example.org", "Docs, https://docs.example.org"],
            "License-Expression": "MIT",
        },
    )
    dist = read_distribution(path)
    fields = upload_form_fields(dist)
    as_dict: dict[str, list[str]] = {}
    for name, value in fields:
        as_dict.setdefault(name, []).append(value)
    assert fields[:4] == [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("name", "tiny-demo"),
        ("version", "1.0"),
    ]
    assert as_dict["filetype"] == ["bdist_wheel"]
    assert as_dict["pyversion"] == ["py3"]
    assert as_dict["metadata_version"] == ["2.4"]
    assert as_dict["classifiers"] == ["Programming Language :: Python", "Typing :: Typed"]
    assert as_dict["requires_dist"] == ["httpx>=0.27", "packaging"]
    assert as_dict["keywords"] == ["a,b"]
    assert as_dict["project_urls"] == ["Home, https://example.org", "Docs, https://docs.example.org"]
    assert as_dict["license_expression"] == ["MIT"]
    assert not [name for name in as_dict if name.endswith("_digest")]


def _build(case: BadCase, tmp_path: Path) -> list[Path]:
    if case.id in ROOT_IGNORES_PERMISSIONS and os.geteuid() == 0:
        pytest.skip("root reads files whatever their permissions")
    return case.build(tmp_path)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_before_any_network(case: BadCase, tmp_path: Path) -> None:
    """Every malformed input stops the run with exit 2 and one line naming the file and the reason.

    The repository URL points at a closed port: reaching the network at all would fail differently.
    """
    paths = _build(case, tmp_path)
    with pytest.raises(InvalidDistributions) as info:
        publish(paths, Repository("http://127.0.0.1:9/", check_url="http://127.0.0.1:9/simple/"))
    error = info.value
    assert error.exit_code == case.exit_code
    assert len(error.problems) >= 1
    for problem in error.problems:
        assert "\n" not in str(problem)
    reasons = " | ".join(str(p) for p in error.problems).lower()
    assert case.expect in reasons
    assert any(Path(p.path).name in {path.name for path in paths} for p in error.problems)


def test_reading_error_names_file(tmp_path: Path) -> None:
    """DistributionError's text starts with the path."""
    path = tmp_path / "x-1.0-py3-none-any.whl"
    path.write_bytes(b"junk")
    with pytest.raises(DistributionError) as info:
        read_distribution(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize(
    ("member", "unsafe"),
    [
        ("demo/__init__.py", False),
        ("demo-1.0.dist-info/METADATA", False),
        ("demo/./x.py", False),
        ("demo/..hidden/x.py", False),
        ("demo/x..py", False),
        ("../evil.py", True),
        ("demo/../../evil.py", True),
        ("demo\\..\\evil.py", True),
        ("/etc/evil", True),
        ("\\evil", True),
        ("C:/evil", True),
        ("c:evil", True),
        ("demo/..", True),
    ],
)
def test_member_paths_that_escape_the_archive_are_unsafe(member: str, unsafe: bool) -> None:
    from publish_plugins._distribution import _unsafe_member

    assert _unsafe_member(member) is unsafe
