"""The ``safe`` publisher's options: ``-o KEY[=VALUE]``, hatch's flags and variables, and both config tables.

Each value keeps where it came from, so that a bad one is reported as ``-o jobs: ...`` or
``'jobs' in [tool.hatch.publish.safe] in .../pyproject.toml: ...`` and never echoes a secret.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["KNOWN_KEYS", "PLUGIN_NAME", "SettingError", "Settings", "collect_settings", "hatch_flags"]

PLUGIN_NAME = "safe"

_BOOLEAN_KEYS = ("skip-existing", "dry-run")
_PATH_KEYS = ("report", "ca-cert", "client-cert", "client-key")
_TEXT_KEYS = ("check-url", "repo", "user", "auth")
KNOWN_KEYS = frozenset({*_BOOLEAN_KEYS, *_PATH_KEYS, *_TEXT_KEYS, "jobs"})
_HATCH_KEYS = frozenset({"no_prompt", "initialize_auth"})  # put in `options` by hatch itself
_CONFIG_ONLY_KEYS = frozenset({"disable"})  # hatch reads it from every publisher table

_TRUE = frozenset({"", "1", "true", "yes", "on"})  # "" is what hatch passes for a bare `-o KEY`
_FALSE = frozenset({"0", "false", "no", "off"})

# hatch parses these flags (and their HATCH_INDEX_* variables) for every publisher but hands them only to
# its own `index` publisher: key → (click parameter name, flag, environment variable).
_HATCH_FLAGS = {
    "repo": ("repo", "-r/--repo", "HATCH_INDEX_REPO"),
    "user": ("user", "-u/--user", "HATCH_INDEX_USER"),
    "auth": ("auth", "-a/--auth", "HATCH_INDEX_AUTH"),
    "ca-cert": ("ca_cert", "--ca-cert", "HATCH_INDEX_CA_CERT"),
    "client-cert": ("client_cert", "--client-cert", "HATCH_INDEX_CLIENT_CERT"),
    "client-key": ("client_key", "--client-key", "HATCH_INDEX_CLIENT_KEY"),
}


class SettingError(Exception):
    """A bad option or configuration value; the message names where it came from. Exit code 2."""


@dataclass(frozen=True)
class _Value:
    """A raw value and where it came from."""

    value: Any  # as TOML, click or `-o` gave it: checked by the key's reader
    label: str  # where the value came from, for error messages: "-o jobs", "HATCH_INDEX_USER", ...
    base: Path | None = None  # relative paths are taken from here (the project root for pyproject.toml)


@dataclass(frozen=True)
class Settings:
    """The plugin's options after merging every source; None means not given anywhere."""

    check_url: str | None = None
    skip_existing: bool = False
    dry_run: bool = False
    report: Path | None = None
    jobs: int = 1
    repo: str | None = None
    user: str | None = None
    auth: str | None = None
    ca_cert: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    auth_in_pyproject: bool = False
    sources: dict[str, str] = dataclasses.field(default_factory=dict)  # key → where it was set


def collect_settings(
    options: Mapping[str, Any],
    flags: Mapping[str, _Value],
    project_config: Mapping[str, Any],
    plugin_config: Mapping[str, Any],
    *,
    root: Path,
    config_file: str,
) -> Settings:
    """Merge the sources, first wins: ``-o``, hatch's flags and HATCH_INDEX_*, pyproject, hatch's config."""
    sources: list[dict[str, _Value]] = [
        _cli_options(options),
        dict(flags),
        _config_table(
            project_config, f"[tool.hatch.publish.{PLUGIN_NAME}] in {root / 'pyproject.toml'}", root
        ),
        _config_table(plugin_config, f"[publish.{PLUGIN_NAME}] in {config_file}", None),
    ]
    merged: dict[str, _Value] = {}
    for source in reversed(sources):
        merged.update(source)

    def text(key: str) -> str | None:
        found = merged.get(key)
        if found is None:
            return None
        if not isinstance(found.value, str):
            raise SettingError(f"{found.label}: must be a string")  # never echo the value: it may be `auth`
        if not found.value:
            raise SettingError(f"{found.label}: needs a value ({_usage(key)})")
        return found.value

    def path(key: str) -> str | None:
        value = text(key)
        if value is None:
            return None
        resolved = Path(value).expanduser()
        base = merged[key].base
        return str(base / resolved if base is not None and not resolved.is_absolute() else resolved)

    report = path("report")
    return Settings(
        check_url=text("check-url"),
        skip_existing=_boolean(merged.get("skip-existing")),
        dry_run=_boolean(merged.get("dry-run")),
        report=Path(report) if report else None,
        jobs=_jobs(merged.get("jobs")),
        repo=text("repo"),
        user=text("user"),
        auth=text("auth"),
        ca_cert=path("ca-cert"),
        client_cert=path("client-cert"),
        client_key=path("client-key"),
        auth_in_pyproject="auth" in project_config,
        sources={key: found.label for key, found in merged.items()},
    )


def hatch_flags(environ: Mapping[str, str]) -> dict[str, _Value]:
    """``-r/-u/-a/--ca-cert/--client-cert/--client-key`` and their ``HATCH_INDEX_*`` variables.

    hatch's click command parsed them already (flag over variable); read them from its context, and fall
    back to the environment when there is no context (another hatch version, a direct call).
    """
    import click
    from click.core import ParameterSource

    context = click.get_current_context(silent=True)
    params = context.params if context is not None else {}
    values: dict[str, _Value] = {}
    for key, (param, flag, variable) in _HATCH_FLAGS.items():
        if context is not None and param in params:
            value = params[param]
            from_flag = context.get_parameter_source(param) == ParameterSource.COMMANDLINE
            label = flag if from_flag else variable
        else:
            value, label = environ.get(variable), variable
        if value:
            values[key] = _Value(value, label)
    return values


def _cli_options(options: Mapping[str, Any]) -> dict[str, _Value]:
    values: dict[str, _Value] = {}
    for raw_key, value in options.items():
        if raw_key in _HATCH_KEYS:
            continue
        key = _known_key(raw_key, f"-o {raw_key}")
        values[key] = _Value(value, f"-o {raw_key}")
    return values


def _config_table(table: Mapping[str, Any], where: str, base: Path | None) -> dict[str, _Value]:
    values: dict[str, _Value] = {}
    for raw_key, value in table.items():
        if raw_key in _CONFIG_ONLY_KEYS:
            continue
        key = _known_key(raw_key, f"{raw_key!r} in {where}")
        values[key] = _Value(value, f"{raw_key!r} in {where}", base)
    return values


def _known_key(raw_key: str, label: str) -> str:
    # hatch keeps keys as typed; `skip_existing` is an obvious spelling of `skip-existing`, so take both.
    key = raw_key.strip().lower().replace("_", "-")
    if key not in KNOWN_KEYS:
        raise SettingError(
            f"{label}: unknown option; the {PLUGIN_NAME} publisher takes {', '.join(sorted(KNOWN_KEYS))}"
        )
    return key


def _usage(key: str) -> str:
    placeholder = {"report": "FILE", "check-url": "URL", "repo": "NAME-or-URL", "jobs": "N"}
    return f"-o {key}={placeholder.get(key, 'VALUE')}"


def _boolean(found: _Value | None) -> bool:
    if found is None:
        return False
    if isinstance(found.value, bool):
        return found.value
    if isinstance(found.value, str):
        word = found.value.strip().lower()
        if word in _TRUE and (word or found.label.startswith("-o ")):
            return True
        if word in _FALSE:
            return False
    raise SettingError(f"{found.label}: expected true or false (or 1/0, yes/no), got {found.value!r}")


def _jobs(found: _Value | None) -> int:
    if found is None:
        return 1
    value = found.value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingError(f"{found.label}: expected a whole number of at least 1, got {found.value!r}")
    return value
