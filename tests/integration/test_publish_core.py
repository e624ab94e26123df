"""The core's behaviour against real index servers: pypiserver (HTML, 409) and devpi (JSON, 200/409)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.support.dists import DistFactory, file_sha256
from tests.support.index_state import local_files, stored
from tests.support.proxy import FaultProxy
from tests.support.servers import Index, PypiServer

from publish_plugins import (
    ConflictError,
    IndexQueryError,
    ProjectRef,
    PublishOptions,
    Repository,
    UploadFailed,
    publish,
)
from publish_plugins.events import (
    Event,
    FileConflict,
    FileIgnored,
    FileSkipped,
    Finished,
    Notice,
    UploadProgress,
)


def _repo(index: Index, **changes: object) -> Repository:
    values: dict[str, object] = {"username": index.username, "password": index.password}
    values.update(changes)
    return Repository(index.url, **values)  # type: ignore[arg-type]


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]


def test_fresh_upload_stores_exactly_the_local_bytes(
    any_index: Index, dists: DistFactory, unique_name: str
) -> None:
    """A first publish uploads every file; the index then holds byte-identical copies."""
    files = dists.release(unique_name, "1.0")
    events = Recorder()
    result = publish(files, _repo(any_index), on_event=events)
    assert result.count("uploaded") == 2
    assert stored(any_index, unique_name) == local_files(files)
    assert events.of(UploadProgress)[-1].sent == events.of(UploadProgress)[-1].total
    assert isinstance(events.events[-1], Finished)


def test_identical_rerun_sends_no_upload(
    any_index: Index, dists: DistFactory, unique_name: str, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """Re-publishing identical files makes no upload request at all, and one index request per project
    besides one look at the start of the index root (to know that a 404 there would mean "absent")."""
    files = dists.release(unique_name, "1.0")
    publish(files, _repo(any_index))
    proxy = fault_proxy(any_index.url)
    result = publish(
        files, Repository(proxy.url_for(any_index.url), username="alice", password=any_index.password)
    )
    assert result.count("skipped-identical") == 2
    methods = [method for method, _ in proxy.requests]
    assert "POST" not in methods
    assert proxy.upload_bytes == 0
    page_requests = [path for method, path in proxy.requests if method == "GET"]
    assert sorted(page_requests) == sorted(
        [urlsplit(any_index.simple_url).path, f"{urlsplit(any_index.simple_url).path}{unique_name}/"]
    )


def test_conflict_uploads_nothing_even_with_new_files(
    any_index: Index, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """One changed file among new ones: exit 3, every conflict named with both hashes, nothing uploaded."""
    publish([dists.wheel(unique_name, "1.0")], _repo(any_index))
    before = stored(any_index, unique_name)
    changed = DistFactory(tmp_path / "changed")
    files = [
        changed.wheel(unique_name, "1.0", payload=b"changed"),
        changed.wheel(unique_name, "1.1"),
        changed.sdist(unique_name, "1.1"),
    ]
    events = Recorder()
    with pytest.raises(ConflictError) as info:
        publish(files, _repo(any_index), on_event=events)
    assert info.value.exit_code == 3
    assert files[0].name in str(info.value)
    conflict = events.of(FileConflict)[0]
    assert conflict.filename == files[0].name
    assert "sha256:" in conflict.reason
    assert stored(any_index, unique_name) == before


def test_skip_existing_with_changed_file_warns_and_uploads_the_rest(
    any_index: Index, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """--skip-existing: the changed file is skipped with a warning naming it and both hashes; exit 0."""
    original = dists.wheel(unique_name, "1.0")
    publish([original], _repo(any_index))
    changed = DistFactory(tmp_path / "changed")
    files = [changed.wheel(unique_name, "1.0", payload=b"changed"), changed.sdist(unique_name, "1.0")]
    events = Recorder()
    result = publish(files, _repo(any_index), PublishOptions(mode="skip-existing"), on_event=events)
    assert [r.action for r in result.records] == ["skipped-existing", "uploaded"]
    warning = events.of(FileSkipped)[0]
    assert warning.level == "warning"
    assert warning.filename == files[0].name
    assert warning.message.count("sha256:") == 2
    assert stored(any_index, unique_name)[original.name] == original.read_bytes()


def test_dry_run_uploads_nothing_and_reports_the_plan(
    any_index: Index, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """--dry-run reads, checks and plans; nothing reaches the index; the report says what would happen."""
    files = dists.release(unique_name, "1.0")
    report = tmp_path / "report.json"
    result = publish(files, _repo(any_index), PublishOptions(dry_run=True, report_path=report))
    assert result.count("uploaded") == 2
    assert stored(any_index, unique_name) == {}
    data = json.loads(report.read_text())
    assert data["dry_run"] is True
    assert data["totals"]["uploaded"] == 2


def test_dry_run_exits_3_on_conflict(
    any_index: Index, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """A dry run fails exactly as the real run would."""
    publish([dists.wheel(unique_name, "1.0")], _repo(any_index))
    changed = DistFactory(tmp_path / "changed").wheel(unique_name, "1.0", payload=b"other")
    with pytest.raises(ConflictError):
        publish([changed], _repo(any_index), PublishOptions(dry_run=True))


def test_report_schema(pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path) -> None:
    """The report lists every file with the documented fields, totals, and no secret."""
    publish([dists.wheel(unique_name, "1.0")], _repo(pypiserver))
    (dists.directory / "notes.txt").write_text("not a distribution")
    files = [*dists.release(unique_name, "1.0"), dists.directory / "notes.txt"]
    report = tmp_path / "report.json"
    publish(files, _repo(pypiserver), PublishOptions(report_path=report))
    text = report.read_text()
    assert pypiserver.password not in text
    data = json.loads(text)
    assert data["schema_version"] == 1
    assert data["mode"] == "strict"
    assert data["exit_code"] == 0
    by_name = {entry["filename"]: entry for entry in data["files"]}
    wheel = by_name[files[0].name]
    assert set(wheel) == {
        "path",
        "filename",
        "project",
        "version",
        "sha256",
        "action",
        "reason",
        "index_hash",
        "attestations",
    }
    assert wheel["attestations"] == []
    assert wheel["action"] == "skipped-identical"
    assert wheel["index_hash"] == f"sha256:{wheel['sha256']}"
    assert by_name[files[1].name]["action"] == "uploaded"
    assert by_name["notes.txt"]["action"] == "ignored"
    assert data["totals"] == {
        "uploaded": 1,
        "skipped-identical": 1,
        "skipped-equivalent": 0,
        "skipped-existing": 0,
        "conflict": 0,
        "failed": 0,
        "ignored": 1,
    }


def test_report_written_on_conflict(
    any_index: Index, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """A failed run still leaves its report, with the conflict and the index hash."""
    publish([dists.wheel(unique_name, "1.0")], _repo(any_index))
    changed = DistFactory(tmp_path / "c").wheel(unique_name, "1.0", payload=b"x")
    report = tmp_path / "r.json"
    with pytest.raises(ConflictError):
        publish([changed], _repo(any_index), PublishOptions(report_path=report))
    data = json.loads(report.read_text())
    assert data["exit_code"] == 3
    assert data["files"][0]["action"] == "conflict"
    assert data["files"][0]["index_hash"].startswith("sha256:")


def test_report_lists_every_valid_files_sha256_after_a_conflict(
    any_index: Index, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """The run hashes a file before the upload only when the index has it; the report still gives the
    sha256 of every valid file, also of the one a conflict stopped before it was needed."""
    publish([dists.wheel(unique_name, "1.0")], _repo(any_index))
    other = DistFactory(tmp_path / "c")
    changed = other.wheel(unique_name, "1.0", payload=b"x")
    fresh = other.sdist(unique_name, "1.0")
    report = tmp_path / "r.json"
    with pytest.raises(ConflictError):
        publish([changed, fresh], _repo(any_index), PublishOptions(report_path=report))
    by_name = {entry["filename"]: entry for entry in json.loads(report.read_text())["files"]}
    for path in (changed, fresh):
        assert by_name[path.name]["sha256"] == file_sha256(path)
    assert by_name[fresh.name]["action"] == "failed"
    assert by_name[fresh.name]["index_hash"] is None


def test_wrong_password_fails_with_exit_1_and_no_secret(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str
) -> None:
    """A refused login is exit 1 with a one-line message that does not contain the password."""
    secret = "wrong-Pa55word-123"
    with pytest.raises(UploadFailed) as info:
        publish(
            dists.release(unique_name, "1.0"), Repository(pypiserver.url, username="alice", password=secret)
        )
    assert info.value.exit_code == 1
    assert "authentication failed" in str(info.value)
    assert secret not in str(info.value)
    assert "\n" not in str(info.value)
    assert stored(pypiserver, unique_name) == {}


def test_md5_only_index_compares_and_warns(
    pypiserver_md5: PypiServer, dists: DistFactory, unique_name: str
) -> None:
    """An index listing md5 only: identical files are skipped, with a warning that the match is weak."""
    files = dists.release(unique_name, "1.0")
    publish(files, _repo(pypiserver_md5))
    events = Recorder()
    result = publish(files, _repo(pypiserver_md5), on_event=events)
    assert result.count("skipped-identical") == 2
    assert any(isinstance(e, Notice) and "md5" in e.message and e.level == "warning" for e in events.events)


def test_md5_only_index_detects_conflicts(
    pypiserver_md5: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """md5 still tells different content apart."""
    publish([dists.wheel(unique_name, "1.0")], _repo(pypiserver_md5))
    with pytest.raises(ConflictError):
        publish([DistFactory(tmp_path / "c").wheel(unique_name, "1.0", payload=b"x")], _repo(pypiserver_md5))


def test_no_hash_index_downloads_and_compares(
    pypiserver_nohash: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """An index that lists no hash: its copy is downloaded and hashed; identical skips, different conflicts."""
    files = dists.release(unique_name, "1.0")
    publish(files, _repo(pypiserver_nohash))
    events = Recorder()
    result = publish(files, _repo(pypiserver_nohash), on_event=events)
    assert result.count("skipped-identical") == 2
    assert any("downloading" in e.message for e in events.of(Notice))
    with pytest.raises(ConflictError):
        publish(
            [DistFactory(tmp_path / "c").wheel(unique_name, "1.0", payload=b"x")], _repo(pypiserver_nohash)
        )


def test_other_spelling_on_index_is_a_conflict(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """The index holds Foo_Bar-1.0.tar.gz; publishing foo_bar-1.0.tar.gz is the same sdist: conflict."""
    legacy_name = unique_name.replace("-", "_").title() + "-1.0.tar.gz"
    legacy = DistFactory(tmp_path / "legacy").sdist(unique_name, "1.0", filename=legacy_name)
    publish([legacy], _repo(pypiserver))
    with pytest.raises(ConflictError) as info:
        publish([dists.sdist(unique_name, "1.0")], _repo(pypiserver))
    assert info.value.exit_code == 3


def test_private_index_check_uses_upload_credentials(
    pypiserver_private: PypiServer, dists: DistFactory, unique_name: str
) -> None:
    """Reads that need auth get the upload credentials (same origin); a re-run is then a skip."""
    files = dists.release(unique_name, "1.0")
    publish(files, _repo(pypiserver_private))
    assert publish(files, _repo(pypiserver_private)).count("skipped-identical") == 2


def test_check_401_is_an_error_not_absent(
    pypiserver_private: PypiServer, dists: DistFactory, unique_name: str
) -> None:
    """Without credentials a 401 from the check is an error (exit 1), never 'not on the index'."""
    with pytest.raises(IndexQueryError) as info:
        publish([dists.wheel(unique_name, "1.0")], Repository(pypiserver_private.url))
    assert info.value.exit_code == 1
    assert "401" in str(info.value)


def test_default_selection_filters_dist_folder(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str
) -> None:
    """No paths: dist/ filtered to the project's name and version; the rest is listed as ignored."""
    mine = dists.release(unique_name, "2.0")
    dists.wheel(unique_name, "1.9")
    dists.wheel("someone-else", "2.0")
    (dists.directory / ".gitignore").write_text("*")
    events = Recorder()
    result = publish(
        [],
        _repo(pypiserver),
        project=ProjectRef(unique_name, "2.0"),
        dist_dir=dists.directory,
        on_event=events,
    )
    assert sorted(r.filename for r in result.records if r.action == "uploaded") == sorted(
        p.name for p in mine
    )
    ignored = {Path(e.path).name: e.reason for e in events.of(FileIgnored)}
    assert "version" in ignored[f"{unique_name.replace('-', '_')}-1.9-py3-none-any.whl"]
    assert "someone-else" in ignored["someone_else-2.0-py3-none-any.whl"]
    assert ".gitignore" in ignored


def test_wheels_upload_before_sdists(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, fault_proxy: Callable[[str], FaultProxy]
) -> None:
    """The sdist goes last, so installers never build from source while wheels are still missing."""
    proxy = fault_proxy(pypiserver.url)
    files = [dists.sdist(unique_name, "1.0"), dists.wheel(unique_name, "1.0")]
    events = Recorder()
    publish(files, Repository(proxy.url, username="alice", password=pypiserver.password), on_event=events)
    order = [e.filename for e in events.events if type(e).__name__ == "FileUploaded"]
    assert order == [files[1].name, files[0].name]


def test_parallel_jobs_upload_everything(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str
) -> None:
    """--jobs 4 uploads every file once."""
    files = [dists.wheel(unique_name, "1.0", tag=f"py3{i}-none-any") for i in range(6)]
    result = publish(files, _repo(pypiserver), PublishOptions(jobs=4))
    assert result.count("uploaded") == 6
    assert set(stored(pypiserver, unique_name)) == {p.name for p in files}
