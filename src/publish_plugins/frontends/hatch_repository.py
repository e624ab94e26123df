"""Where the ``safe`` publisher uploads: hatch's repository (``[publish.index.repos]``), URLs and TLS files.

Repository names are resolved by hatch's own ``IndexPublisher.get_repos``, so ``-p safe`` knows the same
repositories as ``hatch publish``, with hatch's built-in ``main`` and ``test``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .hatch_settings import SettingError, Settings

__all__ = ["Connection", "Target", "resolve_connection", "resolve_target"]

# hatch's own defaults (IndexPublisher.get_repos forces them too); used when hatch's classes are missing.
_HATCH_REPOS = {"main": "https://upload.pypi.org/legacy/", "test": "https://test.pypi.org/legacy/"}


@dataclass(frozen=True)
class Target:
    """The repository chosen by name or URL, with its hatch config."""

    name: str  # a name from [publish.index.repos], or the URL itself
    config: dict[str, Any]  # url, user, auth, ca-cert, client-cert, client-key, check-url (TOML values)
    where: str  # for messages about config values
    url_from: str = ""  # where the URL was set, for messages about it: "'url' in [...]", "-o repo"


@dataclass(frozen=True)
class Connection:
    """What the core's ``Repository`` needs besides credentials."""

    upload_url: str
    check_url: str | None
    ca_cert: str | None
    client_cert: str | None
    client_key: str | None


# `app` is hatch's Application: Any, because its methods (abort, display_*, prompt) are not annotated and
# mypy --strict refuses calls to them through the real type.
def resolve_target(app: Any, root: Path, index_cache: Path, settings: Settings) -> Target:
    """The repository name and its hatch config (``[publish.index.repos.NAME]`` with its defaults)."""
    index_user_config = copy.deepcopy(app.config.publish.get("index", {}))
    name = settings.repo or index_user_config.get("repo") or "main"
    if settings.repo:
        name_from = settings.sources["repo"]
    else:
        name_from = f"'repo' in [publish.index] in {app.config_file.path}"
    repos = _index_repos(app, root, index_cache, index_user_config)
    if name in repos:
        where = f"[publish.index.repos.{name}] in {app.config_file.path}"
        return Target(name, dict(repos[name]), where, f"'url' in {where}")
    if "://" not in name:
        from publish_plugins._url_rules import redact_text

        known = ", ".join(sorted(repos))
        # A URL without its scheme lands here, perhaps with a password in it: shown redacted.
        raise SettingError(
            f"{name_from}: repository {redact_text(name)!r} is neither a URL nor defined in "
            f"[publish.index.repos] of {app.config_file.path} (known: {known})"
        )
    return Target(name, {"url": name}, "the repository URL", name_from)


def resolve_connection(settings: Settings, target: Target) -> Connection:
    """URL, check URL and TLS files for the core's Repository; checked before any prompt for a password."""

    def pick(key: str) -> tuple[str | None, str]:
        if getattr(settings, key.replace("-", "_"), None):
            return getattr(settings, key.replace("-", "_")), settings.sources[key]
        value = target.config.get(key)
        where = f"{key!r} in {target.where}"
        if value is None or value == "":
            return None, where
        if not isinstance(value, str):
            raise SettingError(f"{where}: must be a string")
        return value, where

    from publish_plugins._url_rules import validate_url
    from publish_plugins.errors import UsageError

    url, _ = pick("url")
    if url is None:
        raise SettingError(f"{target.where}: no `url`")
    check_url, check_from = pick("check-url")
    try:  # the core's URL rule, under the setting's name; the message never quotes a password
        validate_url(url, what=target.url_from or f"'url' in {target.where}")
        if check_url is not None:
            validate_url(check_url, what=check_from)
    except UsageError as exc:
        raise SettingError(str(exc)) from None
    files: dict[str, str | None] = {}
    for key in ("ca-cert", "client-cert", "client-key"):
        value, where = pick(key)
        if value is not None and not Path(value).expanduser().is_file():
            raise SettingError(f"{where}: {value}: no such file")
        files[key] = str(Path(value).expanduser()) if value is not None else None
    if files["client-key"] and not files["client-cert"]:
        raise SettingError("client-key needs client-cert (the client certificate it belongs to)")
    return Connection(
        upload_url=url,
        # `check-url` in a repo table is ours: hatch ignores keys it does not know there.
        check_url=check_url,
        ca_cert=files["ca-cert"],
        client_cert=files["client-cert"],
        client_key=files["client-key"],
    )


def _index_repos(
    app: Any, root: Path, index_cache: Path, index_user_config: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    try:
        from hatch.publish.index import IndexPublisher
    except ImportError:  # pragma: no cover - hatch reorganised its modules
        repos = index_user_config.get("repos", {})
        result = {
            name: {"url": data} if isinstance(data, str) else dict(data) for name, data in repos.items()
        }
        for name, url in _HATCH_REPOS.items():
            result.setdefault(name, {})["url"] = url
        return result
    # get_repos() pops keys from the config it is given: hand it a copy, never hatch's own dict.
    index_project_config = copy.deepcopy(app.project.config.publish.get("index", {}))
    index = IndexPublisher(  # type: ignore[no-untyped-call]
        app, root, index_cache, index_project_config, index_user_config
    )
    defined: dict[str, dict[str, Any]] = index.get_repos()  # type: ignore[no-untyped-call]
    return defined
