"""Shared fixtures: index servers on 127.0.0.1, distributions, host venvs, the proxy, another origin.

Servers are session-scoped: under pytest-xdist each worker starts its own. Tests share a server by
publishing under their own ``unique_name`` project (pypiserver) or into a fresh index (``devpi_index``).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.dists import DistFactory
from tests.support.isolation import CI_IDENTITY_PREFIXES, loopback_unproxied
from tests.support.oidc import FakeGitHubTokenService, FakePyPI
from tests.support.origin import RecordingServer, recording_server
from tests.support.proxy import FaultProxy, started_proxies
from tests.support.servers import DevpiIndex, DevpiServer, HashAlgo, Index, PypiServer, free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = Path(__file__).resolve().parent
HOST_VENVS_ENV = "PUBLISH_PLUGINS_HOST_VENVS"
DEFAULT_HOST_VENVS = ".venvs/"
_FOLDER_MARKS = {"integration": pytest.mark.integration, "e2e": pytest.mark.e2e}
_FOLDER_ORDER = {"unit": 0, "integration": 2, "e2e": 3}  # any other folder: 1


def _folder(item: pytest.Item) -> str:
    try:
        return item.path.resolve().relative_to(TESTS_DIR).parts[0]
    except ValueError:
        return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by folder, and run unit tests first: a broken core shows before the server tests."""
    for item in items:
        mark = _FOLDER_MARKS.get(_folder(item))
        if mark is not None:
            item.add_marker(mark)
    items.sort(key=lambda item: _FOLDER_ORDER.get(_folder(item), 1))


# ---- index servers --------------------------------------------------------------------------------


class PypiServerFactory:
    """Start pypiserver variants for the session; every one is stopped at the end."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp_path_factory = tmp_path_factory
        self.servers: list[PypiServer] = []

    def __call__(
        self,
        *,
        hash_algo: HashAlgo | None = "sha256",
        overwrite: bool = False,
        auth: str | None = "update",
        backend: str | None = None,
        fallback_url: str | None = None,
    ) -> PypiServer:
        """Start a pypiserver with these options (see :class:`PypiServer`) and return it."""
        workdir = self._tmp_path_factory.mktemp("pypiserver")
        server = PypiServer(
            workdir,
            hash_algo=hash_algo,
            overwrite=overwrite,
            auth=auth,
            backend=backend,
            fallback_url=fallback_url,
        )
        self.servers.append(server)
        server.start()
        return server

    def stop_all(self) -> None:
        """Stop every server this factory started."""
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="session")
def pypiserver_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiServerFactory]:
    """Start extra pypiserver variants: ``pypiserver_factory(hash_algo=..., overwrite=..., auth=...)``."""
    factory = PypiServerFactory(tmp_path_factory)
    try:
        yield factory
    finally:
        factory.stop_all()


@pytest.fixture(scope="session")
def pypiserver(pypiserver_factory: PypiServerFactory) -> PypiServer:
    """pypiserver: sha256 links, duplicates rejected (409), auth for uploads only."""
    return pypiserver_factory()


@pytest.fixture(scope="session")
def pypiserver_md5(pypiserver_factory: PypiServerFactory) -> PypiServer:
    """pypiserver whose simple pages carry ``#md5=`` fragments only."""
    return pypiserver_factory(hash_algo="md5")


@pytest.fixture(scope="session")
def pypiserver_nohash(pypiserver_factory: PypiServerFactory) -> PypiServer:
    """pypiserver whose simple pages carry no hash at all (``--hash-algo off``)."""
    return pypiserver_factory(hash_algo="off")


@pytest.fixture(scope="session")
def pypiserver_overwrite(pypiserver_factory: PypiServerFactory) -> PypiServer:
    """pypiserver with ``--overwrite``: a re-upload answers 200 and replaces the file."""
    return pypiserver_factory(overwrite=True)


@pytest.fixture(scope="session")
def pypiserver_fallback(pypiserver_factory: PypiServerFactory) -> PypiServer:
    """pypiserver as people start it, without ``--disable-fallback``: an unknown project's page answers
    303 to the same page on another index (PyPI by default; here a closed port on 127.0.0.1)."""
    return pypiserver_factory(fallback_url=f"http://127.0.0.1:{free_port()}/simple/")


@pytest.fixture(scope="session")
def pypiserver_private(pypiserver_factory: PypiServerFactory) -> PypiServer:
    """pypiserver where reads need auth too (``-a update,list,download``): anonymous reads get 401."""
    return pypiserver_factory(auth="update,list,download")


@pytest.fixture(scope="session")
def devpi(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevpiServer]:
    """devpi-server with user alice and the non-volatile index ``alice/dev`` (about 7 s to start)."""
    server = DevpiServer(tmp_path_factory.mktemp("devpi"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def devpi_index(devpi: DevpiServer) -> DevpiIndex:
    """A fresh non-volatile devpi index for this test (200 on identical re-upload, 409 on different)."""
    return DevpiIndex.create(devpi, f"t-{secrets.token_hex(4)}")


@pytest.fixture(params=["pypiserver", "devpi"])
def any_index(request: pytest.FixtureRequest) -> Index:
    """Run the test once against pypiserver (HTML, 409) and once against a fresh devpi index (JSON)."""
    fixture = "pypiserver" if request.param == "pypiserver" else "devpi_index"
    index: Index = request.getfixturevalue(fixture)
    return index


@pytest.fixture
def fault_proxy() -> Iterator[Callable[[str], FaultProxy]]:
    """Start a :class:`FaultProxy` in front of a server URL: ``proxy = fault_proxy(pypiserver.url)``."""
    with started_proxies(FaultProxy) as start:
        yield start


@pytest.fixture
def other_origin() -> Iterator[RecordingServer]:
    """Another host (another port of 127.0.0.1: another origin) that records what reaches it."""
    with recording_server() as server:
        yield server


# ---- distributions and names ----------------------------------------------------------------------


@pytest.fixture
def dists(tmp_path: Path) -> DistFactory:
    """Build wheels and sdists into ``tmp_path / "dist"``: ``dists.wheel(name, version, payload=...)``."""
    return DistFactory(tmp_path / "dist")


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> str:
    """A project name, already normalized, that no other test (or xdist worker) uses."""
    base = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40].strip("-")
    return f"{base}-{secrets.token_hex(3)}"


# ---- host environments ----------------------------------------------------------------------------


def host_venv_bin(name: str) -> Path:
    """Return the bin folder of the venv holding host ``name`` (hatch, pdm, poetry); fail if missing.

    The venv is ``<prefix><name>``, prefix ``.venvs/`` by default or the value of
    ``PUBLISH_PLUGINS_HOST_VENVS`` (``make test-min`` sets ``.venvs/min-``); relative to the repo root.
    """
    prefix = os.environ.get(HOST_VENVS_ENV) or DEFAULT_HOST_VENVS
    venv = Path(prefix + name)
    if not venv.is_absolute():
        venv = REPO_ROOT / venv
    executable = venv / "bin" / name
    if not executable.exists():
        target = "hosts-min" if "min" in prefix else "hosts"
        pytest.fail(
            f"host {name!r} is not installed: {executable} does not exist. Run `make {target}` "
            f"(the venv prefix comes from ${HOST_VENVS_ENV}, now {prefix!r}).",
            pytrace=False,
        )
    return venv / "bin"


@pytest.fixture(scope="session")
def host_venv() -> Callable[[str], Path]:
    """``host_venv("pdm")`` → the bin folder of the PDM host venv; fails (never skips) when missing."""
    return host_venv_bin


# ---- trusted publishing (OIDC) ----------------------------------------------------------------------


@pytest.fixture
def github_oidc() -> Iterator[FakeGitHubTokenService]:
    """GitHub Actions' OIDC token endpoint on 127.0.0.1; ``github_oidc.env()`` gives a job's variables."""
    with FakeGitHubTokenService() as service:
        yield service


@pytest.fixture(scope="session")
def fake_pypi_server(pypiserver_factory: PypiServerFactory) -> Iterator[FakePyPI]:
    """The session's :class:`FakePyPI`, in front of its own pypiserver; tests take ``fake_pypi``."""
    with FakePyPI(pypiserver_factory()) as fake:
        yield fake


@pytest.fixture
def fake_pypi(fake_pypi_server: FakePyPI) -> FakePyPI:
    """PyPI with trusted publishing (audience, mint-token, token-only uploads), settings reset for this
    test; files stay: upload under ``unique_name``."""
    fake_pypi_server.reset()
    return fake_pypi_server


@pytest.fixture(autouse=True)
def _no_ci_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's CI identity (the tests may run on GitHub Actions or a Google VM) must not change what
    a run in this process does: automatic trusted publishing would try it. Tests that want one set a
    fake's variables; commands in subprocesses get an environment without them (tests/support/isolation)."""
    for key in list(os.environ):
        if key.startswith(CI_IDENTITY_PREFIXES):
            monkeypatch.delenv(key)
    # A proxy of the machine's would stand between a run in this process and the test servers.
    for key, value in loopback_unproxied(dict(os.environ)).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("publish_plugins._ci._GOOGLE_PRODUCT_FILE", Path("/nonexistent/product_name"))
