"""Ctrl-C (SIGINT) and SIGTERM stop ``safe-publish`` at once, in every phase of a run.

The real command runs against a real pypiserver behind a proxy that makes each phase last: a simple page
that never answers (the check), a 503 with ``Retry-After: 30`` (a retry wait), an upload held at the door
(an upload in flight). Then the signal, and: the exit code (130 or 143), an end well within a hang bound,
no upload that starts after the signal (counted at the proxy), a report with the same exit code saying
which files went up, and a re-run that completes the release with every file on the index once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.integration.cli_support import assert_no_secret, error_line, run_main
from tests.support.commands import SAFE_PUBLISH, SHORT_WAITS, cli_env, creds
from tests.support.dists import DistFactory
from tests.support.index_state import assert_published_once, project_prefix, stored
from tests.support.proxy import FaultProxy, started_proxies
from tests.support.servers import TEST_PASSWORD, TEST_USERNAME, PypiServer
from tests.support.signals import EXIT_BOUND, SIGNALS, HoldingProxy, Running, Stopped, signal_id

NOT_STARTED = "not uploaded: the run was interrupted before uploading"
NOT_ATTEMPTED = "not attempted: the run was interrupted before its upload started"
CUT_OFF = "interrupted during its upload: the server may or may not have stored it"
WAITING = "interrupted while waiting to retry its upload"


@pytest.fixture
def holding() -> Iterator[Callable[..., HoldingProxy]]:
    """Start holding proxies in front of a server URL; held uploads are dropped, never forwarded, at the end."""
    with started_proxies(HoldingProxy) as start:
        yield start


@dataclass
class Phase:
    """One moment of a run to interrupt: how the proxy makes it last, and how the test knows it is there."""

    id: str
    install: Callable[[HoldingProxy], object]
    reached: Callable[[HoldingProxy, Running], bool]
    uploaded: int  # files uploaded before the signal (of the wheel and sdist of a release)
    actions: tuple[tuple[str, str], tuple[str, str]]  # (action, reason prefix) of the wheel, the sdist


def _stalled_check(proxy: HoldingProxy, run: Running) -> bool:
    return any(record.fault == "stall" for record in list(proxy.records))


PHASES = [
    Phase(
        "check",
        lambda proxy: proxy.stall(method="GET", path="/simple/", times=None),
        _stalled_check,
        0,
        (("failed", NOT_STARTED), ("failed", NOT_STARTED)),
    ),
    Phase(
        "check-retry-wait",
        lambda proxy: proxy.status(
            503, headers={"Retry-After": "30"}, method="GET", path="/simple/", times=None
        ),
        lambda proxy, run: "retry 1 in 30.0 s" in run.text(),
        0,
        (("failed", NOT_STARTED), ("failed", NOT_STARTED)),
    ),
    Phase(
        "upload",  # the wheel goes up, the sdist is held: an upload waiting for the server's answer
        lambda proxy: setattr(proxy, "free", 1),
        lambda proxy, run: proxy.held >= 1,
        1,
        (("uploaded", "uploaded"), ("failed", CUT_OFF)),
    ),
    Phase(
        "upload-retry-wait",
        lambda proxy: proxy.status(503, headers={"Retry-After": "30"}, method="POST", times=None),
        lambda proxy, run: "retry 1 in 30.0 s" in run.text(),
        0,
        (("failed", WAITING), ("failed", NOT_ATTEMPTED)),
    ),
]


def start_cli(args: list[str], *, cwd: Path) -> Running:
    return Running([str(SAFE_PUBLISH), *SHORT_WAITS, *args], cwd=cwd, env=cli_env(cwd), folder=cwd / "output")


def check_stopped(result: Stopped, signum: int, report: Path) -> dict[str, object]:
    """What every interrupted run must show: the code, a prompt end, one error line, the report."""
    assert result.returncode == 128 + signum, result
    assert result.seconds < EXIT_BOUND, result  # a bound for hangs; the run ends within about a second
    line = error_line(subprocess.CompletedProcess([], result.returncode, result.stdout, result.stderr))
    assert line.startswith(f"error: interrupted ({signal_id(signum)})"), result
    assert_no_secret([result.stdout, result.stderr, report.read_text()], TEST_USERNAME, TEST_PASSWORD)
    data: dict[str, object] = json.loads(report.read_text())
    assert data["exit_code"] == 128 + signum
    return data


@pytest.mark.parametrize("signum", SIGNALS, ids=signal_id)
@pytest.mark.parametrize("phase", PHASES, ids=lambda phase: phase.id)
def test_signal_stops_the_run_at_once_and_a_rerun_completes(
    phase: Phase,
    signum: int,
    *,
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    holding: Callable[..., HoldingProxy],
    tmp_path: Path,
) -> None:
    """A signal in each phase: exit 128+signal at once, no upload after it, the report says what went up;
    the re-run uploads the rest and the index holds every file once."""
    wheel, sdist = files = dists.release(unique_name, "1.0")
    proxy = holding(pypiserver.url, free=10)
    phase.install(proxy)
    report = tmp_path / "report.json"
    run = start_cli([*creds(pypiserver, proxy.url), "--report", str(report), *map(str, files)], cwd=tmp_path)
    try:
        run.wait_until(lambda: phase.reached(proxy, run), f"the {phase.id} phase")
        arrivals = proxy.arrivals
        result = run.interrupt(signum)
    finally:
        run.kill()
    data = check_stopped(result, signum, report)
    assert proxy.arrivals == arrivals, "an upload started after the signal"
    records = {entry["filename"]: entry for entry in data["files"]}  # type: ignore[attr-defined]
    for path, (action, reason) in zip(files, phase.actions, strict=True):
        assert records[path.name]["action"] == action, records[path.name]
        assert records[path.name]["reason"].startswith(reason), records[path.name]
    assert data["totals"]["uploaded"] == phase.uploaded  # type: ignore[index]
    assert sorted(stored(pypiserver, unique_name)) == sorted(p.name for p in files[: phase.uploaded])
    if phase.uploaded:
        assert f"{phase.uploaded} file(s) had been uploaded by this run" in result.stderr
    if phase.id == "upload":
        assert f"the upload of {sdist.name} was cut off" in result.stderr
    else:
        assert "nothing was uploaded" in result.stderr

    proxy.stop()
    again = run_main([*creds(pypiserver), "--report", str(report), *map(str, files)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert_published_once(pypiserver, unique_name, files)
    actions = {entry["filename"]: entry["action"] for entry in json.loads(report.read_text())["files"]}
    assert actions[wheel.name] == ("skipped-identical" if phase.uploaded else "uploaded")
    assert actions[sdist.name] == "uploaded"


def test_parallel_uploads_in_flight_are_cut_off_and_nothing_else_starts(
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    holding: Callable[..., HoldingProxy],
    tmp_path: Path,
) -> None:
    """--jobs 2 with both wheels' uploads held: SIGINT ends the run at once (the worker threads, stuck in
    their requests, do not keep the process alive), the sdist is never started, and the report names
    both cut-off uploads."""
    wheels = [dists.wheel(unique_name, "1.0", tag=tag) for tag in ("py3-none-any", "py2.py3-none-any")]
    sdist = dists.sdist(unique_name, "1.0")
    files = [*wheels, sdist]
    proxy = holding(pypiserver.url)
    report = tmp_path / "report.json"
    args = [*creds(pypiserver, proxy.url), "--jobs", "2", "--report", str(report), *map(str, files)]
    run = start_cli(args, cwd=tmp_path)
    try:
        run.wait_until(lambda: proxy.held >= 2, "two uploads in flight")
        result = run.interrupt(signal.SIGINT)
    finally:
        run.kill()
    data = check_stopped(result, signal.SIGINT, report)
    assert proxy.arrivals == 2, "the sdist upload started after the signal"
    assert proxy.forwarded == 0
    records = {entry["filename"]: entry for entry in data["files"]}  # type: ignore[attr-defined]
    for wheel in wheels:
        assert records[wheel.name]["action"] == "failed"
        assert records[wheel.name]["reason"].startswith(CUT_OFF)
    assert records[sdist.name]["reason"] == NOT_ATTEMPTED
    assert "the uploads of 2 files were cut off" in result.stderr
    assert stored(pypiserver, unique_name) == {}

    proxy.stop()
    again = run_main([*creds(pypiserver), "--jobs", "2", *map(str, files)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert_published_once(pypiserver, unique_name, files)


def test_signal_mid_body_cuts_the_upload_off(
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    fault_proxy: Callable[[str], FaultProxy],
    tmp_path: Path,
) -> None:
    """SIGTERM while a large file is being sent (the server reads slowly): the body is cut off, the
    server stores nothing, and the re-run uploads the file."""
    wheel = dists.large_wheel(unique_name, "1.0", 48 * 1024 * 1024)
    proxy = fault_proxy(pypiserver.url)
    proxy.delay(30, method="POST")  # the proxy reads nothing of the body for 30 s: the send blocks
    report = tmp_path / "report.json"
    run = start_cli([*creds(pypiserver, proxy.url), "--report", str(report), str(wheel)], cwd=tmp_path)
    try:
        run.wait_until(lambda: len(proxy.posts) >= 1, "the upload")
        result = run.interrupt(signal.SIGTERM)
    finally:
        run.kill()
    data = check_stopped(result, signal.SIGTERM, report)
    assert data["files"][0]["reason"].startswith(CUT_OFF)  # type: ignore[index]
    assert len(proxy.posts) == 1
    proxy.stop()
    assert stored(pypiserver, unique_name) == {}

    again = run_main([*creds(pypiserver), str(wheel)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert_published_once(pypiserver, unique_name, [wheel])


def test_signal_while_several_projects_are_checked_at_once(
    pypiserver: PypiServer,
    dists: DistFactory,
    unique_name: str,
    holding: Callable[..., HoldingProxy],
    tmp_path: Path,
) -> None:
    """Two projects' pages are read in parallel and never answer: SIGTERM ends the run at once although
    both reads are stuck in other threads, and nothing is uploaded."""
    projects = [f"{unique_name}-a", f"{unique_name}-b"]
    files = [path for project in projects for path in dists.release(project, "1.0")]
    proxy = holding(pypiserver.url)
    for project in projects:
        proxy.stall(method="GET", path=f"/simple/{project}/", times=None)
    report = tmp_path / "report.json"
    run = start_cli([*creds(pypiserver, proxy.url), "--report", str(report), *map(str, files)], cwd=tmp_path)
    try:
        run.wait_until(
            lambda: sum(record.fault == "stall" for record in list(proxy.records)) >= 2,
            "both project pages requested",
        )
        result = run.interrupt(signal.SIGTERM)
    finally:
        run.kill()
    data = check_stopped(result, signal.SIGTERM, report)
    assert proxy.arrivals == 0
    assert {entry["reason"] for entry in data["files"]} == {NOT_STARTED}  # type: ignore[attr-defined]

    proxy.stop()
    again = run_main([*creds(pypiserver), *map(str, files)], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    for project in projects:
        assert_published_once(
            pypiserver, project, [path for path in files if path.name.startswith(project_prefix(project))]
        )


def test_publish_turns_a_signal_into_interrupted_and_restores_the_handlers(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """The library call: a SIGTERM that arrives as the first upload starts ends ``publish()`` with
    ``Interrupted`` (exit code 143) after the report is written, and the process's own signal handlers are
    back in place afterwards."""
    from publish_plugins._run import publish
    from publish_plugins.errors import Interrupted
    from publish_plugins.events import Event, UploadStarted
    from publish_plugins.options import PublishOptions, Repository

    assert threading.current_thread() is threading.main_thread()  # the handlers are installed only there
    wheel, sdist = dists.release(unique_name, "1.0")
    report = tmp_path / "report.json"
    before = {signum: signal.getsignal(signum) for signum in SIGNALS}
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, UploadStarted):
            signal.raise_signal(signal.SIGTERM)

    repository = Repository(pypiserver.url, username=TEST_USERNAME, password=TEST_PASSWORD)
    with pytest.raises(Interrupted) as caught:
        publish([wheel, sdist], repository, PublishOptions(report_path=report), on_event=on_event)
    assert caught.value.exit_code == 143
    assert {signum: signal.getsignal(signum) for signum in SIGNALS} == before
    assert sum(isinstance(event, UploadStarted) for event in events) == 1  # nothing started after it
    data = json.loads(report.read_text())
    assert data["exit_code"] == 143
    reasons = {entry["filename"]: entry["reason"] for entry in data["files"]}
    assert reasons[wheel.name].startswith(CUT_OFF)
    assert reasons[sdist.name] == NOT_ATTEMPTED
    assert stored(pypiserver, unique_name) == {}
