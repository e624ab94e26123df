"""Where the extended ``poetry publish`` uploads, as ``poetry.publishing.Publisher.publish`` resolves it.

Repository URL (``repositories.<name>.url``, PyPI by default), API token or http-basic credentials through
poetry's ``Authenticator`` (config, environment, keyring), certificates (``--cert``, ``--client-cert``,
``certificates.<name>.*``), and poetry's network timeout; handed to the core as plain values.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cleo.io.io import IO
    from poetry.config.config import Config

    from publish_plugins.settings import Repository

__all__ = ["EXIT_FAILURE", "EXIT_USAGE", "PYPI_UPLOAD_URL", "CommandProblem", "resolve_repository"]

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
    from poetry.utils.password_manager import PoetryKeyringError

    from publish_plugins import Repository

    if not name:
        name, url = "pypi", PYPI_UPLOAD_URL
    else:
        url = _config_value(config, "repositories", name, "url")
        if not url:
            raise CommandProblem(
                f"--repository {name}: no such repository; define it with "
                f"`poetry config repositories.{name} URL` or POETRY_REPOSITORIES_<NAME>_URL"
            )
        if url.endswith("/legacy"):
            url += "/"

    # No HTTP cache: nothing is downloaded through poetry, it only resolves settings.
    authenticator = Authenticator(config, io, disable_cache=True)
    try:
        if not (username and password):
            token = authenticator.get_pypi_token(name)
            if token:
                username, password = "__token__", token
            else:
                auth = authenticator.get_http_auth(name)
                if auth:
                    username, password = auth.username, auth.password
        certificates = authenticator.get_certs_for_repository(name)
    except PoetryKeyringError as exc:
        raise CommandProblem(f"keyring: {exc}", EXIT_FAILURE) from None

    ca_cert = _existing_file(cert, "--cert") or _existing_file(certificates.cert, f"certificates.{name}.cert")
    client_cert = _existing_file(client_cert, "--client-cert") or _existing_file(
        certificates.client_cert, f"certificates.{name}.client-cert"
    )
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
    display = "PyPI" if name == "pypi" else name
    return display, repository


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
    from publish_plugins.settings import DEFAULT_TIMEOUT

    value = os.environ.get("POETRY_REQUESTS_TIMEOUT")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        return DEFAULT_TIMEOUT
