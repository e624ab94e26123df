"""Connections opened while the run starts (``_early_connections``), against a real pypiserver behind the relay,
plain and over TLS with a throw-away CA.

The run's client must start with them (one connection, not two), never send on one that went stale or that
failed its handshake, report certificate problems as it always did, and not open them through a proxy. A
whole run over TLS (``--ca-cert``) publishes and re-runs as over plain HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.integration.cli_support import error_line, run_cli, run_main
from tests.support.commands import creds
from tests.support.dists import DistFactory
from tests.support.proxy import FaultProxy
from tests.support.servers import PypiServer
from tests.support.tls import TestCA, make_ca

from publish_plugins._early_connections import EarlyConnections, _still_open
from publish_plugins._http_client import make_client
from publish_plugins._run import _early_connections, early_target
from publish_plugins._tls_context import tls_context
from publish_plugins.options import Repository


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def tls_proxy(pypiserver: PypiServer, fault_proxy: Callable[..., FaultProxy], test_ca: TestCA) -> FaultProxy:
    """pypiserver behind the relay, which terminates TLS with a certificate of ``test_ca``."""
    return fault_proxy(pypiserver.url, tls=test_ca.server_context())


def _early(repository: Repository, count: int) -> Iterator[EarlyConnections]:
    early = EarlyConnections(
        repository.check_url or repository.upload_url,
        count,
        tls_context=lambda: tls_context(repository),
        timeout=10.0,
    )
    try:
        yield early
    finally:
        early.close()


def _get_root(repository: Repository, early: EarlyConnections | None) -> int:
    with make_client(repository, connections=8, early=early) as client:
        return client.get(f"{repository.upload_url}simple/").status_code


def test_the_client_starts_with_the_early_connection(
    pypiserver: PypiServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    proxy = fault_proxy(pypiserver.url)
    repository = Repository(proxy.url)
    for early in _early(repository, 1):
        assert _get_root(repository, early) == 200
    assert proxy.connections == 1  # the client opened none of its own
    assert [record.path for record in proxy.snapshot()] == ["/simple/"]


def test_over_tls_the_early_handshake_and_its_context_are_the_clients(
    tls_proxy: FaultProxy, test_ca: TestCA
) -> None:
    repository = Repository(tls_proxy.url, ca_cert=str(test_ca.ca_cert))
    for early in _early(repository, 2):
        context = early.tls_context()
        assert context is not None
        with make_client(repository, connections=8, early=early) as client:
            assert client.get(f"{repository.upload_url}simple/").status_code == 200
            transport = client._transport  # which context the client really uses
            assert transport._tls_context() is context  # type: ignore[attr-defined]
    # Two opened early, one used: the client opened no third.
    assert tls_proxy.connections == 2
    assert len(tls_proxy.snapshot()) == 1


def test_a_connection_the_server_reset_is_not_used(
    pypiserver: PypiServer, fault_proxy: Callable[..., FaultProxy]
) -> None:
    proxy = fault_proxy(pypiserver.url)
    proxy.refuse(times=1)  # the early connection is reset as soon as it is accepted
    repository = Repository(proxy.url)
    for early in _early(repository, 1):
        _until_reset(early)
        assert _get_root(repository, early) == 200
    assert proxy.connections == 2  # the dead one, then the client's own


def _until_reset(early: EarlyConnections) -> None:
    """Wait (bounded) until the relay's reset has reached the early connection."""
    for _ in range(1000):
        with early._changed:  # the test looks inside: which connection is ready, and is it reset yet
            ready = [sock for _opened, sock in early._ready]
            pending = early._pending
        if pending == 0 and (not ready or not _still_open(ready[0])):
            return  # reset once open, or while it was being opened
        threading.Event().wait(0.01)
    raise AssertionError("the relay never reset the early connection")


def test_an_untrusted_certificate_is_reported_as_always_and_nothing_is_sent(
    tls_proxy: FaultProxy, *, dists: DistFactory, unique_name: str, pypiserver: PypiServer, tmp_path: Path
) -> None:
    """No --ca-cert: the early handshake fails, the client makes its own and reports the certificate."""
    files = dists.release(unique_name, "1.0")
    result = run_main([*creds(pypiserver, tls_proxy.url), *map(str, files)], cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "certificate verify failed" in error_line(result)
    assert tls_proxy.snapshot() == []  # not one request went over a connection nobody could verify
    assert {path.name for path in files}.isdisjoint(pypiserver.stored_files())


def test_a_run_over_tls_publishes_and_its_rerun_skips(
    tls_proxy: FaultProxy,
    test_ca: TestCA,
    *,
    dists: DistFactory,
    unique_name: str,
    pypiserver: PypiServer,
    tmp_path: Path,
) -> None:
    files = dists.release(unique_name, "1.0")
    args = [*creds(pypiserver, tls_proxy.url), "--ca-cert", str(test_ca.ca_cert), *map(str, files)]
    first = run_cli(args, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert {path.name for path in files} <= set(pypiserver.stored_files())
    tls_proxy.reset_counters()

    again = run_cli(args, cwd=tmp_path)

    assert again.returncode == 0, again.stderr
    assert "0 uploaded, 2 skipped" in again.stderr
    assert tls_proxy.upload_bytes == 0
    # The project's page and the root, read at once, each on a connection opened while the run started.
    assert sorted(record.path for record in tls_proxy.snapshot()) == ["/simple/", f"/simple/{unique_name}/"]
    assert tls_proxy.connections == 2


def test_bad_input_opens_connections_but_sends_no_request(
    tls_proxy: FaultProxy, test_ca: TestCA, pypiserver: PypiServer, tmp_path: Path
) -> None:
    bad = tmp_path / "broken-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    args = [*creds(pypiserver, tls_proxy.url), "--ca-cert", str(test_ca.ca_cert), str(bad)]
    result = run_main(args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert tls_proxy.snapshot() == []
    assert tls_proxy.upload_bytes == 0


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_no_early_connection_where_a_proxy_is_configured(
    variable: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(variable, "http://proxy.example.invalid:3128")
    wheel = tmp_path / "a-1.0-py3-none-any.whl"
    assert _early_connections(Repository("https://example.invalid/legacy/", check_url=None), [wheel]) is None


def test_one_early_connection_per_project_and_one_for_the_root(tmp_path: Path) -> None:
    files = [
        tmp_path / "a_b-1.0-py3-none-any.whl",
        tmp_path / "a.b-1.0.tar.gz",  # the same project as a_b
        tmp_path / "c-2.0-py3-none-any.whl",
    ]
    assert early_target(Repository("http://127.0.0.1:9/"), files) == ("http://127.0.0.1:9/", 3)
    # PyPI: the check reads pypi.org/simple/, a root known and not read: one per project only.
    assert early_target(Repository("https://upload.pypi.org/legacy/"), files[:1]) == (
        "https://pypi.org/simple/",
        1,
    )
    given = Repository("https://up.example/", check_url="https://files.example/simple/")
    assert early_target(given, files[2:]) == ("https://files.example/simple/", 2)
    many = [tmp_path / f"p{index}-1.0-py3-none-any.whl" for index in range(20)]
    assert early_target(Repository("http://127.0.0.1:9/"), many) == ("http://127.0.0.1:9/", 8)
    assert early_target(Repository("http://127.0.0.1:9/"), []) is None


def test_a_refused_early_connection_leaves_the_client_to_connect(tmp_path: Path) -> None:
    """127.0.0.1:9 refuses at once: the early attempt fails quietly; the client's own attempt reports."""
    early = _early_connections(Repository("http://127.0.0.1:9/"), [tmp_path / "a-1.0-py3-none-any.whl"])
    assert early is not None
    try:
        assert early.take("127.0.0.1", 9, 5.0) is None
        assert early.take("other.example", 9, 5.0) is None  # another origin: never
    finally:
        early.close()
