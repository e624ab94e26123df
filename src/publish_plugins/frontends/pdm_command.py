"""``pdm safe-publish``: ``pdm publish``'s options and configuration, the core's safe upload.

PDM registers the command (and so imports this module) on every start, for every command: the top level
imports only what PDM has loaded already (argparse wiring); the core, httpx and PDM's publish machinery are
imported when the command runs.

What comes from PDM (research/hosts.md §2): the build (``pdm build``'s ``do_build``, as ``pdm publish``
calls it), the repository (``[repository.NAME]`` in the project's ``pdm.toml`` and the global config,
``PDM_PUBLISH_*``, PDM's keyring entries, the built-in ``pypi``/``testpypi``), the credentials (PDM's own
lookup order: options, URL user info, keyring, PyPI trusted publishing, prompt), the TLS settings, the
``pre_publish``/``post_publish`` hooks, and the terminal UI. What does not: the HTTP session. PDM's sets the
upload credentials on the client, so they would travel with every request; the core uploads and reads the
index with its own client, which sends credentials to the upload origin only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pdm.cli.commands.base import BaseCommand
from pdm.cli.options import project_option, skip_option, verbose_option

if TYPE_CHECKING:
    from pdm.project import Project
    from pdm.termui import UI
    from rich.progress import Progress, TaskID

    from publish_plugins.events import Event
    from publish_plugins.publish import PublishResult
    from publish_plugins.selection import ProjectRef
    from publish_plugins.settings import Repository

__all__ = ["SafePublishCommand"]

EXIT_INTERRUPTED = 130


class SafePublishCommand(BaseCommand):
    """``pdm publish`` reading the index first: identical files are skipped, a differing one stops the run."""

    description = (
        "Build and publish the project, checking the index by hash first: identical files are skipped, "
        "a file that differs from the index stops the run before anything is uploaded"
    )
    arguments = (verbose_option, project_option, skip_option)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        # The same names, dests and environment variables as `pdm publish`, so that users can swap the
        # command name and keep the rest of the line.
        parser.epilog = (
            "Exit codes: 0 every file is on the index, 1 upload/network/authentication failure, "
            "2 usage error or bad input, 3 conflict (nothing uploaded)."
        )
        parser.add_argument(
            "-r",
            "--repository",
            help="The repository name or url to publish the package to [env var: PDM_PUBLISH_REPO]",
        )
        parser.add_argument(
            "-u",
            "--username",
            help="The username to access the repository [env var: PDM_PUBLISH_USERNAME]",
        )
        parser.add_argument(
            "-P",
            "--password",
            help="The password to access the repository [env var: PDM_PUBLISH_PASSWORD]",
        )
        parser.add_argument(
            "--no-build",
            action="store_false",
            dest="build",
            help="Don't build the package before publishing",
        )
        parser.add_argument(
            "-d",
            "--dest",
            default="dist",
            help="The directory to upload the package from (default: dist); only files of the project's "
            "name and version are taken",
        )
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--no-verify-ssl",
            action="store_false",
            dest="verify_ssl",
            default=None,
            help="Disable SSL verification",
        )
        group.add_argument(
            "--ca-certs",
            dest="ca_certs",
            help="The path to a PEM-encoded Certificate Authority bundle to use"
            " for publish server validation [env var: PDM_PUBLISH_CA_CERTS]",
        )
        safe = parser.add_argument_group("safe publishing")
        safe.add_argument(
            "--check-url",
            metavar="URL",
            help="The simple index to check before uploading (default: derived from the repository url)",
        )
        safe.add_argument(
            "--skip-existing",
            action="store_true",
            help="Skip files already on the index even when their content differs (with a warning "
            "naming both hashes); without it such a file stops the run (exit 3)",
        )
        safe.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the index and show what would be uploaded; upload nothing",
        )
        safe.add_argument(
            "--report", type=Path, metavar="FILE", help="Write a JSON record of every file to FILE"
        )
        safe.add_argument(
            "--jobs",
            type=_positive_int,
            default=1,
            metavar="N",
            help="Upload N files in parallel (default: 1)",
        )

    def handle(self, project: Project, options: argparse.Namespace) -> None:
        # PDM turns any exception into exit 1; the documented codes need sys.exit.
        code = _run(project, options)
        if code:
            sys.exit(code)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _run(project: Project, options: argparse.Namespace) -> int:
    from pdm.cli.hooks import HookManager
    from pdm.exceptions import PdmUsageError

    from publish_plugins.errors import PublishError, UsageError
    from publish_plugins.publish import publish
    from publish_plugins.settings import PublishOptions

    ui = project.core.ui
    renderer = _Renderer(ui)
    hooks = HookManager(project, options.skip)
    try:
        hooks.try_emit("pre_publish")
        try:
            # Before the build: a typo in -r or a missing password must not cost a build.
            target = _resolve_target(project, options)
        except PdmUsageError as exc:
            raise UsageError(_usage_message(str(exc))) from None
        if options.build:
            from pdm.cli.commands import build

            build.Command.do_build(project, dest=options.dest, hooks=hooks)
        dist_dir = _display_path(project.root.joinpath(options.dest))
        if not dist_dir.is_dir():
            raise UsageError(f"{dist_dir} is not a folder; build first (without --no-build) or set -d/--dest")
        publish_options = PublishOptions(
            mode="skip-existing" if options.skip_existing else "strict",
            dry_run=options.dry_run,
            report_path=options.report,
            jobs=options.jobs,
        )
        result = publish(
            [],
            _core_repository(project, target, check_url=options.check_url),
            publish_options,
            project=_project_ref(project, ui),
            dist_dir=dist_dir,
            on_event=renderer,
        )
    except PublishError as exc:
        renderer.close()
        ui.error(_escape(str(exc)))
        return exc.exit_code
    except KeyboardInterrupt:
        renderer.close()
        ui.error("interrupted")
        return EXIT_INTERRUPTED
    finally:
        renderer.close()
    if not options.dry_run:
        target.save_prompted_credentials()
        _show_release_urls(ui, str(target.config.url), result)
        hooks.try_emit("post_publish")
    return 0


# ---- repository, credentials, TLS -----------------------------------------------------------------------


class _NoCredentials(Exception):
    """A dry run found no stored credentials: it reads the index anonymously instead of asking."""


@dataclass
class _Target:
    """What PDM resolved: the repository config (URL, TLS) and the credentials for it."""

    config: Any  # pdm._types.RepositoryConfig
    username: str | None
    password: str | None = field(repr=False)
    pdm_repository: Any  # PDM's Repository, which saves prompted credentials after a successful upload

    def save_prompted_credentials(self) -> None:
        # PDM offers to save prompted credentials to the keyring and does it after the first successful
        # upload (Repository.upload); the upload here is the core's, so this does that step.
        pending = getattr(self.pdm_repository, "_credentials_to_save", None)
        if pending is not None:
            self.pdm_repository._save_credentials(*pending)
            self.pdm_repository._credentials_to_save = None


def _resolve_target(project: Project, options: argparse.Namespace) -> _Target:
    """Run ``pdm publish``'s own ``Command.get_repository`` and keep what it resolved.

    PDM's function reads ``-r``/``-u``/``-P``/``--ca-certs``/``--no-verify-ssl``, ``PDM_PUBLISH_*``, the
    ``[repository.NAME]`` tables of the project's ``pdm.toml`` and the global config, PDM's keyring entries
    and the built-in ``pypi``/``testpypi``, in the order of the installed PDM (it changed between 2.13 and
    2.29), then builds PDM's ``Repository``, which finds the credentials (URL user info, keyring by URL,
    PyPI trusted publishing, prompt). For that call only, ``Repository`` is a subclass recording the
    config and the credentials. PDM's upload session it builds is never used for publishing.
    """
    import ssl

    import pdm.cli.commands.publish as publish_command
    import pdm.cli.commands.publish.repository as repository_module
    from pdm.exceptions import PdmUsageError

    from publish_plugins.errors import PublishError, UsageError

    original = repository_module.Repository
    dry_run = bool(options.dry_run)
    found: dict[str, Any] = {}

    class RecordingRepository(original):  # type: ignore[misc,valid-type]
        def __init__(self, project: Project, config: Any) -> None:
            found["config"] = config
            super().__init__(project, config)
            found["repository"] = self

        def _ensure_credentials(self, username: str | None, password: str | None) -> tuple[str, str]:
            try:
                resolved = super()._ensure_credentials(username, password)
            except (_NoCredentials, PdmUsageError):
                if not dry_run:
                    raise
                found["credentials"] = (username, None)
                return "", ""  # for PDM's own session, which is not used
            found["credentials"] = resolved
            return resolved  # type: ignore[no-any-return]

        def _get_pypi_token_via_oidc(self) -> str | None:
            if dry_run:  # a dry run only reads the index: no token minted for it
                return None
            return super()._get_pypi_token_via_oidc()  # type: ignore[no-any-return]

        def _prompt_for_credentials(self, service: str, username: str | None) -> tuple[str, str, bool]:
            if dry_run:
                raise _NoCredentials
            return super()._prompt_for_credentials(service, username)  # type: ignore[no-any-return]

    # PDM 2.29 imports Repository inside get_repository, PDM 2.13 at the top of its module: patch both.
    patched = [(repository_module, "Repository")]
    if getattr(publish_command, "Repository", None) is original:
        patched.append((publish_command, "Repository"))
    for module, name in patched:
        setattr(module, name, RecordingRepository)
    try:
        with _bare_environment(project):
            publish_command.Command.get_repository(project, options)
    except (OSError, ssl.SSLError) as exc:
        # PDM's session loads the CA bundle and client certificate at once; a wrong path is a usage error.
        config = found.get("config")
        files = [getattr(config, key, None) for key in ("ca_certs", "client_cert", "client_key")]
        named = ", ".join(str(path) for path in files if path)
        if not named:
            raise
        if isinstance(exc, FileNotFoundError):
            raise UsageError(f"{named}: no such certificate file") from None
        raise UsageError(f"{named}: not a usable certificate ({exc.strerror or exc})") from None
    finally:
        for module, name in patched:
            setattr(module, name, original)
    if "config" not in found:  # a PDM whose publish command no longer builds its Repository this way
        raise PublishError(
            f"pdm safe-publish does not support this PDM's publish command (PDM {_pdm_version()}); "
            "please report it to publish-plugins"
        )
    config = found["config"]
    username, password = found.get("credentials", (config.username, config.password))
    if dry_run and not password:
        # Anonymous: a user name without a password would make every read fail where anonymous ones work.
        project.core.ui.echo(
            "dry run: no stored credentials, reading the index anonymously",
            err=True,
            verbosity=_verbosity("DETAIL"),
        )
        return _Target(config, None, None, found.get("repository"))
    return _Target(config, username or None, password or None, found.get("repository"))


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
    project.environment = BareEnvironment(project)
    try:
        yield
    finally:
        project.environment = None


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


def _core_repository(project: Project, target: _Target, *, check_url: str | None) -> Repository:
    from publish_plugins.settings import DEFAULT_TIMEOUT, Repository

    config = target.config
    verify = getattr(config, "verify_ssl", None) is not False
    # PDM's session falls back to these variables for a CA bundle (pdm.models.session); so does this.
    ca_cert = config.ca_certs or os.getenv("REQUESTS_CA_BUNDLE") or os.getenv("CURL_CA_BUNDLE") or None
    client_cert = getattr(config, "client_cert", None) or None
    client_key = getattr(config, "client_key", None) or None
    # PDM's request_timeout (default 15 s) is sized for index pages; an index may take longer to answer
    # after receiving a large upload, so the core's default (60 s) is the floor and only a longer one counts.
    try:
        timeout = max(float(project.config["request_timeout"]), DEFAULT_TIMEOUT)
    except (KeyError, TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT
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


def _display_path(path: Path) -> Path:
    # Messages and the report name files as the user sees them: relative when under the current folder.
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _without_userinfo(url: str) -> str:
    # PDM took user:password from the URL as credentials already; the core gets them as plain values.
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


# ---- project, output ---------------------------------------------------------------------------------


def _project_ref(project: Project, ui: UI) -> ProjectRef | None:
    """The project's name and static version, which select the files of ``--dest`` to publish."""
    from publish_plugins.selection import ProjectRef

    name = project.name
    if not name:
        return None  # no [project] name: every distribution in --dest is taken
    metadata = project.pyproject.metadata
    dynamic = [str(item) for item in metadata.get("dynamic", [])]
    version = metadata.get("version")
    if "version" in dynamic or version is None:
        ui.echo(
            f"{_escape(str(name))}: no static version in pyproject.toml, taking every version in the folder",
            err=True,
            verbosity=_verbosity("DETAIL"),
        )
        return ProjectRef(str(name))
    return ProjectRef(str(name), str(version))


def _show_release_urls(ui: UI, upload_url: str, result: PublishResult) -> None:
    # As `pdm publish` does, for PyPI and TestPyPI only: other indexes have no standard page URL.
    from pdm.project.config import DEFAULT_REPOSITORIES

    bases = {
        DEFAULT_REPOSITORIES["pypi"]: "https://pypi.org/",
        DEFAULT_REPOSITORIES["testpypi"]: "https://test.pypi.org/",
    }
    base = next((page for upload, page in bases.items() if upload_url.startswith(upload.rstrip("/"))), None)
    if base is None:
        return
    releases = {(r.project, r.version) for r in result.records if r.action == "uploaded" and r.project}
    if releases:
        ui.echo("\n[success]View at:")
        for project, version in sorted(releases, key=str):
            ui.echo(f"{base}project/{project}/{version}/")


def _verbosity(name: str) -> Any:
    from pdm.termui import Verbosity

    return Verbosity[name]


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


class _Renderer:
    """Core events → PDM's UI: one line per event by level, rich progress bars for uploads.

    Lines of the run (info, success) go to stdout like ``pdm publish``'s "Uploading …" and ``pdm build``'s
    lines; warnings and errors to stderr as ``WARNING:``/``ERROR:``; debug lines at ``-v``. Events arrive from
    the core's worker threads with ``--jobs``, hence the lock. While bars are on a terminal every line goes
    through the progress console, or the bars and the lines would overwrite each other.
    """

    def __init__(self, ui: UI) -> None:
        from pdm.termui import Verbosity

        self.ui = ui
        self.quiet = ui.verbosity <= Verbosity.QUIET
        self._lock = threading.RLock()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, event: Event) -> None:
        from publish_plugins.events import Finished, UploadProgress, UploadStarted

        with self._lock:
            if isinstance(event, UploadProgress):
                self._advance(event.filename, event.sent, event.total)
                return
            if isinstance(event, UploadStarted):
                self._start(event.filename, event.size)
                return
            if isinstance(event, Finished):
                self.close()
                self._finished(event)
                return
            self._line(event.level, event.message)

    def _start(self, filename: str, size: int) -> None:
        if self.quiet:
            return
        progress = self._open()
        task = self._tasks.get(filename)
        if task is None:
            progress.console.print(f"Uploading [success]{_escape(filename)}[/]", soft_wrap=True)
            self._tasks[filename] = progress.add_task(filename, total=size)
        else:  # a retry sends the file again from the first byte
            progress.reset(task, total=size)

    def _advance(self, filename: str, sent: int, total: int) -> None:
        task = self._tasks.get(filename)
        if task is not None and self._progress is not None:
            self._progress.update(task, completed=sent, total=total)

    def _open(self) -> Progress:
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
            from rich.table import Column

            # PDM's upload columns (pdm/cli/commands/publish/repository.py), plus the file name: with
            # --jobs several bars are on screen at once. No column wraps: on a narrow terminal the file
            # name is shortened instead, so that each bar stays one line.
            def one_line() -> Column:
                return Column(no_wrap=True, overflow="ellipsis")

            self._progress = self.ui.make_progress(
                TextColumn(
                    "{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)
                ),
                TextColumn(" [progress.percentage]{task.percentage:>3.0f}%", table_column=one_line()),
                BarColumn(bar_width=24),
                DownloadColumn(table_column=one_line()),
                TextColumn("•", table_column=one_line()),
                TimeRemainingColumn(compact=True, elapsed_when_finished=True, table_column=one_line()),
                TextColumn("•", table_column=one_line()),
                TransferSpeedColumn(table_column=one_line()),
            )
            self._progress.start()
        return self._progress

    def close(self) -> None:
        """Take the bars off the screen (the final state stays); safe to call more than once."""
        with self._lock:
            progress, self._progress = self._progress, None
            self._tasks.clear()
            if progress is not None:
                progress.stop()

    def _line(self, level: str, message: str) -> None:
        from pdm.termui import Verbosity

        text = _escape(message)
        if level == "error":
            self._print(f"[error]ERROR:[/] {text}", Verbosity.QUIET, err=True)
        elif level == "warning":
            # Not hidden by -q: a skipped file whose content differs must never pass silently.
            self._print(f"[warning]WARNING:[/] {text}", Verbosity.QUIET, err=True)
        elif level == "success":
            self._print(f"[success]{text}[/]", Verbosity.NORMAL)
        elif level == "debug":
            self._print(f"[dim]{text}[/]", Verbosity.DETAIL, err=True)
        else:
            self._print(text, Verbosity.NORMAL)

    def _finished(self, event: Any) -> None:
        from pdm.termui import Verbosity

        style = "success" if event.exit_code == 0 else "error"
        self._print(f"[{style}]{_escape(event.message)}[/]", Verbosity.NORMAL)

    def _print(self, markup: str, verbosity: Any, *, err: bool = False) -> None:
        if self.ui.verbosity < verbosity:
            return
        progress = self._progress
        if progress is not None and not progress.disable and progress.console.is_terminal:
            # Bars on a terminal: lines go above them through their console (soft_wrap: one event, one
            # line). Elsewhere (CI logs, -v) the bars are not redrawn, so lines keep their own stream.
            progress.console.print(markup, soft_wrap=True)
        else:
            self.ui.echo(markup, err=err, verbosity=verbosity)
