"""The ``safe`` publisher's options: ``-o KEY[=VALUE]``, hatch's flags and variables, and both config tables.

Each value keeps where it came from, so that a bad one is reported as ``-o jobs: ...`` or
``'jobs' in [tool.hatch.publish.safe] in .../pyproject.toml: ...`` and never echoes a secret.

A relative path means the same wherever hatch runs: in ``[tool.hatch.publish.safe]`` it is relative to the
folder of pyproject.toml, in hatch's ``[publish.safe]`` to the folder of hatch's config file, and on the
command line (``-o``, hatch's flags and variables) to the current folder, as any command-line path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._shared import Setting, trusted_publishing

if TYPE_CHECKING:
    from publish_plugins.options import TrustedPublishing

__all__ = ["KNOWN_KEYS", "PLUGIN_NAME", "Settings", "collect_settings"]

PLUGIN_NAME = "safe"

_BOOLEAN_KEYS = ("skip-existing", "dry-run", "attestations", "require-identical", "per-project")
_PATH_KEYS = ("report", "ca-cert", "client-cert", "client-key")
_TEXT_KEYS = ("check-url", "repo", "user", "auth", "trusted-publishing", "index-rules")
KNOWN_KEYS = frozenset({*_BOOLEAN_KEYS, *_PATH_KEYS, *_TEXT_KEYS, "jobs", "max-file-size"})
# What `-o KEY=...` takes, for the message about a key given without a value.
_PLACEHOLDERS = {
    "report": "FILE",
    "check-url": "URL",
    "repo": "NAME-or-URL",
    "trusted-publishing": "automatic|always|never",
    "index-rules": "auto|pypi|none",
    "max-file-size": "SIZE",
}
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


@dataclass(frozen=True)
class _Value:
    """A raw value and where it came from."""

    value: Any  # as TOML, click or `-o` gave it: checked by the key's reader
    label: str  # where the value came from, for error messages: "-o jobs", "HATCH_INDEX_USER", ...
    base: Path | None = None  # relative paths are taken from here (None: the current folder)


@dataclass(frozen=True)
class Settings:
    """The plugin's options after merging every source."""

    skip_existing: bool = False
    dry_run: bool = False
    jobs: int = 1
    attestations: bool = True
    require_identical: bool = False
    per_project: bool = False
    max_file_size: int | None = None
    trusted_publishing: TrustedPublishing = "automatic"
    auth_in_pyproject: bool = False
    given: dict[str, Setting] = field(default_factory=dict)
    """The text and path keys that were set (``repo``, ``ca-cert``, ``report``, ``index-rules``...), with
    where; relative paths already made relative to where they were written down."""
    explicit: frozenset[str] = frozenset()
    """The keys given for this run (``-o``, hatch's flags and HATCH_INDEX_* variables), not configured."""

    def value(self, key: str) -> str | None:
        found = self.given.get(key)
        return found.value if found is not None else None

    def explicit_setting(self, key: str) -> Setting | None:
        """``key`` as given for this run (``-o user``, ``-u/--user``, ``HATCH_INDEX_USER``), else None."""
        return self.given.get(key) if key in self.explicit else None


def collect_settings(
    options: Mapping[str, Any],
    project_config: Mapping[str, Any],
    plugin_config: Mapping[str, Any],
    *,
    root: Path,
    config_file: str,
) -> Settings:
    """Merge the sources, first wins: ``-o``, hatch's flags and HATCH_INDEX_*, pyproject, hatch's config.

    ``root`` is the project's folder (where pyproject.toml is), ``config_file`` hatch's config file: the
    folders relative paths written in each are taken from.
    """
    cli, flags = _cli_options(options), _hatch_flags()
    sources: list[dict[str, _Value]] = [
        cli,
        flags,
        _config_table(
            project_config, f"[tool.hatch.publish.{PLUGIN_NAME}] in {root / 'pyproject.toml'}", root
        ),
        _config_table(
            plugin_config, f"[publish.{PLUGIN_NAME}] in {config_file}", Path(config_file).expanduser().parent
        ),
    ]
    merged: dict[str, _Value] = {}
    for source in reversed(sources):
        merged.update(source)
    given = {key: _text(key, found) for key, found in merged.items() if key in (*_TEXT_KEYS, *_PATH_KEYS)}
    return Settings(
        skip_existing=_boolean(merged.get("skip-existing")),
        dry_run=_boolean(merged.get("dry-run")),
        jobs=_jobs(merged.get("jobs")),
        attestations=_boolean(merged.get("attestations"), default=True),
        require_identical=_boolean(merged.get("require-identical")),
        per_project=_boolean(merged.get("per-project")),
        max_file_size=_size(merged.get("max-file-size")),
        # Checked here, with the other values: a bad mode stops the run before any credential is looked up.
        trusted_publishing=trusted_publishing(given.get("trusted-publishing")),
        auth_in_pyproject="auth" in project_config,
        given=given,
        explicit=frozenset({*cli, *flags}),
    )


def _text(key: str, found: _Value) -> Setting:
    from publish_plugins.errors import UsageError

    if not isinstance(found.value, str):
        raise UsageError(f"{found.label}: must be a string")  # never echo the value: it may be `auth`
    if not found.value:
        raise UsageError(f"{found.label}: needs a value (-o {key}={_PLACEHOLDERS.get(key, 'VALUE')})")
    if key not in _PATH_KEYS:
        return Setting(found.value, found.label)
    path = Path(found.value).expanduser()
    if found.base is not None and not path.is_absolute():
        path = found.base / path
    return Setting(str(path), found.label)


def _hatch_flags() -> dict[str, _Value]:
    """``-r/-u/-a/--ca-cert/--client-cert/--client-key`` and their ``HATCH_INDEX_*`` variables, as hatch's
    click command parsed them (flag over variable); hatch hands them to its ``index`` publisher only."""
    import click
    from click.core import ParameterSource

    context = click.get_current_context(silent=True)
    if context is None:  # not run by `hatch publish`
        return {}
    values: dict[str, _Value] = {}
    for key, (param, flag, variable) in _HATCH_FLAGS.items():
        value = context.params.get(param)
        if value:
            from_flag = context.get_parameter_source(param) == ParameterSource.COMMANDLINE
            values[key] = _Value(value, flag if from_flag else variable)
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
    from publish_plugins.errors import UsageError

    # hatch keeps keys as typed; `skip_existing` is an obvious spelling of `skip-existing`, so take both.
    key = raw_key.strip().lower().replace("_", "-")
    if key not in KNOWN_KEYS:
        raise UsageError(
            f"{label}: unknown option; the {PLUGIN_NAME} publisher takes {', '.join(sorted(KNOWN_KEYS))}"
        )
    return key


def _boolean(found: _Value | None, *, default: bool = False) -> bool:
    from publish_plugins.errors import UsageError

    if found is None:
        return default
    if isinstance(found.value, bool):
        return found.value
    if isinstance(found.value, str):
        word = found.value.strip().lower()
        if word in _TRUE and (word or found.label.startswith("-o ")):
            return True
        if word in _FALSE:
            return False
    raise UsageError(f"{found.label}: expected true or false (or 1/0, yes/no), got {found.value!r}")


def _jobs(found: _Value | None) -> int:
    from publish_plugins.errors import UsageError

    if found is None:
        return 1
    value = found.value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(f"{found.label}: expected a whole number of at least 1, got {found.value!r}")
    return value


def _size(found: _Value | None) -> int | None:
    """``max-file-size``: bytes (a TOML integer, or digits), or text with a unit (``"100M"``, ``"1.5G"``)."""
    from publish_plugins._index_rules import parse_size
    from publish_plugins.errors import UsageError

    if found is None:
        return None
    value = found.value
    if value == "":
        raise UsageError(f"{found.label}: needs a value (-o max-file-size={_PLACEHOLDERS['max-file-size']})")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise UsageError(
            f'{found.label}: expected a size, a number of bytes or text such as "100M", got {value!r}'
        )
    try:
        return parse_size(str(value))
    except ValueError as exc:
        raise UsageError(f"{found.label}: {exc}") from None
