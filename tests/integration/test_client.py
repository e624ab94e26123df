"""The run's HTTP client against a real pypiserver: what it builds, and what it sends."""

from __future__ import annotations

import contextlib
import ssl

from tests.support.servers import PypiServer

from publish_plugins._http_client import USER_AGENT, _Routing
from publish_plugins._httpx import httpx


def test_plain_http_never_builds_the_tls_context(pypiserver: PypiServer) -> None:
    """Loading the trust stores is most of a re-run's set-up time on a local index: an http-only run must
    not pay for it. The TLS context is built on the first https request, and only then."""
    built: list[ssl.SSLContext] = []

    def tls_context() -> ssl.SSLContext:
        built.append(ssl.create_default_context())
        return built[-1]

    transport = _Routing(tls_context, httpx.Limits(max_connections=2))
    with httpx.Client(transport=transport, headers={"User-Agent": USER_AGENT}) as client:
        response = client.get(f"{pypiserver.url}simple/")
        assert response.status_code == 200
        assert built == []
        # An https request builds it (no server listens there: the handshake is never reached).
        with contextlib.suppress(httpx.HTTPError):
            client.get("https://127.0.0.1:9/", timeout=2)
        assert len(built) == 1


def test_user_agent_names_the_tool_and_python() -> None:
    # Not "twine": pypiserver answers a twine User-Agent with 400 instead of 409.
    assert USER_AGENT.startswith("publish-plugins/")
    assert "twine" not in USER_AGENT.lower()
    assert " CPython/3." in USER_AGENT or " PyPy/3." in USER_AGENT
