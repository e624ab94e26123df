"""The hatch publisher ``safe``: ``hatch publish -p safe [ARTIFACTS] [-o KEY[=VALUE]]...``.

Thin by design: it reads hatch's options, configuration and credentials, hands plain values to the core, and
renders the core's events with hatch's ``app``. Repository names and credentials are resolved by hatch's
own classes (``hatch_index``), so ``-p safe`` finds the same repositories, ``.pypirc`` entries, keyring
passwords and remembered users as ``hatch publish``.

hatch imports this module whenever it collects third-party publishers, also for other plugins' runs, so
the core (and its HTTP stack) is imported inside ``publish()`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch.publish.plugin.interface import PublisherInterface

from ._shared import display_path, error_lines, publish_options
from .hatch_index import Target, find_credentials, read_password, read_username, remember
from .hatch_output import EventRenderer
from .hatch_settings import KNOWN_KEYS, PLUGIN_NAME, collect_settings

if TYPE_CHECKING:
    from publish_plugins import ProjectRef

# KNOWN_KEYS: the `-o` keys this publisher takes, for documentation checks.
__all__ = ["KNOWN_KEYS", "SafePublisher"]

# The core's option names as hatch takes them (hatch has no --timeout).
_HATCH_OPTIONS = {
    "--check-url": "-o check-url=URL",
    "--skip-existing": "-o skip-existing",
    " (--timeout)": "",
}


class SafePublisher(PublisherInterface):
    """``hatch publish -p safe``: read the index first, compare by hash, never half-update a release."""

    PLUGIN_NAME = PLUGIN_NAME

    def publish(self, artifacts: list[str], options: dict[str, Any]) -> None:
        from publish_plugins import PublishError, publish
        from publish_plugins.errors import EXIT_INTERRUPTED, Interrupted

        no_prompt = options.get("no_prompt") is True
        initialize_auth = options.get("initialize_auth") is True
        root = Path(str(self.root))
        # `hatch publish` keeps previous_working_users.json in the `index` publisher's cache folder; sharing
        # it means a user remembered by either is remembered by both.
        index_cache = Path(str(self.cache_dir)).parent / "index"
        try:
            config_file = str(self.app.config_file.path)
            settings = collect_settings(
                options, self.project_config, self.plugin_config, root=root, config_file=config_file
            )
            if settings.auth_in_pyproject:
                self.app.display_warning(
                    f"[tool.hatch.publish.{PLUGIN_NAME}] sets auth in pyproject.toml, where anyone with the "
                    "repository can read it; prefer HATCH_INDEX_AUTH, keyring or hatch's config"
                )
            report = settings.given.get("report")
            run_options = publish_options(
                skip_existing=settings.skip_existing,
                dry_run=settings.dry_run,
                report=Path(report.value) if report and report.value else None,
                report_from=report.where if report else "-o report",
                jobs=settings.jobs,
            )
            target = Target.resolve(self.app, root, index_cache, settings)
            endpoint = target.endpoint(settings)  # checked before any password prompt
        except PublishError as exc:
            self.app.abort(str(exc), code=exc.exit_code)
            return
        paths = [_artifact_path(artifact, root) for artifact in artifacts]
        project, dist_dir = (None, root / "dist") if paths else _default_selection(self.app, root)
        credentials = find_credentials(self.app, index_cache, settings, target, no_prompt=no_prompt)
        try:  # the core checks the values once more; its UsageError is one line like any other
            username = read_username(self.app, credentials)
            repository = endpoint.repository(
                username, read_password(self.app, credentials, no_prompt=no_prompt)
            )
        except PublishError as exc:
            self.app.abort(str(exc), code=exc.exit_code)
            return

        renderer = EventRenderer(self.app)
        try:
            result = publish(
                paths, repository, run_options, project=project, dist_dir=dist_dir, on_event=renderer
            )
        except PublishError as exc:
            renderer.close()
            if initialize_auth and exc.exit_code != 1 and not isinstance(exc, Interrupted):
                remember(self.app, credentials)
            message, hint = error_lines(
                exc,
                password_given=repository.password is not None,
                credentials="pass -o user=USER -o auth=PASSWORD or set HATCH_INDEX_USER / HATCH_INDEX_AUTH",
                skip_existing="pass -o skip-existing",
                options=_HATCH_OPTIONS,
            )
            self.app.display_error(message)
            if hint:
                self.app.display_info(hint)
            # 130/143 for Ctrl-C and SIGTERM as well: hatch (click) would turn an interrupt into exit 1.
            self.app.abort(code=exc.exit_code)
            return
        except KeyboardInterrupt:
            renderer.close()
            self.app.abort("interrupted", code=EXIT_INTERRUPTED)
            return
        finally:
            renderer.close()
        # Like `hatch publish`: remember prompted credentials once an upload proved them (or when asked to).
        if initialize_auth or (not settings.dry_run and result.count("uploaded")):
            remember(self.app, credentials)


def _artifact_path(artifact: str, root: Path) -> Path:
    """An artifact argument as a path; a relative one is taken from the project root."""
    # As `hatch publish` resolves them: hatch may run from a subfolder of the project.
    path = Path(artifact).expanduser()
    return path if path.is_absolute() else root / path


# `app` is hatch's Application: Any, because its methods (display_*) are not annotated and mypy --strict
# refuses calls to them through the real type.
def _default_selection(app: Any, root: Path) -> tuple[ProjectRef | None, Path]:
    """No artifacts given: the build folder, filtered to this project's name and version."""
    from publish_plugins import ProjectRef

    metadata = app.project.metadata
    build_dir = metadata.hatch.build_config.get("directory") if metadata.config else None
    dist_dir = root / (build_dir if isinstance(build_dir, str) and build_dir else "dist")
    table = metadata.config.get("project")
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        # Not a project (or not a PEP 621 one): there is no name to filter by, take the whole folder.
        app.display_debug(f"no [project] name in {root / 'pyproject.toml'}; taking every file")
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
        app.display_warning(
            f"cannot tell the version of {name} without building ({reason}); "
            f"taking every version of {name} in {display_path(dist_dir)}"
        )
        return ProjectRef(name, None), dist_dir
