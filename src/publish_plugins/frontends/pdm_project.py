"""Which files of ``--dest`` ``pdm safe-publish`` takes: those of the project's name and static version."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .pdm_output import escape

if TYPE_CHECKING:
    from pdm.project import Project

    from publish_plugins.selection import ProjectRef

__all__ = ["project_ref"]


def project_ref(project: Project) -> ProjectRef | None:
    """The project's name and static version; None (every distribution in the folder) without a name."""
    from pdm.termui import Verbosity

    from publish_plugins.selection import ProjectRef

    name = project.name
    if not name:
        return None
    metadata = project.pyproject.metadata
    dynamic = [str(item) for item in metadata.get("dynamic", [])]
    version = metadata.get("version")
    if "version" in dynamic or version is None:
        project.core.ui.echo(
            f"{escape(str(name))}: no static version in pyproject.toml, taking every version in the folder",
            err=True,
            verbosity=Verbosity.DETAIL,
        )
        return ProjectRef(str(name))
    return ProjectRef(str(name), str(version))
