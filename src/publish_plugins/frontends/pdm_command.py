"""``pdm safe-publish``: ``pdm publish``'s options and configuration, the core's safe upload.

PDM registers the command (and so imports this module) on every start, for every command: the top level
imports only what PDM has loaded already (argparse wiring); the core, httpx and PDM's publish machinery are
imported when the command runs.

What comes from PDM (research/hosts.md §2): the build (``pdm build``'s ``do_build``, as ``pdm publish``
calls it), the repository and credentials (``pdm_repository``), the ``pre_publish``/``post_publish`` hooks,
and the terminal UI (``pdm_output``). What does not: the HTTP session. PDM's sets the upload credentials
on the client, so they would travel with every request; the core uploads and reads the index with its own
client, which sends credentials to the upload origin only. Trusted publishing (PDM's OIDC exchange) and
PEP 740 attestations are the core's too, as in every front end: ``--trusted-publishing`` and
``--no-attestations``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from pdm.cli.commands.base import BaseCommand
from pdm.cli.options import project_option, skip_option, verbose_option

from ._shared import (
    Setting,
    display_path,
    error_lines,
    file_size,
    mask_in_ci_log,
    positive_int,
    publish_options,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pdm.project import Project

    from publish_plugins import ProjectRef
    from publish_plugins.options import IndexRules, TrustedPublishing

__all__ = ["SafePublishCommand"]

# publish_plugins.options.TRUSTED_PUBLISHING and INDEX_RULES, spelled out: PDM builds every command's parser
# on every start, and this module imports nothing of the core then (mypy checks each value against the
# core's type; the --help test compares the tuples with the core's).
_TRUSTED_PUBLISHING: tuple[TrustedPublishing, ...] = ("automatic", "always", "never")
_INDEX_RULES: tuple[IndexRules, ...] = ("auto", "pypi", "none")


class SafePublishCommand(BaseCommand):
    """``pdm publish`` reading the index first: identical files (and rebuilds holding the same files) are
    skipped, a differing one stops the run."""

    description = (
        "Build and publish the project, checking the index by hash first: identical files, and rebuilt ones "
        "holding the same files, are skipped; a file that differs from the index stops the run before "
        "anything is uploaded"
    )
    arguments = (verbose_option, project_option, skip_option)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        # The same names, dests and environment variables as `pdm publish`, so that users can swap the
        # command name and keep the rest of the line.
        parser.epilog = (
            "Exit codes: 0 every file is on the index, 1 upload/network/authentication failure, "
            "2 usage error or bad input, 3 conflict (nothing uploaded)."
        )
        # A bad value (--jobs 0) is one line and exit 2, as the command's other usage errors.
        setattr(parser, "error", _one_line_error(parser))  # noqa: B010 - mypy refuses assigning a method
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
            "--require-identical",
            action="store_true",
            help="Count only byte-identical files as already published (default: a rebuilt archive holding "
            "the same files, such as an sdist with another build time, is skipped as equivalent)",
        )
        safe.add_argument(
            "--per-project",
            action="store_true",
            help="With several projects' files in the folder (a project without a name), check and upload "
            "each project as its own unit: a conflict or failure in one does not hold back the others",
        )
        safe.add_argument(
            "--index-rules",
            choices=_INDEX_RULES,
            default="auto",
            help="Check every file against the index's upload rules before uploading: auto (default: "
            "PyPI's, for PyPI and TestPyPI), pypi (PyPI's, for any index), none",
        )
        safe.add_argument(
            "--max-file-size",
            type=file_size,
            metavar="SIZE",
            help="Refuse files larger than SIZE (such as 100M, 1.5G) before anything is uploaded",
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
            type=positive_int,
            default=1,
            metavar="N",
            help="Upload N files in parallel (default: 1)",
        )
        safe.add_argument(
            "--trusted-publishing",
            choices=_TRUSTED_PUBLISHING,
            default="automatic",
            help="Mint an upload token from the CI's OIDC identity (PyPI, TestPyPI): automatic (default) "
            "when no credentials are found and a supported CI is detected, always (configured credentials "
            "are not read; given ones are refused), or never",
        )
        safe.add_argument(
            "--no-attestations",
            dest="attestations",
            action="store_false",
            help="Do not send the PEP 740 attestations found beside the files (<file>.<kind>.attestation)",
        )

    def handle(self, project: Project, options: argparse.Namespace) -> None:
        # PDM turns any exception into exit 1; the documented codes need sys.exit.
        code = _run(project, options)
        if code:
            sys.exit(code)


def _one_line_error(parser: argparse.ArgumentParser) -> Callable[[str], NoReturn]:
    def error(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: error: {message}; see {parser.prog} --help\n")

    return error


def _run(project: Project, options: argparse.Namespace) -> int:
    from pdm.cli.hooks import HookManager

    from publish_plugins import PublishError, UsageError, publish
    from publish_plugins.errors import EXIT_INTERRUPTED

    from .pdm_output import EventRenderer, escape, show_release_urls
    from .pdm_repository import resolve_target

    ui = project.core.ui
    renderer = EventRenderer(ui)
    hooks = HookManager(project, options.skip)
    password_given, name = False, "NAME"
    try:
        hooks.try_emit("pre_publish")
        run_options = publish_options(
            skip_existing=options.skip_existing,
            dry_run=options.dry_run,
            report=options.report,
            jobs=options.jobs,
            attestations=options.attestations,
            require_identical=options.require_identical,
            per_project=options.per_project,
            index_rules=options.index_rules,
            max_file_size=options.max_file_size,
        )
        # Before the build: a typo in -r or a missing password must not cost a build.
        target = resolve_target(project, options)
        repository = target.endpoint.repository(
            target.username,
            target.password,
            user_from=target.user_from,
            password_how=target.password_how,
            trusted=Setting(options.trusted_publishing, "--trusted-publishing"),
        )
        password_given, name = repository.password is not None, target.name
        if options.build:
            from pdm.cli.commands import build

            build.Command.do_build(project, dest=options.dest, hooks=hooks)
        dist_dir = display_path(project.root.joinpath(options.dest))
        if not dist_dir.is_dir():
            raise UsageError(f"{dist_dir} is not a folder; build first (without --no-build) or set -d/--dest")
        result = publish(
            [],
            repository,
            run_options,
            project=_project_ref(project),
            dist_dir=dist_dir,
            on_event=mask_in_ci_log(renderer),
        )
    except PublishError as exc:
        renderer.close()
        message, hint = error_lines(
            exc,
            password_given=password_given,
            credentials=f"pass -u USER -P PASSWORD, set PDM_PUBLISH_USERNAME / PDM_PUBLISH_PASSWORD, "
            f"or run `pdm config repository.{name}.username USER` (and .password)",
            skip_existing="pass --skip-existing",
        )
        # As ui.error, but one line, no highlighting inside file names and hashes (see pdm_output).
        ui.echo(f"[error]ERROR:[/] {escape(message)}", err=True, highlight=False, soft_wrap=True)
        if hint:
            ui.echo(escape(hint), err=True, highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        renderer.close()
        ui.error("interrupted")
        return EXIT_INTERRUPTED
    finally:
        renderer.close()
    if not options.dry_run:
        target.save_prompted_credentials(project)
        show_release_urls(ui, repository.upload_url, result)
        hooks.try_emit("post_publish")
    return 0


def _project_ref(project: Project) -> ProjectRef | None:
    """Which files of the folder to take: the project's name and static version; every distribution in
    it without a name, every version of the project with a dynamic one."""
    from pdm.termui import Verbosity

    from publish_plugins import ProjectRef

    from .pdm_output import escape

    name = project.name
    if not name:
        return None
    metadata = project.pyproject.metadata
    version = metadata.get("version")
    if "version" in [str(item) for item in metadata.get("dynamic", [])] or version is None:
        project.core.ui.echo(
            f"{escape(str(name))}: no static version in pyproject.toml, taking every version in the folder",
            err=True,
            verbosity=Verbosity.DETAIL,
        )
        return ProjectRef(str(name))
    return ProjectRef(str(name), str(version))
