"""Which files a run takes: explicit paths all, or ``dist/`` filtered to the project's name and version."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name, canonicalize_version

from ._attestations import ATTESTATION_SUFFIX
from ._identity import is_distribution_filename, remote_identity_of
from .errors import UsageError
from .options import ProjectRef

__all__ = ["Selection", "select_files"]


@dataclass
class Selection:
    files: list[Path] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    # Attestation files met among the paths (<file>.<kind>.attestation): each goes with its distribution,
    # which the run looks for beside it; the others are listed as ignored once the files are read.
    attestations: list[Path] = field(default_factory=list)


def select_files(paths: list[Path], *, dist_dir: Path, project: ProjectRef | None) -> Selection:
    """Explicit paths are all taken (directories expanded); with none, ``dist_dir`` filtered to ``project``.

    Files that are not distributions at all (``.gitignore``, ``.asc`` signatures) are left out with a reason.
    Paths that look like distributions are taken even when broken, so that validation names them.
    """
    selection = Selection()
    if paths:
        for path in paths:
            if path.is_dir() and not is_distribution_filename(path.name):
                _take_folder(path, selection, project=None)
            elif path.name.endswith(ATTESTATION_SUFFIX) and path.is_file():
                selection.attestations.append(path)
            elif is_distribution_filename(path.name) or not path.exists():
                selection.files.append(path)
            else:
                selection.ignored.append((str(path), "not a distribution file"))
    else:
        if not dist_dir.is_dir():
            raise UsageError(f"no files given and {dist_dir} is not a folder; build first or name the files")
        _take_folder(dist_dir, selection, project=project)
    if not selection.files:
        where = ", ".join(str(p) for p in paths) if paths else str(dist_dir)
        raise UsageError(f"no distributions to publish in {where}")
    return selection


def _take_folder(folder: Path, selection: Selection, *, project: ProjectRef | None) -> None:
    for path in sorted(folder.iterdir()):
        if path.is_dir() and not is_distribution_filename(path.name):
            continue
        if path.name.endswith(ATTESTATION_SUFFIX):
            selection.attestations.append(path)
            continue
        if not is_distribution_filename(path.name):
            selection.ignored.append((str(path), "not a distribution file"))
            continue
        reason = _foreign(path.name, project) if project else None
        if reason:
            selection.ignored.append((str(path), reason))
        else:
            selection.files.append(path)


def _foreign(filename: str, project: ProjectRef) -> str | None:
    identity = remote_identity_of(filename)
    if identity is None:
        return None  # validation will name what is wrong with it
    if identity.name != canonicalize_name(project.name):
        return f"belongs to {identity.name}, not the current project {canonicalize_name(project.name)}"
    if project.version is not None and identity.version != canonicalize_version(project.version):
        return f"version {identity.shown_version}, not the current version {project.version}"
    return None
