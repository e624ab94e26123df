"""What the ``safe`` publisher publishes: the artifacts given, or the build folder filtered to the project."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._shared import display_path

if TYPE_CHECKING:
    from publish_plugins import ProjectRef

__all__ = ["artifact_path", "default_selection"]


def artifact_path(artifact: str, root: Path) -> Path:
    """An artifact argument as a path; a relative one is taken from the project root."""
    # As `hatch publish` resolves them: hatch may run from a subfolder of the project.
    path = Path(artifact).expanduser()
    return path if path.is_absolute() else root / path


# `app` is hatch's Application: Any, because its methods (display_*) are not annotated and mypy --strict
# refuses calls to them through the real type.
def default_selection(app: Any, root: Path) -> tuple[ProjectRef | None, Path]:
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
