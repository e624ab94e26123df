"""Where the extended ``poetry publish`` uploads, as ``poetry.publishing.Publisher.publish`` resolves it.

Repository URL (``repositories.<name>.url``, PyPI by default), API token or http-basic credentials through
poetry's ``Authenticator`` (config, environment, keyring), certificates (``--cert``, ``--client-cert``,
``certificates.<name>.*``), and poetry's network timeout; handed to the core as plain values.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cleo.io.io import IO
    from poetry.config.config import Config
    from poetry.utils.authenticator import Authenticator, RepositoryCertificateConfig

    from publish_plugins.settings import Repository

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "PYPI_UPLOAD_URL",
    "CommandProblem",
    "check_repository_url",
    "resolve_repository",
]

PYPI_UPLOAD_URL = "https://upload.pypi.org/legacy/"
# The core's exit codes, repeated: poetry loads the command module on every run, the core only on ours.
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandProblem(Exception):
    """A problem found before the core runs, reported in one line with its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def resolve_repository(
    config: Config,
    io: IO,
    *,
    name: str | None,
    username: str | None,
    password: str | None,
    cert: str | None,
    client_cert: str | None,
    check_url: str | None,
) -> tuple[str, Repository]:
    """The repository's display name and the core's Repository for ``--repository NAME`` (poetry 1.2+)."""
    from poetry.utils.authenticator import Authenticator

    from publish_plugins import PublishError, Repository
    from publish_plugins.settings import missing_password_message

    name, url = _repository_url(config, name)
    if check_url is not None:
        _check_url(check_url.strip(), "--check-url")
    # No HTTP cache: nothing is downloaded through poetry, it only resolves settings.
    authenticator = Authenticator(config, io, disable_cache=True)
    given_user = username
    username, password, certificates = _credentials(authenticator, name, username, password)
    if not password and (username or given_user):
        # poetry takes -u only together with -p; alone, the configured credentials replace it, and with
        # none configured poetry's own publish would go anonymous. Either way a password is missing.
        where = f"http-basic.{name}.username" if username and username != given_user else "-u/--username"
        username = username or given_user
        how = (
            f"pass -p PASSWORD, or run `poetry config http-basic.{name} {username}` (it asks for the "
            f"password); an API token goes in `poetry config pypi-token.{name} TOKEN`"
        )
        raise CommandProblem(missing_password_message(str(username), how, where=where))

    ca_cert = _existing_file(cert, "--cert") or _existing_file(certificates.cert, f"certificates.{name}.cert")
    client_cert = _existing_file(client_cert, "--client-cert") or _existing_file(
        certificates.client_cert, f"certificates.{name}.client-cert"
    )
    try:  # the core checks the values once more; its UsageError becomes the command's one line
        repository = Repository(
            upload_url=url,
            check_url=check_url.strip() if check_url else None,
            username=username or None,
            password=password or None,
            ca_cert=ca_cert,
            # As in poetry: a CA file (--cert or certificates.NAME.cert) wins over `verify = false`.
            verify=True if ca_cert else certificates.verify,
            client_cert=client_cert,
            timeout=_timeout(),
        )
    except PublishError as exc:
        raise CommandProblem(str(exc), exc.exit_code) from None
    display = "PyPI" if name == "pypi" else name
    return display, repository


def check_repository_url(name: str | None) -> None:
    """The named repository's URL, checked before poetry loads the project.

    Loading the project parses every configured repository URL, and a broken one ends the command with
    poetry's own bare parser error ("Invalid IPv6 URL"): the one named is checked first, the core's way.
    """
    if not name or any(char in name for char in "@/:"):
        return  # resolve_repository says what is wrong with such a name
    from poetry.config.config import Config

    url = _config_value(Config.create(), "repositories", name, "url")
    if isinstance(url, str) and url:
        _check_url(url, _url_setting(name))


def _repository_url(config: Config, name: str | None) -> tuple[str, str]:
    """(name, upload URL) as poetry's Publisher finds them: PyPI, else ``repositories.NAME.url``."""
    if not name:
        return "pypi", PYPI_UPLOAD_URL
    if any(char in name for char in "@/:"):  # a URL where poetry takes a name: never quoted as is
        from publish_plugins._url_rules import redact_text

        raise CommandProblem(
            f"--repository takes the name of a repository (`poetry config repositories.NAME URL`), "
            f"not a URL (got {redact_text(name)})"
        )
    url = _config_value(config, "repositories", name, "url")
    if not url:
        raise CommandProblem(
            f"--repository {name}: no such repository; define it with "
            f"`poetry config repositories.{name} URL` or POETRY_REPOSITORIES_<NAME>_URL"
        )
    _check_url(url, _url_setting(name))
    return name, url + "/" if url.endswith("/legacy") else url


def _check_url(url: object, what: str) -> None:
    """The core's URL rule, under the setting's name; the message never quotes a password."""
    from publish_plugins._url_rules import validate_url
    from publish_plugins.errors import UsageError

    try:
        validate_url(url, what=what)
    except UsageError as exc:
        raise CommandProblem(str(exc)) from None


def _credentials(
    authenticator: Authenticator, name: str, username: str | None, password: str | None
) -> tuple[str | None, str | None, RepositoryCertificateConfig]:
    """Token or http-basic credentials and certificates, as ``Publisher.publish`` looks them up."""
    from poetry.utils.password_manager import PoetryKeyringError

    try:
        if not (username and password):
            token = authenticator.get_pypi_token(name)
            if token:
                username, password = "__token__", token
            else:
                auth = authenticator.get_http_auth(name)
                if auth:
                    username, password = auth.username, auth.password
        return username, password, authenticator.get_certs_for_repository(name)
    except PoetryKeyringError as exc:
        # poetry's own texts are safe; a backend's message (kept in the context) may quote a secret.
        cause = exc.__context__
        shown = str(exc) if cause is None else f"the keyring backend failed ({type(cause).__name__})"
        raise CommandProblem(f"keyring: {shown}", EXIT_FAILURE) from None
    except Exception as exc:  # a keyring backend's own error type: its message may hold a secret
        raise CommandProblem(
            f"reading the credentials of {name} failed ({type(exc).__name__}; the message is not shown, "
            "as it may quote a secret)",
            EXIT_FAILURE,
        ) from None


# Any: a config value is whatever TOML or the environment gave (poetry's Config.get returns Any too).
def _config_value(config: Config, *keys: str) -> Any:
    """``config.get`` by key parts: a list in poetry 2 (names may contain dots), a dotted string in 1.x."""
    try:
        return config.get(list(keys))
    except AttributeError:  # poetry 1.x calls setting_name.split(".")
        return config.get(".".join(keys))


def _existing_file(path: str | Path | None, source: str) -> str | None:
    """A certificate file from an option or poetry's config; name where it came from if it is missing."""
    if not path:
        return None
    if not Path(path).is_file():
        raise CommandProblem(f"{source}: {path}: no such file")
    return str(path)


def _timeout() -> float:
    # poetry's own network timeout setting; without it the core's default (longer than poetry's 15 s,
    # which a large upload's final answer can exceed).
    from publish_plugins.settings import DEFAULT_TIMEOUT, parse_seconds

    value = os.environ.get("POETRY_REQUESTS_TIMEOUT")
    if not value:
        return DEFAULT_TIMEOUT
    try:
        return parse_seconds(value)
    except ValueError as exc:
        raise CommandProblem(f"POETRY_REQUESTS_TIMEOUT: {exc}, got {value!r}") from None


def _url_setting(name: str) -> str:
    """Where poetry took the repository's URL from: its variable when set, else the config key."""
    variable = "POETRY_REPOSITORIES_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_URL"
    return variable if os.environ.get(variable) else f"repositories.{name}.url (poetry config)"
