"""``poetry publish`` with more options: ``--skip-existing-strict``, and the options that imply it
(``--check-url URL``, ``--trusted-publishing MODE``, ``--no-attestations``, ``--require-identical``,
``--per-project``, ``--index-rules RULES``, ``--max-file-size SIZE``, ``--report FILE``, ``--jobs N``).

Without them the command is poetry's own (``super().handle()``), unchanged; poetry's own
``--skip-existing`` alone too. With them, poetry's options and configuration are resolved the way
``poetry.publishing.Publisher.publish`` resolves them (``poetry_repository``) and the plain values go to the
core, which checks the index by hash before uploading anything; ``--skip-existing`` with them is the
core's checked skip-existing mode. Output goes through cleo's ``io`` in poetry's style
(``poetry_output``).

Only poetry and cleo are imported at module level: poetry loads this on every command through the
plugin, and the core (httpx and all) is only needed when one of the new options is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, TypeVar

from cleo.helpers import option
from poetry.console.commands.publish import PublishCommand

from ._shared import (
    Setting,
    display_path,
    error_lines,
    mask_in_ci_log,
    publish_options,
    trusted_publishing,
)
from .poetry_output import EventRenderer, escape
from .poetry_repository import check_repository_url, resolve_repository

if TYPE_CHECKING:
    from cleo.io.inputs.option import Option

__all__ = ["SafePublishCommand"]

# The plugin's options: --skip-existing-strict and those that imply it (poetry has none of them, so any of
# them asks for the plugin's checked publish).
_PLUGIN_OPTIONS = (
    "skip-existing-strict",
    "check-url",
    "trusted-publishing",
    "no-attestations",
    "require-identical",
    "per-project",
    "index-rules",
    "max-file-size",
    "report",
    "jobs",
)
# An empty value (`--report=`) is refused naming the option, before anything is read.
_NEEDS_A_VALUE = {
    "check-url": "a URL",
    "trusted-publishing": "a value: automatic, always or never",
    "index-rules": "a value: auto, pypi or none",
    "max-file-size": "a size, such as 100M",
    "report": "a file name",
    "jobs": "a number",
}
# The next step after a conflict: the checked skip-existing mode, not poetry's own unchecked one.
_CHECKED_SKIP_EXISTING = (
    "pass --skip-existing together with --skip-existing-strict (checked: files already on the index are "
    "skipped, and one with other content is skipped with a warning naming both hashes)"
)

_HELP = """
<info>--skip-existing-strict</info> (from publish-plugins) reads the index before uploading and
compares files by hash: a file already there with the same content (or the same files inside, a
rebuild) is skipped; a file there with the same name and different content stops the run before
anything is uploaded (exit code 3). The index to read is derived from the repository URL
(<comment>.../simple/</comment>, devpi <comment>+simple</comment>, PyPI); <info>--check-url</info> names it
where it cannot be derived.

<info>--skip-existing</info> together with <info>--skip-existing-strict</info> (or an option that implies
it) is checked too: files already on the index are skipped, and one with different content is skipped
with a warning naming both hashes instead of stopping the run. <info>--skip-existing</info> alone is
poetry's own, unchecked.

<info>--trusted-publishing</info> (PyPI, TestPyPI) mints an upload token from the CI's OIDC identity:
<comment>automatic</comment> (the default) when no credentials are configured and a supported CI is
detected, <comment>always</comment> (configured credentials are not read, -u/-p refused), or
<comment>never</comment>. Attestations found beside the files (<comment><file>.<kind>.attestation</comment>)
are sent with them unless <info>--no-attestations</info> is given.

<info>--check-url</info>, <info>--trusted-publishing</info>, <info>--no-attestations</info>,
<info>--require-identical</info>, <info>--per-project</info>, <info>--index-rules</info>,
<info>--max-file-size</info>, <info>--report</info> and <info>--jobs</info> imply
<info>--skip-existing-strict</info>. <info>--report</info>, <info>--cert</info> and
<info>--client-cert</info> are relative to the current folder, <info>--dist-dir</info> to the project.

Exit codes with these options: 0 every file is on the index, 1 upload, network or authentication
failure, 2 usage error or invalid distribution, 3 conflict (nothing uploaded).
"""


class SafePublishCommand(PublishCommand):
    """poetry's ``publish``; ``--skip-existing-strict`` (or an option that implies it) switches to the safe
    path."""

    options: ClassVar[list[Option]] = [
        *PublishCommand.options,
        option(
            "skip-existing-strict",
            None,
            "Check the index first: skip files it already has with identical content; if it has a file "
            "with the same name and different content, upload nothing and exit with 3 (with --skip-existing: "
            "skip it with a warning).",
        ),
        option(
            "check-url",
            None,
            "Simple index to check before uploading (default: derived from the repository URL). "
            "Implies --skip-existing-strict.",
            flag=False,
        ),
        option(
            "trusted-publishing",
            None,
            "Mint an upload token from the CI's OIDC identity (PyPI, TestPyPI): automatic (default), always "
            "or never. Implies --skip-existing-strict.",
            flag=False,
        ),
        option(
            "no-attestations",
            None,
            "Do not send the PEP 740 attestations found beside the files. Implies --skip-existing-strict.",
        ),
        option(
            "require-identical",
            None,
            "Count only byte-identical files as already published (default: a rebuild holding the same "
            "files is skipped as equivalent). Implies --skip-existing-strict.",
        ),
        option(
            "per-project",
            None,
            "Check and upload each project as its own unit (poetry publishes one project: nothing changes). "
            "Implies --skip-existing-strict.",
        ),
        option(
            "index-rules",
            None,
            "Check every file against the index's upload rules first: auto (default: PyPI's, for PyPI and "
            "TestPyPI), pypi or none. Implies --skip-existing-strict.",
            flag=False,
        ),
        option(
            "max-file-size",
            None,
            "Refuse files larger than this (such as 100M, 1.5G) before anything is uploaded. "
            "Implies --skip-existing-strict.",
            flag=False,
        ),
        option(
            "report",
            None,
            "Write a JSON record of every file to this file (relative to the current folder). "
            "Implies --skip-existing-strict.",
            flag=False,
        ),
        option(
            "jobs",
            None,
            "Parallel uploads (default 1). Implies --skip-existing-strict.",
            flag=False,
        ),
    ]

    help = PublishCommand.help + _HELP
    _repository_name: str
    _password_given: bool

    def handle(self) -> int:
        if not self._plugin_asked():
            return super().handle()  # poetry's own, its --skip-existing included
        from publish_plugins.errors import EXIT_INTERRUPTED, PublishError

        renderer = EventRenderer(self.io)
        self._repository_name, self._password_given = "PyPI", False  # for the hint, once known
        try:
            return self._handle_safely(renderer)
        except PublishError as exc:
            renderer.close()
            name = "pypi" if self._repository_name == "PyPI" else self._repository_name
            env_name = re.sub(r"[^A-Z0-9]", "_", name.upper())
            message, hint = error_lines(
                exc,
                password_given=self._password_given,
                credentials=f"run `poetry config http-basic.{name} USER` (it asks for the password) or set "
                f"POETRY_HTTP_BASIC_{env_name}_USERNAME / _PASSWORD",
                skip_existing=_CHECKED_SKIP_EXISTING,
            )
            self.line_error(f"<error>{escape(message)}</error>")
            if hint:
                self.line_error(escape(hint))
            return exc.exit_code
        except KeyboardInterrupt:
            # cleo would exit 1; an interrupted run exits 130 in every front end (a run in progress raises
            # the core's Interrupted instead, with 130 or 143).
            self.line_error("<error>interrupted</error>")
            return EXIT_INTERRUPTED
        finally:
            renderer.close()

    def _plugin_asked(self) -> bool:
        """One of the plugin's options was given: ``--skip-existing-strict`` or one that implies it."""
        return any(self.option(name) not in (None, False) for name in _PLUGIN_OPTIONS)

    def _handle_safely(self, renderer: EventRenderer) -> int:
        from publish_plugins.errors import EXIT_FAILURE, UsageError

        check_url = self.option("check-url")
        for name, what in _NEEDS_A_VALUE.items():
            given = self.option(name)
            if given is not None and not given.strip():
                raise UsageError(f"--{name} needs {what}")
        # First, as in every front end: a report with nowhere to go stops the run before anything is read.
        report = self.option("report")
        options = publish_options(
            # poetry's own --skip-existing, with the plugin's options: the checked skip-existing mode.
            skip_existing=bool(self.option("skip-existing")),
            dry_run=bool(self.option("dry-run")),
            report=Path(report) if report else None,
            jobs=_number("--jobs", self.option("jobs"), _jobs) or 1,
            attestations=not self.option("no-attestations"),
            require_identical=bool(self.option("require-identical")),
            per_project=bool(self.option("per-project")),
            index_rules=self.option("index-rules") or "auto",
            max_file_size=_number("--max-file-size", self.option("max-file-size"), _size),
        )
        given_mode = self.option("trusted-publishing")
        trusted = None if given_mode is None else Setting(given_mode, "--trusted-publishing")
        mode = trusted_publishing(trusted)  # a bad value stops the run before anything is read
        check_repository_url(self.option("repository"))  # before self.poetry parses every repository URL
        if not self.poetry.is_package_mode:
            self.line_error("Publishing a package is not possible in non-package mode.")
            return EXIT_FAILURE
        try:
            from publish_plugins import ProjectRef, publish
        except ImportError as exc:
            # Plain `poetry publish` still works; only the new options need the core.
            self.line_error(f"<error>publish-plugins cannot load its core: {escape(str(exc))}</error>")
            return EXIT_FAILURE

        dist_dir = self.option("dist-dir")
        # Before the build: a bad URL, setting or missing password must not cost a build.
        self._repository_name, repository = resolve_repository(
            self.poetry.config,
            self.io,
            name=self.option("repository"),
            username=self.option("username"),
            password=self.option("password"),
            cert=self.option("cert"),
            client_cert=self.option("client-cert"),
            check_url=check_url,
            trusted=trusted,
        )
        # With `always` the minted token is the credential: no advice to give another.
        self._password_given = repository.password is not None or mode == "always"
        if self.option("build"):
            code = self._build(dist_dir)
            if code:
                return code

        package = self.poetry.package
        self.line("")
        self.line(
            f"Publishing <c1>{escape(package.pretty_name)}</c1> (<c2>{escape(package.version.text)}</c2>)"
            f" to <info>{escape(self._repository_name)}</info>"
        )
        dist_path = self._dist_path(dist_dir)
        if not dist_path.is_dir():
            # The core's advice would include "name the files", and poetry publish takes none.
            raise UsageError(
                f"{dist_path} is not a folder; run poetry build first, or pass --build or --dist-dir DIR"
            )
        project = ProjectRef(package.name, package.version.text)
        publish(
            [], repository, options, project=project, dist_dir=dist_path, on_event=mask_in_ci_log(renderer)
        )
        return 0

    def _dist_path(self, dist_dir: str) -> Path:
        # The same folder poetry's Uploader reads: --dist-dir relative to the project, not the cwd.
        from poetry.publishing.uploader import Uploader

        return display_path(Uploader(self.poetry, self.io, Path(dist_dir)).dist_dir)

    def _build(self, dist_dir: str) -> int:
        """Build first, with the same question or warning as poetry's own ``publish --build``."""
        from poetry.publishing.uploader import Uploader

        from publish_plugins.errors import EXIT_FAILURE

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


_T = TypeVar("_T")


def _jobs(text: str) -> int:
    from publish_plugins.options import parse_count

    return parse_count(text, minimum=1)


def _size(text: str) -> int:
    from publish_plugins._index_rules import parse_size

    return parse_size(text)


def _number(option: str, text: str | None, parse: Callable[[str], _T]) -> _T | None:
    """``text`` as ``parse`` reads it (None: not given); its ValueError as a usage error naming ``option``."""
    from publish_plugins.errors import UsageError

    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as exc:
        reason = str(exc)
        if repr(text) not in reason:  # the size's reason quotes the text itself
            reason += f", got {text!r}"
        raise UsageError(f"{option}: {reason}") from None


def _quote_arg(value: str) -> str:
    # cleo's StringInput splits on spaces and understands double quotes.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
