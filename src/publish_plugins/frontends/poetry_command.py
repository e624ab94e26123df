"""``poetry publish`` with two more options: ``--skip-existing-strict`` and ``--check-url URL``.

Without them the command is poetry's own (``super().handle()``), unchanged. With them, poetry's options
and configuration are resolved the way ``poetry.publishing.Publisher.publish`` resolves them (repository
URL, API token or http-basic credentials, certificates) and the plain values go to the core, which checks
the index by hash before uploading anything. Output goes through cleo's ``io`` in poetry's style.

Only poetry and cleo are imported at module level: poetry loads this on every command through the
plugin, and the core (httpx and all) is only needed when one of the new options is given.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from cleo.formatters.formatter import Formatter
from cleo.helpers import option
from cleo.io.outputs.output import Verbosity
from poetry.console.commands.publish import PublishCommand

if TYPE_CHECKING:
    from cleo.io.inputs.option import Option
    from cleo.io.io import IO
    from cleo.ui.progress_bar import ProgressBar
    from poetry.config.config import Config

    from publish_plugins.events import Event
    from publish_plugins.settings import Repository

__all__ = ["SafePublishCommand"]

PYPI_UPLOAD_URL = "https://upload.pypi.org/legacy/"
EXIT_FAILURE = 1
EXIT_USAGE = 2

_HELP = """
<info>--skip-existing-strict</info> (from publish-plugins) reads the index before uploading and
compares files by hash: a file already there with the same content is skipped; a file there with
the same name and different content stops the run before anything is uploaded (exit code 3).
The index to read is derived from the repository URL (<comment>.../simple/</comment>, devpi
<comment>+simple</comment>, PyPI); <info>--check-url</info> names it where it cannot be derived,
and implies <info>--skip-existing-strict</info>.

Exit codes with these options: 0 every file is on the index, 1 upload, network or authentication
failure, 2 usage error or invalid distribution, 3 conflict (nothing uploaded).
"""


class CommandProblem(Exception):
    """A problem found before the core runs, reported in one line with its exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class SafePublishCommand(PublishCommand):
    """poetry's ``publish``; ``--skip-existing-strict`` or ``--check-url`` switch to the safe path."""

    options: ClassVar[list[Option]] = [
        *PublishCommand.options,
        option(
            "skip-existing-strict",
            None,
            "Check the index first: skip files it already has with identical content; if it has a file "
            "with the same name and different content, upload nothing and exit with 3.",
        ),
        option(
            "check-url",
            None,
            "Simple index to check before uploading (default: derived from the repository URL). "
            "Implies --skip-existing-strict.",
            flag=False,
        ),
    ]

    help = PublishCommand.help + _HELP

    def handle(self) -> int:
        check_url = self.option("check-url")
        if not self.option("skip-existing-strict") and check_url is None:
            return super().handle()
        try:
            return self._handle_safely(check_url)
        except CommandProblem as exc:
            self.line_error(f"<error>{_escape(str(exc))}</error>")
            return exc.exit_code

    def _handle_safely(self, check_url: str | None) -> int:
        if self.option("skip-existing"):
            raise CommandProblem(
                "--skip-existing cannot be combined with --skip-existing-strict or --check-url: "
                "choose one way of handling files already on the index"
            )
        if check_url is not None and not check_url.strip():
            raise CommandProblem("--check-url needs a URL")
        if not self.poetry.is_package_mode:
            self.line_error("Publishing a package is not possible in non-package mode.")
            return EXIT_FAILURE
        try:
            from publish_plugins import ProjectRef, PublishError, PublishOptions, publish
        except ImportError as exc:
            # Plain `poetry publish` still works; only the new options need the core.
            self.line_error(f"<error>publish-plugins cannot load its core: {_escape(str(exc))}</error>")
            return EXIT_FAILURE

        dist_dir = self.option("dist-dir")
        if self.option("build"):
            code = self._build(dist_dir)
            if code:
                return code
        repository_name, repository = self._repository(check_url)

        package = self.poetry.package
        self.line("")
        self.line(
            f"Publishing <c1>{_escape(package.pretty_name)}</c1> (<c2>{_escape(package.version.text)}</c2>)"
            f" to <info>{_escape(repository_name)}</info>"
        )
        renderer = EventRenderer(self.io)
        try:
            publish(
                [],
                repository,
                PublishOptions(mode="strict", dry_run=bool(self.option("dry-run"))),
                project=ProjectRef(package.name, package.version.text),
                dist_dir=self._dist_path(dist_dir),
                on_event=renderer,
            )
        except PublishError as exc:
            renderer.close()
            self.line_error(f"<error>{_escape(str(exc))}</error>")
            return exc.exit_code
        renderer.close()
        return 0

    def _dist_path(self, dist_dir: str) -> Path:
        # The same folder poetry's Uploader reads: --dist-dir relative to the project, not the cwd.
        from poetry.publishing.uploader import Uploader

        path = Uploader(self.poetry, self.io, Path(dist_dir)).dist_dir
        # Relative to the working directory when inside it, so that file lines stay short.
        try:
            return path.relative_to(Path.cwd())
        except ValueError:
            return path

    def _build(self, dist_dir: str) -> int:
        """Build first, with the same question or warning as poetry's own ``publish --build``."""
        from poetry.publishing.uploader import Uploader

        ready = Uploader(self.poetry, self.io, Path(dist_dir)).files
        if ready:
            if self.io.is_interactive():
                if not self.confirm(
                    f"There are <info>{len(ready)}</info> files ready for publishing in {dist_dir}. "
                    "Build anyway?"
                ):
                    self.line_error("<error>Aborted!</error>")
                    return EXIT_FAILURE
            else:
                self.line(
                    f"<warning>Warning: There are <info>{len(ready)}</info> files ready for publishing in "
                    f"{dist_dir}. Build anyway!</warning>"
                )
        return int(self.call("build", args=f"--output {_quote_arg(dist_dir)}") or 0)

    def _repository(self, check_url: str | None) -> tuple[str, Repository]:
        """Upload URL, credentials and TLS settings as ``Publisher.publish`` resolves them (poetry 1.2+)."""
        from poetry.utils.authenticator import Authenticator
        from poetry.utils.password_manager import PoetryKeyringError

        from publish_plugins import Repository

        config = self.poetry.config
        name: str | None = self.option("repository")
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

        username: str | None = self.option("username")
        password: str | None = self.option("password")
        # No HTTP cache: nothing is downloaded through poetry, it only resolves settings.
        authenticator = Authenticator(config, self.io, disable_cache=True)
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

        ca_cert = _existing_file(self.option("cert"), "--cert") or _existing_file(
            certificates.cert, f"certificates.{name}.cert"
        )
        client_cert = _existing_file(self.option("client-cert"), "--client-cert") or _existing_file(
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


def _escape(text: str) -> str:
    """Text from files, servers or the user must not be read as cleo markup (``<html>`` in a message)."""
    return Formatter.escape(text)


def _quote_arg(value: str) -> str:
    # cleo's StringInput splits on spaces and understands double quotes.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_STYLES = {"debug": "debug", "info": None, "success": "success", "warning": "warning", "error": "error"}


class EventRenderer:
    """Render core events with cleo: one line per event, styled by level; poetry's bar for uploads.

    info/success/debug go to stdout (debug only with -v), warnings and errors to stderr, the upload bar
    to stderr like poetry's own. The index check may emit from worker threads, hence the lock.
    """

    def __init__(self, io: IO) -> None:
        from publish_plugins.events import FileUploaded, UploadFailedEvent, UploadProgress, UploadStarted

        self._io = io
        self._failed = UploadFailedEvent
        self._started = UploadStarted
        self._progress = UploadProgress
        self._uploaded = FileUploaded
        self._bar: ProgressBar | None = None
        self._bar_file = ""
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if isinstance(event, self._progress):
                if self._bar is not None and event.filename == self._bar_file:
                    self._bar.set_progress(min(event.sent, event.total))
                return
            if isinstance(event, self._started):
                self._close_bar(None)
                self._open_bar(event.filename, event.size)
                return
            if isinstance(event, self._uploaded) and self._bar is not None:
                # The finished bar says it: " - Uploading <file> 100%" in green, as poetry shows it.
                self._close_bar("<fg=green>%percent%%</>")
                return
            # Any other event ends an open bar: the upload did not succeed (yet); say so on a failure.
            failed = (
                isinstance(event, self._failed)
                or event.level == "error"
                or getattr(event, "exit_code", 0) != 0  # Finished after a failure
            )
            self._close_bar("<error>FAILED</>" if failed else None)
            self._line(event.message, event.level)

    def close(self) -> None:
        with self._lock:
            self._close_bar(None)

    def _open_bar(self, filename: str, size: int) -> None:
        from cleo.ui.progress_bar import ProgressBar

        if self._io.error_output.is_quiet():
            return
        bar = ProgressBar(self._io, max=max(size, 1))
        bar.set_format(f" - Uploading <c1>{_escape(filename)}</c1> <b>%percent%%</b>")
        bar.start()
        self._bar, self._bar_file = bar, filename

    def _close_bar(self, status: str | None) -> None:
        bar, self._bar = self._bar, None
        if bar is None:
            return
        if status is not None:
            bar.set_format(f" - Uploading <c1>{_escape(self._bar_file)}</c1> {status}")
        if status is not None and "%percent%" in status:
            bar.finish()
        else:
            bar.display()
        self._io.write_error_line("")

    def _line(self, message: str, level: str) -> None:
        style = _STYLES.get(level)
        text = f"<{style}>{_escape(message)}</>" if style else _escape(message)
        if level in ("warning", "error"):
            self._io.write_error_line(text)
        elif level == "debug":
            self._io.write_line(text, verbosity=Verbosity.VERBOSE)
        else:
            self._io.write_line(text)
