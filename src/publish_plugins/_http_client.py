"""The one HTTP client of a run: TLS settings, timeouts, keep-alive, a User-Agent of our own."""

from __future__ import annotations

import ssl
import sys
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

from ._bounded import install_deadlines
from ._early_connections import EarlyConnections
from ._early_connections import install as install_early
from ._httpx import httpx
from ._proxies import environment_proxies, proxy_for
from ._tls_context import tls_context
from ._urls import redact_text
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

    Every request goes through the proxy the environment (or the system) names for it, or direct
    (:mod:`._proxies`). ``early``: connections to the index opened while the run started; the client
    starts with them, and with their TLS context (built in the background).
    """
    for path in (repository.ca_cert, repository.client_cert, repository.client_key):
        if path and not Path(path).is_file():
            raise UsageError(f"{path}: no such certificate file")
    timeout = httpx.Timeout(repository.timeout, connect=min(repository.timeout, 30.0))
    size = max(connections, 1) + 4
    limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
    early_context = early.tls_context() if early is not None else None
    return httpx.Client(
        transport=_Routing(
            lambda: early_context or tls_context(repository), limits, early, proxies=environment_proxies()
        ),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        trust_env=False,  # proxies: the transport routes each request itself (above)
    )


class _Routing(httpx.BaseTransport):
    """Each request to its transport: through its proxy, or direct; plain HTTP without a trust store.

    The TLS context is built on the first request that needs it (https, or an https proxy), because
    loading the system's and certifi's certificates is most of a re-run's set-up time against a local
    index. Every transport honours a whole request's deadline (:func:`install_deadlines`).
    """

    def __init__(
        self,
        tls_context: Callable[[], ssl.SSLContext],
        limits: httpx.Limits,
        early: EarlyConnections | None = None,
        *,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self._tls_context = tls_context
        self._limits = limits
        self._early = early
        self._proxies = dict(proxies or {})
        self._plain = httpx.HTTPTransport(verify=False, limits=limits)
        if early is not None and early.scheme == "http":
            install_early(self._plain, early, None)
        install_deadlines(self._plain)
        self._tls: httpx.HTTPTransport | None = None
        self._proxied: dict[tuple[str, str], httpx.HTTPTransport] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        proxy = proxy_for(str(request.url), self._proxies) if self._proxies else None
        if proxy is not None:
            try:
                return self._through(proxy, request.url.scheme).handle_request(request)
            except httpx.TransportError as exc:
                # A misconfigured proxy is the usual cause: the message names it (without its password).
                raise type(exc)(f"{exc} (through the proxy {redact_text(proxy)})", request=request) from None
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

    def _through(self, proxy: str, scheme: str) -> httpx.HTTPTransport:
        with self._lock:
            transport = self._proxied.get((proxy, scheme))
            if transport is None:
                # TLS to the index through the proxy's tunnel, or to an https proxy, with the run's settings.
                tls = scheme == "https" or proxy.lower().startswith("https://")
                verify: ssl.SSLContext | bool = self._tls_context() if tls else False
                transport = httpx.HTTPTransport(verify=verify, limits=self._limits, proxy=proxy)
                install_deadlines(transport)
                self._proxied[(proxy, scheme)] = transport
            return transport

    def close(self) -> None:
        self._plain.close()
        if self._tls is not None:
            self._tls.close()
        for transport in self._proxied.values():
            transport.close()


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
    httpx.ProxyError: "the proxy refused the request",
}


def describe_error(exc: httpx.HTTPError) -> str:
    """One line for a network failure: what happened in words, then httpx's detail."""
    detail = " ".join(str(exc).split())
    text = _TRANSPORT_ERRORS.get(type(exc))
    if text is None:
        return detail or type(exc).__name__
    return f"{text} ({detail})" if detail else text
