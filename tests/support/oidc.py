"""Offline trusted publishing: CI identity tokens and a PyPI that mints upload tokens, on 127.0.0.1.

Facts from research/trusted-publishing.md. Standard library only (besides :class:`PypiServer`).

- :func:`make_jwt`, :func:`github_claims`, :func:`gitlab_claims`: unsigned JWTs with realistic claims
  (nothing here, nor in the ``id`` package or PyPI's fake, checks a signature).
- :class:`FakeGitHubTokenService`: GitHub Actions' OIDC token endpoint; ``env()`` gives a job's variables.
- :func:`gitlab_env`: GitLab CI's ``<AUD>_ID_TOKEN`` variable. :func:`stub_ci_cli`: ``buildkite-agent``
  or ``circleci`` on PATH, printing a JWT for the audience asked.
- :class:`FakePyPI`: PyPI's trusted-publishing endpoints (audience, mint-token) in front of a real
  pypiserver; uploads need ``__token__`` and a minted token that has not expired, and their
  attestations are checked as PyPI checks them (tests/support/attestations.py).

    with FakeGitHubTokenService() as github, FakePyPI(pypiserver) as pypi:
        env = {**without_ci(os.environ), **github.env()}  # a GitHub job's; for a subprocess
        ...  # run the publisher with env, uploading to pypi.url (it mints at pypi.mint_url)
        assert pypi.uploads[0].token == pypi.minted[0].token
        assert pypi.uploads[0].attestations is None

Each server answers HTTP/1.1 with keep-alive on a free port of 127.0.0.1; ``stop()`` cuts the open
connections and joins every thread.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.message
import email.parser
import email.utils
import hashlib
import http.client
import http.server
import json
import os
import re
import secrets
import shlex
import socket
import socketserver
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit

from tests.support.attestations import INVALID_PREFIX, AttestationError, check_attestations
from tests.support.origin import Seen
from tests.support.servers import PypiServer, basic_auth_header

HOST = "127.0.0.1"
UPSTREAM_TIMEOUT = 300.0
JWT_LEEWAY = 10  # seconds of clock skew the fake PyPI allows around a JWT's nbf and exp
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
GITLAB_ISSUER = "https://gitlab.com"
GOOGLE_ISSUER = "https://accounts.google.com"
ACTIVESTATE_ISSUER = "https://platform.activestate.com/api/v1/oauth/oidc"
BUILDKITE_ISSUER = "https://agent.buildkite.com"
CIRCLECI_ORG_ID = "c9035eb6-6eb2-4c63-a1a1-8aa9c1a6c3e5"
CIRCLECI_ISSUER = f"https://oidc.circleci.com/org/{CIRCLECI_ORG_ID}"
# The issuers PyPI mints for (warehouse/oidc/utils.py); any other → 422 "unknown trusted publishing issuer".
PYPI_ISSUERS = frozenset({GITHUB_ISSUER, GITLAB_ISSUER, GOOGLE_ISSUER, ACTIVESTATE_ISSUER})
# Every variable by which the ``id`` package detects a CI (plus GitHub's token request pair).
CI_VARIABLES = (
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
)
MINT_ERROR_CODES = (
    "invalid-payload",
    "not-enabled",
    "invalid-token",
    "invalid-pending-publisher",
    "invalid-publisher",
    "invalid-reuse-token",
)
# PyPI's answer to an upload without valid credentials (403, also its reason phrase).
INVALID_AUTH = (
    "Invalid or non-existent authentication information. "
    "See https://pypi.org/help/#invalid-auth for more information."
)
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
_NOT_RELAYED = _HOP_BY_HOP | {"content-length", "expect", "server", "date"}
_ENV_NAME_UNSAFE = re.compile(r"[^A-Z0-9_]|^[^A-Z_]")  # the ``id`` package's rule for <AUD>_ID_TOKEN


# ---- JWTs -------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Base64url without padding, as in JWTs."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: Mapping[str, Any]) -> str:
    """Return an unsigned JWT ``header.payload.signature`` (header ``{"alg": "none", "typ": "JWT"}``)."""
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    return f"{header}.{payload}.{b64url(b'unsigned: tests only')}"


def decode_jwt(token: str) -> dict[str, Any]:
    """Return a JWT's claims, without any check; ``ValueError`` if it is not ``a.b.c`` with a JSON object."""
    try:
        _, payload, _ = token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, binascii.Error) as error:
        raise ValueError(f"malformed JWT: {error}") from error
    if not isinstance(claims, dict):
        raise ValueError("malformed JWT: the payload is not a JSON object")
    return claims


def _times(lifetime: int = 300) -> dict[str, int]:
    now = int(time.time())
    return {"iat": now, "nbf": now - 5, "exp": now + lifetime}


def github_claims(audience: str, **overrides: Any) -> dict[str, Any]:
    """Claims of a GitHub Actions token for ``octo-org/octo-repo``, workflow release.yml on tag v1.0,
    environment ``pypi``; a fresh ``jti`` each call. ``overrides`` replace or add claims."""
    workflow = "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0"
    claims: dict[str, Any] = {
        "jti": str(uuid.uuid4()),
        "sub": "repo:octo-org/octo-repo:environment:pypi",
        "aud": audience,
        "ref": "refs/tags/v1.0",
        "sha": "example5d2d54fcbb4bdc2b2d1c5bfe8b9cd0aa0",
        "repository": "octo-org/octo-repo",
        "repository_id": "74",
        "repository_owner": "octo-org",
        "repository_owner_id": "65",
        "repository_visibility": "public",
        "run_id": "123456789",
        "run_number": "10",
        "run_attempt": "1",
        "actor": "octocat",
        "actor_id": "12",
        "workflow": "release",
        "event_name": "push",
        "ref_type": "tag",
        "ref_protected": "false",
        "environment": "pypi",
        "workflow_ref": workflow,
        "workflow_sha": "example5d2d54fcbb4bdc2b2d1c5bfe8b9cd0aa0",
        "job_workflow_ref": workflow,
        "job_workflow_sha": "example5d2d54fcbb4bdc2b2d1c5bfe8b9cd0aa0",
        "runner_environment": "github-hosted",
        "iss": GITHUB_ISSUER,
        **_times(),
    }
    claims.update(overrides)
    return claims


def gitlab_claims(audience: str, **overrides: Any) -> dict[str, Any]:
    """Claims of a gitlab.com CI token for ``group/project``, .gitlab-ci.yml on tag v1.0, environment
    ``pypi``; a fresh ``jti`` each call. ``overrides`` replace or add claims."""
    claims: dict[str, Any] = {
        "namespace_id": "72",
        "namespace_path": "group",
        "project_id": "20",
        "project_path": "group/project",
        "user_id": "5",
        "user_login": "alice",
        "pipeline_id": "574",
        "pipeline_source": "push",
        "job_id": "302",
        "ref": "v1.0",
        "ref_type": "tag",
        "ref_path": "refs/tags/v1.0",
        "ref_protected": "true",
        "environment": "pypi",
        "environment_protected": "true",
        "deployment_tier": "production",
        "runner_environment": "gitlab-hosted",
        "sha": "example5d2d54fcbb4bdc2b2d1c5bfe8b9cd0aa0",
        "ci_config_ref_uri": "gitlab.com/group/project//.gitlab-ci.yml@refs/tags/v1.0",
        "ci_config_sha": "example5d2d54fcbb4bdc2b2d1c5bfe8b9cd0aa0",
        "project_visibility": "public",
        "jti": str(uuid.uuid4()),
        "iss": GITLAB_ISSUER,
        "sub": "project_path:group/project:ref_type:tag:ref:v1.0",
        "aud": audience,
        **_times(),
    }
    claims.update(overrides)
    return claims


def buildkite_claims(audience: str, **overrides: Any) -> dict[str, Any]:
    """Claims of a Buildkite agent token (an issuer PyPI does not accept)."""
    claims: dict[str, Any] = {
        "iss": BUILDKITE_ISSUER,
        "sub": "organization:acme-inc:pipeline:release:ref:refs/tags/v1.0:commit:example5d2d:step:publish",
        "aud": audience,
        "jti": str(uuid.uuid4()),
        "organization_slug": "acme-inc",
        "pipeline_slug": "release",
        "build_number": 1,
        "build_branch": "main",
        "build_tag": "v1.0",
        "build_commit": "example5d2d54fcbb4bdc2b2d1c5bfe8b9cd0aa0",
        "step_key": "publish",
        **_times(),
    }
    claims.update(overrides)
    return claims


def circleci_claims(audience: str, **overrides: Any) -> dict[str, Any]:
    """Claims of a CircleCI token (an issuer PyPI does not accept)."""
    project_id = "0d6b4d1f-3b2a-4f6e-8c61-4c1a3f5e9b07"
    claims: dict[str, Any] = {
        "iss": CIRCLECI_ISSUER,
        "sub": f"org/{CIRCLECI_ORG_ID}/project/{project_id}/user/5b0b1c8e-0f57-4d9f-b1d6-bcbd2a0c0f7e",
        "aud": audience,
        "jti": str(uuid.uuid4()),
        "oidc.circleci.com/project-id": project_id,
        "oidc.circleci.com/vcs-origin": "github.com/octo-org/octo-repo",
        "oidc.circleci.com/vcs-ref": "refs/tags/v1.0",
        **_times(),
    }
    claims.update(overrides)
    return claims


# ---- environments -----------------------------------------------------------------------------------


def without_ci(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` without anything by which the ``id`` package would detect a CI.

    Removes :data:`CI_VARIABLES` and every ``*_ID_TOKEN`` variable: a test run inside GitHub Actions
    or GitLab CI must not pick up the real job's identity.
    """
    return {
        key: value
        for key, value in environ.items()
        if key not in CI_VARIABLES and not key.endswith("_ID_TOKEN")
    }


def gitlab_token_variable(audience: str) -> str:
    """The variable GitLab CI holds the token for ``audience`` in: ``pypi`` → ``PYPI_ID_TOKEN``."""
    return f"{_ENV_NAME_UNSAFE.sub('_', audience.upper())}_ID_TOKEN"


def gitlab_env(audience: str = "pypi", **claim_overrides: Any) -> dict[str, str]:
    """Variables of a GitLab CI job declaring an ``id_tokens`` entry for ``audience``."""
    return {
        "GITLAB_CI": "true",
        gitlab_token_variable(audience): make_jwt(gitlab_claims(audience, **claim_overrides)),
    }


_STUB = r"""
import base64, json, sys, uuid

KIND, TEMPLATE, EXIT_CODE, LOG = {kind!r}, {jwt!r}, {exit_code!r}, {log!r}
args = sys.argv[1:]
with open(LOG, "a", encoding="utf-8") as log:
    log.write(json.dumps(args) + "\n")


def fail(message):
    print(message)
    print(message, file=sys.stderr)
    sys.exit(EXIT_CODE or 2)


if EXIT_CODE:
    fail("{kind} stub: failing as told")
try:
    if KIND == "buildkite":
        if args[:2] != ["oidc", "request-token"]:
            raise ValueError("expected: oidc request-token --audience AUD")
        audience = args[args.index("--audience") + 1]
    else:
        if args[:3] != ["run", "oidc", "get"]:
            raise ValueError("expected: run oidc get --claims JSON [--root-issuer]")
        audience = json.loads(args[args.index("--claims") + 1])["aud"]
except (ValueError, IndexError, KeyError) as error:
    fail(f"{kind} stub: bad arguments {{args}}: {{error}}")
header, payload, signature = TEMPLATE.split(".")
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
claims["aud"] = audience
claims["jti"] = str(uuid.uuid4())
payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
print(f"{{header}}.{{payload}}.{{signature}}")
"""

_CLI_NAMES = {"buildkite": "buildkite-agent", "circleci": "circleci"}
_CLI_DETECT = {"buildkite": "BUILDKITE", "circleci": "CIRCLECI"}


def stub_ci_cli(
    folder: Path,
    kind: Literal["buildkite", "circleci"],
    jwt: str | None = None,
    *,
    exit_code: int = 0,
) -> dict[str, str]:
    """Write ``buildkite-agent`` or ``circleci`` into ``folder``; return the variables that use it.

    The stub answers the command line the ``id`` package runs (``buildkite-agent oidc request-token
    --audience A``; ``circleci run oidc get --claims '{"aud": A}' [--root-issuer]``) by printing ``jwt``
    (default: that CI's claims) with ``aud`` set to the audience asked and a fresh ``jti``. Any other
    command line, or ``exit_code`` other than 0, makes it print an error and exit non-zero. Each call's
    arguments are logged: :func:`stub_calls`. Returns ``BUILDKITE``/``CIRCLECI=true`` and ``PATH``
    with ``folder`` first (the rest of ``PATH`` taken from this process).
    """
    if kind not in _CLI_NAMES:
        raise ValueError(f"unknown CI {kind!r}")
    if jwt is None:
        jwt = make_jwt((buildkite_claims if kind == "buildkite" else circleci_claims)("pypi"))
    folder.mkdir(parents=True, exist_ok=True)
    name = _CLI_NAMES[kind]
    script = folder / f".{name}-stub.py"
    log = folder / f"{name}.calls"
    script.write_text(_STUB.format(kind=kind, jwt=jwt, exit_code=exit_code, log=str(log)))
    executable = folder / name
    # A shell wrapper, not a shebang: the interpreter's path may be long or hold spaces.
    executable.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -I {shlex.quote(str(script))} "$@"\n'
    )
    executable.chmod(0o755)
    path = os.environ.get("PATH", os.defpath)
    return {_CLI_DETECT[kind]: "true", "PATH": f"{folder}{os.pathsep}{path}"}


def stub_calls(folder: Path, kind: Literal["buildkite", "circleci"]) -> list[list[str]]:
    """The argument lists the stub written by :func:`stub_ci_cli` was called with, in order."""
    log = folder / f"{_CLI_NAMES[kind]}.calls"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


# ---- a small threaded HTTP/1.1 server ---------------------------------------------------------------


@dataclass
class Request:
    """A request as the fakes see it; ``headers`` has case-insensitive ``get``."""

    method: str
    target: str  # path and query, as sent
    headers: email.message.Message
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))


@dataclass
class Reply:
    """An answer: status, headers (Content-Length is added), body and an optional reason phrase."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None


def json_reply(status: int, document: object, reason: str | None = None) -> Reply:
    """A JSON answer."""
    return Reply(status, json.dumps(document).encode(), [("Content-Type", "application/json")], reason)


def text_reply(status: int, text: str, reason: str | None = None) -> Reply:
    """A plain text answer."""
    body = f"{status} {text}\n".encode()
    return Reply(status, body, [("Content-Type", "text/plain; charset=utf-8")], reason)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the connection threads
    block_on_close = True

    def __init__(self, owner: LoopbackServer) -> None:
        self.owner = owner
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self.serving = threading.Event()
        super().__init__((HOST, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn): slow for nothing on loopback.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = HOST, int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        # Tracked here, in the serving thread, before the connection thread exists: stop() sees them all.
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """Wake every connection thread: their next read sees the end of the stream."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def service_actions(self) -> None:
        # Called by serve_forever on each turn of its loop: from then on, shutdown() is heard.
        self.serving.set()

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if not self.owner.stopping:
            self.owner.errors.append(f"{type(error).__name__}: {error}")


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in {b"\r\n", b"\n", b""}:
                        pass
                    return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        server = self.server
        assert isinstance(server, _HTTPServer)
        request = Request(self.command, self.path, self.headers, self._read_body())
        try:
            reply = server.owner.respond(request)
        except Exception as error:
            server.owner.errors.append(f"{type(error).__name__}: {error}")
            reply = text_reply(500, f"fake server error: {type(error).__name__}: {error}")
        reason = reply.reason
        if reason is not None:  # a status line is one latin-1 line
            reason = " ".join(reason.splitlines()).encode("latin-1", "replace").decode("latin-1")
        self.send_response(reply.status, reason)
        length_given = False
        for key, value in reply.headers:
            length_given |= key.lower() == "content-length"
            self.send_header(key, value)
        if not length_given:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read what the fakes record


_S = TypeVar("_S", bound="LoopbackServer")


class LoopbackServer:
    """Base of the fakes: a threaded HTTP/1.1 server on a free port of 127.0.0.1; override ``respond``."""

    def __init__(self) -> None:
        self.errors: list[str] = []  # what went wrong inside connection threads, for debugging
        self.stopping = False
        self.lock = threading.Lock()
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def respond(self, request: Request) -> Reply:
        """Answer one request (runs in the connection's thread)."""
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return f"http://{HOST}:{self.port}/"

    def start(self) -> None:
        """Listen and serve in a thread."""
        if self._server is not None:
            return
        self.stopping = False
        self._server = _HTTPServer(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        # serve_forever clears a shutdown request made before its loop starts: stop() would hang.
        if not self._server.serving.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start serving")

    def stop(self) -> None:
        """Stop accepting, cut the open connections and join every thread."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping = True
        server.shutdown()
        server.cut_connections()
        server.server_close()  # joins the connection threads
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# ---- GitHub Actions ---------------------------------------------------------------------------------


class FakeGitHubTokenService(LoopbackServer):
    """GitHub Actions' OIDC token endpoint.

    ``GET <url>&audience=A`` with ``Authorization: bearer <request_token>`` answers 200
    ``{"value": jwt}``, the JWT made of :func:`github_claims` (``aud`` A, a fresh ``jti``) updated with
    ``claims_overrides``. Without ``audience`` the ``aud`` is GitHub's default, the owner's URL. A
    wrong or missing bearer answers 401, another path 404, a request without the ``api-version``
    query of :attr:`url` 400 (a client that drops the URL's query). ``fail_status`` (e.g. 500): every
    token request answers that, with ``fail_body``.
    """

    PATH = "/_apis/distributedtask/hubs/Actions/plans/2f8c1c2e/jobs/7d7c8d9a/idtoken"

    def __init__(self) -> None:
        super().__init__()
        self.request_token = secrets.token_urlsafe(32)
        self.claims_overrides: dict[str, Any] = {}
        self.fail_status: int | None = None
        self.fail_body: bytes = b'{"message": "Internal Server Error"}'
        self.requests: list[str | None] = []  # the audience of every token request (None: none asked)
        self.issued: list[str] = []  # the JWTs given out, in order

    @property
    def url(self) -> str:
        """The value of ``ACTIONS_ID_TOKEN_REQUEST_URL``: it already has a query (``api-version``)."""
        return f"http://{HOST}:{self.port}{self.PATH}?api-version=2.0"

    def env(self) -> dict[str, str]:
        """The variables of a GitHub Actions job with ``permissions: id-token: write``."""
        return {
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    def respond(self, request: Request) -> Reply:
        if request.path != self.PATH:
            return json_reply(404, {"message": "Not Found"})
        if request.method != "GET":
            return json_reply(405, {"message": "Method Not Allowed"})
        query = request.query
        audience = query.get("audience")
        with self.lock:
            self.requests.append(audience)
        scheme, _, credential = (request.headers.get("Authorization") or "").partition(" ")
        valid = scheme.lower() == "bearer" and secrets.compare_digest(credential.strip(), self.request_token)
        if not valid:
            return json_reply(401, {"message": "Unauthorized: bad or missing bearer token"})
        if query.get("api-version") != "2.0":
            return json_reply(400, {"message": "api-version 2.0 is required"})
        if self.fail_status is not None:
            return Reply(self.fail_status, self.fail_body, [("Content-Type", "application/json")])
        token = make_jwt(github_claims(audience or "https://github.com/octo-org", **self.claims_overrides))
        with self.lock:
            self.issued.append(token)
        return json_reply(200, {"count": 1, "value": token})


# ---- PyPI ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MintedToken:
    """An upload token the fake PyPI minted: valid while ``time.time() < expires``."""

    token: str
    expires: int
    claims: dict[str, Any]  # of the JWT it was minted for


@dataclass
class Upload:
    """An upload that got past authentication (then forwarded to pypiserver, unless refused)."""

    filename: str
    token: str
    attestations: str | None  # the raw ``attestations`` field; None when absent
    fields: dict[str, list[str]]  # every text field of the form
    sha256: str  # of the ``content`` part
    status: int = 0  # the answer sent back (pypiserver's, or 400 for bad attestations)


@dataclass
class _Part:
    name: str
    filename: str | None
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> list[_Part]:
    """Split a ``multipart/form-data`` body into parts; ``ValueError`` if it is not one."""
    header = email.message.Message()
    header["Content-Type"] = content_type
    boundary = header.get_boundary()
    if header.get_content_type() != "multipart/form-data" or not boundary:
        raise ValueError(f"not multipart/form-data with a boundary: {content_type!r}")
    pieces = (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))
    parts: list[_Part] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts
        head, separator, data = piece.partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("a part has no header block")
        headers = email.parser.BytesHeaderParser().parsebytes(head.partition(b"\r\n")[2] + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if name is None:
            raise ValueError("a part has no name")
        parts.append(_Part(email.utils.collapse_rfc2231_value(name), headers.get_filename(), data))
    raise ValueError("the closing boundary is missing")


class FakePyPI(LoopbackServer):
    """PyPI's trusted publishing in front of a real pypiserver (see the module docstring).

    - ``GET /_/oidc/audience``: 200 ``{"audience": audience}``; ``audience_status`` 403 (disabled) or
      404 (not supported) instead.
    - ``POST /_/oidc/mint-token`` (and the legacy ``/_/oidc/github/mint-token``) with ``{"token": jwt}``:
      checked in PyPI's order (JSON payload, well-formed JWT with ``iss``, issuer in ``issuers``, ``aud``
      equal to ``audience`` and within ``nbf``/``exp``, ``jti`` never used) then 200
      ``{"success": true, "token": "pypi-…", "expires": now + ttl}``; a refusal is 422
      ``{"message": "Token request failed", "errors": [{"code", "description"}]}``. ``mint_error``
      (code, description): refuse every mint with it. With ``audience_status`` 403 mints answer 422
      ``not-enabled``, with 404 they answer 404. A ``jti`` is used up only by a successful mint.
    - ``POST /`` (or ``/legacy/``), the legacy upload: Basic ``__token__:<minted, unexpired token>`` or
      403 :data:`INVALID_AUTH`. Then, for a file pypiserver does not hold yet, the ``attestations``
      field is checked (``check_attestations``: 400 ``Invalid attestations supplied during upload: …``),
      and the same body goes to pypiserver with its credentials; its answer is relayed.
    - Anything else is relayed to pypiserver unchanged (no credentials added).

    Recorded: ``mint_requests`` (every JWT posted), ``minted``, ``uploads``, ``seen`` (every request's
    method, path and lower-cased headers, as :class:`Seen`). ``reset()`` restores the settings and
    forgets all of it.
    """

    def __init__(self, pypiserver: PypiServer) -> None:
        super().__init__()
        self.pypiserver = pypiserver
        self.reset()

    def reset(self) -> None:
        """Default settings; forget recorded requests, minted tokens and used ``jti`` values.

        The files pypiserver stores stay (tests upload under their own project names).
        """
        with self.lock:
            self.audience = "pypi"
            self.audience_status = 200
            self.ttl = 900
            self.mint_error: tuple[str, str] | None = None
            self.issuers: frozenset[str] | None = PYPI_ISSUERS  # None: any issuer
            self.verify_attestations = True
            self.mint_requests: list[str] = []
            self.minted: list[MintedToken] = []
            self.uploads: list[Upload] = []
            self.seen: list[Seen] = []
            self.used_jti: set[str] = set()
            self.errors.clear()

    # ---- URLs -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Upload URL (``http://127.0.0.1:PORT/``), as pypiserver's."""
        return self.base_url

    @property
    def simple_url(self) -> str:
        """Simple index (``…/simple/``), relayed to pypiserver."""
        return self.base_url + "simple/"

    @property
    def audience_url(self) -> str:
        return self.base_url + "_/oidc/audience"

    @property
    def mint_url(self) -> str:
        return self.base_url + "_/oidc/mint-token"

    def stored_files(self) -> dict[str, bytes]:
        """Every file pypiserver stores, by filename."""
        return self.pypiserver.stored_files()

    def valid_token(self, token: str) -> MintedToken | None:
        """The minted token ``token`` if it exists and has not expired."""
        now = time.time()
        with self.lock:
            for minted in self.minted:
                if secrets.compare_digest(minted.token, token) and now < minted.expires:
                    return minted
        return None

    # ---- requests ---------------------------------------------------------------------------------

    def respond(self, request: Request) -> Reply:
        with self.lock:
            self.seen.append(
                Seen(
                    request.method,
                    request.path,
                    {key.lower(): value for key, value in request.headers.items()},
                )
            )
        path = request.path
        if path == "/_/oidc/audience":
            return self._audience(request)
        if path in {"/_/oidc/mint-token", "/_/oidc/github/mint-token"}:
            return self._mint(request)
        if request.method == "POST" and path in {"/", "/legacy/"}:
            return self._upload(request)
        return self._relay(request)

    def _audience(self, request: Request) -> Reply:
        if request.method not in {"GET", "HEAD"}:
            return text_reply(405, "Method Not Allowed")
        if self.audience_status == 403:
            return json_reply(403, {"message": "Trusted publishing functionality not enabled"})
        if self.audience_status != 200:
            return text_reply(self.audience_status, "Not Found")
        return json_reply(200, {"audience": self.audience})

    def _mint(self, request: Request) -> Reply:
        if request.method != "POST":
            return text_reply(405, "Method Not Allowed")
        if self.audience_status not in {200, 403}:
            return text_reply(self.audience_status, "Not Found")
        try:
            document = json.loads(request.body)
            jwt = document["token"]
            if not isinstance(jwt, str):
                raise TypeError("token: Input should be a valid string")
        except (ValueError, KeyError, TypeError) as error:
            return _mint_refusal(("invalid-payload", f"1 validation error for TokenPayload: {error}"))
        with self.lock:
            self.mint_requests.append(jwt)
        problem = self.mint_error or self._jwt_problem(jwt)
        if problem is not None:
            return _mint_refusal(problem)
        claims = decode_jwt(jwt)
        jti = claims.get("jti")
        with self.lock:
            if jti in self.used_jti:
                return _mint_refusal(("invalid-reuse-token", "invalid token: already used"))
            if isinstance(jti, str):
                self.used_jti.add(jti)
            minted = MintedToken(f"pypi-{secrets.token_urlsafe(48)}", int(time.time()) + self.ttl, claims)
            self.minted.append(minted)
        return json_reply(200, {"success": True, "token": minted.token, "expires": minted.expires})

    def _jwt_problem(self, jwt: str) -> tuple[str, str] | None:
        """Why PyPI would refuse to mint for ``jwt`` before looking at its ``jti``; None if it would not."""
        try:
            claims = decode_jwt(jwt)
            issuer = claims["iss"]
        except (ValueError, KeyError):
            return ("invalid-payload", "malformed JWT")
        if self.issuers is not None and issuer not in self.issuers:
            return ("invalid-payload", "unknown trusted publishing issuer")
        if self.audience_status == 403:
            return ("not-enabled", "trusted publishing functionality not enabled")
        now = time.time()
        try:
            in_time = float(claims.get("nbf", 0)) - JWT_LEEWAY <= now < float(claims["exp"]) + JWT_LEEWAY
        except (KeyError, TypeError, ValueError):
            in_time = False
        if claims.get("aud") != self.audience or not in_time:
            return ("invalid-token", "malformed or invalid token")
        return None

    def _token_of(self, request: Request) -> str | None:
        scheme, _, credential = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = (
                base64.b64decode(credential.strip(), validate=True).decode().partition(":")
            )
        except (ValueError, binascii.Error):
            return None
        if username != "__token__" or self.valid_token(password) is None:
            return None
        return password

    def _upload(self, request: Request) -> Reply:
        token = self._token_of(request)
        if token is None:
            return text_reply(403, INVALID_AUTH, reason=INVALID_AUTH)
        content_type = request.headers.get("Content-Type") or ""
        try:
            parts = parse_multipart(content_type, request.body)
        except ValueError as error:
            return text_reply(400, f"Invalid upload body: {error}", reason="Bad Request")
        fields: dict[str, list[str]] = {}
        content: _Part | None = None
        for part in parts:
            if part.name == "content":
                content = part
            else:
                fields.setdefault(part.name, []).append(part.data.decode("utf-8", "replace"))
        if content is None or not content.filename:
            message = "Upload payload does not have a file."
            return text_reply(400, message, reason=message)
        attestations = fields.get("attestations", [None])[0]
        upload = Upload(
            content.filename, token, attestations, fields, hashlib.sha256(content.data).hexdigest()
        )
        with self.lock:
            self.uploads.append(upload)
        already_there = (self.pypiserver.packages_dir / Path(upload.filename).name).exists()
        if attestations is not None and self.verify_attestations and not already_there:
            try:
                check_attestations(attestations, upload.filename, upload.sha256)
            except AttestationError as error:
                message = INVALID_PREFIX + str(error)
                upload.status = 400
                return text_reply(400, message, reason=message)
        headers = {
            "Content-Type": content_type,
            "Authorization": basic_auth_header(self.pypiserver.username, self.pypiserver.password),
        }
        if user_agent := request.headers.get("User-Agent"):
            headers["User-Agent"] = user_agent
        reply = self._forward("POST", "/", headers, request.body)
        upload.status = reply.status
        return reply

    def _relay(self, request: Request) -> Reply:
        headers = {key: value for key, value in request.headers.items() if key.lower() not in _NOT_RELAYED}
        return self._forward(request.method, request.target, headers, request.body or None)

    def _forward(self, method: str, target: str, headers: dict[str, str], body: bytes | None) -> Reply:
        """Send one request to pypiserver and return its answer, ready to relay."""
        connection = http.client.HTTPConnection(HOST, self.pypiserver.port, timeout=UPSTREAM_TIMEOUT)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            relayed = [
                (key, value)
                for key, value in response.getheaders()
                if key.lower() not in _NOT_RELAYED or (method == "HEAD" and key.lower() == "content-length")
            ]
            return Reply(response.status, data, relayed, response.reason)
        finally:
            connection.close()


def _mint_refusal(problem: tuple[str, str]) -> Reply:
    code, description = problem
    return json_reply(
        422, {"message": "Token request failed", "errors": [{"code": code, "description": description}]}
    )
