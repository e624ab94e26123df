"""``poetry publish`` with more options: ``--skip-existing-strict``, and ``--check-url URL``,
``--trusted-publishing MODE`` and ``--no-attestations``, which imply it.

Without them the command is poetry's own (``super().handle()``), unchanged. With them, poetry's options
and configuration are resolved the way ``poetry.publishing.Publisher.publish`` resolves them
(``poetry_repository``) and the plain values go to the core, which checks the index by hash before
uploading anything. Output goes through cleo's ``io`` in poetry's style (``poetry_output``).

Only poetry and cleo are imported at module level: poetry loads this on every command through the
plugin, and the core (httpx and all) is only needed when one of the new options is given.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

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

_HELP = """
<info>--skip-existing-strict</info> (from publish-plugins) reads the index before uploading and
compares files by hash: a file already there with the same content is skipped; a file there with
the same name and different content stops the run before anything is uploaded (exit code 3).
The index to read is derived from the repository URL (<comment>.../simple/</comment>, devpi
<comment>+simple</comment>, PyPI); <info>--check-url</info> names it where it cannot be derived,
and implies <info>--skip-existing-strict</info>.

<info>--trusted-publishing</info> (PyPI, TestPyPI) mints an upload token from the CI's OIDC identity:
<comment>automatic</comment> (the default) when no credentials are configured and a supported CI is
detected, <comment>always</comment> (configured credentials are not read, -u/-p refused), or
<comment>never</comment>. Attestations found beside the files (<comment><file>.<kind>.attestation</comment>)
are sent with them unless <info>--no-attestations</info> is given. Both imply
<info>--skip-existing-strict</info>.

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
            "with the same name and different content, upload nothing and exit with 3.",
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
    ]

    help = PublishCommand.help + _HELP
    _repository_name: str
    _password_given: bool

    def handle(self) -> int:
        check_url = self.option("check-url")
        if not self.option("skip-existing-strict") and not self._implied_by():
            return super().handle()
        from publish_plugins.errors import EXIT_INTERRUPTED, PublishError

        renderer = EventRenderer(self.io)
        self._repository_name, self._password_given = "PyPI", False  # for the hint, once known
        try:
            return self._handle_safely(check_url, renderer)
        except PublishError as exc:
            renderer.close()
            name = "pypi" if self._repository_name == "PyPI" else self._repository_name
            env_name = re.sub(r"[^A-Z0-9]", "_", name.upper())
            message, hint = error_lines(
                exc,
                password_given=self._password_given,
                credentials=f"run `poetry config http-basic.{name} USER` (it asks for the password) or set "
                f"POETRY_HTTP_BASIC_{env_name}_USERNAME / _PASSWORD",
                skip_existing="use poetry's own --skip-existing instead (it skips by name only, without "
                "comparing content)",
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

    def _implied_by(self) -> list[str]:
        """The given options that imply ``--skip-existing-strict``."""
        given = {
            "--check-url": self.option("check-url") is not None,
            "--trusted-publishing": self.option("trusted-publishing") is not None,
            "--no-attestations": bool(self.option("no-attestations")),
        }
        return [name for name, on in given.items() if on]

    def _handle_safely(self, check_url: str | None, renderer: EventRenderer) -> int:
        from publish_plugins.errors import EXIT_FAILURE, UsageError

        if self.option("skip-existing"):
            if self.option("skip-existing-strict") or check_url is not None:
                raise UsageError(
                    "--skip-existing cannot be combined with --skip-existing-strict or --check-url: "
                    "choose one way of handling files already on the index"
                )
            raise UsageError(
                f"--skip-existing cannot be combined with {' or '.join(self._implied_by())}, which implies "
                "--skip-existing-strict: choose one way of handling files already on the index"
            )
        if check_url is not None and not check_url.strip():
            raise UsageError("--check-url needs a URL")
        given_mode = self.option("trusted-publishing")
        trusted = None if given_mode is None else Setting(given_mode, "--trusted-publishing")
        if trusted is not None and not given_mode.strip():
            raise UsageError("--trusted-publishing needs a value: automatic, always or never")
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
        options = publish_options(
            skip_existing=False,
            dry_run=bool(self.option("dry-run")),
            attestations=not self.option("no-attestations"),
        )
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


def _quote_arg(value: str) -> str:
    # cleo's StringInput splits on spaces and understands double quotes.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
