"""The one HTTP client of a run: TLS settings, timeouts, keep-alive, a User-Agent of our own."""

from __future__ import annotations

import platform
import ssl
from pathlib import Path

from ._httpx import httpx
from ._version import __version__
from .errors import UsageError
from .settings import Repository

__all__ = ["USER_AGENT", "basic_auth", "describe_error", "make_client"]

# Not "twine": pypiserver answers a twine User-Agent with 400 instead of 409 (research/indexes.md §1).
USER_AGENT = (
    f"publish-plugins/{__version__} httpx/{httpx.__version__} "
    f"{platform.python_implementation()}/{platform.python_version()}"
)


def make_client(repository: Repository, *, connections: int) -> httpx.Client:
    """A client shared by the index check and the uploads, so connections are reused."""
    timeout = httpx.Timeout(repository.timeout, connect=min(repository.timeout, 30.0))
    return httpx.Client(
        verify=_tls_context(repository),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        limits=httpx.Limits(
            max_connections=max(connections, 1) + 4, max_keepalive_connections=max(connections, 1) + 4
        ),
        follow_redirects=False,
    )


def _tls_context(repository: Repository) -> ssl.SSLContext:
    for path in (repository.ca_cert, repository.client_cert, repository.client_key):
        if path and not Path(path).is_file():
            raise UsageError(f"{path}: no such certificate file")
    try:
        if not repository.verify:
            # Not verifying the server is no reason to withhold a client certificate it may require.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif repository.ca_cert:
            context = ssl.create_default_context(cafile=repository.ca_cert)
        else:
            # The system's trust store (where company CAs live, as pip and PDM use it) plus certifi's bundle.
            import certifi

            context = ssl.create_default_context()
            context.load_verify_locations(cafile=certifi.where())
        if repository.client_cert:
            context.load_cert_chain(repository.client_cert, repository.client_key)
    except (ssl.SSLError, OSError) as exc:
        which = repository.client_cert or repository.ca_cert
        raise UsageError(f"{which}: not a usable certificate ({exc.strerror or exc})") from None
    return context


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
