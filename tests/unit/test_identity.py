"""Distribution identity from file names: what an index treats as the same file."""

from __future__ import annotations

import pytest

from publish_plugins._identity import (
    InvalidFilename,
    identity_of,
    is_distribution_filename,
    remote_identity_of,
)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Foo_Bar-1.0.tar.gz", "foo_bar-1.0.tar.gz"),
        ("foo.bar-1.0.tar.gz", "foo_bar-1.0.tar.gz"),
        ("foo_bar-1.0-py3-none-any.whl", "Foo_Bar-1.0-py3-none-any.whl"),
        ("foo-1.0-py3-none-any.whl", "foo-1.0.0-py3-none-any.whl"),
        ("foo-1.0-py2.py3-none-any.whl", "foo-1.0-py3.py2-none-any.whl"),
    ],
)
def test_same_identity(first: str, second: str) -> None:
    """Spellings an index treats as one distribution have one identity."""
    assert identity_of(first) == identity_of(second)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("foo-1.0.tar.gz", "foo-1.1.tar.gz"),
        ("foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl"),
        ("foo-1.0-py3-none-any.whl", "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        ("foo-1.0-1-py3-none-any.whl", "foo-1.0-py3-none-any.whl"),
        ("foo-1.0.tar.gz", "bar-1.0.tar.gz"),
    ],
)
def test_different_identity(first: str, second: str) -> None:
    """Other versions, kinds, tags, build numbers and projects are different distributions."""
    assert identity_of(first) != identity_of(second)


@pytest.mark.parametrize(
    "filename",
    [
        "foo.whl",
        "foo-1.0-py3-none.whl",
        "foo-1.0.zip",
        "foo-notaversion!.tar.gz",
        "foo-1.0-py3-none-any.whl.asc",
    ],
)
def test_invalid_filenames(filename: str) -> None:
    """Names that are not wheels or .tar.gz sdists are refused with InvalidFilename."""
    with pytest.raises(InvalidFilename):
        identity_of(filename)


def test_remote_zip_sdist_is_the_release_sdist() -> None:
    """An old .zip sdist on the index occupies the release's sdist slot."""
    assert remote_identity_of("Foo-1.0.zip") == identity_of("foo-1.0.tar.gz")
    assert remote_identity_of("garbage") is None


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("a-1.whl", True),
        ("a-1.tar.gz", True),
        ("a-1.zip", True),
        ("a-1.egg", True),
        (".gitignore", False),
        ("a-1.whl.asc", False),
        ("SHA256SUMS", False),
    ],
)
def test_is_distribution_filename(filename: str, expected: bool) -> None:
    """Signatures and other files next to distributions are not distributions."""
    assert is_distribution_filename(filename) is expected
