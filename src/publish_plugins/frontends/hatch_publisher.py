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

from ._shared import display_path, error_lines, mask_in_ci_log, publish_options
from .hatch_index import Credentials, Target, find_credentials, read_password, read_username, remember
from .hatch_output import HATCH_OPTIONS, EventRenderer
from .hatch_settings import KNOWN_KEYS, PLUGIN_NAME, Settings, collect_settings

if TYPE_CHECKING:
    from publish_plugins import ProjectRef
    from publish_plugins.options import Repository

    from ._shared import Endpoint

# KNOWN_KEYS: the `-o` keys this publisher takes, for documentation checks.
__all__ = ["KNOWN_KEYS", "SafePublisher"]

# How hatch takes a password, for a user name found without one (where nothing may be asked: in a CI).
_PASSWORD_HOW = "give -o auth=..., HATCH_INDEX_AUTH or `auth` in the repository's hatch config"  # noqa: S105


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
            report, rules = settings.given.get("report"), settings.given.get("index-rules")
            run_options = publish_options(
                skip_existing=settings.skip_existing,
                dry_run=settings.dry_run,
                report=Path(report.value) if report and report.value else None,
                report_from=report.where if report else "-o report",
                jobs=settings.jobs,
                attestations=settings.attestations,
                require_identical=settings.require_identical,
                per_project=settings.per_project,
                index_rules=rules.value if rules and rules.value else "auto",
                index_rules_from=rules.where if rules else "-o index-rules",
                max_file_size=settings.max_file_size,
            )
            target = Target.resolve(self.app, root, index_cache, settings)
            endpoint = target.endpoint(settings)  # checked before any password prompt
        except PublishError as exc:
            self.app.abort(str(exc), code=exc.exit_code)
            return
        paths = [_artifact_path(artifact, root) for artifact in artifacts]
        project, dist_dir = (None, root / "dist") if paths else _default_selection(self.app, root)
        # Paths in the output and the report as the user can open them from where hatch runs: relative to
        # the current folder inside it, absolute outside (hatch may run from a subfolder of the project).
        paths, dist_dir = [display_path(path) for path in paths], display_path(dist_dir)
        try:  # the core checks the values once more; its UsageError is one line like any other
            repository, credentials = _repository(
                self.app, settings, target, endpoint, index_cache, no_prompt=no_prompt
            )
        except PublishError as exc:
            self.app.abort(str(exc), code=exc.exit_code)
            return

        renderer = EventRenderer(self.app)
        try:
            result = publish(
                paths,
                repository,
                run_options,
                project=project,
                dist_dir=dist_dir,
                on_event=mask_in_ci_log(renderer),
            )
        except PublishError as exc:
            renderer.close()
            remembered = initialize_auth and exc.exit_code != 1 and not isinstance(exc, Interrupted)
            if credentials is not None and remembered:
                remember(self.app, credentials)
            message, hint = error_lines(
                exc,
                # With `always` the minted token is the credential: no advice to give another.
                password_given=repository.password is not None or settings.trusted_publishing == "always",
                credentials="pass -o user=USER -o auth=PASSWORD or set HATCH_INDEX_USER / HATCH_INDEX_AUTH",
                skip_existing="pass -o skip-existing",
                options=HATCH_OPTIONS,
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
        proved = not settings.dry_run and result.count("uploaded") > 0
        if credentials is not None and (initialize_auth or proved):
            remember(self.app, credentials)


# `app` is hatch's Application: Any, as in _default_selection.
def _repository(
    app: Any, settings: Settings, target: Target, endpoint: Endpoint, index_cache: Path, *, no_prompt: bool
) -> tuple[Repository, Credentials | None]:
    """The core's Repository, and hatch's credentials object to remember prompted values with (None when
    nothing could have been asked).

    With ``trusted-publishing=always`` the minted token is the only credential: hatch's configured ones (its
    config, ``~/.pypirc``, keyring, remembered users) are not read, and one given for this run (``-o``,
    hatch's flags, HATCH_INDEX_*) is refused, exit 2. With ``automatic`` in a CI whose identity trusted
    publishing can use, nothing is asked: what hatch finds is used, else the token is minted.
    """
    credentials: Credentials | None = None
    if settings.trusted_publishing == "always":
        username, password, user_from = _explicit_credentials(settings)
    else:
        prompt = not (settings.trusted_publishing == "automatic" and _in_ci())
        credentials = find_credentials(app, index_cache, settings, target, no_prompt=no_prompt, prompt=prompt)
        username = read_username(app, credentials)
        password = read_password(app, credentials, no_prompt=no_prompt, prompt=prompt)
        if username is None and password:
            username = "__token__"  # what hatch's user name prompt offers: "[__token__]"
        user_from = _user_from(settings, target)
        if not prompt:
            credentials = None  # nothing was asked: nothing to remember
    repository = endpoint.repository(
        username,
        password,
        user_from=user_from,
        password_how=_PASSWORD_HOW,
        trusted=settings.given.get("trusted-publishing"),
    )
    return repository, credentials


def _in_ci() -> bool:
    """A CI whose OIDC identity trusted publishing can use (standard library only: cheap)."""
    from publish_plugins._ci import detected_ci

    return detected_ci() is not None


def _explicit_credentials(settings: Settings) -> tuple[str | None, str | None, str | None]:
    """User and password given for this run (``-o``, hatch's flags, HATCH_INDEX_*), and where from."""
    user, auth = settings.explicit_setting("user"), settings.explicit_setting("auth")
    where = user.where if user is not None else auth.where if auth is not None else None
    return (user.value if user else None), (auth.value if auth else None), where


def _user_from(settings: Settings, target: Target) -> str | None:
    """Where the user name hatch found came from, as far as can be told (for a missing password)."""
    given = settings.given.get("user")
    if given is not None:
        return given.where
    return f"'user' in {target.where}" if target.config.get("user") else None


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
