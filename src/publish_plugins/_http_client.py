"""The one HTTP client of a run: TLS settings, timeouts, keep-alive, a User-Agent of our own."""

from __future__ import annotations

import ssl
import sys
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

from ._bounded import install_deadlines
from ._early_connections import EarlyConnections
from ._early_connections import install as install_early
from ._httpx import httpx
from ._tls_context import tls_context
from ._version import __version__
from .errors import UsageError
from .options import Repository

__all__ = ["USER_AGENT", "basic_auth", "describe_error", "make_client"]

# Not "twine": pypiserver answers a twine User-Agent with 400 instead of 409 (research/indexes.md §1).
# sys rather than the platform module, which costs more to import than the whole User-Agent is worth.
_IMPLEMENTATION = {"cpython": "CPython", "pypy": "PyPy"}.get(sys.implementation.name, sys.implementation.name)
_PYTHON_VERSION = ".".join(map(str, sys.version_info[:3]))
USER_AGENT = f"publish-plugins/{__version__} httpx/{httpx.__version__} {_IMPLEMENTATION}/{_PYTHON_VERSION}"


def make_client(
    repository: Repository, *, connections: int, early: EarlyConnections | None = None
) -> httpx.Client:
    """A client shared by the index check and the uploads, so connections are reused.

    ``early``: connections to the index opened while the run started; the client starts with them, and
    with their TLS context (built in the background), unless it goes through a proxy.
    """
    for path in (repository.ca_cert, repository.client_cert, repository.client_key):
        if path and not Path(path).is_file():
            raise UsageError(f"{path}: no such certificate file")
    timeout = httpx.Timeout(repository.timeout, connect=min(repository.timeout, 30.0))
    size = max(connections, 1) + 4
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    # A proxy from the environment gets its transport from httpx, built now with our TLS settings.
    proxied = any(key in ("http", "https", "all") for key in urllib.request.getproxies())
    if proxied:
        early = None
    early_context = early.tls_context() if early is not None else None
    client = httpx.Client(
        verify=tls_context(repository) if proxied else True,
        transport=_TransportByScheme(lambda: early_context or tls_context(repository), limits, early),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
    )
    # The proxies' transports are httpx's own: they honour a whole request's deadline too.
    for mounted in getattr(client, "_mounts", {}).values():
        install_deadlines(mounted)
    return client


class _TransportByScheme(httpx.BaseTransport):
    """Plain-HTTP requests go through a transport without a trust store; the TLS one is built on the first
    https request, because loading the system's and certifi's certificates is most of a re-run's set-up
    time against a local index."""

    def __init__(
        self,
        tls_context: Callable[[], ssl.SSLContext],
        limits: httpx.Limits,
        early: EarlyConnections | None = None,
    ) -> None:
        self._tls_context = tls_context
        self._limits = limits
        self._early = early
        self._plain = httpx.HTTPTransport(verify=False, limits=limits)
        if early is not None and early.scheme == "http":
            install_early(self._plain, early, None)
        install_deadlines(self._plain)
        self._tls: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return self._plain.handle_request(request)
        return self._tls_transport().handle_request(request)

    def _tls_transport(self) -> httpx.HTTPTransport:
        with self._lock:
            if self._tls is None:
                context = self._tls_context()
                self._tls = httpx.HTTPTransport(verify=context, limits=self._limits)
                if self._early is not None and self._early.scheme == "https":
                    install_early(self._tls, self._early, context)
                install_deadlines(self._tls)
            return self._tls

    def close(self) -> None:
        self._plain.close()
        if self._tls is not None:
            self._tls.close()


def basic_auth(repository: Repository) -> httpx.Auth | None:
    """Basic credentials for the index, or None; a user name without a password is no credential."""
    if repository.password is None:
        return None
    return httpx.BasicAuth(repository.username or "", repository.password)


_TRANSPORT_ERRORS: dict[type[httpx.HTTPError], str] = {
    httpx.ConnectError: "cannot connect",
    httpx.ConnectTimeout: "connection timed out",
    httpx.ReadTimeout: "the server did not answer in time",
    httpx.WriteTimeout: "sending timed out",
    httpx.PoolTimeout: "no free connection in time",
    httpx.RemoteProtocolError: "the connection broke",
    httpx.ReadError: "the connection broke while reading the answer",
    httpx.WriteError: "the connection broke while sending",
}


def describe_error(exc: httpx.HTTPError) -> str:
    """One line for a network failure: what happened in words, then httpx's detail."""
    detail = " ".join(str(exc).split())
    text = _TRANSPORT_ERRORS.get(type(exc))
    if text is None:
        return detail or type(exc).__name__
    return f"{text} ({detail})" if detail else text
