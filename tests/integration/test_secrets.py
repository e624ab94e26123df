"""Secrets and origins: a password or token is never shown, logged or reported, never leaves its origin.

"Shown" covers every spelling that gives the secret away: as typed, inside a Basic ``Authorization``
header (base64 is an encoding, not a protection) and URL-encoded.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.integration.cli_support import assert_no_secret, error_line, run_cli, run_main
from tests.support.commands import creds
from tests.support.dists import DistFactory
from tests.support.index_state import assert_published_once, stored
from tests.support.origin import RecordingServer
from tests.support.proxy import FaultProxy
from tests.support.servers import PypiServer, basic_auth_header

from publish_plugins._run import publish
from publish_plugins.errors import PublishError
from publish_plugins.options import PublishOptions, Repository, RetryPolicy

VERBOSITY = [[], ["-v"], ["-vv"]]
VERBOSITY_IDS = ["default", "v", "vv"]
NON_LOOPBACK = "pypi.internal.example"  # never contacted: the runs below are dry runs


def _outputs(result: subprocess.CompletedProcess[str], report: Path) -> list[str]:
    texts = [result.stdout, result.stderr]
    if report.exists():
        texts.append(report.read_text())
    return texts


# ---- the secret is never shown, at any verbosity ------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A run that puts credentials to work; ``prepare`` returns the extra CLI arguments and files."""

    id: str
    prepare: Callable[[PypiServer, FaultProxy, DistFactory, str, Path], list[str]]
    exit_code: int


def _fresh(index: PypiServer, proxy: FaultProxy, dists: DistFactory, name: str, tmp: Path) -> list[str]:
    return [str(path) for path in dists.release(name, "1.0")]


def _identical(index: PypiServer, proxy: FaultProxy, dists: DistFactory, name: str, tmp: Path) -> list[str]:
    files = [str(path) for path in dists.release(name, "1.0")]
    assert run_main([*creds(index), *files], cwd=tmp).returncode == 0
    return files


def _conflict(index: PypiServer, proxy: FaultProxy, dists: DistFactory, name: str, tmp: Path) -> list[str]:
    assert run_main([*creds(index), str(dists.wheel(name, "1.0"))], cwd=tmp).returncode == 0
    return [str(DistFactory(tmp / "changed").wheel(name, "1.0", payload=b"changed"))]


def _retries(index: PypiServer, proxy: FaultProxy, dists: DistFactory, name: str, tmp: Path) -> list[str]:
    proxy.status(503, method="POST", times=None)
    return ["--retries", "1", str(dists.wheel(name, "1.0"))]


def _private_check(
    index: PypiServer, proxy: FaultProxy, dists: DistFactory, name: str, tmp: Path
) -> list[str]:
    proxy.status(401, method="GET", path="/simple/", headers={"WWW-Authenticate": 'Basic realm="pypi"'})
    return [str(dists.wheel(name, "1.0"))]


def _lost_answer(index: PypiServer, proxy: FaultProxy, dists: DistFactory, name: str, tmp: Path) -> list[str]:
    proxy.drop_response(method="POST", times=None)
    return [str(dists.wheel(name, "1.0"))]


SCENARIOS = [
    Scenario("fresh-upload", _fresh, 0),
    Scenario("identical-rerun", _identical, 0),
    Scenario("conflict", _conflict, 3),
    Scenario("upload-retries-then-fails", _retries, 1),
    Scenario("check-refused-401", _private_check, 1),
    Scenario("lost-answer-resolved-by-recheck", _lost_answer, 0),
]


@pytest.mark.parametrize("verbosity", VERBOSITY, ids=VERBOSITY_IDS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_password_never_in_output_or_report(
    scenario: Scenario,
    *,
    verbosity: list[str],
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """Success, skip, conflict, retries, refusals, a lost answer: the password is used (it reaches the
    index) but appears in no form in stdout, stderr or the report, whatever the verbosity."""
    proxy = fault_proxy(pypiserver.url)
    args = scenario.prepare(pypiserver, proxy, dists, unique_name, tmp_path)
    report = tmp_path / "report.json"

    result = run_cli(
        [*creds(pypiserver, proxy.url), "--report", str(report), *verbosity, *args], cwd=tmp_path
    )

    assert result.returncode == scenario.exit_code, result.stderr
    assert "Traceback" not in result.stderr
    assert report.exists()
    assert_no_secret(_outputs(result, report), pypiserver.username, pypiserver.password)
    if proxy.posts:  # the credentials were really in use: the uploads carried them
        assert basic_auth_header(pypiserver.username, pypiserver.password) in proxy.authorizations()


@pytest.mark.parametrize("verbosity", VERBOSITY, ids=VERBOSITY_IDS)
def test_user_info_in_urls_is_redacted(
    verbosity: list[str],
    *,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """Credentials written into the upload and check URLs (``http://alice:SECRET@host/``) work, and
    every URL the run prints or reports shows them redacted; the error line names the page."""
    proxy = fault_proxy(pypiserver.url)
    proxy.status(503, method="GET", path=f"/simple/{unique_name}/", times=None)
    origin = proxy.url.removeprefix("http://")
    upload = f"http://alice:{pypiserver.password}@{origin}"
    check = f"http://alice:{pypiserver.password}@{origin}simple/"
    report = tmp_path / "report.json"
    wheel = dists.wheel(unique_name, "1.0")
    args = ["--repository-url", upload, "--check-url", check, "--retries", "1", "--report", str(report)]

    result = run_cli([*args, *verbosity, str(wheel)], cwd=tmp_path)

    assert result.returncode == 1, result.stderr
    line = error_line(result)
    assert f"{origin}simple/{unique_name}/" in line  # the page is named (its user info hidden: below)
    assert_no_secret(_outputs(result, report), "alice", pypiserver.password)
    data = json.loads(report.read_text())
    assert pypiserver.password not in data["repository_url"]
    assert data["repository_url"].endswith(origin)  # the host named, its user info hidden or dropped

    proxy.clear_faults()
    again = run_cli([*args, *verbosity, str(wheel)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert_no_secret(_outputs(again, report), "alice", pypiserver.password)
    assert_published_once(pypiserver, unique_name, [wheel])


@pytest.mark.parametrize("in_url", [False, True], ids=["options", "user-info-url"])
def test_password_never_logged(
    in_url: bool,
    *,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Hosts turn on logging (``-v`` of PDM and poetry shows library logs): whatever publish-plugins
    and its HTTP stack log, at any level, holds no form of the password."""
    proxy = fault_proxy(pypiserver.url)
    proxy.status(503, method="POST", times=1)  # one retry: the retry path logs too
    if in_url:
        repository = Repository(proxy.url.replace("http://", f"http://alice:{pypiserver.password}@"))
    else:
        repository = Repository(proxy.url, username="alice", password=pypiserver.password)
    wheel = dists.wheel(unique_name, "1.0")

    with caplog.at_level(logging.DEBUG):
        publish([wheel], repository, PublishOptions(retry=RetryPolicy(retries=2, backoff=0.01)))

    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert_no_secret([caplog.text], "alice", pypiserver.password)
    assert stored(pypiserver, unique_name) == {wheel.name: wheel.read_bytes()}


# ---- error pages that echo the request ---------------------------------------------------------------


def _echo_body(username: str, password: str) -> bytes:
    header = basic_auth_header(username, password)
    return (
        "<html><body><h1>400 Bad Request</h1><pre>Rejected request: POST / "
        f"Authorization: {header} user={username} password={password}</pre></body></html>"
    ).encode()


def _echo_json(username: str, password: str) -> bytes:
    header = basic_auth_header(username, password)
    return json.dumps({"message": f"invalid request, headers: Authorization: {header} ({password})"}).encode()


@dataclass(frozen=True)
class Echo:
    id: str
    install: Callable[[FaultProxy, bytes, bytes], object]
    exit_code: int


ECHOES = [
    # The server stored the file, then answered with an error page: the re-check finds it (exit 0) and
    # the reason shown with it quotes the server.
    Echo(
        "upload-stored-answer-400-html",
        lambda p, html, js: p.replace_body(html, status=400, method="POST"),
        0,
    ),
    Echo(
        "upload-refused-400-html",
        lambda p, html, js: p.status(400, method="POST", body=html, headers={"Content-Type": "text/html"}),
        1,
    ),
    Echo(
        "upload-refused-400-json",
        lambda p, html, js: p.status(
            400, method="POST", body=js, headers={"Content-Type": "application/json"}, times=None
        ),
        1,
    ),
    Echo(
        "upload-503-retried-html",
        lambda p, html, js: p.status(
            503, method="POST", body=html, headers={"Content-Type": "text/html"}, times=None
        ),
        1,
    ),
    Echo(
        "check-500-html",
        lambda p, html, js: p.status(
            500, method="GET", path="/simple/", body=html, headers={"Content-Type": "text/html"}, times=None
        ),
        1,
    ),
    Echo(
        "check-403-html",
        lambda p, html, js: p.status(
            403, method="GET", path="/simple/", body=html, headers={"Content-Type": "text/html"}
        ),
        1,
    ),
]


@pytest.mark.parametrize("echo", ECHOES, ids=[e.id for e in ECHOES])
def test_error_page_echoing_the_request_does_not_expose_the_secret(
    echo: Echo,
    *,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """An index or proxy whose error page echoes the request (its Authorization header, decoded or not):
    the server's message may be shown, the secret in it may not, at -vv, in stderr and the report."""
    proxy = fault_proxy(pypiserver.url)
    username, password = pypiserver.username, pypiserver.password
    echo.install(proxy, _echo_body(username, password), _echo_json(username, password))
    report = tmp_path / "report.json"
    wheel = dists.wheel(unique_name, "1.0")

    result = run_cli(
        [*creds(pypiserver, proxy.url), "--retries", "1", "--report", str(report), "-vv", str(wheel)],
        cwd=tmp_path,
    )

    assert result.returncode == echo.exit_code, result.stderr
    assert "Traceback" not in result.stderr
    assert_no_secret(_outputs(result, report), username, password)


# ---- credentials never reach another origin ---------------------------------------------------------


def test_check_url_on_another_origin_is_read_without_credentials(
    pypiserver: PypiServer,
    *,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    other_origin: RecordingServer,
    tmp_path: Path,
) -> None:
    """``--check-url`` on another host: it is read, without the credentials, which go to the upload
    URL only (the upload proxy records them)."""
    proxy = fault_proxy(pypiserver.url)
    reader = fault_proxy(pypiserver.url)  # another port: another origin, in front of the same index
    files = dists.release(unique_name, "1.0")
    check = reader.url + "simple/"

    result = run_cli([*creds(pypiserver, proxy.url), "--check-url", check, *map(str, files)], cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert sorted((record.method, record.path) for record in reader.records) == [
        ("GET", "/simple/"),  # the start of the root: is it an index? (read alongside the page)
        ("GET", f"/simple/{unique_name}/"),
    ]
    assert [record.headers.get("authorization") for record in reader.records] == [None, None]
    assert proxy.authorizations() == [basic_auth_header(pypiserver.username, pypiserver.password)] * 2
    assert_published_once(pypiserver, unique_name, files)


@pytest.mark.parametrize("code", [302, 307, 308])
def test_redirects_never_carry_credentials_to_another_origin(
    code: int,
    *,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    other_origin: RecordingServer,
    tmp_path: Path,
) -> None:
    """The check and the upload redirected to another host: neither is followed there (exit 1), so
    the other host never sees a request, let alone the credentials."""
    proxy = fault_proxy(pypiserver.url)
    wheel = dists.wheel(unique_name, "1.0")
    proxy.redirect(other_origin.url + "simple/x/", code=code, method="GET", path=f"/simple/{unique_name}/")
    check = run_main([*creds(pypiserver, proxy.url), "--retries", "0", str(wheel)], cwd=tmp_path)
    proxy.clear_faults()
    proxy.redirect(other_origin.url + "legacy/", code=code, method="POST")
    upload = run_main([*creds(pypiserver, proxy.url), "--retries", "0", str(wheel)], cwd=tmp_path)

    assert check.returncode == 1, check.stderr
    assert "redirected to another origin" in error_line(check)
    assert upload.returncode == 1, upload.stderr
    assert "uploads never follow redirects" in error_line(upload)
    assert other_origin.seen == []
    assert stored(pypiserver, unique_name) == {}


def test_file_download_redirected_to_another_origin_loses_the_credentials(
    pypiserver_nohash: PypiServer,
    *,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    other_origin: RecordingServer,
    tmp_path: Path,
) -> None:
    """An index that lists no hash: its copy is downloaded (with the credentials, same origin) to be
    compared. When the download is redirected to another host (a CDN), the credentials stay behind."""
    wheel = dists.wheel(unique_name, "1.0")
    assert run_main([*creds(pypiserver_nohash), str(wheel)], cwd=tmp_path).returncode == 0
    proxy = fault_proxy(pypiserver_nohash.url)
    proxy.redirect(other_origin.url + wheel.name, code=302, method="GET", path="/packages/", times=None)

    result = run_cli([*creds(pypiserver_nohash, proxy.url), "--retries", "0", str(wheel)], cwd=tmp_path)

    assert result.returncode == 1, result.stderr  # the other host answers 404: nothing to compare with
    assert wheel.name in error_line(result)
    assert [seen.path for seen in other_origin.seen] == [f"/{wheel.name}"]
    assert other_origin.authorizations() == []
    assert proxy.posts == []


# ---- plain HTTP to a host that is not this machine ----------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "secret"),
    [
        (["-u", "alice", "-p", "plain-http-Secret-1"], "plain-http-Secret-1"),
        (["-p", "pypi-plain-http-Token-2"], "pypi-plain-http-Token-2"),
        (["--repository-url", f"http://alice:plain-http-Secret-3@{NON_LOOPBACK}/"], "plain-http-Secret-3"),
    ],
    ids=["user-and-password", "token", "user-info-url"],
)
def test_credentials_over_plain_http_to_another_host_warn(
    credentials: list[str],
    *,
    secret: str,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """Credentials for ``http://`` on a host that is not loopback: a warning that names the host and
    says why. A dry run never contacts the upload host (no network needed); the check goes to a local
    index on another origin, without the credentials."""
    proxy = fault_proxy(pypiserver.url)
    wheel = dists.wheel(unique_name, "1.0")
    args = ["--repository-url", f"http://{NON_LOOPBACK}/", *credentials, "--check-url", proxy.url + "simple/"]

    result = run_cli([*args, "--dry-run", str(wheel)], cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "plain HTTP" in line]
    assert len(warnings) == 1, result.stderr
    assert NON_LOOPBACK in warnings[0]
    assert "https" in warnings[0]
    assert secret not in result.stderr + result.stdout
    assert proxy.authorizations() == []
    assert proxy.upload_bytes == 0


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/", "http://localhost:9/", "http://[::1]:9/", f"https://{NON_LOOPBACK}/"],
    ids=["ipv4-loopback", "localhost", "ipv6-loopback", "https"],
)
def test_no_plain_http_warning_for_loopback_or_https(
    url: str, pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """Loopback never leaves the machine and https is encrypted: no warning (it would be noise)."""
    wheel = dists.wheel(unique_name, "1.0")
    args = ["--repository-url", url, "-u", "alice", "-p", "x", "--check-url", pypiserver.simple_url]

    result = run_main([*args, "--dry-run", str(wheel)], cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "plain HTTP" not in result.stderr


def test_publish_api_errors_carry_no_secret(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """Front ends show ``str(error)``: the exception a failed run raises holds no form of the password."""
    proxy = fault_proxy(pypiserver.url)
    proxy.status(
        400,
        method="POST",
        body=_echo_body("alice", pypiserver.password),
        headers={"Content-Type": "text/html"},
    )
    with pytest.raises(PublishError) as info:
        publish(
            [dists.wheel(unique_name, "1.0")],
            Repository(proxy.url, username="alice", password=pypiserver.password),
        )
    assert_no_secret([str(info.value), repr(info.value)], "alice", pypiserver.password)
