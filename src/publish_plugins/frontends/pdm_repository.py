"""Where ``pdm safe-publish`` uploads and as whom: ``pdm publish``'s lookup, through PDM's configuration API.

The repository, as ``pdm publish``'s ``Command.get_repository`` finds it: ``-r`` (or ``PDM_PUBLISH_REPO``,
default ``pypi``) is a ``[repository.NAME]`` table of the project's ``pdm.toml`` merged over the global
config's (PDM 2.13 has global ones only), or a URL, which takes the settings of the table with that
``url``; ``pypi`` and ``testpypi`` are built in. ``-u``, ``-P``, ``--ca-certs``, ``--no-verify-ssl`` and
their ``PDM_PUBLISH_*`` variables win over the table; the password may come from PDM's keyring entry.

The credentials, in the order of PDM's ``Repository``: user name and password; a password alone (an API
token); the URL's user info; the keyring, for the URL; trusted publishing; a prompt on a terminal, with
PDM's offer to save what was typed to the keyring. Trusted publishing is the core's, as in every front end
(``--trusted-publishing``): where PDM would ask PyPI for a token (no credentials found, in a CI that has an
OIDC identity; or ``always``, which reads no configured credentials), the credentials stay empty and the
core mints the token after the index check, when there is something to upload. The upload is the core's
too: PDM's HTTP session (which would send the credentials with every request) is never used for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ._shared import Endpoint, Setting, endpoint, host_timeout

if TYPE_CHECKING:
    import argparse

    from pdm._types import RepositoryConfig
    from pdm.project import Project

__all__ = ["Target", "resolve_target"]


@dataclass
class Target:
    """What PDM's configuration gives: where to upload and how, the credentials, the name for hints."""

    endpoint: Endpoint
    name: str  # the [repository.NAME] table, or "NAME" for a URL without one
    username: str | None
    password: str | None = field(repr=False)
    user_from: str | None  # where the user name came from, for the missing-password message
    to_save: tuple[str, str, str] | None = field(default=None, repr=False)  # (host, user, password)

    @property
    def password_how(self) -> str:
        """How to give the password, for the message about a user name without one."""
        return (
            "pass -P PASSWORD, set PDM_PUBLISH_PASSWORD, or run "
            f"`pdm config repository.{self.name}.password` (an API token goes with the user name __token__)"
        )

    def save_prompted_credentials(self, project: Project) -> None:
        """Save credentials typed at the prompt to the keyring, if the user said so: once an upload proved
        them, as ``pdm publish`` does."""
        if self.to_save is not None:
            from pdm.models.auth import keyring

            project.core.ui.echo("Saving credentials to keyring")
            keyring.save_auth_info(*self.to_save)
            self.to_save = None


def resolve_target(project: Project, options: argparse.Namespace) -> Target:
    """The repository and credentials for the command's options, every value checked under its name."""
    from publish_plugins._urls import validate_url

    name, name_from = _given(options.repository, "-r/--repository", "PDM_PUBLISH_REPO")
    if name is not None and any(char in name for char in "@/:"):
        # A URL (or one missing its scheme, which PDM takes for a name and would quote) is checked first.
        validate_url(name, what=name_from)
    config = _repository_config(project, name or "pypi")
    ca_certs, ca_from = _given(options.ca_certs, "--ca-certs", "PDM_PUBLISH_CA_CERTS")
    configured = config.name != "__unknown__"  # a [repository.NAME] table (or a built-in one)
    setting = f"repository.{config.name}"
    username, password, user_from = _credentials(config, options, setting)
    if ca_certs is not None:
        config.ca_certs = ca_certs
    elif config.ca_certs:
        ca_from = f"{setting}.ca_certs (PDM configuration)"
    else:  # PDM's session falls back to these variables for a CA bundle (pdm.models.session); so does this
        ca_from = "REQUESTS_CA_BUNDLE" if os.getenv("REQUESTS_CA_BUNDLE") else "CURL_CA_BUNDLE"
        config.ca_certs = os.getenv(ca_from) or None
    if options.verify_ssl is False:
        config.verify_ssl = False
    client_cert = getattr(config, "client_cert", None)  # not in PDM 2.13
    checked = endpoint(
        Setting(config.url, f"{setting}.url (PDM configuration)" if configured else name_from),
        Setting(options.check_url, "--check-url"),
        ca_cert=Setting(config.ca_certs, ca_from),
        verify=config.verify_ssl is not False,
        # As PDM's session: the key only with a certificate (which may hold the key itself).
        client_cert=Setting(client_cert, f"{setting}.client_cert (PDM configuration)"),
        client_key=Setting(
            getattr(config, "client_key", None) if client_cert else None,
            f"{setting}.client_key (PDM configuration)",
        ),
        # PDM's request_timeout (15 s by default) is sized for index pages; an index may take longer to
        # answer after a large upload, so the core's default (60 s) is the floor.
        timeout=host_timeout(
            project.config["request_timeout"], "request_timeout (PDM configuration)", at_least_default=True
        ),
    )
    target = Target(checked, config.name if configured else "NAME", username, password, user_from)
    _find_credentials(project, target, trusted=options.trusted_publishing, dry_run=bool(options.dry_run))
    return target


def _credentials(
    config: RepositoryConfig, options: argparse.Namespace, setting: str
) -> tuple[str | None, str | None, str | None]:
    """User name, password and where the name came from: the options and ``PDM_PUBLISH_*`` over the
    repository's table and PDM's keyring entry for it (``pdm-repository-NAME``), as ``pdm publish`` merges
    them. With ``--trusted-publishing always`` the minted token is the only credential: the table and the
    keyring are not read, and what was given is returned to be refused, naming where it came from."""
    username, user_from = _given(options.username, "-u/--username", "PDM_PUBLISH_USERNAME")
    password, _ = _given(options.password, "-P/--password", "PDM_PUBLISH_PASSWORD")
    if options.trusted_publishing == "always":
        return username, password, user_from
    if username is not None:
        config.username = username
    elif config.username:
        user_from = f"{setting}.username (PDM configuration)"
    if password is not None:
        config.password = password
    if hasattr(config, "populate_keyring_auth"):  # not in PDM 2.13, which reads it in `config.password`
        config.populate_keyring_auth()
    return config.username, config.password, user_from


def _repository_config(project: Project, name: str) -> RepositoryConfig:
    """``[repository.NAME]`` (or the one whose url is NAME): the project's, over the global config's."""
    from pdm.exceptions import NoConfigError

    from publish_plugins.errors import UsageError

    try:
        config = project.project_config.get_repository_config(name, "repository")
    except NoConfigError:  # PDM 2.13: repositories are global settings only
        config = None
    configured = project.global_config.get_repository_config(name, "repository")
    if config is None:
        config = configured
    elif configured is not None:
        config.passive_update(configured)
    if config is None:
        raise UsageError(
            f"Missing repository config of {name}: pass a URL to -r, or configure it with "
            f"`pdm config repository.{name}.url URL`"
        )
    return config


def _find_credentials(project: Project, target: Target, *, trusted: str, dry_run: bool) -> None:
    """The steps of PDM's ``Repository._ensure_credentials`` after the configured user and password.

    Where PDM would ask PyPI for a trusted-publishing token (``trusted``: ``automatic`` in a CI with an
    OIDC identity, or ``always``), the credentials stay empty: the core mints the token when it has
    something to upload. A dry run takes what is stored and otherwise reads the index anonymously: no
    token minted, no prompt. A user name left without a password is refused by ``Endpoint.repository``,
    naming where it came from, as is any credential given with ``always``.
    """
    if trusted == "always":
        return  # no keyring, no prompt; given credentials are refused as given (not as user __token__)
    parts = urlsplit(target.endpoint.upload_url)
    if target.password:
        target.username = target.username or "__token__"
    elif parts.username is not None and parts.password is not None:
        target.username = None  # the core takes user and password from the URL
    else:
        _stored_or_asked(project, target, trusted=trusted, dry_run=dry_run)


def _stored_or_asked(project: Project, target: Target, *, trusted: str, dry_run: bool) -> None:
    """PDM's keyring entry for the URL; then, if there is none, what this run does without credentials."""
    from pdm import termui
    from pdm.models.auth import keyring

    from publish_plugins._ci import detected_ci
    from publish_plugins.errors import UsageError

    found = keyring.get_auth_info(target.endpoint.upload_url, target.username) if keyring.enabled else None
    if found is not None:
        target.username, target.password = found
    elif dry_run:
        # Anonymous: a user name without a password would make every read fail where anonymous ones work.
        project.core.ui.echo(
            "dry run: no stored credentials, reading the index anonymously",
            err=True,
            verbosity=termui.Verbosity.DETAIL,
        )
        target.username = None
    elif trusted == "automatic" and detected_ci() is not None:
        pass  # PDM's next step, the OIDC exchange, is the core's: no prompt, no "required" error
    elif termui.is_interactive():
        _prompt(target)
    elif not target.username:  # a user name alone: the command says that the password is missing, and where
        raise UsageError(
            "Username and password are required: pass -u/-P, set PDM_PUBLISH_USERNAME/PDM_PUBLISH_PASSWORD, "
            "or configure `pdm config repository.NAME.username` / `.password`"
        )


def _prompt(target: Target) -> None:
    """PDM's prompt (``Repository._prompt_for_credentials``): the keyring for the host first, then ask, and
    offer to save what was typed."""
    from pdm import termui
    from pdm.models.auth import keyring

    netloc = urlsplit(target.endpoint.upload_url).netloc
    found = keyring.get_auth_info(netloc, target.username) if keyring.enabled else None
    if found is not None:
        target.username, target.password = found
        return
    target.username = target.username or termui.ask("[primary]Username")
    target.password = termui.ask("[primary]Password", password=True)
    if keyring.enabled and termui.confirm("Save credentials to keyring?"):
        target.to_save = (netloc, target.username, target.password)


def _given(value: str | None, option: str, variable: str) -> tuple[str | None, str]:
    """An option's value, else its variable's, as ``pdm publish`` reads them, and which one it was."""
    if value:
        return value, option
    return os.getenv(variable) or None, variable
