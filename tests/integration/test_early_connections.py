"""Connections opened while the run starts (``_early_connections``), against a real pypiserver behind the relay,
plain and over TLS with a throw-away CA.

The run's client must start with them (one connection, not two), never send on one that went stale or that
failed its handshake, report certificate problems as it always did, and not open them through a proxy. A
whole run over TLS (``--ca-cert``) publishes and re-runs as over plain HTTP.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
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

from publish_plugins._early_connections import EarlyConnections, _still_open, early_target
from publish_plugins._early_connections import open_for_run as _early_connections
from publish_plugins._http_client import make_client
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
    # Two opened early, one used: the client opened no third. (The unused one may reach the relay's
    # counter late: wait for it, bounded; a third of the client's own was counted before its answer.)
    for _ in range(1000):
        if tls_proxy.connections >= 2:
            break
        threading.Event().wait(0.01)
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


@pytest.mark.parametrize(
    ("variable", "url"),
    [
        ("HTTPS_PROXY", "https://example.invalid/legacy/"),
        ("https_proxy", "https://example.invalid/legacy/"),
        ("http_proxy", "http://example.invalid/legacy/"),
        ("ALL_PROXY", "https://example.invalid/legacy/"),
    ],
)
def test_no_early_connection_where_a_proxy_is_configured(
    variable: str, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, "http://proxy.example.invalid:3128")
    wheel = tmp_path / "a-1.0-py3-none-any.whl"
    assert _early_connections(Repository(url), [wheel]) is None


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


# ---- what the review found (each failed before its fix) -------------------------------------------------


def test_requests_go_through_the_proxy_the_environment_names(
    pypiserver: PypiServer,
    fault_proxy: Callable[..., FaultProxy],
    *,
    dists: DistFactory,
    unique_name: str,
    tmp_path: Path,
) -> None:
    """HTTP_PROXY is honoured (the client used to connect direct whatever the environment said): the
    relay stands for a company proxy, and every request of the run, the check and the uploads, goes
    through it; no early connection goes to the index itself."""
    forward = fault_proxy(pypiserver.url)
    files = dists.release(unique_name, "1.0")
    index = fault_proxy(pypiserver.url)  # the index's own address: a proxied run never touches it

    result = run_main(
        [*creds(pypiserver, index.url), *map(str, files)], cwd=tmp_path, env={"HTTP_PROXY": forward.url}
    )

    assert result.returncode == 0, result.stderr
    assert len(forward.posts) == len(files)
    assert any(record.path.endswith(f"/simple/{unique_name}/") for record in forward.snapshot())
    assert index.connections == 0


def test_no_proxy_sends_the_index_direct(
    pypiserver: PypiServer, fault_proxy: Callable[..., FaultProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    forward = fault_proxy(pypiserver.url)
    monkeypatch.setenv("HTTP_PROXY", forward.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    index = fault_proxy(pypiserver.url)
    repository = Repository(index.url)
    early = _early_connections(repository, [Path("a-1.0-py3-none-any.whl")])
    assert early is not None  # direct: worth connecting early
    try:
        assert _get_root(repository, early) == 200
    finally:
        early.close()
    assert forward.connections == 0  # the proxy saw nothing
    assert [record.path for record in index.snapshot()] == ["/simple/"]  # the index, directly


def test_an_encrypted_client_key_is_never_asked_for_in_the_background(tmp_path: Path) -> None:
    """OpenSSL would ask for the passphrase on the terminal, from the background thread and then again
    from the run's: the background build refuses instead, and only the run asks (once)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from publish_plugins._tls_context import PassphraseNeeded

    ca = make_ca(tmp_path / "ca")
    key = ec.generate_private_key(ec.SECP256R1())
    encrypted = tmp_path / "client.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    repository = Repository(
        "https://127.0.0.1:9/", client_cert=str(ca.server_cert), client_key=str(encrypted)
    )
    with pytest.raises(PassphraseNeeded):
        tls_context(repository, ask=False)
    early = _early_connections(repository, [Path("a-1.0-py3-none-any.whl")])
    assert early is not None
    try:
        assert early.tls_context() is None  # not built: the run builds it (and asks) itself
        assert early.take("127.0.0.1", 9, 5.0) is None
    finally:
        early.close()


def test_an_early_attempt_that_timed_out_is_not_waited_for_twice() -> None:
    """A connection that cannot be made in time: the client is told at once that connecting timed out,
    instead of waiting a second full timeout of its own."""
    with _full_backlog() as port:
        early = EarlyConnections(
            f"http://127.0.0.1:{port}/", 1, tls_context=lambda: pytest.fail("no TLS"), timeout=0.5
        )
        try:
            with early._changed:  # the test looks inside: wait (bounded) until the attempt is over
                early._changed.wait_for(lambda: early._pending == 0, timeout=30)
            assert early._timed_out
            with pytest.raises(TimeoutError):
                early.take("127.0.0.1", port, 30.0)
        finally:
            early.close()


@contextlib.contextmanager
def _full_backlog() -> Iterator[int]:
    """A port of 127.0.0.1 whose accept queue is full: a further connection attempt gets no answer."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(4):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_an_ipv6_address_in_capitals_over_tls_uses_its_early_connection(
    pypiserver: PypiServer, fault_proxy: Callable[..., FaultProxy], test_ca: TestCA
) -> None:
    """httpx keeps an IPv6 address's case; the early handshake's name is compared without it (it used to
    fail the request)."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    proxy = fault_proxy(pypiserver.url, tls=test_ca.server_context())
    repository = Repository(f"https://[::FFFF:127.0.0.1]:{proxy.port}/", verify=False)
    for early in _early(repository, 1):
        assert early.host == "::ffff:127.0.0.1"
        assert _get_root(repository, early) == 200
    assert proxy.connections == 1


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://pypi.example.org/", "pypi.example.org"),
        ("https://PyPI.Example.org:8443/", "pypi.example.org"),
        ("http://127.0.0.1:8080/", "127.0.0.1"),
        ("http://[::1]:8080/", "::1"),
        ("https://010.010.010.010/", ""),  # octal to getaddrinfo, refused by httpx: never connected
        ("https://2130706433/", ""),  # 127.0.0.1 as one number
        ("https://0x7f.1/", ""),
        ("https://bücher.example/", ""),  # IDNA: left to httpx
        ("http://127.0.0.1:\u0669/", ""),  # a non-ASCII digit as the port
        ("ftp://files.example/", ""),
    ],
)
def test_early_connections_go_only_to_hosts_read_alike_by_every_parser(url: str, host: str) -> None:
    early = EarlyConnections(url, 1, tls_context=ssl.create_default_context, timeout=0.5)
    try:
        assert early.host == host
        if not host:
            assert early._pending == 0  # nothing was started
    finally:
        early.close()


def test_a_connect_thread_that_fails_unexpectedly_leaves_no_one_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> socket.socket:
        raise RuntimeError("unexpected")

    monkeypatch.setattr(socket, "create_connection", broken)
    early = EarlyConnections("http://127.0.0.1:9/", 2, tls_context=ssl.create_default_context, timeout=5.0)
    try:
        assert early.take("127.0.0.1", 9, 30.0) is None  # not a TimeoutError after 30 s
    finally:
        early.close()


def test_a_proxy_that_cannot_be_reached_is_named_without_its_password(
    pypiserver: PypiServer, *, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """A misconfigured company proxy: the run fails in one line that says the request went through the
    proxy, which one, and never its password; nothing reaches the index."""
    files = dists.release(unique_name, "1.0")
    proxy = "http://proxyuser:proxy-s3cret@127.0.0.1:9"  # the discard port: refused at once

    result = run_cli(
        [*creds(pypiserver), "--retries", "0", *map(str, files)], cwd=tmp_path, env={"HTTP_PROXY": proxy}
    )

    assert result.returncode == 1, result.stderr
    line = error_line(result)
    assert "Connection refused (through the proxy http://***@127.0.0.1:9)" in line
    assert "proxy-s3cret" not in result.stderr + result.stdout
    assert {path.name for path in files}.isdisjoint(pypiserver.stored_files())


def test_a_connection_the_server_spoke_on_unasked_is_never_used() -> None:
    """A hostile or broken server writes before any request (say, a ready-made "404 Not Found"): that
    connection is dropped, so the client can never read those bytes as the answer to its own request."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def speak_first() -> None:
        conn, _ = listener.accept()
        accepted.append(conn)
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    server = threading.Thread(target=speak_first, daemon=True)
    server.start()
    early = EarlyConnections(
        f"http://127.0.0.1:{port}/", 1, tls_context=ssl.create_default_context, timeout=5.0
    )
    try:
        server.join(10)
        with early._changed:  # wait (bounded) until the attempt is over and the bytes have arrived
            early._changed.wait_for(lambda: early._pending == 0, timeout=10)
        ready = [sock for _opened, sock in early._ready]
        assert len(ready) == 1
        ready[0].settimeout(5)
        assert ready[0].recv(1, socket.MSG_PEEK) == b"H"  # the unasked answer is there
        assert early.take("127.0.0.1", port, 5.0) is None  # and the connection is not handed out
    finally:
        early.close()
        for conn in accepted:
            conn.close()
        listener.close()
