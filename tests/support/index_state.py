"""What an index holds for one project, compared with the local files that were published.

The session's servers are shared by many tests, each publishing its own project: these helpers look at
one project's files only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from tests.support.dists import filename_name
from tests.support.servers import PEP691_JSON, Index, http_client


def project_prefix(project: str) -> str:
    """How the filenames of ``project``'s wheels and sdists start (``my_project-``)."""
    return filename_name(project) + "-"


def stored(index: Index, project: str) -> dict[str, bytes]:
    """The files the index stores for ``project``, by filename, with their bytes."""
    prefix = project_prefix(project)
    return {name: data for name, data in index.stored_files().items() if name.startswith(prefix)}


def local_files(paths: Iterable[Path]) -> dict[str, bytes]:
    """Local files as :func:`stored` shows an index's: by filename, with their bytes."""
    return {path.name: path.read_bytes() for path in paths}


def listed(index: Index, project: str) -> list[str]:
    """Every filename the index's simple page lists for the project, duplicates kept (a 404 is [])."""
    with http_client() as client:
        response = client.get(
            f"{index.simple_url}{project}/", headers={"Accept": f"{PEP691_JSON}, text/html"}
        )
    if response.status_code == 404:
        return []
    response.raise_for_status()
    if "json" in response.headers.get("Content-Type", ""):
        return [entry["filename"] for entry in response.json()["files"]]
    return re.findall(r"<a [^>]*>([^<]+)</a>", response.text)


def assert_published_once(index: Index, project: str, files: Sequence[Path]) -> None:
    """The index holds exactly these files, each listed once, each with exactly the local bytes."""
    assert stored(index, project) == local_files(files)
    names = listed(index, project)
    assert sorted(names) == sorted(path.name for path in files), names
