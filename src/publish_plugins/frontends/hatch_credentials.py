"""The ``safe`` publisher's credentials, found and remembered the way ``hatch publish`` does it.

hatch's ``AuthenticationCredentials`` looks in ``-o``/flags, the repository's hatch config, ``~/.pypirc``,
the users remembered in ``previous_working_users.json``, the keyring, and finally prompts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from .hatch_repository import Target
from .hatch_settings import Settings

__all__ = ["Credentials", "find_credentials", "read_password", "read_username", "remember"]

# `app` is hatch's Application throughout: Any, because its methods (abort, display_*, prompt) are not
# annotated and mypy --strict refuses calls to them through the real type.


class Credentials(Protocol):
    """What hatch's ``AuthenticationCredentials`` offers; each property may prompt or read the keyring."""

    @property
    def username(self) -> str: ...

    @property
    def password(self) -> str: ...

    def write_updated_data(self) -> None: ...


def find_credentials(
    app: Any, cache_dir: Path, settings: Settings, target: Target, *, no_prompt: bool
) -> Credentials:
    """hatch's AuthenticationCredentials: -o/flags, repo config, .pypirc, remembered user, keyring, prompt."""
    auth_options: dict[str, Any] = {"no_prompt": no_prompt}
    if settings.user:
        auth_options["user"] = settings.user
    if settings.auth:
        auth_options["auth"] = settings.auth
    try:
        from hatch.publish.auth import AuthenticationCredentials
    except ImportError:  # pragma: no cover - hatch < 1.10
        return _FallbackCredentials(app, auth_options, target.config)
    from hatch.utils.fs import Path as HatchPath

    return AuthenticationCredentials(
        app=_TokenDefaultApp(app),
        cache_dir=HatchPath(str(cache_dir)),
        options=auth_options,
        repo=target.name,
        repo_config=target.config,
    )


def read_username(app: Any, credentials: Credentials) -> str:
    """The user name, as hatch finds it; a broken ``~/.pypirc`` is a one-line error, not a traceback.

    configparser's messages quote the offending line (``password = ...``) or value: never shown.
    """
    import configparser
    import json

    from publish_plugins.credentials import config_error_message

    try:
        return str(credentials.username)
    except (configparser.Error, UnicodeDecodeError) as exc:
        app.abort(config_error_message(Path.home() / ".pypirc", exc), code=2)
        raise  # pragma: no cover - abort() does not return
    except json.JSONDecodeError as exc:  # hatch's previous_working_users.json
        app.abort(f"cannot read hatch's remembered users: {exc.msg} (line {exc.lineno})", code=2)
        raise  # pragma: no cover - abort() does not return


def read_password(app: Any, credentials: Credentials, *, no_prompt: bool) -> str:
    """The password, as hatch finds it; a missing or broken keyring falls through to the prompt."""
    import click

    try:
        return str(credentials.password)
    except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
        raise  # app.abort() and an interrupted prompt: hatch's own way out
    except Exception as exc:  # keyring backends raise their own types (NoKeyringError, dbus, secretstorage)
        app.display_debug(f"keyring lookup failed: {type(exc).__name__}")
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


class _FallbackCredentials:
    """For hatch versions without ``hatch.publish.auth``: options, repo config, keyring, prompt."""

    def __init__(self, app: Any, options: dict[str, Any], repo_config: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        self._config = repo_config

    @property
    def username(self) -> str:
        user = self._options.get("user") or self._config.get("user")
        if user:
            return str(user)
        if self._options["no_prompt"]:
            self._app.abort("Missing required option: user")
        text = f"Username for '{self._config['url']}' [__token__]"
        return str(self._app.prompt(text, default="__token__", show_default=False))

    @property
    def password(self) -> str:
        password = self._options.get("auth") or self._config.get("auth")
        if password:
            return str(password)
        from publish_plugins.credentials import keyring_password

        _, found = keyring_password(self._config["url"], self.username)
        if found:
            return found
        if self._options["no_prompt"]:
            self._app.abort("Missing required option: auth")
        return str(self._app.prompt("Password / Token", hide_input=True))

    def write_updated_data(self) -> None:
        """Nothing is remembered without hatch's credential store."""
