"""Credentials for the standalone command: ``~/.pypirc`` repositories and keyring, as twine reads them."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, field
from pathlib import Path

from publish_plugins._urls import validate_url
from publish_plugins.errors import UsageError

__all__ = ["PypircRepository", "config_error_message", "keyring_password", "read_pypirc"]

_DEFAULT_URLS = {
    "pypi": "https://upload.pypi.org/legacy/",
    "testpypi": "https://test.pypi.org/legacy/",
}


@dataclass(frozen=True)
class PypircRepository:
    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def read_pypirc(name: str) -> PypircRepository:
    """The ``[name]`` section of ``~/.pypirc``, or of the file ``PYPIRC`` names, as twine reads it
    (``pypi`` and ``testpypi`` work without a section)."""
    path = Path(os.environ.get("PYPIRC", Path.home() / ".pypirc"))
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise UsageError(config_error_message(path, exc)) from None
    if parser.has_section(name):
        section = parser[name]
        url = section.get("repository") or _DEFAULT_URLS.get(name)
        if not url:
            raise UsageError(f"{path}: [{name}] has no 'repository' URL")
        validate_url(url, what=f"'repository' in [{name}] of {path}")
        return PypircRepository(url, section.get("username"), section.get("password"))
    if name in _DEFAULT_URLS:
        return PypircRepository(_DEFAULT_URLS[name])
    where = f"{path}" if path.exists() else f"{path} (the file does not exist)"
    raise UsageError(f"repository {name!r} is not defined in {where}")


def config_error_message(path: Path | str, exc: Exception) -> str:
    """One line for a ``.pypirc`` (or other INI file) that cannot be read, quoting none of its lines.

    configparser's own messages quote the offending line, and in ``.pypirc`` that line is often
    ``password = ...``, and an interpolation error quotes the value: only line numbers, section and
    option names are shown here.
    """
    hidden = "the line is not shown, as it may hold a password"
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"{path}: cannot parse line {exc.lineno}: no [section] header before it ({hidden})"
    if isinstance(exc, configparser.ParsingError):
        numbers = [str(number) for number, _line in exc.errors]
        if len(numbers) == 1:
            return f"{path}: cannot parse line {numbers[0]}: not a 'key = value' line ({hidden})"
        return f"{path}: cannot parse lines {', '.join(numbers)}: not a 'key = value' line ({hidden})"
    return f"{path}: cannot parse{_other_config_error(exc)}"


def _other_config_error(exc: Exception) -> str:
    if isinstance(exc, (configparser.DuplicateSectionError, configparser.DuplicateOptionError)):
        option = f"{exc.option!r} in " if isinstance(exc, configparser.DuplicateOptionError) else "section "
        return f": line {exc.lineno}: {option}[{exc.section}] appears twice"
    if isinstance(exc, configparser.InterpolationError):
        return (
            f": {exc.option!r} in [{exc.section}] has a '%' that is not '%%' or '%(name)s' "
            "(write a literal '%' as '%%'; the value is not shown)"
        )
    if isinstance(exc, UnicodeDecodeError):
        return f": not UTF-8 text (byte {exc.start})"
    return f" ({type(exc).__name__}; the text is not shown, as it may hold a password)"


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
