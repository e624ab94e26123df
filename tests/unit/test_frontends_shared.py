"""The front ends' shared layer (``frontends/_shared.py``): a host's settings into the core's options and
repository, checked under the names the user gave them, and the core's error with the host's hint.

Host-free: these run in the main venv. The same rules through the real commands are in tests/e2e.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from publish_plugins.errors import ConflictError, UploadFailed, UsageError
from publish_plugins.frontends._shared import (
    Endpoint,
    Setting,
    endpoint,
    error_lines,
    host_timeout,
    publish_options,
)
from publish_plugins.options import DEFAULT_TIMEOUT, RetryPolicy

URL = "https://pypi.example/legacy/"


def refused(message: str) -> Any:
    """``pytest.raises`` for a UsageError with this text."""
    return pytest.raises(UsageError, match=re.escape(message))


# ---- publish_options ----------------------------------------------------------------------------------


def test_options_map_the_mode_and_keep_the_rest(tmp_path: Path) -> None:
    strict = publish_options(skip_existing=False, dry_run=True, report=tmp_path / "r.json", jobs=3)
    assert (strict.mode, strict.dry_run, strict.report_path, strict.jobs) == (
        "strict",
        True,
        tmp_path / "r.json",
        3,
    )
    lenient = publish_options(skip_existing=True, dry_run=False, retry=RetryPolicy(retries=0))
    assert (lenient.mode, lenient.report_path, lenient.retry.retries) == ("skip-existing", None, 0)


def test_a_report_with_nowhere_to_go_is_refused_under_its_option_name(tmp_path: Path) -> None:
    with refused(f"-o report: {tmp_path} is a folder"):
        publish_options(skip_existing=False, dry_run=False, report=tmp_path, report_from="-o report")


# ---- endpoint and repository --------------------------------------------------------------------------------


def test_an_endpoint_keeps_checked_values(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not read here\n")
    checked = endpoint(
        Setting(URL, "-r"),
        Setting("https://pypi.example/simple/", "--check-url"),
        ca_cert=Setting(str(ca), "--ca-cert"),
        client_cert=Setting(None, "--client-cert"),
        timeout=5.0,
    )
    assert checked == Endpoint(URL, "https://pypi.example/simple/", ca_cert=str(ca), timeout=5.0)


@pytest.mark.parametrize(
    ("upload", "check", "message"),
    [
        (Setting("ftp://alice:s3cret@pypi.example/", "repositories.x.url"), None, "repositories.x.url: "),
        (Setting(URL, "-r"), Setting("http://[::1/", "--check-url"), "--check-url: "),
    ],
    ids=["upload-url", "check-url"],
)
def test_a_bad_url_is_refused_under_its_name_without_the_secret(
    upload: Setting, check: Setting | None, message: str
) -> None:
    with refused(message) as info:
        endpoint(upload, check)
    assert "s3cret" not in str(info.value)


def test_a_missing_certificate_file_names_the_setting(tmp_path: Path) -> None:
    missing = str(tmp_path / "none.pem")
    with refused(f"HATCH_INDEX_CA_CERT: {missing}: no such certificate file"):
        endpoint(Setting(URL, "-r"), ca_cert=Setting(missing, "HATCH_INDEX_CA_CERT"))
    with refused(f"--client-cert: {missing}: no such certificate file"):
        endpoint(Setting(URL, "-r"), client_cert=Setting(missing, "--client-cert"))


def test_a_ca_file_is_neither_checked_nor_used_without_verification(tmp_path: Path) -> None:
    checked = endpoint(
        Setting(URL, "-r"), ca_cert=Setting(str(tmp_path / "none.pem"), "--ca-certs"), verify=False
    )
    assert (checked.ca_cert, checked.verify) == (None, False)


def test_certificate_paths_expand_the_home_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "client.pem").write_text("not read here\n")
    checked = endpoint(Setting(URL, "-r"), client_cert=Setting("~/client.pem", "--client-cert"))
    assert checked.client_cert == str(tmp_path / "client.pem")


def test_a_client_key_without_its_certificate_is_refused_in_the_hosts_words(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("not read here\n")
    with refused("--client-key needs --client-cert"):
        endpoint(Setting(URL, "-r"), client_key=Setting(str(key), "--client-key"))
    with refused("client-key needs client-cert"):
        endpoint(
            Setting(URL, "-r"),
            client_key=Setting(str(key), "-o client-key"),
            key_needs_cert="client-key needs client-cert",
        )


def test_the_repository_carries_the_endpoint_and_the_credentials() -> None:
    repository = Endpoint(URL, verify=False).repository("alice", "s3cret")
    assert (repository.upload_url, repository.username, repository.password) == (URL, "alice", "s3cret")
    assert (repository.verify, repository.timeout) == (False, DEFAULT_TIMEOUT)
    assert Endpoint(URL).repository(None, "token").username == "__token__"
    assert Endpoint(URL).repository(None, None).password is None


def test_a_user_name_without_password_says_where_it_came_from_and_how_to_add_one() -> None:
    with refused("the user name 'alice' (from -u) was given without a password: pass -p PASSWORD"):
        Endpoint(URL).repository("alice", None, user_from="-u", password_how="pass -p PASSWORD")


@pytest.mark.parametrize(
    ("text", "floor", "expected"),
    [
        (None, False, None),
        ("", False, None),
        ("7", False, 7.0),
        (15.0, True, DEFAULT_TIMEOUT),
        ("600", True, 600.0),
    ],
)
def test_a_hosts_timeout(text: object, floor: bool, expected: float | None) -> None:
    assert host_timeout(text, "X", at_least_default=floor) == expected


def test_a_bad_host_timeout_names_the_setting() -> None:
    with refused("POETRY_REQUESTS_TIMEOUT: must be more than 0") as info:
        host_timeout("-5", "POETRY_REQUESTS_TIMEOUT")
    assert str(info.value).endswith(", got '-5'")


# ---- error_lines --------------------------------------------------------------------------------------------

HINTS = {"credentials": "pass -u", "skip_existing": "pass --skip-existing"}


def test_the_core_option_names_become_the_hosts() -> None:
    error = UsageError("cannot derive the check URL: pass --check-url URL (--timeout)")
    message, hint = error_lines(
        error, password_given=True, options={"--check-url": "-o check-url=URL"}, **HINTS
    )
    assert message == "cannot derive the check URL: pass -o check-url=URL URL (--timeout)"
    assert hint is None
    message, _ = error_lines(error, password_given=True, **HINTS)  # the hosts have no --timeout
    assert message == "cannot derive the check URL: pass --check-url URL"


@pytest.mark.parametrize(
    ("error", "password_given", "hint"),
    [
        (UploadFailed("refused", status=403), False, "to give credentials, pass -u"),
        (UploadFailed("refused", status=403), True, None),
        (UploadFailed("refused", status=500), False, None),
        (
            ConflictError(["a-1.0.tar.gz"]),
            True,
            "to keep the index's file as it is and upload the rest, pass --skip-existing",
        ),
    ],
    ids=["anonymous-refused", "wrong-password", "server-error", "conflict"],
)
def test_the_hint_is_the_hosts_next_step(error: Exception, password_given: bool, hint: str | None) -> None:
    assert isinstance(error, UploadFailed | ConflictError)
    assert error_lines(error, password_given=password_given, **HINTS)[1] == hint
