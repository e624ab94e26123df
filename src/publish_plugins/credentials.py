"""Credentials for the standalone command: ``~/.pypirc`` repositories and keyring, as twine reads them."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

__all__ = ["PypircRepository", "keyring_password", "read_pypirc"]

_DEFAULT_URLS = {
    "pypi": "https://upload.pypi.org/legacy/",
    "testpypi": "https://test.pypi.org/legacy/",
}


@dataclass(frozen=True)
class PypircRepository:
    name: str
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def read_pypirc(name: str, path: Path | None = None) -> PypircRepository:
    """The ``[name]`` section of ``~/.pypirc`` (``pypi`` and ``testpypi`` work without a section)."""
    path = path or Path(os.environ.get("PYPIRC", Path.home() / ".pypirc"))
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot parse: {' '.join(str(exc).split())}") from None
    if parser.has_section(name):
        section = parser[name]
        url = section.get("repository") or _DEFAULT_URLS.get(name)
        if not url:
            raise UsageError(f"{path}: [{name}] has no 'repository' URL")
        return PypircRepository(name, url, section.get("username"), section.get("password"))
    if name in _DEFAULT_URLS:
        return PypircRepository(name, _DEFAULT_URLS[name])
    where = f"{path}" if path.exists() else f"{path} (the file does not exist)"
    raise UsageError(f"repository {name!r} is not defined in {where}")


def keyring_password(url: str, username: str | None) -> tuple[str | None, str | None]:
    """(username, password) from keyring when it is installed and has them; never raises."""
    try:
        import keyring
    except ImportError:
        return username, None
    try:
        if username is None:
            credential = keyring.get_credential(url, None)
            if credential is None:
                return None, None
            return credential.username, credential.password
        return username, keyring.get_password(url, username)
    except Exception:
        return username, None
