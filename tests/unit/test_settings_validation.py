"""The core's checks of what a user gives: URLs, numbers, the report path, config files, credentials.

Pure functions and constructors; the same rules through the real commands are in
tests/e2e/test_bad_settings.py.
"""

from __future__ import annotations

import argparse
import base64
import configparser
import math
import os
import re
from pathlib import Path

import pytest

from publish_plugins._report import check_report_path
from publish_plugins._urls import redact_text, validate_url
from publish_plugins.errors import ConflictError, UsageError
from publish_plugins.frontends._credentials import PypircRepository, config_error_message, read_pypirc
from publish_plugins.frontends._shared import non_negative_int, positive_int, seconds
from publish_plugins.options import (
    PublishOptions,
    Repository,
    RetryPolicy,
    count_problem,
    parse_count,
    parse_seconds,
    seconds_problem,
)

SECRET = "s3cr3t-TOKEN-xyz"
FRAGMENTS = (SECRET, "s3cr3t", "TOKEN-xyz")

# ---- URLs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://upload.pypi.org/legacy/",
        "http://127.0.0.1:8080",
        "HTTPS://Example.org/simple/",
        "http://[::1]:8080/",
        "http://[fe80::1%25eth0]/",
        "https://alice:p%40ss%2Fword@host.example/legacy/",
        "https://__token__:pypi-AgE:x@host.example/",  # ':' in a password is allowed
        "http://h.example:65535/",
    ],
)
def test_usable_urls_pass(url: str) -> None:
    assert validate_url(url, what="--repository-url") == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "is empty"),
        ("http://host.example/a b", "contains a space"),
        ("http://host.example/\x1b[31m", "control character"),
        ("example.org/legacy/", "has no scheme"),
        ("localhost:8080/simple/", "has no scheme"),
        ("ftp://files.example/", "unsupported scheme 'ftp'"),
        ("http://[::1/", "broken IPv6 address"),
        ("http://[::g]/", "broken IPv6 address"),
        ("http://::1]/", "broken IPv6 address"),
        ("http://[::1]x/", "text after the IPv6 address"),
        ("http:///path", "has no host name"),
        ("http://host.example:abc/", "port after ':' is not a number"),
        ("http://host.example:0/", "port after ':' is not a number"),
        ("http://host.example:99999/", "port after ':' is not a number"),
        (
            "http://host.example:\u0669/",
            "port after ':' is not a number",
        ),  # Arabic-Indic nine: a digit, not ASCII
        ("https://alice:p@ss/word@host.example/", "has '@' after the host"),
        ("https://us@er:pass@host.example/", "must be percent-encoded"),
        ("https://al[ice:pass@host.example/", "must be percent-encoded"),
    ],
)
def test_malformed_urls_are_usage_errors_naming_the_source(url: str, reason: str) -> None:
    """Exit 2, the source named first, the reason in words; never the parser's own text."""
    with pytest.raises(UsageError) as info:
        validate_url(url, what="'url' in [repository.x]")
    assert info.value.exit_code == 2
    assert str(info.value).startswith("'url' in [repository.x]: ")
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        f"http://alice:{SECRET}@[::1/",
        f"alice:{SECRET}@pypi.example/legacy/",
        "https://alice:s3cr3t/TOKEN-xyz@pypi.example/legacy/",  # '/' cuts it: host 's3cr3t'?
        "https://alice:s3cr3t?TOKEN-xyz@pypi.example/legacy/",
        "https://alice:s3cr3t#TOKEN-xyz@pypi.example/legacy/",
        f"https://alice:{SECRET[:6]}@{SECRET[6:]}@pypi.example/",
        f"ftp://alice:{SECRET}@pypi.example/",
        f"https://__token__:{SECRET}/legacy/",  # the '@host' forgotten: the token is the "port"
        f"https://__token__:{SECRET}",
        f"https://alice:{SECRET}@pypi.example:port/",
        f"http://alice:{SECRET}@[::1]zz/",
        f"https://alice:{SECRET}@pypi.example/ x",
    ],
)
def test_no_part_of_a_password_in_a_url_error(url: str) -> None:
    """The message shows the URL redacted from its text alone, so a URL that does not parse (or parses
    wrongly: host and path made of the password) shows no piece of the password."""
    with pytest.raises(UsageError) as info:
        validate_url(url, what="--repository-url")
    for fragment in FRAGMENTS:
        assert fragment not in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:pw@host.example/legacy/", "https://***@host.example/legacy/"),
        ("https://a:p@ss/word@host.example/", "https://***@host.example/"),
        ("alice:pw@host.example/x", "***@host.example/x"),
        ("https://__token__:pypi-abc/legacy/", "https://__token__:***/legacy/"),
        ("http://[::1]:8080/simple/", "http://[::1]:8080/simple/"),
        ("http://host.example:8080/", "http://host.example:8080/"),
        ("http://host.example/\x1b[2J", "http://host.example/[2J"),
    ],
)
def test_redact_text_works_on_text_that_does_not_parse(url: str, shown: str) -> None:
    assert redact_text(url) == shown


# ---- numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [("60", 60.0), ("0.5", 0.5), (" 2 ", 2.0), ("1e3", 1000.0)])
def test_parse_seconds_accepts_positive_finite_numbers(text: str, value: float) -> None:
    assert parse_seconds(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "more than 0"),
        ("-1", "more than 0"),
        ("nan", "finite"),
        ("inf", "finite"),
        ("-inf", "finite"),
        ("soon", "not a number"),
        ("", "not a number"),
    ],
)
def test_parse_seconds_refuses(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_seconds(text)


@pytest.mark.parametrize(
    ("text", "minimum", "value"), [("1", 1, 1), ("+4", 1, 4), ("0", 0, 0), (" 12 ", 0, 12)]
)
def test_parse_count_accepts_whole_numbers(text: str, minimum: int, value: int) -> None:
    assert parse_count(text, minimum=minimum) == value


@pytest.mark.parametrize(
    ("text", "minimum", "reason"),
    [
        ("0", 1, "at least 1"),
        ("-1", 0, "at least 0"),
        ("1.5", 0, "not a whole number"),
        ("--5", 0, "not a whole number"),
        ("two", 1, "not a whole number"),
        ("", 1, "not a whole number"),
    ],
)
def test_parse_count_refuses(text: str, minimum: int, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_count(text, minimum=minimum)


def test_number_problems_refuse_booleans_and_text() -> None:
    """``True`` is an int to Python, and "5" a number to a reader: neither is one to the core."""
    assert seconds_problem(True) == "not a number of seconds"
    assert seconds_problem("5") == "not a number of seconds"
    assert seconds_problem(math.inf) == "must be a finite number of seconds"
    assert count_problem(True, minimum=1) == "not a whole number"
    assert count_problem("5", minimum=1) == "not a whole number"
    assert count_problem(2, minimum=1) is None


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (seconds, "nan", "must be a finite number of seconds, got 'nan'"),
        (seconds, "-1", "must be more than 0 seconds, got '-1'"),
        (non_negative_int, "-1", "must be at least 0, got '-1'"),
        (positive_int, "0", "must be at least 1, got '0'"),
        (positive_int, "x", "not a whole number, got 'x'"),
    ],
)
def test_argparse_types_use_the_core_rules(parse: object, text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)  # type: ignore[operator]


# ---- Repository and PublishOptions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"upload_url": "http://[::1/"}, "upload URL: has a broken IPv6 address"),
        ({"check_url": "ftp://mirror.example/simple/"}, "check URL: unsupported scheme 'ftp'"),
        ({"timeout": 0}, "timeout: must be more than 0 seconds"),
        ({"timeout": math.nan}, "timeout: must be a finite number"),
        ({"timeout": -3.0}, "timeout: must be more than 0 seconds"),
        ({"username": "alice"}, "the user name 'alice' was given without a password"),
        ({"upload_url": "https://alice@upload.example/"}, "the user name 'alice' was given without"),
    ],
)
def test_repository_refuses_what_no_run_can_use(values: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"upload_url": "https://upload.example/legacy/", **values}
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Repository(**arguments)  # type: ignore[arg-type]


def test_repository_keeps_its_existing_behaviour() -> None:
    """URL credentials become ordinary credentials; a password alone is a token."""
    from_url = Repository(f"https://alice:{SECRET}@upload.example/legacy/")
    assert (from_url.upload_url, from_url.username, from_url.password) == (
        "https://upload.example/legacy/",
        "alice",
        SECRET,
    )
    assert Repository("https://upload.example/", password=SECRET).username == "__token__"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"jobs": 0}, "jobs: must be at least 1, got 0"),
        ({"jobs": True}, "jobs: not a whole number"),
        ({"jobs": 2.5}, "jobs: not a whole number"),
        ({"retry": RetryPolicy(retries=-1)}, "retries: must be at least 0, got -1"),
        ({"retry": RetryPolicy(backoff=math.inf)}, "retry backoff: must be a finite number"),
        ({"retry": RetryPolicy(max_delay=-1)}, "retry max_delay: must be a finite number"),
    ],
)
def test_publish_options_refuse_bad_numbers(values: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        PublishOptions(**values)  # type: ignore[arg-type]


def test_publish_options_accept_zero_retries() -> None:
    """0 retries means "try once": a valid choice, not a mistake."""
    assert PublishOptions(retry=RetryPolicy(retries=0), jobs=4).jobs == 4


def test_repository_url_credentials_are_percent_decoded_and_never_shown() -> None:
    """``p%40ss%2Fword`` in a URL is the password ``p@ss/word``; it never shows in the repository's repr."""
    repository = Repository("https://alice:p%40ss%2Fword@upload.example/legacy/")
    assert (repository.upload_url, repository.username, repository.password) == (
        "https://upload.example/legacy/",
        "alice",
        "p@ss/word",
    )
    assert "p@ss" not in repr(repository)
    assert "p%40ss" not in repr(repository)


def test_repository_secrets_are_every_form_an_index_may_echo() -> None:
    """The password plain, URL-quoted and inside the Basic header: messages are masked for all three."""
    repository = Repository("https://upload.example/", username="alice", password="p@ss word")
    basic = base64.b64encode(b"alice:p@ss word").decode()
    assert repository.secrets == ("p@ss word", "p%40ss%20word", basic)
    token = Repository("https://upload.example/", password="pypi-token")  # quoted, it is the same text
    assert token.secrets == ("pypi-token", base64.b64encode(b"__token__:pypi-token").decode())
    assert Repository("https://upload.example/").secrets == ()


# ---- ~/.pypirc repositories ----------------------------------------------------------------------------


def _read_pypirc(name: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> PypircRepository:
    monkeypatch.setenv("PYPIRC", str(path))
    return read_pypirc(name)


def test_read_pypirc_takes_url_and_credentials_from_the_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pypirc = tmp_path / ".pypirc"
    pypirc.write_text(
        "[distutils]\nindex-servers = private\n\n"
        f"[private]\nrepository = https://pypi.internal.example/legacy/\nusername = alice\npassword = {SECRET}\n"
    )
    repository = _read_pypirc("private", pypirc, monkeypatch)
    assert repository == PypircRepository("https://pypi.internal.example/legacy/", "alice", SECRET)
    assert SECRET not in repr(repository)


@pytest.mark.parametrize(
    ("name", "url"),
    [("pypi", "https://upload.pypi.org/legacy/"), ("testpypi", "https://test.pypi.org/legacy/")],
)
def test_pypi_and_testpypi_need_no_url(
    tmp_path: Path, name: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in twine: the two public indexes work without a section, and a section may leave the URL out."""
    assert _read_pypirc(name, tmp_path / "no-such-file", monkeypatch) == PypircRepository(url)
    pypirc = tmp_path / ".pypirc"
    pypirc.write_text(f"[{name}]\nusername = __token__\npassword = {SECRET}\n")
    assert _read_pypirc(name, pypirc, monkeypatch) == PypircRepository(url, "__token__", SECRET)


def test_read_pypirc_refuses_a_section_without_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pypirc = tmp_path / ".pypirc"
    pypirc.write_text(f"[private]\nusername = alice\npassword = {SECRET}\n")
    with pytest.raises(UsageError, match=re.escape(f"{pypirc}: [private] has no 'repository' URL")) as info:
        _read_pypirc("private", pypirc, monkeypatch)
    assert info.value.exit_code == 2
    assert SECRET not in str(info.value)


def test_read_pypirc_says_where_it_looked_for_an_undefined_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pypirc = tmp_path / ".pypirc"
    pypirc.write_text("[other]\nrepository = https://other.example/legacy/\n")
    with pytest.raises(UsageError, match=re.escape(f"repository 'nope' is not defined in {pypirc}")):
        _read_pypirc("nope", pypirc, monkeypatch)
    missing = tmp_path / "missing.pypirc"
    with pytest.raises(UsageError, match=re.escape(f"not defined in {missing} (the file does not exist)")):
        _read_pypirc("nope", missing, monkeypatch)


# ---- the report path --------------------------------------------------------------------------------


def test_report_path_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--report: .* is a folder; name a file"):
        check_report_path(tmp_path, what="--report")


@pytest.mark.parametrize("under", ["file.txt/report.json", "file.txt/deeper/report.json"])
def test_report_path_under_a_file_is_refused(tmp_path: Path, under: str) -> None:
    (tmp_path / "file.txt").write_text("a file\n")
    with pytest.raises(UsageError, match=r"file\.txt is a file, not a folder"):
        check_report_path(tmp_path / under, what="-o report")
    assert (tmp_path / "file.txt").read_text() == "a file\n"


def test_report_path_missing_folders_are_created_and_nothing_is_left(tmp_path: Path) -> None:
    """Missing folders are created, as ``mkdir -p``; the probe file that proves the folder writable
    is gone again, and an existing report is not touched (it is replaced only when the run ends)."""
    report = tmp_path / "build" / "reports" / "publish.json"
    check_report_path(report)
    assert report.parent.is_dir()
    assert list(report.parent.iterdir()) == []
    report.write_text("old\n")
    check_report_path(report)
    assert list(report.parent.iterdir()) == [report]
    assert report.read_text() == "old\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes whatever the permissions")
def test_report_path_in_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(UsageError, match="cannot write in"):
            check_report_path(folder / "report.json")
    finally:
        folder.chmod(0o700)


# ---- config files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (f"password = {SECRET}\n", "line 1: no [section] header"),
        (f"[pypi]\nusername = a\npassword {SECRET}\n", "line 3: not a 'key = value' line"),
        (f"[pypi]\n{SECRET}\n[x]\n{SECRET}\n", "lines 2, 4: not a 'key = value' line"),
        (f"[pypi]\npassword = a\npassword = {SECRET}\n", "line 3: 'password' in [pypi] appears twice"),
        ("[pypi]\n[pypi]\n", "line 2: section [pypi] appears twice"),
    ],
)
def test_config_errors_never_quote_a_line(tmp_path: Path, text: str, expect: str) -> None:
    """configparser quotes the offending line (``password ...``): the message gives its number only."""
    parser = configparser.RawConfigParser()
    with pytest.raises(configparser.Error) as info:
        parser.read_string(text, source=str(tmp_path / ".pypirc"))
    message = config_error_message(tmp_path / ".pypirc", info.value)
    assert expect in message
    assert message.startswith(f"{tmp_path / '.pypirc'}: cannot parse")
    for fragment in FRAGMENTS:
        assert fragment not in message


def test_interpolation_error_never_quotes_the_value() -> None:
    """hatch reads ``.pypirc`` with interpolation: a '%' in a password is an error quoting the value."""
    parser = configparser.ConfigParser()
    parser.read_string(f"[pypi]\npassword = 50%{SECRET}\n")
    with pytest.raises(configparser.InterpolationError) as info:
        parser.get("pypi", "password")
    message = config_error_message("~/.pypirc", info.value)
    assert "'password' in [pypi] has a '%'" in message
    assert SECRET not in message
    assert SECRET in str(info.value)  # what the message would have shown


def test_read_pypirc_checks_the_section_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pypirc = tmp_path / ".pypirc"
    pypirc.write_text(f"[private]\nrepository = https://alice:{SECRET}/legacy/\n")
    monkeypatch.setenv("PYPIRC", str(pypirc))
    with pytest.raises(UsageError) as info:
        read_pypirc("private")
    assert str(info.value).startswith(f"'repository' in [private] of {pypirc}: ")
    assert SECRET not in str(info.value)


# ---- conflict ---------------------------------------------------------------------------------------


def test_conflict_names_the_held_back_files() -> None:
    error = ConflictError(["a-1.0-py3-none-any.whl"], held_back=["a-1.0.tar.gz", "b-1.0.tar.gz"])
    assert error.exit_code == 3
    assert error.held_back == ("a-1.0.tar.gz", "b-1.0.tar.gz")
    assert "2 new file(s) held back: a-1.0.tar.gz, b-1.0.tar.gz" in str(error)
    many = ConflictError(["x.whl"], held_back=[f"f{i}.whl" for i in range(8)])
    assert "8 new file(s) held back: f0.whl, f1.whl, f2.whl, f3.whl, f4.whl and 3 more" in str(many)
    assert "held back" not in str(ConflictError(["x.whl"]))
