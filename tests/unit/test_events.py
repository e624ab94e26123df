"""Events and errors as data: one table of levels, typed notes with their messages, structured failures."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from publish_plugins import events
from publish_plugins.errors import ConflictError, UploadFailed
from publish_plugins.events import (
    LEVELS,
    AttestationsNotSent,
    CheckUrlDerived,
    CheckUrlOnOtherOrigin,
    ComparingContents,
    Comparison,
    DownloadingToCompare,
    Event,
    FileConflict,
    FileHeldBack,
    FileInvalid,
    FileSkipped,
    FileUploaded,
    Finished,
    Notice,
    OverDefaultSizeLimit,
    PlainHttpCredentials,
    ProjectForwarded,
    ReportNotWritten,
    RootlessIndex,
    RuleNotChecked,
    TokenMinted,
    TokenRenewalFailed,
    TrustedPublishingNotUsed,
    WeakHashMatch,
    level_of,
)

SAME = Comparison("a-1.0-py3-none-any.whl", "sha256", "aa" * 32, "aa" * 32, "a-1.0-py3-none-any.whl")
DIFFERENT = Comparison("a-1.0-py3-none-any.whl", "sha256", "aa" * 32, "ff" * 32, "a-1.0-py3-none-any.whl")
EVENT_CLASSES = typing.get_args(Event)


def test_every_event_has_a_level_in_the_one_table() -> None:
    assert set(LEVELS) == set(EVENT_CLASSES)
    levels = set(typing.get_args(events.Level))
    fixed = [level for level in LEVELS.values() if isinstance(level, str)]
    assert set(fixed) <= levels


def test_every_event_is_a_frozen_dataclass_with_a_message_and_no_level_field() -> None:
    """The level is the table's, never a field a caller could set differently per call."""
    for kind in EVENT_CLASSES:
        assert dataclasses.is_dataclass(kind)
        assert "level" not in {item.name for item in dataclasses.fields(kind)}, kind
        assert isinstance(getattr(kind, "message", None), property), kind


@pytest.mark.parametrize(
    ("event", "level"),
    [
        (FileSkipped("a.whl", "identical", "identical (sha256 matches)", SAME), "info"),
        (FileSkipped("a.whl", "existing", "the index has different content", DIFFERENT), "warning"),
        (FileConflict("a.whl", "the index has different content", DIFFERENT), "error"),
        (FileInvalid("a.whl", "not a zip file"), "error"),
        (FileInvalid("a.whl", "not a zip file", alone=True), "debug"),  # the run's error names it
        (Finished(1, 0, 0, 0, 0, dry_run=False, exit_code=0), "info"),
        (Finished(0, 2, 0, 0, 0, dry_run=False, exit_code=0, skipped_existing=1), "warning"),
        (Finished(0, 0, 0, 1, 0, dry_run=False, exit_code=2), "debug"),
        (WeakHashMatch("a.whl"), "warning"),
        (PlainHttpCredentials("index.example"), "warning"),
        (ReportNotWritten("report.json", "Permission denied"), "error"),
        (CheckUrlDerived("https://index.example/simple/"), "debug"),
    ],
)
def test_levels_follow_what_happened(event: Event, level: str) -> None:
    assert event.level == level == level_of(event)


def test_the_level_survives_a_change_of_fields() -> None:
    """A front end may shorten a path with dataclasses.replace: the level stays the table's."""
    event = FileInvalid("/tmp/work/dist/a.whl", "not a zip file", alone=True)
    assert dataclasses.replace(event, path="dist/a.whl").level == "debug"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (
            CheckUrlDerived("https://index.example/simple/"),
            "checking the index at https://index.example/simple/ (derived from the upload URL)",
        ),
        (
            CheckUrlOnOtherOrigin("https://mirror.example/simple/", own_credentials=False),
            "the check URL https://mirror.example/simple/ is on another origin than the upload URL: "
            "it is read without credentials",
        ),
        (
            CheckUrlOnOtherOrigin("https://***@mirror.example/simple/", own_credentials=True),
            "the check URL https://***@mirror.example/simple/ is on another origin than the upload URL: "
            "it is read with the credentials in its URL",
        ),
        (
            PlainHttpCredentials("index.example"),
            "credentials will be sent over plain HTTP to index.example: anyone on the network can read them; "
            "use https",
        ),
        (
            RootlessIndex("https://git.example/api/packages/o/pypi/simple/"),
            "https://git.example/api/packages/o/pypi/simple/: this index serves no root page; taken as given",
        ),
        (
            ProjectForwarded("demo", "https://pypi.org/simple/demo/"),
            "demo is not on this index: its root does not list it and it forwards the request to "
            "https://pypi.org/simple/demo/ (an index's fallback, as pypiserver's to PyPI); taken as not on "
            "the index",
        ),
        (WeakHashMatch("a.whl"), "a.whl: the index lists only an md5 digest; the match is weak"),
        (
            DownloadingToCompare("a.whl"),
            "a.whl: the index lists no hash; downloading its copy to compare",
        ),
        (
            ReportNotWritten("out/report.json", "Permission denied"),
            "out/report.json: cannot write the report: Permission denied",
        ),
        (
            TokenMinted("https://upload.pypi.org", "GitHub Actions", 900.0, token="pypi-secret"),
            "trusted publishing: minted an upload token at https://upload.pypi.org for GitHub Actions, "
            "valid 15 minutes",
        ),
        (
            TokenMinted("https://upload.pypi.org", "GitLab CI", 779.0, renewal=True),
            "trusted publishing: minted a new upload token at https://upload.pypi.org for GitLab CI, "
            "valid 13 minutes",
        ),
        (
            TrustedPublishingNotUsed("no CI with an OIDC identity detected"),
            "trusted publishing not used: no CI with an OIDC identity detected",
        ),
        (
            TokenRenewalFailed("trusted publishing: https://upload.pypi.org refused", 200.5),
            "trusted publishing: could not mint a new upload token (https://upload.pypi.org refused); the "
            "current upload token stays valid 200 more seconds",
        ),
        (
            AttestationsNotSent("a.whl", 2),
            "a.whl: its 2 attestations were not sent: the file is already on the index, and attestations "
            "cannot be added to a published file",
        ),
        (
            ComparingContents("a.whl"),
            "a.whl: the index's copy has other bytes; downloading it to compare the files inside",
        ),
        (
            OverDefaultSizeLimit("big.whl", 150 * 1024 * 1024, 100 * 1024 * 1024),
            "big.whl: 150.0 MiB, over PyPI's default limit of 100 MiB; uploaded first, so that a refusal "
            "comes before the rest of the release (pass --max-file-size to refuse it before any upload instead)",
        ),
        (
            RuleNotChecked("demo", "the index's page gives no upload times (PEP 700)"),
            "demo: PyPI's 14-day rule for new files of old releases not checked: the index's page gives no "
            "upload times (PEP 700)",
        ),
        (
            FileUploaded("a.whl", 10, attestations=1),
            "a.whl: uploaded with 1 attestation",
        ),
        (
            FileHeldBack("b.tar.gz", "a.whl", 1),
            "b.tar.gz: held back: not uploaded because a.whl conflicts with the index",
        ),
        (
            FileHeldBack("b.tar.gz", "a.whl", 3),
            "b.tar.gz: held back: not uploaded because a.whl and 2 more conflicts with the index",
        ),
    ],
)
def test_typed_notes_say_what_the_free_text_said(event: Event, message: str) -> None:
    assert event.message == message


def test_notes_about_the_run_share_a_base() -> None:
    notes = {kind for kind in EVENT_CLASSES if issubclass(kind, Notice)}
    assert notes == {
        CheckUrlDerived,
        CheckUrlOnOtherOrigin,
        PlainHttpCredentials,
        RootlessIndex,
        ProjectForwarded,
        WeakHashMatch,
        DownloadingToCompare,
        ReportNotWritten,
        TokenMinted,
        TokenRenewalFailed,
        TrustedPublishingNotUsed,
        AttestationsNotSent,
        ComparingContents,
        OverDefaultSizeLimit,
        RuleNotChecked,
    }


def test_a_conflict_carries_the_comparison_as_data() -> None:
    error = ConflictError([DIFFERENT], held_back=["a-1.0.tar.gz"])
    assert error.conflicts == (DIFFERENT,)
    assert error.filenames == ("a-1.0-py3-none-any.whl",)
    (conflict,) = error.conflicts
    assert (conflict.algorithm, conflict.local_digest, conflict.index_digest) == (
        "sha256",
        "aa" * 32,
        "ff" * 32,
    )
    assert conflict.index_hash == f"sha256:{'ff' * 32}"
    assert str(error).startswith(
        "conflict: a-1.0-py3-none-any.whl already on the index with different content"
    )


def test_a_conflict_given_by_name_alone_still_names_it() -> None:
    error = ConflictError(["x.whl", DIFFERENT])
    assert error.filenames == ("x.whl", "a-1.0-py3-none-any.whl")
    assert error.conflicts == (DIFFERENT,)


def test_an_upload_failure_carries_status_message_and_file() -> None:
    error = UploadFailed(
        "a.whl: the server refused the upload: 400 Bad Request: invalid classifier",
        status=400,
        filename="a.whl",
        server_message="400 Bad Request: invalid classifier",
    )
    assert (error.status, error.filename, error.server_message) == (
        400,
        "a.whl",
        "400 Bad Request: invalid classifier",
    )
    assert error.exit_code == 1
