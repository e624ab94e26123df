"""The hatch publisher ``safe``: ``hatch publish -p safe [ARTIFACTS] [-o KEY[=VALUE]]...``.

Thin by design: it reads hatch's options, configuration and credentials, hands plain values to the core, and
renders the core's events with hatch's ``app``. Repository names and credentials are resolved by hatch's
own classes (``IndexPublisher.get_repos``, ``AuthenticationCredentials``), so ``-p safe`` finds the same
repositories, ``.pypirc`` entries, keyring passwords and remembered users as ``hatch publish``.

hatch imports this module whenever it collects third-party publishers, also for other plugins' runs, so
the core (and its HTTP stack) is imported inside ``publish()`` only.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch.publish.plugin.interface import PublisherInterface

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from publish_plugins import ProjectRef, PublishOptions
    from publish_plugins.events import Event

__all__ = ["KNOWN_KEYS", "SafePublisher"]

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

# hatch's own defaults (IndexPublisher.get_repos forces them too); used when hatch's classes are missing.
_HATCH_REPOS = {"main": "https://upload.pypi.org/legacy/", "test": "https://test.pypi.org/legacy/"}


class SettingError(Exception):
    """A bad option or configuration value; the message names where it came from. Exit code 2."""


@dataclass(frozen=True)
class _Value:
    value: Any
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


class SafePublisher(PublisherInterface):
    """``hatch publish -p safe``: read the index first, compare by hash, never half-update a release."""

    PLUGIN_NAME = PLUGIN_NAME

    def publish(self, artifacts: list[str], options: dict[str, Any]) -> None:
        from publish_plugins import PublishError

        no_prompt = options.get("no_prompt") is True
        initialize_auth = options.get("initialize_auth") is True
        root = Path(str(self.root))
        try:
            settings = collect_settings(
                options,
                hatch_flags(os.environ),
                self.project_config,
                self.plugin_config,
                root=root,
                config_file=str(self.app.config_file.path),
            )
        except SettingError as exc:
            self.app.abort(str(exc), code=2)
            return
        if settings.auth_in_pyproject:
            self.app.display_warning(
                f"[tool.hatch.publish.{PLUGIN_NAME}] sets auth in pyproject.toml, where anyone with the "
                "repository can read it; prefer HATCH_INDEX_AUTH, keyring or hatch's config"
            )
        target = self._target(settings)
        try:
            connection = _connection(settings, target)
        except SettingError as exc:
            self.app.abort(str(exc), code=2)
            return
        paths = [_artifact_path(artifact, root) for artifact in artifacts]
        project, dist_dir = (None, root / "dist") if paths else self._default_selection(root)
        credentials = _credentials(self.app, self._index_cache, settings, target, no_prompt=no_prompt)
        username = _username(self.app, credentials)
        password = _password(self.app, credentials, no_prompt=no_prompt)

        from publish_plugins import Repository, publish

        repository = Repository(
            upload_url=connection.upload_url,
            check_url=connection.check_url,
            username=username,
            password=password,
            ca_cert=connection.ca_cert,
            client_cert=connection.client_cert,
            client_key=connection.client_key,
        )

        renderer = _Renderer(self.app)
        try:
            result = publish(
                paths,
                repository,
                _publish_options(settings),
                project=project,
                dist_dir=dist_dir,
                on_event=renderer,
            )
        except PublishError as exc:
            renderer.close()
            if initialize_auth and exc.exit_code != 1:
                _remember(self.app, credentials)
            self.app.abort(str(exc), code=exc.exit_code)
            return
        finally:
            renderer.close()
        # Like `hatch publish`: remember prompted credentials once an upload proved them (or when asked to).
        if initialize_auth or (not settings.dry_run and result.count("uploaded")):
            _remember(self.app, credentials)

    @property
    def _index_cache(self) -> Path:
        # `hatch publish` keeps previous_working_users.json in the `index` publisher's cache folder;
        # sharing it means a user remembered by either is remembered by both.
        return Path(str(self.cache_dir)).parent / "index"

    def _target(self, settings: Settings) -> _Target:
        """The repository name and its hatch config (``[publish.index.repos.NAME]`` with its defaults)."""
        index_user_config = copy.deepcopy(self.app.config.publish.get("index", {}))
        name = settings.repo or index_user_config.get("repo") or "main"
        repos = self._index_repos(index_user_config)
        if name in repos:
            return _Target(
                name, dict(repos[name]), f"[publish.index.repos.{name}] in {self.app.config_file.path}"
            )
        if "://" not in name:
            known = ", ".join(sorted(repos))
            self.app.abort(
                f"repository {name!r} is neither a URL nor defined in [publish.index.repos] of "
                f"{self.app.config_file.path} (known: {known})",
                code=2,
            )
        return _Target(name, {"url": name}, "the repository URL")

    def _index_repos(self, index_user_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
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
        index_project_config = copy.deepcopy(self.app.project.config.publish.get("index", {}))
        index = IndexPublisher(  # type: ignore[no-untyped-call]
            self.app, self.root, self._index_cache, index_project_config, index_user_config
        )
        defined: dict[str, dict[str, Any]] = index.get_repos()  # type: ignore[no-untyped-call]
        return defined

    def _default_selection(self, root: Path) -> tuple[ProjectRef | None, Path]:
        """No artifacts given: the build folder, filtered to this project's name and version."""
        from publish_plugins import ProjectRef

        metadata = self.app.project.metadata
        build_dir = metadata.hatch.build_config.get("directory") if metadata.config else None
        dist_dir = root / (build_dir if isinstance(build_dir, str) and build_dir else "dist")
        table = metadata.config.get("project")
        if not isinstance(table, dict) or not isinstance(table.get("name"), str):
            # Not a project (or not a PEP 621 one): there is no name to filter by, take the whole folder.
            self.app.display_debug(f"no [project] name in {root / 'pyproject.toml'}; taking every file")
            return None, dist_dir
        name = table["name"]
        version = table.get("version")
        if isinstance(version, str):
            return ProjectRef(name, version), dist_dir
        try:
            # A dynamic version: hatchling computes it in-process when its version source is available.
            return ProjectRef(name, str(metadata.version)), dist_dir
        except Exception as exc:  # any version-source plugin error; the run can still go on safely
            reason = " ".join(str(exc).split()) or type(exc).__name__
            self.app.display_warning(
                f"cannot tell the version of {name} without building ({reason}); "
                f"taking every version of {name} in {_shorten(dist_dir)}"
            )
            return ProjectRef(name, None), dist_dir


@dataclass(frozen=True)
class _Target:
    name: str  # a name from [publish.index.repos], or the URL itself
    config: dict[str, Any]  # url, user, auth, ca-cert, client-cert, client-key, check-url
    where: str  # for messages about config values


def _credentials(app: Any, cache_dir: Path, settings: Settings, target: _Target, *, no_prompt: bool) -> Any:
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
        app=app,
        cache_dir=HatchPath(str(cache_dir)),
        options=auth_options,
        repo=target.name,
        repo_config=target.config,
    )


def _username(app: Any, credentials: Any) -> str:
    """The user name, as hatch finds it; a broken ``~/.pypirc`` is a one-line error, not a traceback."""
    import configparser

    try:
        return str(credentials.username)
    except (configparser.Error, UnicodeDecodeError) as exc:
        app.abort(f"{Path.home() / '.pypirc'}: cannot parse: {' '.join(str(exc).split())}", code=2)
        raise  # pragma: no cover - abort() does not return


def _password(app: Any, credentials: Any, *, no_prompt: bool) -> str:
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


def _remember(app: Any, credentials: Any) -> None:
    """Save prompted credentials the way `hatch publish` does; a keyring that cannot store is not fatal."""
    import click

    try:
        credentials.write_updated_data()
    except (click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as exc:  # keyring and file-system errors of every kind
        app.display_warning(f"could not remember the credentials: {type(exc).__name__}")


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
        return str(self._app.prompt(f"Username for '{self._config['url']}' [__token__]") or "__token__")

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


@dataclass(frozen=True)
class _Connection:
    upload_url: str
    check_url: str | None
    ca_cert: str | None
    client_cert: str | None
    client_key: str | None


def _connection(settings: Settings, target: _Target) -> _Connection:
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

    url, _ = pick("url")
    if url is None:
        raise SettingError(f"{target.where}: no `url`")
    files: dict[str, str | None] = {}
    for key in ("ca-cert", "client-cert", "client-key"):
        value, where = pick(key)
        if value is not None and not Path(value).expanduser().is_file():
            raise SettingError(f"{where}: {value}: no such file")
        files[key] = str(Path(value).expanduser()) if value is not None else None
    if files["client-key"] and not files["client-cert"]:
        raise SettingError("client-key needs client-cert (the client certificate it belongs to)")
    return _Connection(
        upload_url=url,
        # `check-url` in a repo table is ours: hatch ignores keys it does not know there.
        check_url=pick("check-url")[0],
        ca_cert=files["ca-cert"],
        client_cert=files["client-cert"],
        client_key=files["client-key"],
    )


def _publish_options(settings: Settings) -> PublishOptions:
    from publish_plugins import PublishOptions

    return PublishOptions(
        mode="skip-existing" if settings.skip_existing else "strict",
        dry_run=settings.dry_run,
        report_path=settings.report,
        jobs=settings.jobs,
    )


def _artifact_path(artifact: str, root: Path) -> Path:
    # Relative to the project root, as `hatch publish` resolves them (hatch may run from a subfolder).
    path = Path(artifact).expanduser()
    return path if path.is_absolute() else root / path


def _shorten(path: str | Path) -> str:
    """A path relative to the working folder when it is inside it, for shorter lines."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


_STYLES = {
    "debug": "style_debug",
    "info": "style_info",
    "success": "style_success",
    "warning": "style_warning",
    "error": "style_error",
}


class _Renderer:
    """Events → hatch's ``app``: one line per event by level; a rich progress display for uploads.

    Events arrive from the core's upload threads too (``jobs`` > 1), so rendering is serialised.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._use_progress = app.verbosity >= 0 and bool(app.console.is_interactive)

    def __call__(self, event: Event) -> None:
        from publish_plugins.events import (
            FileIgnored,
            FileInvalid,
            FileUploaded,
            Finished,
            PlanReady,
            UploadFailedEvent,
            UploadProgress,
            UploadStarted,
        )

        with self._lock:
            if isinstance(event, UploadProgress):
                self._advance(event.filename, event.sent, event.total)
                return
            if isinstance(event, UploadStarted):
                if self._start(event.filename, event.size):
                    return  # the progress display says it
                self._app.display_waiting(f"Uploading {event.filename} ({_size(event.size)})")
                return
            if isinstance(event, FileUploaded):
                self._advance(event.filename, event.size, event.size)
                self._drop(event.filename)
            elif isinstance(event, UploadFailedEvent):
                self._drop(event.filename)
            elif isinstance(event, Finished):
                self._stop()
            if isinstance(event, FileIgnored | FileInvalid):
                event = dataclasses.replace(event, path=_shorten(event.path))
            self._display(event.level, event.message)
            if isinstance(event, PlanReady) and event.dry_run and not event.conflicts:
                # The plan itself: a dry run names what a real run would send, one line per file.
                for filename in event.to_upload:
                    self._display("info", f"{filename}: would be uploaded")

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _display(self, level: str, text: str) -> None:
        app = self._app
        if self._progress is not None:
            # While the bars are shown, lines go through their console so that they print above them;
            # styled and gated as hatch's display_* would (the bars exist only at verbosity >= 0).
            if level == "debug" and app.verbosity < 1:
                return
            style = _STYLES.get(level, "style_info")
            self._progress.console.print(
                getattr(app, style)(text), overflow="ignore", no_wrap=True, crop=False
            )
            return
        if level == "debug":
            app.display_debug(text)
        elif level == "success":
            app.display_success(text)
        elif level == "warning":
            app.display_warning(text)
        elif level == "error":
            app.display_error(text)
        else:
            app.display_info(text)

    def _start(self, filename: str, size: int) -> bool:
        if not self._use_progress:
            return False
        progress = self._progress or self._new_progress()
        if progress is None:
            return False
        task = self._tasks.get(filename)
        if task is None:
            self._tasks[filename] = progress.add_task(f"Uploading {filename}", total=size or None)
        else:  # a retry starts the file again
            progress.reset(task, total=size or None)
        progress.refresh()
        return True

    def _advance(self, filename: str, sent: int, total: int) -> None:
        task = self._tasks.get(filename)
        if self._progress is not None and task is not None:
            self._progress.update(task, completed=sent, total=total or None)

    def _drop(self, filename: str) -> None:
        task = self._tasks.pop(filename, None)
        if self._progress is not None and task is not None:
            self._progress.refresh()
            self._progress.remove_task(task)

    def _new_progress(self) -> Progress | None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        # hatch's console writes to stdout unless told otherwise; the bars belong on stderr with the other
        # messages, in hatch's colours. Stray prints (warnings) are redirected above the bars.
        console = Console(
            stderr=True,
            color_system=self._app.console.color_system,
            markup=False,
            highlight=False,
            emoji=False,
        )
        if not console.is_terminal:
            self._use_progress = False
            return None
        self._progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TaskProgressColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            redirect_stdout=True,
            redirect_stderr=True,
        )
        self._progress.start()
        return self._progress

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()
