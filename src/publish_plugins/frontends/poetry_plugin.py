"""poetry application plugin: adds ``--skip-existing-strict`` and ``--check-url`` to ``poetry publish``.

poetry imports this module and calls ``activate`` on *every* command, before it looks the command up, and
an exception here breaks every poetry command (research/hosts.md §3.1). So this module imports only
poetry's plugin base at top level, and ``activate`` imports the command lazily and never raises: if the
command cannot be loaded, poetry's own ``publish`` stays in place and every command keeps working.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from poetry.plugins.application_plugin import ApplicationPlugin

if TYPE_CHECKING:
    from poetry.console.application import Application

__all__ = ["SafePublishPlugin"]

logger = logging.getLogger(__name__)


class SafePublishPlugin(ApplicationPlugin):
    """Replaces ``publish`` with a subclass that behaves exactly like it unless a new option is given."""

    def activate(self, application: Application) -> None:
        try:
            from .poetry_command import SafePublishCommand

            command = SafePublishCommand()
            # ``application.add`` and not ``command_loader.register_factory("publish", ...)``: the loader
            # refuses a name it already has, and that error would break every poetry command (§3.2).
            application.add(command)
        except Exception as exc:  # any failure must leave poetry usable, with its own publish
            logger.debug("publish-plugins: not replacing `poetry publish`: %s", exc, exc_info=True)
