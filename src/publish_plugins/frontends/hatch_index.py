"""Where the ``safe`` publisher uploads and as whom, found as ``hatch publish`` finds them.

Repository names are resolved by hatch's own ``IndexPublisher.get_repos`` (``[publish.index.repos]``, with
hatch's built-in ``main`` and ``test``); credentials by hatch's ``AuthenticationCredentials``: ``-o``/flags,
the repository's hatch config, ``~/.pypirc``, the users remembered in ``previous_working_users.json``, the
keyring, and finally a prompt. Both classes exist unchanged from hatch 1.10 (the lowest supported) on.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ._shared import Endpoint, Setting, endpoint
from .hatch_settings import Settings

__all__ = [
    "Credentials",
    "PromptRefused",
    "Target",
    "find_credentials",
    "read_password",
    "read_username",
    "remember",
]

# `app` is hatch's Application throughout: Any, because its methods (abort, display_*, prompt) are not
# annotated and mypy --strict refuses calls to them through the real type.


@dataclass(frozen=True)
class Target:
    """The repository chosen by name or URL, with its hatch config."""

    name: str  # a name from [publish.index.repos], or the URL itself
    config: dict[str, Any]  # url, user, auth, ca-cert, client-cert, client-key, check-url (TOML values)
    where: str  # for messages about config values
    url_from: str  # where the URL was set: "'url' in [publish.index.repos.NAME] in ...", "-o repo"

    @classmethod
    def resolve(cls, app: Any, root: Path, index_cache: Path, settings: Settings) -> Target:
        """The repository name and its hatch config (``[publish.index.repos.NAME]`` with its defaults)."""
        from hatch.publish.index import IndexPublisher

        from publish_plugins._urls import redact_text
        from publish_plugins.errors import UsageError

        user_config = copy.deepcopy(app.config.publish.get("index", {}))
        given = settings.given.get("repo")
        name = given.value if given and given.value else str(user_config.get("repo") or "main")
        # get_repos() pops keys from the config it is given: hand it copies, never hatch's own dicts.
        project_config = copy.deepcopy(app.project.config.publish.get("index", {}))
        index = IndexPublisher(app, root, index_cache, project_config, user_config)  # type: ignore[no-untyped-call]
        repos: dict[str, dict[str, Any]] = index.get_repos()  # type: ignore[no-untyped-call]
        if name in repos:
            where = f"[publish.index.repos.{name}] in {app.config_file.path}"
            return cls(name, dict(repos[name]), where, f"'url' in {where}")
        name_from = given.where if given else f"'repo' in [publish.index] in {app.config_file.path}"
        if "://" not in name:
            # A URL without its scheme lands here, perhaps with a password in it: shown redacted.
            raise UsageError(
                f"{name_from}: repository {redact_text(name)!r} is neither a URL nor defined in "
                f"[publish.index.repos] of {app.config_file.path} (known: {', '.join(sorted(repos))})"
            )
        return cls(name, {"url": name}, "the repository URL", name_from)

    def endpoint(self, settings: Settings) -> Endpoint:
        """URL, check URL and TLS files, each from ``-o``/flags else the repository's table; checked."""

        from publish_plugins.errors import UsageError

        def pick(key: str) -> Setting:
            if key in settings.given:
                return settings.given[key]
            value, where = self.config.get(key), f"{key!r} in {self.where}"
            if value is not None and not isinstance(value, str):
                raise UsageError(f"{where}: must be a string")
            return Setting(value or None, where)

        url = pick("url").value
        if url is None:
            raise UsageError(f"{self.where}: no `url`")
        return endpoint(
            Setting(url, self.url_from),
            # `check-url` in a repo table is ours: hatch ignores keys it does not know there.
            pick("check-url"),
            ca_cert=pick("ca-cert"),
            client_cert=pick("client-cert"),
            client_key=pick("client-key"),
            key_needs_cert="client-key needs client-cert (the client certificate it belongs to)",
        )


class Credentials(Protocol):
    """What hatch's ``AuthenticationCredentials`` offers; each property may prompt or read the keyring."""

    @property
    def username(self) -> str: ...

    @property
    def password(self) -> str: ...

    def write_updated_data(self) -> None: ...


def find_credentials(
    app: Any, cache_dir: Path, settings: Settings, target: Target, *, no_prompt: bool, prompt: bool = True
) -> Credentials:
    """hatch's AuthenticationCredentials, with ``-o user``/``-o auth`` (or hatch's flags) first.

    ``prompt=False``: nothing is asked, not even with ``-n`` missing (trusted publishing may stand in, in a
    CI); what hatch would ask for is read as None by ``read_username``/``read_password``.
    """
    from hatch.publish.auth import AuthenticationCredentials
    from hatch.utils.fs import Path as HatchPath

    # Without prompts, hatch's `-n` abort ("Missing required option") must not happen either: hatch goes on
    # to its prompt, which says that nothing was found.
    options: dict[str, Any] = {"no_prompt": no_prompt and prompt}
    for key in ("user", "auth"):
        if settings.value(key):
            options[key] = settings.value(key)
    return AuthenticationCredentials(
        app=_TokenDefaultApp(app) if prompt else _NoPromptApp(app),
        cache_dir=HatchPath(str(cache_dir)),
        options=options,
        repo=target.name,
        repo_config=target.config,
    )


def read_username(app: Any, credentials: Credentials) -> str | None:
    """The user name, as hatch finds it (None: none found, and prompting is off); a broken ``~/.pypirc`` is a
    one-line error, not a traceback.

    configparser's messages quote the offending line (``password = ...``) or value: never shown.
    """
    import configparser
    import json

    from publish_plugins.frontends._credentials import config_error_message

    try:
        return str(credentials.username)
    except PromptRefused:
        return None
    except (configparser.Error, UnicodeDecodeError) as exc:
        app.abort(config_error_message(Path.home() / ".pypirc", exc), code=2)
        raise  # pragma: no cover - abort() does not return
    except json.JSONDecodeError as exc:  # hatch's previous_working_users.json
        app.abort(f"cannot read hatch's remembered users: {exc.msg} (line {exc.lineno})", code=2)
        raise  # pragma: no cover - abort() does not return


def read_password(app: Any, credentials: Credentials, *, no_prompt: bool, prompt: bool = True) -> str | None:
    """The password, as hatch finds it (None: none found, and prompting is off); a missing or broken
    keyring falls through to the prompt."""
    import click

    try:
        return str(credentials.password)
    except PromptRefused:  # no password configured, none in the keyring (or no user name to look it up)
        return None
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise  # app.abort() and an interrupted prompt: hatch's own way out
    except Exception as exc:  # keyring backends raise their own types (NoKeyringError, dbus, secretstorage)
        app.display_debug(f"keyring lookup failed: {type(exc).__name__}")
        if not prompt:
            return None
        if no_prompt:
            app.abort(
                "Missing required option: auth (no usable keyring backend to look it up; "
                "give -o auth=..., HATCH_INDEX_AUTH or `auth` in the repository's hatch config)"
            )
        return str(app.prompt("Password / Token", hide_input=True))


def remember(app: Any, credentials: Credentials) -> None:
    """Save prompted credentials the way `hatch publish` does; a keyring that cannot store is not fatal."""
    import click

    try:
        credentials.write_updated_data()
    except (click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:  # keyring and file-system errors of every kind
        app.display_warning(f"could not remember the credentials: {type(exc).__name__}")


class _TokenDefaultApp:
    """hatch's app, with Enter at the user name prompt meaning ``__token__`` as the prompt says.

    hatch's AuthenticationCredentials prompts without a default, and click asks again on empty input, so
    its ``or "__token__"`` never applies (the same in ``hatch publish``); everything else is hatch's app.
    """

    def __init__(self, app: Any) -> None:
        self._app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)

    def prompt(self, text: str, **kwargs: Any) -> Any:
        if text.startswith("Username for ") and "default" not in kwargs:
            kwargs.update(default="__token__", show_default=False)
        return self._app.prompt(text, **kwargs)


class PromptRefused(Exception):
    """hatch would prompt here, and this run must not: nothing was found where hatch looks."""


class _NoPromptApp(_TokenDefaultApp):
    """hatch's app, where a prompt means that nothing was found (trusted publishing may stand in)."""

    def prompt(self, text: str, **kwargs: Any) -> Any:
        raise PromptRefused(text)
