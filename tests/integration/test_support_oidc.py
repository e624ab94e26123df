"""The trusted-publishing fakes work: CI token sources, PyPI's audience and mint-token, token-only uploads.

Checked with httpx and with the real ``id`` package (what twine and PDM use to get a CI's token).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

import httpx
import pytest
from tests.support.attestations import (
    PUBLISH_PREDICATE,
    SLSA_PREDICATE,
    attestation_for,
    check_attestations,
    write_attestation,
)
from tests.support.dists import DistFactory, file_sha256
from tests.support.oidc import (
    INVALID_AUTH,
    MINT_ERROR_CODES,
    FakeGitHubTokenService,
    FakePyPI,
    buildkite_claims,
    decode_jwt,
    github_claims,
    gitlab_claims,
    gitlab_env,
    gitlab_token_variable,
    make_jwt,
    stub_calls,
    stub_ci_cli,
    without_ci,
)

UPLOAD_AGENT = "publish-plugins-tests/1.0"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30, trust_env=False, headers={"User-Agent": UPLOAD_AGENT}) as client:
        yield client


@pytest.fixture
def ci_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], None]:
    """``ci_env(variables)``: this process's environment without any CI's, plus ``variables``.

    Also hides a Google Cloud machine from ``id`` (it reads the DMI product name before trying GitLab,
    Buildkite and CircleCI, and would ask the metadata server on a GCE host).
    """
    ambient = pytest.importorskip("id._internal.oidc.ambient")
    monkeypatch.setattr(ambient, "_GCP_PRODUCT_NAME_FILE", "/nonexistent/product_name")

    def apply(variables: dict[str, str]) -> None:
        for name in os.environ:
            if name not in without_ci(os.environ):
                monkeypatch.delenv(name)
        for name, value in variables.items():
            monkeypatch.setenv(name, value)

    return apply


def mint(http: httpx.Client, fake: FakePyPI, jwt: str) -> httpx.Response:
    return http.post(fake.mint_url, json={"token": jwt})


def minted_token(http: httpx.Client, fake: FakePyPI) -> str:
    response = mint(http, fake, make_jwt(github_claims("pypi")))
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def upload(
    http: httpx.Client,
    url: str,
    path: Path,
    name: str,
    version: str,
    *,
    auth: tuple[str, str] | None,
    attestations: list[dict[str, object]] | None = None,
) -> httpx.Response:
    """A legacy API upload with httpx, as twine sends it (``attestations`` as a JSON field)."""
    form = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": name,
        "version": version,
        "filetype": "bdist_wheel" if path.suffix == ".whl" else "sdist",
        "pyversion": "py3" if path.suffix == ".whl" else "source",
        "metadata_version": "2.1",
        "sha256_digest": file_sha256(path),
    }
    if attestations is not None:
        form["attestations"] = json.dumps(attestations)
    files = {"content": (path.name, path.read_bytes(), "application/octet-stream")}
    return http.post(url, data=form, files=files, auth=auth)


# ---- JWTs and claims ----------------------------------------------------------------------------------


def test_make_jwt_is_three_unpadded_base64url_parts() -> None:
    claims = github_claims("pypi", environment="release")
    token = make_jwt(claims)

    header, _payload, signature = token.split(".")
    assert "=" not in token
    assert signature
    assert decode_jwt(token) == claims
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "none", "typ": "JWT"}
    assert claims["environment"] == "release"
    assert claims["iss"] == "https://token.actions.githubusercontent.com"
    assert github_claims("pypi")["jti"] != github_claims("pypi")["jti"]


def test_gitlab_names_its_variable_after_the_audience() -> None:
    assert gitlab_token_variable("pypi") == "PYPI_ID_TOKEN"
    assert gitlab_token_variable("http://test.audience") == "HTTP___TEST_AUDIENCE_ID_TOKEN"
    assert gitlab_token_variable("1pypi") == "_PYPI_ID_TOKEN"
    env = gitlab_env("testpypi", ref="main")
    assert env["GITLAB_CI"] == "true"
    claims = decode_jwt(env["TESTPYPI_ID_TOKEN"])
    assert (claims["aud"], claims["iss"], claims["ref"]) == ("testpypi", "https://gitlab.com", "main")
    assert claims["project_path"] == "group/project"


# ---- GitHub's token endpoint --------------------------------------------------------------------------


def test_github_service_issues_a_fresh_token_per_request(
    github_oidc: FakeGitHubTokenService, http: httpx.Client
) -> None:
    github_oidc.claims_overrides = {"environment": "testpypi"}
    headers = {"Authorization": f"bearer {github_oidc.request_token}"}

    first = http.get(httpx.URL(github_oidc.url).copy_merge_params({"audience": "pypi"}), headers=headers)
    second = http.get(github_oidc.url + "&audience=testpypi", headers=headers)

    assert first.status_code == second.status_code == 200
    claims = [decode_jwt(response.json()["value"]) for response in (first, second)]
    assert [c["aud"] for c in claims] == ["pypi", "testpypi"]
    assert claims[0]["jti"] != claims[1]["jti"]
    assert claims[0]["environment"] == "testpypi"
    assert github_oidc.requests == ["pypi", "testpypi"]
    assert github_oidc.issued == [first.json()["value"], second.json()["value"]]


@pytest.mark.parametrize("authorization", [None, "bearer wrong", "Basic abc"])
def test_github_service_refuses_a_wrong_bearer(
    github_oidc: FakeGitHubTokenService, http: httpx.Client, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = http.get(github_oidc.url + "&audience=pypi", headers=headers)
    assert response.status_code == 401
    assert github_oidc.issued == []


def test_github_service_needs_the_url_query_and_can_fail(
    github_oidc: FakeGitHubTokenService, http: httpx.Client
) -> None:
    headers = {"Authorization": f"bearer {github_oidc.request_token}"}
    without_query = github_oidc.url.split("?")[0] + "?audience=pypi"
    assert http.get(without_query, headers=headers).status_code == 400
    # httpx's params= replaces the URL's query instead of adding to it: the same mistake.
    assert http.get(github_oidc.url, params={"audience": "pypi"}, headers=headers).status_code == 400
    assert github_oidc.requests == ["pypi", "pypi"]

    github_oidc.fail_status = 500
    assert http.get(github_oidc.url + "&audience=pypi", headers=headers).status_code == 500
    assert github_oidc.issued == []


# ---- the `id` package against the fakes ---------------------------------------------------------------


def test_id_gets_a_token_from_the_github_service(
    github_oidc: FakeGitHubTokenService, ci_env: Callable[[dict[str, str]], None]
) -> None:
    id_package = pytest.importorskip("id")
    ci_env(github_oidc.env())

    token = id_package.detect_credential("pypi")

    assert token == github_oidc.issued[-1]
    assert decode_jwt(token)["aud"] == "pypi"
    assert github_oidc.requests == ["pypi"]


def test_id_reports_a_failing_github_service(
    github_oidc: FakeGitHubTokenService, ci_env: Callable[[dict[str, str]], None]
) -> None:
    id_package = pytest.importorskip("id")
    github_oidc.fail_status = 500
    ci_env(github_oidc.env())

    with pytest.raises(id_package.AmbientCredentialError, match="code=500"):
        id_package.detect_credential("pypi")


def test_id_reads_the_gitlab_variable(ci_env: Callable[[dict[str, str]], None]) -> None:
    id_package = pytest.importorskip("id")
    env = gitlab_env()
    ci_env(env)

    token = id_package.detect_credential("pypi")

    assert token == env["PYPI_ID_TOKEN"]
    assert decode_jwt(token)["project_path"] == "group/project"


@pytest.mark.parametrize("kind", ["buildkite", "circleci"])
def test_id_runs_the_ci_command_stub(
    tmp_path: Path, kind: Literal["buildkite", "circleci"], ci_env: Callable[[dict[str, str]], None]
) -> None:
    id_package = pytest.importorskip("id")
    ci_env(stub_ci_cli(tmp_path / "bin", kind))

    first = id_package.detect_credential("testpypi")
    second = id_package.detect_credential("testpypi")

    claims = [decode_jwt(first), decode_jwt(second)]
    assert [c["aud"] for c in claims] == ["testpypi", "testpypi"]
    assert claims[0]["jti"] != claims[1]["jti"]
    expected = (
        ["oidc", "request-token", "--audience", "testpypi"]
        if kind == "buildkite"
        else ["run", "oidc", "get", "--claims", '{"aud": "testpypi"}', "--root-issuer"]
    )
    assert stub_calls(tmp_path / "bin", kind) == [expected, expected]


@pytest.mark.parametrize("kind", ["buildkite", "circleci"])
def test_a_failing_ci_command_stub(
    tmp_path: Path, kind: Literal["buildkite", "circleci"], ci_env: Callable[[dict[str, str]], None]
) -> None:
    id_package = pytest.importorskip("id")
    ci_env(stub_ci_cli(tmp_path / "bin", kind, exit_code=1))

    with pytest.raises(id_package.AmbientCredentialError, match="failing as told"):
        id_package.detect_credential("pypi")


# ---- PyPI: audience and mint-token ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, {"audience": "pypi"}),
        (403, {"message": "Trusted publishing functionality not enabled"}),
        (404, None),
    ],
)
def test_audience(fake_pypi: FakePyPI, http: httpx.Client, status: int, body: object) -> None:
    fake_pypi.audience_status = status
    response = http.get(fake_pypi.audience_url)
    assert response.status_code == status
    if body is not None:
        assert response.json() == body


def test_mint_then_reuse_of_the_same_jwt(fake_pypi: FakePyPI, http: httpx.Client) -> None:
    jwt = make_jwt(github_claims("pypi"))

    first = mint(http, fake_pypi, jwt)
    again = mint(http, fake_pypi, jwt)

    assert first.status_code == 200
    document = first.json()
    assert document["success"] is True
    assert document["token"].startswith("pypi-")
    assert abs(document["expires"] - (time.time() + 900)) < 5
    assert fake_pypi.minted[0].token == document["token"]
    assert again.status_code == 422
    assert again.json() == {
        "message": "Token request failed",
        "errors": [{"code": "invalid-reuse-token", "description": "invalid token: already used"}],
    }
    assert fake_pypi.mint_requests == [jwt, jwt]
    assert len(fake_pypi.minted) == 1


@pytest.mark.parametrize("code", MINT_ERROR_CODES)
def test_mint_error(fake_pypi: FakePyPI, http: httpx.Client, code: str) -> None:
    fake_pypi.mint_error = (code, f"described: {code}")
    response = mint(http, fake_pypi, make_jwt(github_claims("pypi")))
    assert response.status_code == 422
    assert response.json()["errors"] == [{"code": code, "description": f"described: {code}"}]
    assert fake_pypi.minted == []


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"not json", "invalid-payload"),
        (b'{"token": 5}', "invalid-payload"),
        (b'{"token": "a.b"}', "invalid-payload"),
        (json.dumps({"token": make_jwt(buildkite_claims("pypi"))}).encode(), "invalid-payload"),
        (json.dumps({"token": make_jwt(github_claims("testpypi"))}).encode(), "invalid-token"),
        (json.dumps({"token": make_jwt(gitlab_claims("pypi", exp=1000))}).encode(), "invalid-token"),
    ],
    ids=["not-json", "not-a-string", "not-a-jwt", "unknown-issuer", "wrong-audience", "expired"],
)
def test_mint_refuses_what_pypi_refuses(
    fake_pypi: FakePyPI, http: httpx.Client, payload: bytes, code: str
) -> None:
    response = http.post(fake_pypi.mint_url, content=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == code


def test_mint_when_trusted_publishing_is_off(fake_pypi: FakePyPI, http: httpx.Client) -> None:
    fake_pypi.audience_status = 403
    assert mint(http, fake_pypi, make_jwt(github_claims("pypi"))).json()["errors"][0]["code"] == "not-enabled"
    fake_pypi.audience_status = 404
    assert mint(http, fake_pypi, make_jwt(github_claims("pypi"))).status_code == 404


def test_settings_are_reset(fake_pypi: FakePyPI, http: httpx.Client) -> None:
    fake_pypi.audience = "testpypi"
    fake_pypi.ttl = 1
    minted_token_jwt = make_jwt(github_claims("testpypi"))
    assert mint(http, fake_pypi, minted_token_jwt).status_code == 200

    fake_pypi.reset()

    assert (fake_pypi.audience, fake_pypi.ttl, fake_pypi.minted, fake_pypi.seen) == ("pypi", 900, [], [])
    assert http.get(fake_pypi.audience_url).json() == {"audience": "pypi"}


# ---- PyPI: uploads -------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["none", "password", "unknown-token", "username"])
def test_upload_needs_a_minted_token(
    fake_pypi: FakePyPI, http: httpx.Client, dists: DistFactory, unique_name: str, auth: str
) -> None:
    wheel = dists.wheel(unique_name, "1.0")
    credentials = {
        "none": None,
        "password": ("alice", "s3cret"),  # pypiserver's own: PyPI does not take them
        "unknown-token": ("__token__", "pypi-never-minted"),
        "username": ("alice", minted_token(http, fake_pypi)),
    }[auth]

    response = upload(http, fake_pypi.url, wheel, unique_name, "1.0", auth=credentials)

    assert response.status_code == 403
    assert response.reason_phrase == INVALID_AUTH
    assert fake_pypi.uploads == []
    assert wheel.name not in fake_pypi.stored_files()


def test_upload_with_a_minted_token_reaches_pypiserver(
    fake_pypi: FakePyPI, http: httpx.Client, dists: DistFactory, unique_name: str
) -> None:
    wheel = dists.wheel(unique_name, "1.0")
    token = minted_token(http, fake_pypi)
    attestations = [attestation_for(wheel), attestation_for(wheel, predicate_type=SLSA_PREDICATE)]

    response = upload(
        http, fake_pypi.url, wheel, unique_name, "1.0", auth=("__token__", token), attestations=attestations
    )
    again = upload(http, fake_pypi.url, wheel, unique_name, "1.0", auth=("__token__", token))

    assert response.status_code == 200, response.text
    assert again.status_code == 409  # pypiserver's answer, relayed
    assert fake_pypi.stored_files()[wheel.name] == wheel.read_bytes()
    first, second = fake_pypi.uploads
    assert (first.filename, first.token, first.status, first.sha256) == (
        wheel.name,
        token,
        200,
        file_sha256(wheel),
    )
    assert first.attestations is not None
    assert json.loads(first.attestations) == attestations
    assert first.fields["name"] == [unique_name]
    assert (second.attestations, second.status) == (None, 409)
    page = http.get(f"{fake_pypi.simple_url}{unique_name}/")  # relayed, no credentials needed
    assert page.status_code == 200
    assert f"{wheel.name}#sha256={file_sha256(wheel)}" in page.text
    assert "authorization" not in fake_pypi.seen[-1].headers


def test_upload_with_an_expired_token_is_refused(
    fake_pypi: FakePyPI, http: httpx.Client, dists: DistFactory, unique_name: str
) -> None:
    wheel = dists.wheel(unique_name, "1.0")
    fake_pypi.ttl = 0
    token = minted_token(http, fake_pypi)
    assert fake_pypi.valid_token(token) is None

    response = upload(http, fake_pypi.url, wheel, unique_name, "1.0", auth=("__token__", token))

    assert response.status_code == 403
    assert fake_pypi.uploads == []
    assert wheel.name not in fake_pypi.stored_files()


@pytest.mark.parametrize(
    "case",
    [
        (lambda w: [attestation_for(w, sha256="0" * 64)], "does not match distribution digest"),
        (
            lambda w: [attestation_for(w, name="other-1.0-py3-none-any.whl")],
            "does not match distribution name",
        ),
        (lambda w: [attestation_for(w), attestation_for(w)], "same predicate type"),
        (
            lambda w: [attestation_for(w, predicate_type="https://example.com/x")],
            "unsupported predicate type",
        ),
        (lambda w: [], "empty attestation set"),
        (lambda w: [{"version": 2}], "Malformed attestations"),
    ],
    ids=["stale-digest", "other-name", "duplicate", "unsupported", "empty", "malformed"],
)
def test_upload_with_bad_attestations_is_refused(
    fake_pypi: FakePyPI,
    http: httpx.Client,
    dists: DistFactory,
    unique_name: str,
    case: tuple[Callable[[Path], list[dict[str, object]]], str],
) -> None:
    make, message = case
    wheel = dists.wheel(unique_name, "1.0")
    token = minted_token(http, fake_pypi)

    response = upload(
        http, fake_pypi.url, wheel, unique_name, "1.0", auth=("__token__", token), attestations=make(wheel)
    )

    assert response.status_code == 400
    assert response.reason_phrase.startswith("Invalid attestations supplied during upload: ")
    assert message in response.text
    assert fake_pypi.uploads[0].status == 400
    assert wheel.name not in fake_pypi.stored_files()


def test_a_github_token_minted_then_used_for_an_upload(
    fake_pypi: FakePyPI,
    github_oidc: FakeGitHubTokenService,
    ci_env: Callable[[dict[str, str]], None],
    dists: DistFactory,
    unique_name: str,
) -> None:
    id_package = pytest.importorskip("id")
    wheel = dists.wheel(unique_name, "1.0")
    ci_env(github_oidc.env())

    with httpx.Client(timeout=30, trust_env=False) as http:
        audience = http.get(fake_pypi.audience_url).json()["audience"]
        token = mint(http, fake_pypi, id_package.detect_credential(audience)).json()["token"]
        response = upload(http, fake_pypi.url, wheel, unique_name, "1.0", auth=("__token__", token))

    assert response.status_code == 200
    assert fake_pypi.minted[0].claims["repository"] == "octo-org/octo-repo"
    assert wheel.name in fake_pypi.stored_files()


def test_a_chunked_upload_body_is_read(
    fake_pypi: FakePyPI, http: httpx.Client, dists: DistFactory, unique_name: str
) -> None:
    wheel = dists.wheel(unique_name, "1.0")
    request = http.build_request(
        "POST",
        fake_pypi.url,
        data={":action": "file_upload", "name": unique_name, "version": "1.0"},
        files={"content": (wheel.name, wheel.read_bytes(), "application/octet-stream")},
    )
    body = request.read()
    credentials = base64.b64encode(f"__token__:{minted_token(http, fake_pypi)}".encode()).decode()
    headers = {"Content-Type": request.headers["Content-Type"], "Authorization": f"Basic {credentials}"}
    pieces = [body[index : index + 1000] for index in range(0, len(body), 1000)]

    response = http.post(fake_pypi.url, content=iter(pieces), headers=headers)

    assert response.status_code == 200, response.text
    assert fake_pypi.seen[-1].headers["transfer-encoding"] == "chunked"
    assert fake_pypi.uploads[0].sha256 == file_sha256(wheel)


def test_stop_cuts_kept_alive_connections_and_joins_threads(http: httpx.Client) -> None:
    before = set(threading.enumerate())
    service = FakeGitHubTokenService()
    service.start()
    headers = {"Authorization": f"bearer {service.request_token}"}
    assert http.get(service.url + "&audience=pypi", headers=headers).status_code == 200  # kept alive

    started = time.monotonic()
    service.stop()

    assert time.monotonic() - started < 5
    assert set(threading.enumerate()) <= before
    assert service.errors == []


def test_write_attestation_beside_the_distribution(dists: DistFactory) -> None:
    wheel = dists.wheel("attested", "1.0")

    publish = write_attestation(wheel)
    slsa = write_attestation(wheel, kind="slsa")

    assert publish.name == f"{wheel.name}.publish.attestation"
    assert slsa.name == f"{wheel.name}.slsa.attestation"
    both = [json.loads(publish.read_text()), json.loads(slsa.read_text())]
    assert check_attestations(json.dumps(both), wheel.name, file_sha256(wheel)) == both
    assert json.loads(publish.read_text()) == attestation_for(wheel, predicate_type=PUBLISH_PREDICATE)
