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

from ._shared import Setting, endpoint, host_timeout

if TYPE_CHECKING:
    from cleo.io.io import IO
    from poetry.config.config import Config
    from poetry.utils.authenticator import Authenticator

    from publish_plugins.options import Repository

__all__ = ["PYPI_UPLOAD_URL", "check_repository_url", "resolve_repository"]

PYPI_UPLOAD_URL = "https://upload.pypi.org/legacy/"


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
    trusted: Setting | None = None,
) -> tuple[str, Repository]:
    """The repository's display name and the core's Repository for ``--repository NAME`` (poetry 1.8+).

    ``trusted``: ``--trusted-publishing`` as given. With ``always`` the minted token is the only credential:
    poetry's configured ones (``pypi-token``, ``http-basic``, their POETRY_* variables, keyring) are not
    read, and ``-u``/``-p`` given too are refused (exit 2).
    """
    from poetry.utils.authenticator import Authenticator

    from ._shared import trusted_publishing

    name, url = _repository_url(config, name)
    # No HTTP cache: nothing is downloaded through poetry, it only resolves settings.
    authenticator = Authenticator(config, io, disable_cache=True)
    certificates = authenticator.get_certs_for_repository(name)
    # --cert and --client-cert win over certificates.NAME.*; a CA file wins over `verify = false`.
    ca_cert = (
        Setting(cert, "--cert") if cert else Setting(_path(certificates.cert), f"certificates.{name}.cert")
    )
    checked = endpoint(
        Setting(url, _url_setting(name)),
        Setting(check_url.strip() if check_url else None, "--check-url"),
        ca_cert=ca_cert,
        verify=bool(ca_cert.value) or certificates.verify,
        client_cert=Setting(client_cert, "--client-cert")
        if client_cert
        else Setting(_path(certificates.client_cert), f"certificates.{name}.client-cert"),
        timeout=host_timeout(os.environ.get("POETRY_REQUESTS_TIMEOUT"), "POETRY_REQUESTS_TIMEOUT"),
    )
    if trusted_publishing(trusted) == "always":
        user_from = "-u/--username" if username else "-p/--password"
        return _display_name(name), checked.repository(
            username, password, user_from=user_from, trusted=trusted
        )
    found_user, password = _credentials(authenticator, name, username, password)
    # poetry takes -u only together with -p; alone, the configured credentials replace it, and with none
    # configured poetry's own publish would go anonymous. Either way the password is missing: said here.
    user_from = f"http-basic.{name}.username" if found_user and found_user != username else "-u/--username"
    username = found_user or (username if not password else None)
    how = (
        f"pass -p PASSWORD, or run `poetry config http-basic.{name} {username}` (it asks for the password); "
        f"an API token goes in `poetry config pypi-token.{name} TOKEN`"
    )
    repository = checked.repository(
        username, password, user_from=user_from, password_how=how, trusted=trusted
    )
    return _display_name(name), repository


def _display_name(name: str) -> str:
    return "PyPI" if name == "pypi" else name


def check_repository_url(name: str | None) -> None:
    """The named repository's URL, checked before poetry loads the project.

    Loading the project parses every configured repository URL, and a broken one ends the command with
    poetry's own bare parser error ("Invalid IPv6 URL"): the one named is checked first, the core's way.
    """
    if not name or any(char in name for char in "@/:"):
        return  # resolve_repository says what is wrong with such a name
    from poetry.config.config import Config

    from publish_plugins._urls import validate_url

    url = _config_value(Config.create(), "repositories", name, "url")
    if isinstance(url, str) and url:
        validate_url(url, what=_url_setting(name))


def _repository_url(config: Config, name: str | None) -> tuple[str, str]:
    """(name, upload URL) as poetry's Publisher finds them: PyPI, else ``repositories.NAME.url``."""
    if not name:
        return "pypi", PYPI_UPLOAD_URL
    from publish_plugins._urls import redact_text, validate_url
    from publish_plugins.errors import UsageError

    if any(char in name for char in "@/:"):  # a URL where poetry takes a name: never quoted as is
        raise UsageError(
            f"--repository takes the name of a repository (`poetry config repositories.NAME URL`), "
            f"not a URL (got {redact_text(name)})"
        )
    url = _config_value(config, "repositories", name, "url")
    if not url:
        raise UsageError(
            f"--repository {name}: no such repository; define it with "
            f"`poetry config repositories.{name} URL` or POETRY_REPOSITORIES_<NAME>_URL"
        )
    validate_url(url, what=_url_setting(name))
    return name, url + "/" if url.endswith("/legacy") else url


def _credentials(
    authenticator: Authenticator, name: str, username: str | None, password: str | None
) -> tuple[str | None, str | None]:
    """Token or http-basic credentials, as ``Publisher.publish`` looks them up."""
    from poetry.utils.password_manager import PoetryKeyringError

    from publish_plugins.errors import PublishError

    try:
        if not (username and password):
            token = authenticator.get_pypi_token(name)
            if token:
                return "__token__", token
            auth = authenticator.get_http_auth(name)
            if auth:
                return auth.username, auth.password
        return username, password
    except PoetryKeyringError as exc:
        # poetry's own texts are safe; a backend's message (kept in the context) may quote a secret.
        cause = exc.__context__
        shown = str(exc) if cause is None else f"the keyring backend failed ({type(cause).__name__})"
        raise PublishError(f"keyring: {shown}") from None
    except Exception as exc:  # a keyring backend's own error type: its message may hold a secret
        raise PublishError(
            f"reading the credentials of {name} failed ({type(exc).__name__}; the message is not shown, "
            "as it may quote a secret)"
        ) from None


# Any: a config value is whatever TOML or the environment gave (poetry's Config.get returns Any too).
def _config_value(config: Config, *keys: str) -> Any:
    """``config.get`` by key parts: a list in poetry 2 (names may contain dots), a dotted string in 1.x."""
    try:
        return config.get(list(keys))
    except AttributeError:  # poetry 1.x calls setting_name.split(".")
        return config.get(".".join(keys))


def _path(path: Path | None) -> str | None:
    return str(path) if path else None


def _url_setting(name: str) -> str:
    """Where poetry took the repository's URL from: its variable when set, else the config key."""
    variable = "POETRY_REPOSITORIES_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_URL"
    return variable if os.environ.get(variable) else f"repositories.{name}.url (poetry config)"
