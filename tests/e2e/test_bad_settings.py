"""Bad options, URLs, report paths and config files, through the four real front ends.

Every case is a user's mistake: exit 2 (or the host's own code where the host itself fails first), one line
that names the option or setting and the reason, no traceback, nothing sent to the index, and never any
part of the password. The password of every run is the recognisable ``SECRET``; the upload and check URLs
point at a recording listener (another origin), so "nothing sent" and "no secret sent" are counted on the
wire, not inferred from the output.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from tests.e2e import test_hatch, test_pdm, test_poetry
from tests.integration.cli_support import run_cli
from tests.support.commands import SAFE_PUBLISH_CREDENTIALS, credential_args, creds, run_safe_publish
from tests.support.dists import DistFactory
from tests.support.isolation import keyring_backend
from tests.support.origin import RecordingServer, recording_server
from tests.support.servers import PypiServer

SECRET = "s3cr3t-TOKEN-xyz"
# Any recognisable part of it: a parser that cuts a URL at a '/' in the password shows a piece of it.
FRAGMENTS = (SECRET, "s3cr3t", "TOKEN-xyz")


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for fragment in FRAGMENTS:
            assert fragment not in text, f"{fragment!r} shown in:\n{text}"


def output_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 2, no traceback, exactly one line of output, holding every fragment; no secret anywhere."""
    shown = f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    lines = output_lines(result)
    assert len(lines) == 1, shown
    for fragment in fragments:
        assert fragment in lines[0], shown
    assert_no_secret(result.stdout, result.stderr)
    return lines[0]


def assert_nothing_sent(server: RecordingServer) -> None:
    assert server.seen == [], [(seen.method, seen.path) for seen in server.seen]


# ---- the four front ends, each driven its own way --------------------------------------------------


@dataclass
class Frontend:
    """One front end, set up in its own isolated folder; the methods say how it takes each setting."""

    name: str
    work: Path
    host_venv: Callable[[str], Path]
    labels: ClassVar[dict[str, str]] = {}  # where an upload URL is set ("option", "config"): how it is named

    def __post_init__(self) -> None:
        """Each front end sets up its project here."""

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        raise NotImplementedError

    def upload_url_args(self, url: str, source: str) -> list[str]:
        """Arguments (after writing any config file) that make ``url`` the upload URL, with credentials."""
        raise NotImplementedError

    def check_url_args(self, url: str, upload: str) -> list[str]:
        raise NotImplementedError


class Standalone(Frontend):
    labels: ClassVar[dict[str, str]] = {
        "option": "--repository-url",
        "config": "'repository' in [private] of",
    }

    def __post_init__(self) -> None:
        self.wheel = DistFactory(self.work / "dist").wheel("bad-settings-demo", "1.0")

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return run_safe_publish([*args, self.wheel], cwd=self.work, env=env, timeout=120)

    def upload_url_args(self, url: str, source: str) -> list[str]:
        if source == "option":
            return credential_args(SAFE_PUBLISH_CREDENTIALS, url, password=SECRET)
        (self.work / ".pypirc").write_text(
            f"[private]\nrepository = {url}\nusername = alice\npassword = {SECRET}\n"
        )
        return ["-r", "private"]

    def check_url_args(self, url: str, upload: str) -> list[str]:
        return [*credential_args(SAFE_PUBLISH_CREDENTIALS, upload, password=SECRET), "--check-url", url]


class Hatch(Frontend):
    labels: ClassVar[dict[str, str]] = {
        "option": "-o repo",
        "config": "'url' in [publish.index.repos.private]",
    }

    def __post_init__(self) -> None:
        self.project = test_hatch.new_project(self.work, "bad-settings-demo", self.host_venv)
        self.project.release()

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.project.publish(*args, env=env)

    def upload_url_args(self, url: str, source: str) -> list[str]:
        if source == "option":
            return test_hatch.target(url, auth=SECRET)
        self.project.config_file.write_text(
            f'[publish.index.repos.private]\nurl = {json.dumps(url)}\nuser = "alice"\nauth = "{SECRET}"\n'
        )
        return ["-o", "repo=private", "-n"]

    def check_url_args(self, url: str, upload: str) -> list[str]:
        return [*test_hatch.target(upload, auth=SECRET), "-o", f"check-url={url}"]


class Pdm(Frontend):
    labels: ClassVar[dict[str, str]] = {"option": "-r/--repository", "config": "repository.private.url"}

    def __post_init__(self) -> None:
        self.project = test_pdm.new_project(self.work, "bad-settings-demo", self.host_venv)
        self.project.dists.release(self.project.name, self.project.version)

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.project.publish(*args, env=env)

    def upload_url_args(self, url: str, source: str) -> list[str]:
        if source == "option":
            return test_pdm.creds(url, password=SECRET)
        Path(self.project.env["PDM_CONFIG_FILE"]).write_text(
            f'[repository.private]\nurl = {json.dumps(url)}\nusername = "alice"\npassword = "{SECRET}"\n'
        )
        return ["-r", "private"]

    def check_url_args(self, url: str, upload: str) -> list[str]:
        return [*test_pdm.creds(upload, password=SECRET), "--check-url", url]


class Poetry(Frontend):
    # poetry's -r takes names only: the URL comes from its variable or its config file.
    labels: ClassVar[dict[str, str]] = {
        "option": "POETRY_REPOSITORIES_PRIVATE_URL",
        "config": "repositories.private.url",
    }

    def __post_init__(self) -> None:
        self.project = test_poetry.new_project(self.work, "bad-settings-demo", self.host_venv)
        self.project.release()
        self.env: dict[str, str] = {}
        self.login = credential_args(test_poetry.POETRY_LOGIN, password=SECRET)

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return self.project.poetry("publish", *args, env={**self.env, **(env or {})})

    def upload_url_args(self, url: str, source: str) -> list[str]:
        if source == "option":
            self.env["POETRY_REPOSITORIES_PRIVATE_URL"] = url
        else:
            self.project.config_dir.mkdir(parents=True, exist_ok=True)
            (self.project.config_dir / "config.toml").write_text(
                f"[repositories.private]\nurl = {json.dumps(url)}\n"
            )
        return ["-r", "private", "--skip-existing-strict", *self.login]

    def check_url_args(self, url: str, upload: str) -> list[str]:
        self.env["POETRY_REPOSITORIES_PRIVATE_URL"] = upload
        return ["-r", "private", *self.login, "--check-url", url]


FRONTENDS: dict[str, type[Frontend]] = {
    "standalone": Standalone,
    "hatch": Hatch,
    "pdm": Pdm,
    "poetry": Poetry,
}


@pytest.fixture
def make_frontend(tmp_path: Path, host_venv: Callable[[str], Path]) -> Callable[[str], Frontend]:
    """Set up the named front end in ``tmp_path`` (its project, files to publish, isolated config)."""

    def make(name: str) -> Frontend:
        return FRONTENDS[name](name, tmp_path, host_venv)

    return make


@pytest.fixture
def other_origin() -> Iterator[RecordingServer]:
    with recording_server(status=200, body=b"") as server:
        yield server


# ---- point 6: malformed URLs wherever a URL is given ------------------------------------------------

# (id, URL with the secret in it, what the message says)
BAD_URLS = [
    ("broken-ipv6", f"http://alice:{SECRET}@[::1/", "broken IPv6 address"),
    ("no-scheme", f"alice:{SECRET}@pypi.example/legacy/", "no scheme"),
    ("unencoded-userinfo", "https://alice:s3cr3t/TOKEN-xyz@pypi.example/legacy/", "percent-encoded"),
    ("unknown-scheme", f"ftp://alice:{SECRET}@pypi.example/", "unsupported scheme 'ftp'"),
    ("port-not-a-number", f"https://__token__:{SECRET}/legacy/", "port"),
]
# Every URL in the host's config file; the two that broke parsers worst also as an option.
UPLOAD_CASES = [(url_id, url, expect, "config") for url_id, url, expect in BAD_URLS] + [
    (url_id, url, expect, "option")
    for url_id, url, expect in BAD_URLS
    if url_id in ("unencoded-userinfo", "port-not-a-number")
]


@pytest.mark.parametrize("frontend_name", list(FRONTENDS))
@pytest.mark.parametrize(
    ("url", "expect", "source"),
    [case[1:] for case in UPLOAD_CASES],
    ids=[f"{case[0]}-{case[3]}" for case in UPLOAD_CASES],
)
def test_malformed_upload_url_is_a_usage_error(
    frontend_name: str, url: str, expect: str, source: str, make_frontend: Callable[[str], Frontend]
) -> None:
    """A malformed upload URL in each host's option and config: exit 2, one line naming the setting and
    the reason, the URL shown without its user info, no part of the password."""
    frontend = make_frontend(frontend_name)
    args = frontend.upload_url_args(url, source)
    result = frontend.run(*args)
    assert_one_line(result, frontend.labels[source], expect)


@pytest.mark.parametrize("frontend_name", list(FRONTENDS))
@pytest.mark.parametrize(
    ("url", "expect"),
    [(url, expect) for url_id, url, expect in BAD_URLS if url_id in ("broken-ipv6", "unencoded-userinfo")],
    ids=["broken-ipv6", "unencoded-userinfo"],
)
def test_malformed_check_url_is_a_usage_error_before_any_request(
    frontend_name: str,
    url: str,
    expect: str,
    make_frontend: Callable[[str], Frontend],
    other_origin: RecordingServer,
) -> None:
    """``--check-url`` (hatch ``-o check-url=``) malformed: exit 2 naming it, and the (valid) upload URL
    never hears from the run."""
    frontend = make_frontend(frontend_name)
    result = frontend.run(*frontend.check_url_args(url, other_origin.url))
    option = "-o check-url" if frontend_name == "hatch" else "--check-url"
    assert_one_line(result, option, expect)
    assert_nothing_sent(other_origin)


# ---- point 6: numbers ---------------------------------------------------------------------------------

NUMBER_CASES = [
    ("standalone", ["--timeout", "0"], {}, "--timeout: must be more than 0"),
    ("standalone", ["--timeout", "-1"], {}, "--timeout: must be more than 0"),
    ("standalone", ["--timeout", "nan"], {}, "--timeout: must be a finite number"),
    ("standalone", ["--timeout", "inf"], {}, "--timeout: must be a finite number"),
    ("standalone", ["--timeout", "soon"], {}, "--timeout: not a number"),
    ("standalone", ["--jobs", "0"], {}, "--jobs: must be at least 1"),
    ("standalone", ["--jobs", "two"], {}, "--jobs: not a whole number"),
    ("standalone", ["--retries", "-1"], {}, "--retries: must be at least 0"),
    ("standalone", ["--retries", "1.5"], {}, "--retries: not a whole number"),
    ("hatch", ["-o", "jobs=0"], {}, "-o jobs: expected a whole number of at least 1"),
    ("hatch", ["-o", "jobs=-2"], {}, "-o jobs: expected a whole number of at least 1"),
    ("hatch", ["-o", "jobs=many"], {}, "-o jobs: expected a whole number of at least 1"),
    ("pdm", ["--jobs", "0"], {}, "--jobs: must be at least 1"),
    ("pdm", ["--jobs", "many"], {}, "--jobs: not a whole number"),
    ("pdm", [], {"PDM_REQUEST_TIMEOUT": "-5"}, "request_timeout (PDM configuration): must be more than 0"),
    ("poetry", [], {"POETRY_REQUESTS_TIMEOUT": "-5"}, "POETRY_REQUESTS_TIMEOUT: must be more than 0"),
    ("poetry", [], {"POETRY_REQUESTS_TIMEOUT": "0"}, "POETRY_REQUESTS_TIMEOUT: must be more than 0"),
]


@pytest.mark.parametrize(
    ("frontend_name", "args", "env", "expect"),
    NUMBER_CASES,
    ids=[f"{case[0]}-{'-'.join(case[1]) or next(iter(case[2]))}-{i}" for i, case in enumerate(NUMBER_CASES)],
)
def test_bad_numbers_are_usage_errors_before_any_request(
    frontend_name: str,
    *,
    args: list[str],
    env: dict[str, str],
    expect: str,
    make_frontend: Callable[[str], Frontend],
    other_origin: RecordingServer,
) -> None:
    """Zero, negative, non-finite and non-numeric timeouts, job and retry counts, in each front end's
    options and settings: exit 2, one line naming the option, nothing sent."""
    frontend = make_frontend(frontend_name)
    result = frontend.run(*frontend.upload_url_args(other_origin.url, "option"), *args, env=env)
    assert_one_line(result, expect)
    assert_nothing_sent(other_origin)


# ---- point 9: a report that cannot be written fails first ----------------------------------------------

REPORT_OPTION = {"standalone": "--report", "hatch": "-o report", "pdm": "--report"}


@pytest.mark.parametrize("frontend_name", list(REPORT_OPTION))
@pytest.mark.parametrize("where", ["a-folder", "under-a-file"])
def test_unwritable_report_fails_before_anything_is_checked(
    frontend_name: str,
    where: str,
    make_frontend: Callable[[str], Frontend],
    other_origin: RecordingServer,
    tmp_path: Path,
) -> None:
    """``--report`` naming a folder, or a file under a regular file: exit 2, one line naming the option
    and the path, before any request (the index never hears from the run) and before any prompt."""
    frontend = make_frontend(frontend_name)
    if where == "a-folder":
        target, expect = tmp_path / "reports", "is a folder"
        target.mkdir()
    else:
        (tmp_path / "file.txt").write_text("not a folder\n")
        target, expect = tmp_path / "file.txt" / "report.json", "file.txt is a file, not a folder"
    option = ["-o", f"report={target}"] if frontend_name == "hatch" else ["--report", str(target)]
    result = frontend.run(*frontend.upload_url_args(other_origin.url, "option"), *option)
    assert_one_line(result, REPORT_OPTION[frontend_name], expect)
    assert_nothing_sent(other_origin)


# ---- point 10: a user name without a password -----------------------------------------------------------


@pytest.mark.parametrize("frontend_name", list(FRONTENDS))
def test_user_name_without_password_says_the_password_is_missing(
    frontend_name: str, make_frontend: Callable[[str], Frontend], other_origin: RecordingServer
) -> None:
    """A user name and no password anywhere: the message says the password is missing (not a 401/403
    after an anonymous upload), and nothing is uploaded. hatch says so in its own words and exit code."""
    frontend = make_frontend(frontend_name)
    url = other_origin.url
    args = {
        "standalone": ["--repository-url", url, "-u", "alice"],
        "hatch": ["-o", f"repo={url}", "-o", "user=alice", "-n"],
        "pdm": ["-r", url, "-u", "alice"],
        "poetry": ["-r", "private", "--skip-existing-strict", "-u", "alice"],
    }[frontend_name]
    env = {"POETRY_REPOSITORIES_PRIVATE_URL": url} if frontend_name == "poetry" else {}
    result = frontend.run(*args, env=env)
    shown = f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    if frontend_name == "hatch":
        assert result.returncode == 1, shown  # hatch's own credential lookup, as `hatch publish` does
        assert "Missing required option: auth" in result.stderr, shown
    else:
        assert result.returncode == 2, shown
        errors = [line for line in output_lines(result) if "without a password" in line]
        assert len(errors) == 1, shown
        assert "'alice'" in errors[0], shown
    # No upload, no credentials sent anywhere.
    assert [seen.method for seen in other_origin.seen if seen.method != "GET"] == []
    assert other_origin.authorizations() == []


# ---- point 7: files that cannot be parsed, keyrings that fail: no secret quoted --------------------------

_RAISING_KEYRING = f"""
from keyring.backend import KeyringBackend


class RaisingKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service, username):
        if service == "python-poetry-check":  # poetry's probe: the backend looks usable
            return None
        raise RuntimeError("backend failed reading line: password = {SECRET}")

    def get_credential(self, service, username):
        raise RuntimeError("backend failed reading line: password = {SECRET}")

    def set_password(self, service, username, password):
        raise RuntimeError("backend failed")

    def delete_password(self, service, username):
        raise RuntimeError("backend failed")
"""


def raising_keyring(folder: Path) -> dict[str, str]:
    """The environment that makes keyring use a backend whose errors quote the secret."""
    return keyring_backend(folder, "raising_keyring", _RAISING_KEYRING, "RaisingKeyring")


def _pypirc_broken_line(frontend: Frontend, url: str) -> tuple[list[str], dict[str, str]]:
    home = frontend.work if frontend.name == "standalone" else frontend.project.home  # type: ignore[attr-defined]
    (home / ".pypirc").write_text(f"[private]\nrepository = {url}\nusername = alice\npassword {SECRET}\n")
    if frontend.name == "standalone":
        return ["-r", "private"], {}
    frontend.project.config_file.write_text(f'[publish.index.repos.private]\nurl = "{url}"\n')  # type: ignore[attr-defined]
    return ["-o", "repo=private", "-n"], {}


def _pypirc_no_section(frontend: Frontend, url: str) -> tuple[list[str], dict[str, str]]:
    home = frontend.work if frontend.name == "standalone" else frontend.project.home  # type: ignore[attr-defined]
    (home / ".pypirc").write_text(f"password = {SECRET}\n[private]\nrepository = {url}\n")
    if frontend.name == "standalone":
        return ["-r", "private"], {}
    frontend.project.config_file.write_text(f'[publish.index.repos.private]\nurl = "{url}"\n')  # type: ignore[attr-defined]
    return ["-o", "repo=private", "-n"], {}


def _pypirc_percent(frontend: Frontend, url: str) -> tuple[list[str], dict[str, str]]:
    # hatch reads ~/.pypirc with interpolation: a '%' in a password is an error that quotes the value.
    (frontend.project.home / ".pypirc").write_text(  # type: ignore[attr-defined]
        f"[private]\nrepository = {url}\nusername = alice\npassword = 50%{SECRET}\n"
    )
    frontend.project.config_file.write_text(f'[publish.index.repos.private]\nurl = "{url}"\n')  # type: ignore[attr-defined]
    return ["-o", "repo=private", "-n"], {}


def _keyring_raises(frontend: Frontend, url: str) -> tuple[list[str], dict[str, str]]:
    env = raising_keyring(frontend.work / "keyring-backend")
    if frontend.name == "standalone":
        return ["--repository-url", url, "-u", "alice"], env
    if frontend.name == "hatch":
        return ["-o", f"repo={url}", "-o", "user=alice", "-n"], env
    env.update(POETRY_KEYRING_ENABLED="true", POETRY_REPOSITORIES_PRIVATE_URL=url)
    env["POETRY_HTTP_BASIC_PRIVATE_USERNAME"] = "alice"
    return ["-r", "private", "--skip-existing-strict"], env


def _host_config_toml(frontend: Frontend, url: str) -> tuple[list[str], dict[str, str]]:
    # A TOML file the host itself reads at start-up, broken on the line with the password.
    if frontend.name == "hatch":
        frontend.project.config_file.write_text(  # type: ignore[attr-defined]
            f'[publish.index.repos.private]\nurl = "{url}"\nauth = {SECRET}\n'
        )
        return ["-o", "repo=private", "-o", "user=alice", "-n"], {}
    if frontend.name == "pdm":
        Path(frontend.project.env["PDM_CONFIG_FILE"]).write_text(  # type: ignore[attr-defined]
            f'[repository.private]\nurl = "{url}"\nusername = "alice"\npassword = {SECRET}\n'
        )
        return ["-r", "private"], {}
    config_dir = frontend.project.config_dir  # type: ignore[attr-defined]
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "auth.toml").write_text(f'[http-basic.private]\nusername = "alice"\npassword = {SECRET}\n')
    return ["-r", "private", "--skip-existing-strict"], {"POETRY_REPOSITORIES_PRIVATE_URL": url}


@dataclass(frozen=True)
class SecretPath:
    id: str
    frontend: str
    prepare: Callable[[Frontend, str], tuple[list[str], dict[str, str]]]
    exit_code: int | None  # None: the host itself fails at start-up, with its own code
    expect: str


SECRET_PATHS = [
    SecretPath("pypirc-broken-line", "standalone", _pypirc_broken_line, 2, "cannot parse line 4"),
    SecretPath("pypirc-no-section", "standalone", _pypirc_no_section, 2, "no [section] header"),
    SecretPath("pypirc-broken-line", "hatch", _pypirc_broken_line, 2, "cannot parse line 4"),
    SecretPath("pypirc-no-section", "hatch", _pypirc_no_section, 2, "no [section] header"),
    SecretPath("pypirc-percent", "hatch", _pypirc_percent, 2, "'password' in [private] has a '%'"),
    SecretPath("keyring-raises", "standalone", _keyring_raises, 2, "without a password"),
    SecretPath("keyring-raises", "hatch", _keyring_raises, 1, "Missing required option: auth"),
    SecretPath("keyring-raises", "poetry", _keyring_raises, 1, "keyring"),
    SecretPath("config-toml", "hatch", _host_config_toml, None, ""),
    SecretPath("config-toml", "pdm", _host_config_toml, None, ""),
    SecretPath("auth-toml", "poetry", _host_config_toml, None, "auth.toml"),
]


@pytest.mark.parametrize("case", SECRET_PATHS, ids=[f"{case.frontend}-{case.id}" for case in SECRET_PATHS])
def test_unreadable_config_and_failing_keyring_never_quote_the_secret(
    case: SecretPath, make_frontend: Callable[[str], Frontend], other_origin: RecordingServer
) -> None:
    """Config files broken on the line that holds the password, keyring backends whose errors quote it:
    the run stops (exit 2 where publish-plugins reads the file, the host's own code where the host does)
    and no part of the secret is printed or sent anywhere."""
    frontend = make_frontend(case.frontend)
    args, env = case.prepare(frontend, other_origin.url)
    result = frontend.run(*args, env=env)
    shown = f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.returncode != 0, shown
    if case.exit_code is not None:
        assert result.returncode == case.exit_code, shown
        assert "Traceback" not in result.stdout + result.stderr, shown
    assert case.expect in result.stdout + result.stderr, shown
    assert_no_secret(result.stdout, result.stderr)
    assert other_origin.seen == [] or all(
        SECRET not in seen.path and all(SECRET not in value for value in seen.headers.values())
        for seen in other_origin.seen
    )
    assert [seen.method for seen in other_origin.seen if seen.method != "GET"] == []


# ---- point 10: a conflict in one project of a monorepo names every file it held back ----------------------


def test_monorepo_conflict_lists_every_held_back_file(
    pypiserver: PypiServer, dists: DistFactory, unique_name: str, tmp_path: Path
) -> None:
    """Two projects in one run, one of them with a conflicting wheel: nothing is uploaded, and every new
    file of both projects is named as held back, in the output, the error line and the report."""
    first, second = f"{unique_name}-a", f"{unique_name}-b"
    login = creds(pypiserver)
    published = dists.wheel(first, "1.0")
    assert run_cli([*login, str(published)], cwd=tmp_path).returncode == 0
    changed = DistFactory(tmp_path / "changed").wheel(first, "1.0", payload=b"changed\n")
    first_sdist = DistFactory(tmp_path / "changed").sdist(first, "1.0")
    second_files = DistFactory(tmp_path / "second").release(second, "1.0")
    held_back = [first_sdist, *second_files]
    report = tmp_path / "report.json"

    result = run_cli([*login, "--report", str(report), str(changed), *map(str, held_back)], cwd=tmp_path)

    assert result.returncode == 3, result.stderr
    for path in held_back:
        lines = [line for line in result.stderr.splitlines() if line.startswith(f"{path.name}: held back")]
        assert len(lines) == 1, result.stderr
        assert changed.name in lines[0]
    error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
    assert f"{len(held_back)} new file(s) held back" in error
    assert all(path.name in error for path in held_back)
    records = {entry["filename"]: entry for entry in json.loads(report.read_text())["files"]}
    assert records[changed.name]["action"] == "conflict"
    for path in held_back:
        assert records[path.name]["action"] == "failed"
        assert records[path.name]["reason"].startswith("held back: not uploaded because")
    stored = pypiserver.stored_files()
    assert all(path.name not in stored for path in held_back)
    assert stored[published.name] == published.read_bytes()
