"""PDM plugin entry point: adds ``pdm safe-publish``.

Declared as ``[project.entry-points.pdm] safe-publish = "publish_plugins.frontends.pdm_plugin:plugin"``.
PDM calls ``plugin(core)`` on every start, for every command, so this module imports nothing at top level
and the command module (PDM's argparse wiring only; the publishing core is imported when the command runs)
is imported inside the function. PDM catches and prints an exception raised here, so a broken install
never breaks other PDM commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pdm.core import Core

__all__ = ["plugin"]


def plugin(core: Core) -> None:
    """Register ``safe-publish`` with PDM's ``Core`` (``core.register_command``)."""
    from publish_plugins.frontends.pdm_command import SafePublishCommand

    core.register_command(SafePublishCommand, "safe-publish")
