"""The test support works: real servers answer as research/indexes.md says, the proxy counts and faults."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tests.support.dists import DistFactory, file_sha256
from tests.support.proxy import FaultProxy
from tests.support.servers import PEP691_JSON, DevpiIndex, DevpiServer, PypiServer, basic_auth_header

USER_AGENT = "publish-plugins-tests/1.0"  # not "twine": pypiserver would answer 400 instead of 409


def upload_form(path: Path, name: str, version: str) -> dict[str, str]:
    """Legacy upload API form fields, as in the curl example of research/indexes.md §11."""
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel" if path.suffix == ".whl" else "sdist",
        "pyversion": "py3" if path.suffix == ".whl" else "source",
        "metadata_version": "2.1",
        "sha256_digest": file_sha256(path),
    }


def upload(
    url: str, path: Path, name: str, version: str, *, client: httpx.Client | None = None
) -> httpx.Response:
    """Upload one file with httpx as alice."""
    own = client is None
    client = client or httpx.Client(timeout=30, trust_env=False)
    try:
        return client.post(
            url,
            data=upload_form(path, name, version),
            files={"content": (path.name, path.read_bytes(), "application/octet-stream")},
            auth=("alice", "s3cret"),
            headers={"User-Agent": USER_AGENT},
        )
    finally:
        if own:
            client.close()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False, headers={"User-Agent": USER_AGENT}) as client:
        yield client


# ---- pypiserver --------------------------------------------------------------------------------------


def test_pypiserver_accepts_then_rejects_a_duplicate(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, http: httpx.Client
) -> None:
    wheel = dists.wheel(unique_name, "1.0")

    assert upload(pypiserver.url, wheel, unique_name, "1.0").status_code == 200
    assert upload(pypiserver.url, wheel, unique_name, "1.0").status_code == 409

    assert pypiserver.stored_files()[wheel.name] == wheel.read_bytes()
    page = http.get(f"{pypiserver.simple_url}{unique_name}/")
    assert page.status_code == 200
    assert f"{wheel.name}#sha256={file_sha256(wheel)}" in page.text


def test_pypiserver_needs_credentials_to_upload(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, http: httpx.Client
) -> None:
    wheel = dists.wheel(unique_name, "1.0")
    response = http.post(
        pypiserver.url,
        data=upload_form(wheel, unique_name, "1.0"),
        files={"content": (wheel.name, wheel.read_bytes())},
    )
    assert response.status_code == 401
    assert wheel.name not in pypiserver.stored_files()


def test_pypiserver_unknown_project_is_404_not_a_redirect(pypiserver: PypiServer, http: httpx.Client) -> None:
    assert http.get(f"{pypiserver.simple_url}no-such-project/").status_code == 404


def test_pypiserver_md5_variant(
    pypiserver_md5: PypiServer, dists: DistFactory, unique_name: str, http: httpx.Client
) -> None:
    sdist = dists.sdist(unique_name, "1.0")
    assert upload(pypiserver_md5.url, sdist, unique_name, "1.0").status_code == 200

    md5 = hashlib.md5(sdist.read_bytes(), usedforsecurity=False).hexdigest()
    assert f"{sdist.name}#md5={md5}" in http.get(f"{pypiserver_md5.simple_url}{unique_name}/").text


def test_pypiserver_nohash_variant(
    pypiserver_nohash: PypiServer, dists: DistFactory, unique_name: str, http: httpx.Client
) -> None:
    sdist = dists.sdist(unique_name, "1.0")
    assert upload(pypiserver_nohash.url, sdist, unique_name, "1.0").status_code == 200

    page = http.get(f"{pypiserver_nohash.simple_url}{unique_name}/").text
    assert f'{sdist.name}"' in page  # the href ends right after the filename: no #hash fragment


def test_pypiserver_private_reads_need_auth(pypiserver_private: PypiServer, http: httpx.Client) -> None:
    assert http.get(pypiserver_private.simple_url).status_code == 401
    assert http.get(pypiserver_private.simple_url, auth=("alice", "s3cret")).status_code == 200


def test_pypiserver_overwrite_replaces(
    pypiserver_overwrite: PypiServer, dists: DistFactory, unique_name: str
) -> None:
    first = dists.wheel(unique_name, "1.0", payload=b"one")
    assert upload(pypiserver_overwrite.url, first, unique_name, "1.0").status_code == 200
    second = dists.wheel(unique_name, "1.0", payload=b"two")
    assert upload(pypiserver_overwrite.url, second, unique_name, "1.0").status_code == 200
    assert pypiserver_overwrite.stored_files()[second.name] == second.read_bytes()


# ---- devpi ----------------------------------------------------------------------------------------------


def test_devpi_non_volatile_index(devpi_index: DevpiIndex, dists: DistFactory, unique_name: str) -> None:
    wheel = dists.wheel(unique_name, "1.0", payload=b"original")
    original = wheel.read_bytes()

    assert upload(devpi_index.upload_url, wheel, unique_name, "1.0").status_code == 200
    identical = upload(devpi_index.upload_url, wheel, unique_name, "1.0")
    assert identical.status_code == 200
    assert "identical" in identical.reason_phrase

    dists.wheel(unique_name, "1.0", payload=b"changed")
    assert wheel.read_bytes() != original
    assert upload(devpi_index.upload_url, wheel, unique_name, "1.0").status_code == 409

    assert devpi_index.stored_files() == {wheel.name: original}


def test_devpi_serves_pep691_json(
    devpi_index: DevpiIndex, dists: DistFactory, unique_name: str, http: httpx.Client
) -> None:
    sdist = dists.sdist(unique_name, "2.0")
    assert upload(devpi_index.url, sdist, unique_name, "2.0").status_code == 200

    page = http.get(f"{devpi_index.simple_url}{unique_name}/", headers={"Accept": PEP691_JSON})
    assert page.headers["content-type"].startswith(PEP691_JSON)
    [entry] = page.json()["files"]
    assert entry["filename"] == sdist.name
    assert entry["hashes"]["sha256"] == file_sha256(sdist)


def test_devpi_fresh_indexes_are_separate(devpi: DevpiServer, devpi_index: DevpiIndex) -> None:
    assert devpi_index.name != devpi.default_index
    assert devpi_index.stored_files() == {}
    upload_url, simple_url = devpi.new_index(f"{devpi_index.name}-volatile", volatile=True)
    assert simple_url == upload_url + "+simple/"


def test_any_index_has_the_common_interface(any_index: object) -> None:
    for attribute in ("url", "simple_url", "username", "password", "stored_files"):
        assert hasattr(any_index, attribute)


# ---- proxy ------------------------------------------------------------------------------------------------


ProxyFactory = Callable[[str], FaultProxy]


def test_proxy_forwards_and_counts(
    pypiserver: PypiServer, fault_proxy: ProxyFactory, dists: DistFactory, unique_name: str
) -> None:
    proxy = fault_proxy(pypiserver.url)
    wheel = dists.wheel(unique_name, "1.0", payload=b"x" * 100_000)

    with httpx.Client(timeout=30, trust_env=False) as client:
        assert upload(proxy.url, wheel, unique_name, "1.0", client=client).status_code == 200
        page = client.get(f"{proxy.url}simple/{unique_name}/")

    assert page.status_code == 200
    assert wheel.name in page.text
    assert proxy.requests == [("POST", "/"), ("GET", f"/simple/{unique_name}/")]
    assert proxy.connections == 1  # keep-alive: both requests on one client connection
    multipart_overhead = 2000
    assert wheel.stat().st_size < proxy.upload_bytes < wheel.stat().st_size + multipart_overhead
    assert proxy.response_bytes >= len(page.content)


def test_proxy_records_what_each_request_sent_and_when(
    pypiserver: PypiServer, fault_proxy: ProxyFactory, dists: DistFactory, unique_name: str
) -> None:
    """What tests and benchmarks read: the uploads, counts by method and path, the credentials sent, and
    for each request when its head, its body and the server's answer came, in that order."""
    proxy = fault_proxy(pypiserver.url)
    wheel = dists.wheel(unique_name, "1.0", payload=b"x" * 100_000)

    with httpx.Client(timeout=30, trust_env=False) as client:
        assert upload(proxy.url, wheel, unique_name, "1.0", client=client).status_code == 200
        assert client.get(f"{proxy.url}simple/{unique_name}/").status_code == 200

    assert proxy.posts == ["/"]
    assert [proxy.count("POST"), proxy.count("GET", "/simple/"), proxy.count("GET", "/packages/")] == [
        1,
        1,
        0,
    ]
    assert proxy.authorizations() == [basic_auth_header()]
    post, get = proxy.snapshot()
    assert post.body_bytes == proxy.upload_bytes
    for record in (post, get):
        assert record.body_done is not None, record
        assert record.answered is not None, record
        assert record.started <= record.body_done <= record.answered


def test_proxy_times_the_answer_of_a_fault(pypiserver: PypiServer, fault_proxy: ProxyFactory) -> None:
    proxy = fault_proxy(pypiserver.url)
    proxy.status(503, path="/simple/")

    with httpx.Client(timeout=10, trust_env=False) as client:
        assert client.get(proxy.url_for(pypiserver.simple_url)).status_code == 503

    (record,) = proxy.snapshot()
    assert record.fault == "status"
    assert record.answered is not None
    assert record.started <= record.answered
    assert proxy.posts == []


def test_proxy_injects_a_status_then_forwards(
    pypiserver: PypiServer, fault_proxy: ProxyFactory, dists: DistFactory, unique_name: str
) -> None:
    proxy = fault_proxy(pypiserver.url)
    fault = proxy.status(503, headers={"Retry-After": "2"}, body=b"busy", method="POST")
    wheel = dists.wheel(unique_name, "1.0")

    first = upload(proxy.url, wheel, unique_name, "1.0")
    assert (first.status_code, first.headers["retry-after"], first.text) == (503, "2", "busy")
    assert wheel.name not in pypiserver.stored_files()
    assert upload(proxy.url, wheel, unique_name, "1.0").status_code == 200
    assert fault.hits == 1
    assert wheel.name in pypiserver.stored_files()


def test_proxy_reset_mid_body_stores_nothing(
    pypiserver: PypiServer, fault_proxy: ProxyFactory, dists: DistFactory, unique_name: str
) -> None:
    proxy = fault_proxy(pypiserver.url)
    proxy.reset_mid_body(50_000, method="POST")
    wheel = dists.large_wheel(unique_name, "1.0", 2_000_000)

    with pytest.raises(httpx.TransportError):
        upload(proxy.url, wheel, unique_name, "1.0")
    assert proxy.upload_bytes == 50_000
    assert wheel.name not in pypiserver.stored_files()


def test_proxy_drop_response_stores_but_never_answers(
    pypiserver: PypiServer, fault_proxy: ProxyFactory, dists: DistFactory, unique_name: str
) -> None:
    proxy = fault_proxy(pypiserver.url)
    proxy.drop_response(method="POST")
    wheel = dists.wheel(unique_name, "1.0")

    with pytest.raises(httpx.RemoteProtocolError):
        upload(proxy.url, wheel, unique_name, "1.0")
    assert pypiserver.stored_files()[wheel.name] == wheel.read_bytes()


def test_proxy_stall_makes_the_read_time_out(pypiserver: PypiServer, fault_proxy: ProxyFactory) -> None:
    proxy = fault_proxy(pypiserver.url)
    proxy.stall(path="/simple/")

    with httpx.Client(timeout=0.5, trust_env=False) as client, pytest.raises(httpx.ReadTimeout):
        client.get(proxy.url_for(pypiserver.simple_url))


def test_proxy_refuse_redirect_replace_and_delay(pypiserver: PypiServer, fault_proxy: ProxyFactory) -> None:
    proxy = fault_proxy(pypiserver.url)
    simple = proxy.url_for(pypiserver.simple_url)
    assert simple == f"{proxy.url}simple/"

    with httpx.Client(timeout=10, trust_env=False) as client:
        proxy.refuse()
        with pytest.raises(httpx.TransportError):
            client.get(simple)

        proxy.redirect("http://127.0.0.1:9/elsewhere/", code=307)
        redirected = client.get(simple)
        assert (redirected.status_code, redirected.headers["location"]) == (
            307,
            "http://127.0.0.1:9/elsewhere/",
        )

        proxy.replace_body(b"<html><a href='broken", status=200)
        assert client.get(simple).content == b"<html><a href='broken"

        proxy.delay(0.5)
        started = time.monotonic()
        assert client.get(simple).status_code == 200
        assert time.monotonic() - started >= 0.5

    assert [record.fault for record in proxy.records] == ["redirect", "replace_body", "delay"]
    # The refused connection, one kept alive for redirect + replace_body (which closes), one for delay.
    assert proxy.connections == 3
    assert not proxy.errors


def test_proxy_forwards_chunked_request_bodies(
    pypiserver: PypiServer, fault_proxy: ProxyFactory, dists: DistFactory, unique_name: str
) -> None:
    proxy = fault_proxy(pypiserver.url)
    wheel = dists.wheel(unique_name, "1.0")
    request = httpx.Request(
        "POST",
        proxy.url,
        data=upload_form(wheel, unique_name, "1.0"),
        files={"content": (wheel.name, wheel.read_bytes())},
    )
    body = request.read()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    headers = {"Content-Type": request.headers["Content-Type"], "User-Agent": USER_AGENT}
    with httpx.Client(timeout=30, trust_env=False) as client:
        response = client.post(proxy.url, content=pieces(), headers=headers, auth=("alice", "s3cret"))

    assert proxy.records[0].headers["transfer-encoding"] == "chunked"
    assert proxy.upload_bytes == len(body)
    assert response.status_code == 200
    assert pypiserver.stored_files()[wheel.name] == wheel.read_bytes()


def test_proxy_stop_releases_a_stalled_client(pypiserver: PypiServer) -> None:
    outcome: list[BaseException | httpx.Response] = []
    with FaultProxy(pypiserver.url) as proxy:
        proxy.stall()

        def call() -> None:
            try:
                outcome.append(httpx.get(proxy.url, timeout=30, trust_env=False))
            except httpx.HTTPError as error:
                outcome.append(error)

        thread = threading.Thread(target=call)
        thread.start()
        deadline = time.monotonic() + 10
        while not proxy.records and time.monotonic() < deadline:
            time.sleep(0.01)
    thread.join(10)
    assert not thread.is_alive()
    assert isinstance(outcome[0], httpx.TransportError)
