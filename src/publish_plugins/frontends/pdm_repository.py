"""Where ``pdm safe-publish`` uploads and as whom: ``pdm publish``'s own repository and credential lookup.

PDM's ``Command.get_repository`` reads ``-r``/``-u``/``-P``/``--ca-certs``/``--no-verify-ssl``,
``PDM_PUBLISH_*``, the ``[repository.NAME]`` tables of the project's ``pdm.toml`` and the global config,
PDM's keyring entries and the built-in ``pypi``/``testpypi``, in the order of the installed PDM (it changed
between 2.13 and 2.29), then builds PDM's ``Repository``, which finds the credentials (URL user info,
keyring by URL, PyPI trusted publishing, prompt). The result goes to the core as plain values.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import argparse

    from pdm._types import RepositoryConfig
    from pdm.cli.commands.publish.repository import Repository as PdmRepository
    from pdm.project import Project

    from publish_plugins.settings import Repository

__all__ = ["Target", "core_repository", "resolve_target"]


class _NoCredentials(Exception):
    """A dry run found no stored credentials: it reads the index anonymously instead of asking."""


@dataclass
class Target:
    """What PDM resolved: the repository config (URL, TLS) and the credentials for it."""

    config: RepositoryConfig
    username: str | None
    password: str | None = field(repr=False)
    pdm_repository: PdmRepository | None  # saves prompted credentials after a successful upload

    def save_prompted_credentials(self) -> None:
        # PDM offers to save prompted credentials to the keyring and does it after the first successful
        # upload (Repository.upload); the upload here is the core's, so this does that step.
        pending = getattr(self.pdm_repository, "_credentials_to_save", None)
        if self.pdm_repository is not None and pending is not None:
            self.pdm_repository._save_credentials(*pending)
            self.pdm_repository._credentials_to_save = None


@dataclass
class _Found:
    """What PDM's ``get_repository`` built, recorded on the way."""

    config: RepositoryConfig | None = None
    repository: PdmRepository | None = None
    credentials: tuple[str | None, str | None] | None = None


def resolve_target(project: Project, options: argparse.Namespace) -> Target:
    """Run ``pdm publish``'s own ``Command.get_repository`` and keep what it resolved.

    For that call only, PDM's ``Repository`` is a subclass recording the config and the credentials. The
    upload session PDM builds is never used for publishing: it would send the credentials with every
    request, where the core's client sends them to the upload origin only.
    """
    import ssl

    import pdm.cli.commands.publish as publish_command
    import pdm.cli.commands.publish.repository as repository_module
    from pdm.exceptions import PdmUsageError

    from publish_plugins._url_rules import validate_url
    from publish_plugins.errors import PublishError, UsageError

    original = repository_module.Repository
    dry_run = bool(options.dry_run)
    found = _Found()
    # Where each value came from, as `pdm publish` reads them (Command.get_repository), for messages.
    name, name_from = _given(options.repository, "-r/--repository", "PDM_PUBLISH_REPO")
    user, user_from = _given(options.username, "-u/--username", "PDM_PUBLISH_USERNAME")
    if name is not None and ("://" in name or any(char in name for char in "@/:")):
        # A URL (or one missing its scheme, which PDM takes for a name and would quote) is checked
        # before PDM parses it: its errors quote the URL, password and all.
        validate_url(name, what=name_from)

    class RecordingRepository(repository_module.Repository):
        def __init__(self, project: Project, config: RepositoryConfig) -> None:
            found.config = config
            if config.name != "__unknown__":  # a configured (or built-in) repository: its url setting
                validate_url(config.url, what=f"repository.{config.name}.url (PDM configuration)")
            super().__init__(project, config)
            found.repository = self

        def _ensure_credentials(self, username: str | None, password: str | None) -> tuple[str, str]:
            try:
                resolved = super()._ensure_credentials(username, password)
            except (_NoCredentials, PdmUsageError):
                if not dry_run:
                    if username and not password:
                        where = user_from if user else None  # else from PDM's configuration
                        raise UsageError(_missing_password(username, where, found.config)) from None
                    raise
                found.credentials = (username, None)
                return "", ""  # for PDM's own session, which is not used
            found.credentials = resolved
            return resolved

        def _get_pypi_token_via_oidc(self) -> str | None:
            if dry_run:  # a dry run only reads the index: no token minted for it
                return None
            try:
                return super()._get_pypi_token_via_oidc()
            except (ValueError, KeyError, TypeError):
                # An index that is not PyPI may answer the audience URL with a page that is not the
                # expected JSON; PDM catches only HTTP errors there. It means "no token", as they do.
                self.ui.echo("Failed to get PyPI token via OIDC", err=True)
                return None

        def _prompt_for_credentials(self, service: str, username: str | None) -> tuple[str, str, bool]:
            if dry_run:
                raise _NoCredentials
            return super()._prompt_for_credentials(service, username)

    # PDM 2.29 imports Repository inside get_repository, PDM 2.13 at the top of its module: patch both.
    patched = [(repository_module, "Repository")]
    if getattr(publish_command, "Repository", None) is original:
        patched.append((publish_command, "Repository"))
    for module, name in patched:
        setattr(module, name, RecordingRepository)
    try:
        with _bare_environment(project):
            publish_command.Command.get_repository(project, options)
    except PdmUsageError as exc:
        raise UsageError(_usage_message(str(exc))) from None
    except (OSError, ssl.SSLError) as exc:
        # PDM's session loads the CA bundle and client certificate at once; a wrong path is a usage error.
        files = [getattr(found.config, key, None) for key in ("ca_certs", "client_cert", "client_key")]
        named = ", ".join(str(path) for path in files if path)
        if not named:
            raise
        if isinstance(exc, FileNotFoundError):
            raise UsageError(f"{named}: no such certificate file") from None
        raise UsageError(f"{named}: not a usable certificate ({exc.strerror or exc})") from None
    finally:
        for module, name in patched:
            setattr(module, name, original)
    config = found.config
    if config is None:  # a PDM whose publish command no longer builds its Repository this way
        raise PublishError(
            f"pdm safe-publish does not support this PDM's publish command (PDM {_pdm_version()}); "
            "please report it to publish-plugins"
        )
    username, password = found.credentials or (config.username, config.password)
    if dry_run and not password:
        from pdm.termui import Verbosity

        # Anonymous: a user name without a password would make every read fail where anonymous ones work.
        project.core.ui.echo(
            "dry run: no stored credentials, reading the index anonymously",
            err=True,
            verbosity=Verbosity.DETAIL,
        )
        return Target(config, None, None, found.repository)
    return Target(config, username or None, password or None, found.repository)


def core_repository(project: Project, target: Target, *, check_url: str | None) -> Repository:
    """The core's ``Repository`` from what PDM resolved."""
    from publish_plugins._url_rules import validate_url
    from publish_plugins.errors import UsageError
    from publish_plugins.settings import DEFAULT_TIMEOUT, Repository, seconds_problem

    if check_url is not None:
        validate_url(check_url, what="--check-url")

    config = target.config
    verify = getattr(config, "verify_ssl", None) is not False
    # PDM's session falls back to these variables for a CA bundle (pdm.models.session); so does this.
    ca_cert = config.ca_certs or os.getenv("REQUESTS_CA_BUNDLE") or os.getenv("CURL_CA_BUNDLE") or None
    client_cert = getattr(config, "client_cert", None) or None
    client_key = getattr(config, "client_key", None) or None
    # PDM's request_timeout (default 15 s) is sized for index pages; an index may take longer to answer
    # after receiving a large upload, so the core's default (60 s) is the floor and only a longer one counts.
    try:
        configured = float(project.config["request_timeout"])
    except (KeyError, TypeError, ValueError):
        configured = DEFAULT_TIMEOUT
    problem = seconds_problem(configured)
    if problem is not None:
        raise UsageError(f"request_timeout (PDM configuration): {problem}, got {configured!r}")
    timeout = max(configured, DEFAULT_TIMEOUT)
    return Repository(
        upload_url=_without_userinfo(str(config.url)),
        check_url=check_url,
        username=target.username,
        password=target.password,
        ca_cert=ca_cert if verify else None,
        verify=verify,
        client_cert=client_cert,
        client_key=client_key if client_cert else None,
        timeout=timeout,
    )


def _pdm_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pdm")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


@contextlib.contextmanager
def _bare_environment(project: Project) -> Iterator[None]:
    """Let PDM build its session without selecting an interpreter.

    PDM's Repository builds its HTTP session from ``project.environment``, which in a project without a
    selected Python creates a ``.venv`` (research/hosts.md §2.2) -- for a command that may not even build.
    A BareEnvironment (the running interpreter) serves the session as well; the project's real environment
    is left unresolved for the build.
    """
    if getattr(project, "_environment", None) is not None:
        yield
        return
    try:
        from pdm.environments import BareEnvironment
    except ImportError:  # pragma: no cover - present in PDM 2.13 to 2.29
        yield
        return
    environment = BareEnvironment(project)
    build_session = environment._build_session

    def lazy_session(*args: Any, **kwargs: Any) -> Any:
        return _LazySession(lambda: build_session(*args, **kwargs))

    # PDM's Repository builds its session at once, and the session's HTTP stack, cache and trust stores
    # are most of the command's start-up; it is needed only when PDM itself sends a request (minting a
    # trusted-publishing token), so it is built then.
    environment._build_session = lazy_session  # type: ignore[method-assign]
    project.environment = environment
    try:
        yield
    finally:
        project.environment = None


class _LazySession:
    """Stands in for PDM's session until PDM uses it; ``auth``, which PDM always sets, is kept aside."""

    def __init__(self, build: Callable[[], Any]) -> None:
        object.__setattr__(self, "_build", build)
        object.__setattr__(self, "_session", None)
        object.__setattr__(self, "_auth", None)

    def _real(self) -> Any:
        # Own attributes are found without __getattr__, which only runs for what this object lacks.
        session = self._session
        if session is None:
            session = self._build()
            if self._auth is not None:
                session.auth = self._auth
            object.__setattr__(self, "_session", session)
        return session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "auth" and self._session is None:
            object.__setattr__(self, "_auth", value)
        else:
            setattr(self._real(), name, value)


def _given(value: str | None, option: str, variable: str) -> tuple[str | None, str]:
    """An option's value, else its variable's, as ``pdm publish`` reads them, and which one it was."""
    if value:
        return value, option
    return os.getenv(variable) or None, variable


def _missing_password(username: str, user_from: str | None, config: RepositoryConfig | None) -> str:
    from publish_plugins.settings import missing_password_message

    name = config.name if config is not None and config.name != "__unknown__" else "NAME"
    user_from = user_from or f"repository.{name}.username (PDM configuration)"
    how = (
        f"pass -P PASSWORD, set PDM_PUBLISH_PASSWORD, or run `pdm config repository.{name}.password` "
        "(an API token goes with the user name __token__)"
    )
    return missing_password_message(username, how, where=user_from)


def _usage_message(text: str) -> str:
    # PDM's own texts, with where the missing piece can come from.
    if text.startswith("Missing repository config of "):
        name = text.removeprefix("Missing repository config of ").strip()
        return f"{text}: pass a URL to -r, or configure it with `pdm config repository.{name}.url URL`"
    if text.startswith("Username and password are required"):
        return (
            f"{text}: pass -u/-P, set PDM_PUBLISH_USERNAME/PDM_PUBLISH_PASSWORD, or configure "
            "`pdm config repository.NAME.username` / `.password`"
        )
    return text


def _without_userinfo(url: str) -> str:
    # PDM took user:password from the URL as credentials already; the core gets them as plain values.
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
