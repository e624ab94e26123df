"""PyPI's upload rules, checked before the first byte: each rule's pass and fail, sizes, the 14-day window."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from publish_plugins._index_rules import (
    DEFAULT_MAX_FILE_SIZE,
    RELEASE_AGE_LIMIT,
    FileFacts,
    ReleaseState,
    RuleProblem,
    check_file,
    over_default_size,
    parse_size,
    size_problem,
)

WHEEL = FileFacts(
    filename="foo_bar-1.0-py3-none-any.whl",
    size=1000,
    kind="wheel",
    name="Foo.Bar",
    version="1.0",
    metadata_version="2.4",
    classifiers=("Programming Language :: Python :: 3", "License :: OSI Approved :: MIT License"),
    license_expression="MIT",
    wheel_tags=("any",),
)
SDIST = replace(WHEEL, filename="foo_bar-1.0.tar.gz", kind="sdist", wheel_tags=())
NOW = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)


def rules(problems: list[RuleProblem]) -> list[str]:
    return [problem.rule for problem in problems]


def only(problems: list[RuleProblem], rule: str) -> RuleProblem:
    assert rules(problems) == [rule], problems
    return problems[0]


def test_clean_files_pass() -> None:
    """A well-formed wheel and sdist break no rule."""
    assert check_file(WHEEL) == []
    assert check_file(SDIST) == []


@pytest.mark.parametrize(
    "tag",
    [
        "any",
        "win32",
        "win_amd64",
        "win_arm64",
        "manylinux1_x86_64",
        "manylinux2010_i686",
        "manylinux2014_aarch64",
        "manylinux_2_17_x86_64",
        "manylinux_2_28_ppc64",
        "musllinux_1_2_aarch64",
        "musllinux_1_1_riscv64",
        "macosx_10_9_x86_64",
        "macosx_10_15_universal2",
        "macosx_11_0_arm64",
        "macosx_14_0_arm64",
        "macosx_26_0_arm64",
        "ios_13_0_arm64_iphoneos",
        "ios_13_0_x86_64_iphonesimulator",
        "android_24_arm64_v8a",
        "android_21_x86",
        "pyemscripten_2024_0_wasm32",
        "linux_armv6l",
        "linux_armv7l",
    ],
)
def test_accepted_platform_tags(tag: str) -> None:
    """Every family of tag Warehouse's _valid_platform_tag takes passes."""
    assert check_file(replace(WHEEL, filename="foo_bar-1.0-cp312-cp312-x.whl", wheel_tags=(tag,))) == []


@pytest.mark.parametrize(
    "tag",
    [
        "linux_x86_64",
        "linux_aarch64",
        "manylinux2014_riscv64",
        "manylinux_2_17_sparc",
        "musllinux_1_2_ppc64",
        "macosx_11_1_arm64",
        "macosx_27_0_arm64",
        "macosx_10_9_sparc",
        "ios_13_0_armv7_iphoneos",
        "android_24_mips",
        "emscripten_3_1_58_wasm32",
        "cygwin_x86_64",
    ],
)
def test_refused_platform_tags(tag: str) -> None:
    """A tag outside Warehouse's list is refused with PyPI's wording."""
    filename = "foo_bar-1.0-cp312-cp312-x.whl"
    problem = only(check_file(replace(WHEEL, filename=filename, wheel_tags=(tag,))), "platform-tag")
    assert problem.message.startswith(f"Binary wheel '{filename}' has an unsupported platform tag '{tag}'. ")
    assert "\n" not in problem.message


def test_platform_advice() -> None:
    """The fix names auditwheel for linux_* and the _0 form for a macOS 11+ minor version."""
    linux = only(check_file(replace(WHEEL, wheel_tags=("linux_x86_64",))), "platform-tag")
    assert "auditwheel" in linux.message
    assert "(linux_* tags are for local use)" in linux.message
    mac = only(check_file(replace(WHEEL, wheel_tags=("macosx_11_1_arm64",))), "platform-tag")
    assert "macosx_11_0_arm64" in mac.message


def test_each_bad_platform_tag_once() -> None:
    """Several bad tags give one problem each; a compressed tag set is split, case folded."""
    facts = replace(WHEEL, wheel_tags=("linux_x86_64.manylinux_2_17_x86_64", "LINUX_x86_64", "cygwin_x86_64"))
    assert [p.message.split("'")[3] for p in check_file(facts)] == ["cygwin_x86_64", "linux_x86_64"]


def test_file_size() -> None:
    """Over the default limit is flagged by over_default_size, not check_file; --max-file-size refuses."""
    big = replace(WHEEL, size=DEFAULT_MAX_FILE_SIZE + 1)
    assert check_file(big) == []
    assert over_default_size(big)
    assert not over_default_size(replace(WHEEL, size=DEFAULT_MAX_FILE_SIZE))
    assert size_problem(big, 200 * 1024**2) is None
    assert size_problem(replace(WHEEL, size=DEFAULT_MAX_FILE_SIZE), DEFAULT_MAX_FILE_SIZE) is None
    problem = size_problem(big, DEFAULT_MAX_FILE_SIZE)
    assert problem is not None
    assert problem.rule == "file-size"
    assert problem.message.startswith(
        "File too large. Limit for project 'Foo.Bar' is 100 MB. See "
        "https://docs.pypi.org/project-management/storage-limits#requesting-a-file-size-limit-increase "
        "for more information. "
    )
    assert "--max-file-size" in problem.message
    odd = size_problem(replace(WHEEL, size=600_000), 500_000)
    assert odd is not None
    assert "is 500000 bytes." in odd.message


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("500000", 500_000),
        ("100M", 100 * 1024**2),
        ("100MiB", 100 * 1024**2),
        ("100MB", 100 * 1024**2),
        ("100 mb", 100 * 1024**2),
        ("1.5G", 1536 * 1024**2),
        ("1GiB", 1024**3),
        ("64K", 65_536),
        ("64kib", 65_536),
        ("10B", 10),
        (" 2M ", 2 * 1024**2),
        ("0.5K", 512),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    """Bytes, or K/M/G (powers of 1024, with or without B or iB)."""
    assert parse_size(text) == size


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not a size"),
        ("M", "not a size"),
        ("abc", "not a size"),
        ("-5M", "not a size"),
        ("100T", "not a size"),
        ("1e6", "not a size"),
        ("1,5G", "not a size"),
        ("100 M B", "not a size"),
        ("1.5", "whole number"),
        ("0", "more than 0"),
        ("0M", "more than 0"),
        ("0.0001K", "more than 0"),
    ],
)
def test_parse_size_refuses(text: str, reason: str) -> None:
    """A bad size raises ValueError with the reason."""
    with pytest.raises(ValueError, match=reason):
        parse_size(text)


@pytest.mark.parametrize("metadata_version", ["1.0", "1.1", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5"])
def test_metadata_versions_accepted(metadata_version: str) -> None:
    """The Metadata-Versions Warehouse supports pass."""
    assert check_file(replace(WHEEL, metadata_version=metadata_version, license_expression=None)) == []


@pytest.mark.parametrize("metadata_version", ["2.0", "2.6", "3.0", "", "2.4.0"])
def test_metadata_versions_refused(metadata_version: str) -> None:
    """Any other Metadata-Version is refused with PyPI's wording (2.0 never existed)."""
    facts = replace(WHEEL, metadata_version=metadata_version, license_expression=None)
    problem = only(check_file(facts), "metadata-version")
    assert problem.message.startswith(f"{metadata_version!r} is not a valid metadata version. ")


@pytest.mark.parametrize("expression", ["MIT", "mit", "Apache-2.0 OR MIT", "LicenseRef-Proprietary", None])
def test_license_expression_accepted(expression: str | None) -> None:
    """Valid SPDX expressions (any case) and no expression pass."""
    assert check_file(replace(WHEEL, license_expression=expression)) == []


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("MIT OR", "Invalid license expression"),
        ("Foo", "Unknown license"),
        ("MIT AND (Apache-2.0", "Invalid"),
    ],
)
def test_license_expression_refused(expression: str, detail: str) -> None:
    """An invalid SPDX expression is refused with packaging's wording, as Warehouse gives it."""
    problem = only(check_file(replace(WHEEL, license_expression=expression)), "license-expression")
    assert problem.message.startswith(f"{expression!r} is invalid for 'license-expression'. ")
    assert detail in problem.message


def test_license_expression_needs_metadata_2_4() -> None:
    """License-Expression under Metadata-Version 2.3 is refused, as packaging's Metadata.from_raw does."""
    problem = only(check_file(replace(WHEEL, metadata_version="2.3")), "license-expression")
    assert problem.message.startswith("license-expression introduced in metadata version 2.4, not 2.3. ")


def test_classifiers() -> None:
    """Unknown classifiers are refused (with a close match), deprecated ones with their replacement."""
    assert check_file(replace(WHEEL, classifiers=())) == []
    unknown = only(
        check_file(replace(WHEEL, classifiers=("Programming Language :: Pythn :: 3",))), "classifier"
    )
    assert unknown.message.startswith("'Programming Language :: Pythn :: 3' is not a valid classifier. ")
    assert "Did you mean 'Programming Language :: Python :: 3'?" in unknown.message
    nonsense = only(check_file(replace(WHEEL, classifiers=("Foo :: Bar",))), "classifier")
    assert (
        nonsense.message
        == "'Foo :: Bar' is not a valid classifier. Use one from https://pypi.org/classifiers/."
    )
    renamed = only(check_file(replace(WHEEL, classifiers=("Natural Language :: Ukranian",))), "classifier")
    assert renamed.message.startswith(
        "The classifier 'Natural Language :: Ukranian' has been deprecated, "
        "use one of ['Natural Language :: Ukrainian'] instead. "
    )
    gone = "Topic :: Communications :: Chat :: AOL Instant Messenger"
    dropped = only(check_file(replace(WHEEL, classifiers=(gone,))), "classifier")
    assert dropped.message.startswith(f"The classifier {gone!r} has been deprecated. Remove it")


def test_all_classifier_problems_sorted() -> None:
    """Unknown ones first, then deprecated ones, each sorted, as Warehouse lists them."""
    facts = replace(WHEEL, classifiers=("Z :: Z", "Natural Language :: Ukranian", "A :: A"))
    assert [p.message.split("'")[1] for p in check_file(facts)] == [
        "A :: A",
        "Z :: Z",
        "Natural Language :: Ukranian",
    ]


@pytest.mark.parametrize(
    ("name", "version", "filename"),
    [
        ("Foo.Bar", "1.0", "foo_bar-1.0.tar.gz"),
        ("foo-bar", "1.0.post1", "foo_bar-1.0.post1.tar.gz"),
        ("foo", "2!1.0rc1", "foo-2!1.0rc1.tar.gz"),
    ],
)
def test_sdist_name_accepted(name: str, version: str, filename: str) -> None:
    """The PEP 625 name (normalized name with underscores, normalized version, .tar.gz) passes."""
    assert check_file(replace(SDIST, name=name, version=version, filename=filename)) == []


@pytest.mark.parametrize(
    ("name", "version", "filename", "start"),
    [
        (
            "Foo.Bar",
            "1.0",
            "Foo.Bar-1.0.tar.gz",
            "Filename 'Foo.Bar-1.0.tar.gz' is invalid, should be 'foo_bar-1.0.tar.gz'. ",
        ),
        (
            "foo-bar",
            "1.0",
            "foo-bar-1.0.tar.gz",
            "Filename 'foo-bar-1.0.tar.gz' is invalid, should be 'foo_bar-1.0.tar.gz'. ",
        ),
        (
            "foo_bar",
            "1.0.0.RC1",
            "foo_bar-1.0.0.RC1.tar.gz",
            "Filename 'foo_bar-1.0.0.RC1.tar.gz' is invalid, should be 'foo_bar-1.0.0rc1.tar.gz'. ",
        ),
        (
            "foo_bar",
            "1.0.0-rc1",
            "foo_bar-1.0.0-rc1.tar.gz",
            "Invalid source distribution filename: foo_bar-1.0.0-rc1.tar.gz ",
        ),
        (
            "foo_bar",
            "1.0",
            "foo_bar-1.0.zip",
            "Filename 'foo_bar-1.0.zip' is invalid, should be 'foo_bar-1.0.tar.gz'. ",
        ),
        ("foo_bar", "1.0", "other-1.0.tar.gz", "Start filename for 'foo_bar' with 'foo_bar'. "),
        (
            "foo_bar",
            "1.0",
            "foo_bar-1.0.tar.bz2",
            "Invalid file extension: Use .tar.gz, .whl or .zip extension.",
        ),
        (
            "foo_bar",
            "1.0",
            "foo_bar-1.0.TAR.GZ",
            "Invalid file extension: Extension .TAR.GZ is invalid for filetype sdist.",
        ),
        ("foo_bar", "1.0", "foo_bar-x_y.tar.gz", "Invalid source distribution filename: foo_bar-x_y.tar.gz "),
    ],
)
def test_sdist_name_refused(name: str, version: str, filename: str, start: str) -> None:
    """Warehouse's first refusal for a wrong sdist name, in its wording, then the fix."""
    problem = only(check_file(replace(SDIST, name=name, version=version, filename=filename)), "sdist-name")
    assert problem.message.startswith(start)
    assert "PEP 625" in problem.message


def test_sdist_post_release_with_hyphen() -> None:
    """A post-release written with a hyphen ("1.0-1") is named by its project, then refused by PEP 625."""
    facts = replace(SDIST, name="foo", version="1.0.post1", filename="foo-1.0-1.tar.gz")
    problem = only(check_file(facts), "sdist-name")
    assert problem.message.startswith(
        "Filename 'foo-1.0-1.tar.gz' is invalid, should be 'foo-1.0.post1.tar.gz'. "
    )


@pytest.mark.parametrize(
    ("filename", "start"),
    [
        (
            "Foo_Bar-1.0-py3-none-any.whl",
            "Filename 'Foo_Bar-1.0-py3-none-any.whl' should contain the normalized "
            "project name 'foo_bar', not 'Foo_Bar'. ",
        ),
        ("other-1.0-py3-none-any.whl", "Start filename for 'Foo.Bar' with 'foo_bar'. "),
        ("foo_bar-2.0-py3-none-any.whl", "Version in filename should be '1.0' not '2.0'. "),
        ("foo_bar-1.0.whl", "Invalid wheel filename (wrong number of parts): 'foo_bar-1.0'. Rebuild"),
    ],
)
def test_wheel_name_refused(filename: str, start: str) -> None:
    """The wheel file name must carry the normalized project name and the metadata's version."""
    problem = only(check_file(replace(WHEEL, filename=filename)), "wheel-name")
    assert problem.message.startswith(start)


def test_wheel_version_spelling_may_differ() -> None:
    """Warehouse compares versions, not strings: 1.0.0 in the file name matches 1.0 in the metadata."""
    assert check_file(replace(WHEEL, filename="foo_bar-1.0.0-py3-none-any.whl")) == []


def test_local_version() -> None:
    """A local version is refused with PyPI's wording; a plain one passes."""
    assert (
        check_file(replace(WHEEL, version="1.0.post1", filename="foo_bar-1.0.post1-py3-none-any.whl")) == []
    )
    facts = replace(
        WHEEL, version="1.0+g1234.d20260901", filename="foo_bar-1.0+g1234.d20260901-py3-none-any.whl"
    )
    problem = only(check_file(facts), "local-version")
    assert problem.message.startswith(
        "The use of local versions in '1.0+g1234.d20260901' is not allowed. See "
        "https://packaging.python.org/en/latest/specifications/version-specifiers/#local-version-identifiers "
        "for more information. "
    )
    assert "no-local-version" in problem.message


def test_local_version_sdist() -> None:
    """An sdist with a local version is refused for the version; its PEP 625 name is still checked."""
    facts = replace(SDIST, version="1.0+local", filename="foo_bar-1.0+local.tar.gz")
    assert rules(check_file(facts)) == ["local-version"]


def test_invalid_version() -> None:
    """A version that is not PEP 440 is refused as packaging words it, and the name checks need none."""
    assert rules(check_file(replace(SDIST, version="one", filename="foo_bar-one.tar.gz"))) == [
        "version",
        "sdist-name",
    ]
    problem = check_file(replace(WHEEL, version="one"))[0]
    assert problem.message.startswith("'one' is invalid for 'version'. ")


def test_every_problem_reported() -> None:
    """All rules are checked: one run shows every refusal, not just PyPI's first."""
    facts = replace(
        WHEEL,
        filename="Foo_Bar-1.0+x-py3-none-linux_x86_64.whl",
        version="1.0+x",
        metadata_version="2.6",
        license_expression="Nope",
        classifiers=("Bad :: Classifier",),
        wheel_tags=("linux_x86_64",),
    )
    assert rules(check_file(facts)) == [
        "metadata-version",
        "local-version",
        "license-expression",
        "classifier",
        "wheel-name",
        "platform-tag",
    ]
    assert all("\n" not in problem.message for problem in check_file(facts))


def age(days: float) -> ReleaseState:
    return ReleaseState(first_upload=NOW - timedelta(days=days), upload_times_known=True)


def test_release_age_within_window() -> None:
    """A release first uploaded 13 days ago (or exactly 14) still takes new files."""
    assert check_file(WHEEL, release=age(13), now=NOW) == []
    assert check_file(WHEEL, release=age(RELEASE_AGE_LIMIT.days), now=NOW) == []


def test_release_age_refused() -> None:
    """A release first uploaded 15 days ago refuses new files, in PyPI's words."""
    problem = only(check_file(WHEEL, release=age(15), now=NOW), "release-age")
    assert problem.message == (
        "Uploading new files to releases older than 14 days is not allowed. This release was first uploaded "
        "15 days ago (2026-08-17 12:00 UTC): publish the file under a new version."
    )


def test_release_age_just_over() -> None:
    """One second past 14 days is refused: Warehouse compares times, not days."""
    assert rules(check_file(WHEEL, release=age(14 + 1 / 86400), now=NOW)) == ["release-age"]


def test_release_age_skipped() -> None:
    """Unknown upload times skip the rule; a new release (no file there yet) passes; no release given."""
    old = NOW - timedelta(days=400)
    assert check_file(WHEEL, release=ReleaseState(old, upload_times_known=False), now=NOW) == []
    assert check_file(WHEEL, release=ReleaseState(None, upload_times_known=True), now=NOW) == []
    assert check_file(WHEEL, release=None, now=NOW) == []


def test_release_age_naive_and_other_zones() -> None:
    """Naive datetimes are UTC; aware ones in other zones are compared as the same instant."""
    naive = ReleaseState(datetime(2026, 8, 17, 12, 0), upload_times_known=True)
    assert rules(check_file(WHEEL, release=naive, now=NOW)) == ["release-age"]
    plus_two = timezone(timedelta(hours=2))
    recent = ReleaseState(datetime(2026, 8, 20, 14, 0, tzinfo=plus_two), upload_times_known=True)
    assert check_file(WHEEL, release=recent, now=NOW.replace(tzinfo=None)) == []


def test_release_age_default_now() -> None:
    """Without ``now`` the current time is used."""
    recent = ReleaseState(datetime.now(timezone.utc) - timedelta(days=1), upload_times_known=True)
    assert check_file(WHEEL, release=recent) == []
    assert rules(check_file(WHEEL, release=ReleaseState(datetime(2000, 1, 1), True))) == ["release-age"]


def test_sdist_post_release_other_project() -> None:
    """The hyphen edge case applies only when the rest parses as a version; otherwise it is another name."""
    facts = replace(SDIST, name="foo", version="1.0.post1", filename="foo-bar-1.0.post1.tar.gz")
    problem = only(check_file(facts), "sdist-name")
    assert problem.message.startswith("Start filename for 'foo' with 'foo'. ")


def test_sdist_name_with_unparsable_metadata_version() -> None:
    """When the metadata's version is not PEP 440, only "version" is reported: PEP 625's name needs one."""
    assert rules(check_file(replace(SDIST, version="one"))) == ["version"]
