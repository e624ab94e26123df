"""Source projects for the hosts to build and publish: a ``pyproject.toml`` and an importable package."""

from __future__ import annotations

from pathlib import Path

from tests.support.dists import filename_name

# The build backend of the hatch and PDM test projects: hatchling's sdists are byte-reproducible.
HATCHLING = '[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'


def write_project(
    root: Path, name: str, pyproject: str, *, source: str = "src", init: str = '"""A test package."""\n'
) -> Path:
    """Write ``root/pyproject.toml`` and the package of project ``name`` (``root/source/<name>/``, its
    ``__init__.py`` holding ``init``); return the package folder."""
    package = root / source / filename_name(name)
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(init)
    (root / "pyproject.toml").write_text(pyproject)
    return package
