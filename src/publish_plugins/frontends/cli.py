"""``safe-publish``: the standalone command, for everyone not publishing through hatch, PDM or poetry."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from publish_plugins import __version__
from publish_plugins.errors import EXIT_INTERRUPTED, PublishError, UsageError
from publish_plugins.events import Event, Finished, UploadProgress, UploadStarted
from publish_plugins.options import (
    DEFAULT_TIMEOUT,
    INDEX_RULES,
    TRUSTED_PUBLISHING,
    ProjectRef,
    Repository,
    RetryPolicy,
)

from ._shared import (
    Setting,
    endpoint,
    error_lines,
    file_size,
    human_size,
    mask_in_ci_log,
    non_negative_int,
    positive_int,
    publish_options,
    seconds,
)

__all__ = ["build_parser", "console_main", "main"]

_COLORS = {"success": "32", "warning": "33", "error": "31", "info": "", "debug": "2"}


class _Parser(argparse.ArgumentParser):
    """argparse, with a suggestion for a mistyped option (``--skip-exisiting``: did you mean ...?)."""

    def error(self, message: str) -> NoReturn:
        import difflib

        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            known = [option for action in self._actions for option in action.option_strings]
            for word in message[len(prefix) :].split():
                close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1)
                if word.startswith("--") and close:
                    message += f" (did you mean {close[0]}?)"
                    break
        # One line, as every other error of the command (argparse would print its whole usage first).
        self.exit(2, f"error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="safe-publish",
        description=(
            "Upload distributions to a package index, safely re-runnable: the index is read first and files "
            "are compared by hash. Identical files are skipped; a file with the same name and different "
            "content stops the whole run before anything is uploaded (exit 3)."
        ),
        epilog="Exit codes: 0 done, 1 upload/network/auth failure, 2 usage error or bad input, 3 conflict.",
    )
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="distribution files or folders (default: dist/, filtered to the current project's name and "
        "version)",
    )
    where = parser.add_argument_group("where to publish")
    where.add_argument("--repository-url", metavar="URL", help="upload URL (default: PyPI, or -r's URL)")
    where.add_argument("-r", "--repository", metavar="NAME", help="a repository section of ~/.pypirc")
    where.add_argument(
        "--check-url", metavar="URL", help="simple index to check (default: derived from the upload URL)"
    )
    auth = parser.add_argument_group("credentials (also SAFE_PUBLISH_USERNAME / SAFE_PUBLISH_PASSWORD)")
    auth.add_argument("-u", "--username", help="user name; __token__ for an API token")
    auth.add_argument("-p", "--password", help="password or API token (prefer SAFE_PUBLISH_PASSWORD)")
    auth.add_argument(
        "--trusted-publishing",
        choices=TRUSTED_PUBLISHING,
        default="automatic",
        help="mint an upload token from the CI's OIDC identity (PyPI, TestPyPI): automatic (default) when no "
        "credentials were given and a supported CI is detected, always, or never",
    )
    mode = parser.add_argument_group("mode")
    mode.add_argument(
        "--skip-existing",
        action="store_true",
        help="skip files already on the index even when their content differs (with a warning)",
    )
    mode.add_argument(
        "--require-identical",
        action="store_true",
        help="count only byte-identical files as already published (default: a rebuilt archive holding the "
        "same files is skipped as equivalent)",
    )
    mode.add_argument(
        "--per-project",
        action="store_true",
        help="with several projects, check and upload each as its own unit: a conflict or failure in one "
        "does not hold back the others",
    )
    mode.add_argument(
        "--index-rules",
        choices=INDEX_RULES,
        default="auto",
        help="check every file against the index's upload rules before uploading: auto (default: PyPI's, for "
        "PyPI and TestPyPI), pypi (PyPI's, for an index that mirrors them), none",
    )
    mode.add_argument(
        "--max-file-size",
        type=file_size,
        metavar="SIZE",
        help="refuse files larger than SIZE (such as 100M, 1.5G) before anything is uploaded",
    )
    mode.add_argument("--dry-run", action="store_true", help="check and plan, upload nothing")
    mode.add_argument("--report", type=Path, metavar="FILE", help="write a JSON record of every file")
    mode.add_argument(
        "--no-attestations",
        dest="attestations",
        action="store_false",
        help="do not send the PEP 740 attestations found beside the files (<file>.<kind>.attestation)",
    )
    tuning = parser.add_argument_group("connection")
    tuning.add_argument(
        "--jobs", type=positive_int, default=1, metavar="N", help="parallel uploads (default 1)"
    )
    tuning.add_argument("--ca-cert", metavar="FILE", help="CA bundle to verify the index's certificate")
    tuning.add_argument("--client-cert", metavar="FILE", help="client certificate (PEM, may include the key)")
    tuning.add_argument(
        "--client-key", metavar="FILE", help="client certificate key, if not in --client-cert"
    )
    tuning.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"network timeout (default {DEFAULT_TIMEOUT:g})",
    )
    tuning.add_argument(
        "--retries",
        type=non_negative_int,
        default=3,
        metavar="N",
        help="retries on network errors, 5xx and 429 (default 3)",
    )
    tuning.add_argument(
        "--retry-backoff",
        type=_backoff,
        default=RetryPolicy().backoff,
        metavar="SECONDS",
        help=f"first wait before a retry, doubled for each next one (default {RetryPolicy().backoff:g})",
    )
    output = parser.add_argument_group("output")
    output.add_argument("-v", "--verbose", action="count", default=0, help="more detail")
    output.add_argument(
        "-q", "--quiet", action="count", default=0, help="only warnings, errors and the summary"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``safe-publish`` and ``python -m publish_plugins``; returns the exit code."""
    args = build_parser().parse_args(argv)
    renderer = _Renderer(sys.stderr, verbosity=args.verbose - args.quiet)
    password_given = False
    try:
        # First: a report with nowhere to go stops the run before ~/.pypirc, keyring or a password prompt.
        options = publish_options(
            skip_existing=args.skip_existing,
            dry_run=args.dry_run,
            report=args.report,
            jobs=args.jobs,
            retry=RetryPolicy(retries=args.retries, backoff=args.retry_backoff),
            attestations=args.attestations,
            require_identical=args.require_identical,
            per_project=args.per_project,
            index_rules=args.index_rules,
            max_file_size=args.max_file_size,
        )
        repository = _repository(args)
        password_given = repository.password is not None
        from publish_plugins import publish

        # Named files are all taken: pyproject.toml only matters when dist/ is filtered to the project.
        project = None if args.paths else _current_project()
        publish(args.paths, repository, options, project=project, on_event=mask_in_ci_log(renderer))
    except PublishError as exc:
        message, hint = error_lines(
            exc,
            password_given=password_given,
            credentials="pass -u USER -p PASSWORD, set SAFE_PUBLISH_USERNAME / SAFE_PUBLISH_PASSWORD, "
            "or use -r NAME with a section of ~/.pypirc",
            skip_existing="pass --skip-existing",
            options={},  # the core's option names are this command's
        )
        renderer.error(message)
        if hint:
            renderer.hint(hint)
        return exc.exit_code
    except KeyboardInterrupt:
        renderer.error("interrupted")
        return EXIT_INTERRUPTED
    return 0


def console_main() -> NoReturn:
    """The ``safe-publish`` console script (and ``python -m publish_plugins``): :func:`main`, then a prompt
    exit.

    Once httpx is loaded, tearing the interpreter down takes about 40 ms, a tenth of a re-run against a
    remote index, for nothing a finished run needs: the exit hooks run (logging, a keyring backend's), the
    streams are flushed, and the process ends. A background hash of a file nobody needs any more is
    dropped rather than finished. Errors while parsing the options exit as argparse does.
    """
    code = main()
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with the stream closed (or by pythonw)
            continue
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more to say there
            stream.flush()
    os._exit(code)


def _backoff(text: str) -> float:
    """argparse type of ``--retry-backoff``: a finite number of seconds, 0 (no wait) or more."""
    from publish_plugins.options import parse_seconds

    try:
        return parse_seconds(text, zero_ok=True)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None


def _repository(args: argparse.Namespace) -> Repository:
    username, user_from = _first(
        (args.username, "-u"), (os.environ.get("SAFE_PUBLISH_USERNAME"), "SAFE_PUBLISH_USERNAME")
    )
    password = args.password or os.environ.get("SAFE_PUBLISH_PASSWORD") or None
    # "always": the minted token is the only credential; configured ones (~/.pypirc, keyring) are not read.
    configured = args.trusted_publishing != "always"
    url, url_from = _first(
        (args.repository_url, "--repository-url"),
        (os.environ.get("SAFE_PUBLISH_REPOSITORY_URL"), "SAFE_PUBLISH_REPOSITORY_URL"),
    )
    check_url, check_from = _first(
        (args.check_url, "--check-url"), (os.environ.get("SAFE_PUBLISH_CHECK_URL"), "SAFE_PUBLISH_CHECK_URL")
    )
    if args.repository:
        from publish_plugins.frontends._credentials import read_pypirc

        if any(char in args.repository for char in "@/:"):  # a URL: never quoted as is (a password?)
            from publish_plugins._urls import redact_text

            raise UsageError(
                "-r/--repository takes a section name of ~/.pypirc; pass a URL as --repository-url "
                f"(got {redact_text(args.repository)})"
            )
        section = read_pypirc(args.repository)  # checks the section's URL, naming the file
        if url is None and section.url:
            url, url_from = section.url, f"'repository' in [{args.repository}] of ~/.pypirc"
        if configured and not username and section.username:
            username, user_from = section.username, f"'username' in [{args.repository}] of ~/.pypirc"
        if configured:
            password = password or section.password
    # Each URL and file is checked under the name it was given by, before keyring or a prompt sees it.
    checked = endpoint(
        Setting(url or "https://upload.pypi.org/legacy/", url_from),
        Setting(check_url, check_from),
        ca_cert=Setting(args.ca_cert, "--ca-cert"),
        client_cert=Setting(args.client_cert, "--client-cert"),
        client_key=Setting(args.client_key, "--client-key"),
        timeout=args.timeout,
    )
    if password is None and configured:
        from publish_plugins.frontends._credentials import keyring_password

        username, password = keyring_password(checked.upload_url, username)
    if password is None and configured and not _in_ci(args) and not args.dry_run and sys.stdin.isatty():
        # As twine does on a terminal: ask rather than upload anonymously and fail after the first file.
        import getpass

        from publish_plugins._urls import redact

        where = redact(checked.upload_url)
        if not username:
            username = input(f"Username for {where} (__token__ for an API token, empty for none): ").strip()
        if username:
            password = getpass.getpass(f"Password or token for {username} at {where}: ") or None
    how = "pass -p PASSWORD or set SAFE_PUBLISH_PASSWORD (an API token goes with -u __token__)"
    trusted = Setting(args.trusted_publishing, "--trusted-publishing")
    return checked.repository(username, password, user_from=user_from, password_how=how, trusted=trusted)


def _in_ci(args: argparse.Namespace) -> bool:
    """Trusted publishing will be tried (automatic, in a CI with an OIDC identity): no password prompt."""
    from publish_plugins._ci import detected_ci

    return args.trusted_publishing == "automatic" and detected_ci() is not None


def _first(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
    """The first value given (not None, not empty) and where it came from (the last source if none is)."""
    for value, source in candidates:
        if value:
            return value, source
    return None, candidates[-1][1]


def _current_project() -> ProjectRef | None:
    """Name and version from ./pyproject.toml ([project], else [tool.poetry]); None outside a project."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    path = Path.cwd() / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None
    table = data.get("project") or data.get("tool", {}).get("poetry") or {}
    name = table.get("name")
    if not isinstance(name, str):
        return None
    version = table.get("version")
    return ProjectRef(name, version if isinstance(version, str) else None)


class _Renderer:
    """One line per file and event on stderr; a progress line on a terminal; colour unless NO_COLOR."""

    def __init__(self, stream: TextIO, *, verbosity: int) -> None:
        self.stream = stream
        self.verbosity = verbosity
        self.tty = stream.isatty()
        self.color = self.tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
        self._last_percent: dict[str, int] = {}
        self._progress_open = False

    def __call__(self, event: Event) -> None:
        if isinstance(event, UploadProgress):
            self._progress(event)
            return
        if isinstance(event, UploadStarted):
            self._last_percent.pop(event.filename, None)
        level = event.level
        if level == "debug" and self.verbosity < 1:
            return
        if level in ("info", "success") and self.verbosity < 0 and not isinstance(event, Finished):
            return
        self._line(event.message, level)

    def error(self, text: str) -> None:
        self._line(f"error: {text}", "error")

    def hint(self, text: str) -> None:
        """The next step after an error, on its own line: shown with -q too, as the error is."""
        self._line(f"hint: {text}", "info")

    def _progress(self, event: UploadProgress) -> None:
        if not self.tty or self.verbosity < 0:
            return
        percent = 100 * event.sent // event.total if event.total else 100
        if self._last_percent.get(event.filename) == percent:
            return
        self._last_percent[event.filename] = percent
        width = 30
        filled = width * percent // 100
        bar = "#" * filled + "-" * (width - filled)
        # Large files take the server a while to store after the last byte: say what the wait is.
        tail = ", waiting for the server" if event.sent >= event.total else ""
        self.stream.write(f"\r{event.filename} [{bar}] {percent:3d}% of {human_size(event.total)}{tail}")
        self.stream.flush()
        self._progress_open = True

    def _line(self, text: str, level: str) -> None:
        if self._progress_open:
            self.stream.write("\r\033[K" if self.tty else "\n")
            self._progress_open = False
        code = _COLORS.get(level, "")
        if self.color and code:
            text = f"\033[{code}m{text}\033[0m"
        self.stream.write(text + "\n")
        self.stream.flush()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
