"""The hatch publisher ``safe``: ``hatch publish -p safe [ARTIFACTS] [-o KEY[=VALUE]]...``.

Thin by design: it reads hatch's options, configuration and credentials, hands plain values to the core, and
renders the core's events with hatch's ``app``. Repository names and credentials are resolved by hatch's
own classes (``IndexPublisher.get_repos``, ``AuthenticationCredentials``), so ``-p safe`` finds the same
repositories, ``.pypirc`` entries, keyring passwords and remembered users as ``hatch publish``.

hatch imports this module whenever it collects third-party publishers, also for other plugins' runs, so
the core (and its HTTP stack) is imported inside ``publish()`` only.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hatch.publish.plugin.interface import PublisherInterface

from ._shared import EXIT_INTERRUPTED, HATCH_OPTIONS, failure_hint, in_host_terms
from .hatch_credentials import find_credentials, read_password, read_username, remember
from .hatch_output import EventRenderer
from .hatch_project import artifact_path, default_selection
from .hatch_repository import resolve_connection, resolve_target
from .hatch_settings import KNOWN_KEYS, PLUGIN_NAME, SettingError, Settings, collect_settings, hatch_flags

if TYPE_CHECKING:
    from publish_plugins import PublishOptions

# KNOWN_KEYS: the `-o` keys this publisher takes, for documentation checks.
__all__ = ["KNOWN_KEYS", "SafePublisher"]


class SafePublisher(PublisherInterface):
    """``hatch publish -p safe``: read the index first, compare by hash, never half-update a release."""

    PLUGIN_NAME = PLUGIN_NAME

    def publish(self, artifacts: list[str], options: dict[str, Any]) -> None:
        from publish_plugins import PublishError, Repository, publish
        from publish_plugins.errors import Interrupted

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
        try:
            if settings.report is not None:
                from publish_plugins.report import check_report_path

                # Before credentials are looked up or asked for: a report with nowhere to go stops first.
                check_report_path(settings.report, what=settings.sources["report"])
            target = resolve_target(self.app, root, self._index_cache, settings)
            connection = resolve_connection(settings, target)
        except (SettingError, PublishError) as exc:
            self.app.abort(str(exc), code=2)
            return
        paths = [artifact_path(artifact, root) for artifact in artifacts]
        project, dist_dir = (None, root / "dist") if paths else default_selection(self.app, root)
        credentials = find_credentials(self.app, self._index_cache, settings, target, no_prompt=no_prompt)
        try:  # the core checks the values once more; its UsageError is one line like any other
            repository = Repository(
                upload_url=connection.upload_url,
                check_url=connection.check_url,
                username=read_username(self.app, credentials),
                password=read_password(self.app, credentials, no_prompt=no_prompt),
                ca_cert=connection.ca_cert,
                client_cert=connection.client_cert,
                client_key=connection.client_key,
            )
        except PublishError as exc:
            self.app.abort(str(exc), code=exc.exit_code)
            return

        renderer = EventRenderer(self.app)
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
            if initialize_auth and exc.exit_code != 1 and not isinstance(exc, Interrupted):
                remember(self.app, credentials)
            self.app.display_error(in_host_terms(str(exc), HATCH_OPTIONS))
            hint = failure_hint(
                exc,
                password_given=repository.password is not None,
                credentials="pass -o user=USER -o auth=PASSWORD or set HATCH_INDEX_USER / HATCH_INDEX_AUTH",
                skip_existing="pass -o skip-existing",
            )
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

    @property
    def _index_cache(self) -> Path:
        # `hatch publish` keeps previous_working_users.json in the `index` publisher's cache folder;
        # sharing it means a user remembered by either is remembered by both.
        return Path(str(self.cache_dir)).parent / "index"


def _publish_options(settings: Settings) -> PublishOptions:
    from publish_plugins import PublishOptions

    return PublishOptions(
        mode="skip-existing" if settings.skip_existing else "strict",
        dry_run=settings.dry_run,
        report_path=settings.report,
        jobs=settings.jobs,
    )
