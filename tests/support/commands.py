"""Running a command as a user does, and telling it where to upload and as whom.

:func:`run_command` runs any command to its end and returns a :class:`Ran`, whose ``str()`` shows the
whole run when an assertion on it fails. :func:`credential_args` spells an upload URL and credentials the
way one command takes them (the front ends' spellings live with their tests); the standalone command's
own spelling, path and environment are here, as every kind of test runs it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from tests.support.isolation import clean_env
from tests.support.servers import TEST_PASSWORD, TEST_USERNAME, Index

SAFE_PUBLISH = Path(sys.executable).parent / "safe-publish"
SHORT_WAITS = ["--retry-backoff", "0.01"]  # the standalone command's waits between retries, shortened
RUN_TIMEOUT = 180.0  # a bound for hangs, not a timing assertion

# How the standalone command takes the upload URL and credentials (see credential_args).
SAFE_PUBLISH_CREDENTIALS = ("--repository-url", "{url}", "-u", "{user}", "-p", "{password}")


class Ran(subprocess.CompletedProcess[str]):
    """A finished command: exit code, stdout and stderr as text."""

    @property
    def output(self) -> str:
        """stdout then stderr."""
        return (self.stdout or "") + (self.stderr or "")

    def __str__(self) -> str:  # shown by pytest when an assertion on the result fails
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def run_command(
    command: Sequence[str | Path],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float = RUN_TIMEOUT,
    stdin: str | None = None,
) -> Ran:
    """Run ``command`` to its end (``timeout`` bounds a hang) with ``stdin`` as its input (none: empty)."""
    feed: dict[str, Any] = {"stdin": subprocess.DEVNULL} if stdin is None else {"input": stdin}
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **feed,
    )
    return Ran(done.args, done.returncode, done.stdout, done.stderr)


class _HasUrl(Protocol):
    @property
    def url(self) -> str: ...


def credential_args(
    spelling: Sequence[str],
    target: _HasUrl | str | None = None,
    *,
    user: str = TEST_USERNAME,
    password: str = TEST_PASSWORD,
) -> list[str]:
    """``spelling`` (arguments with ``{url}``, ``{user}`` and ``{password}`` in them) filled in.

    ``target`` is an index, a proxy in front of one, or a URL; the user and password are the test
    servers' unless given.
    """
    url = "" if target is None else target if isinstance(target, str) else target.url
    return [part.format(url=url, user=user, password=password) for part in spelling]


def creds(index: Index, url: str | None = None) -> list[str]:
    """``--repository-url URL -u alice -p PASSWORD`` for an index (or ``url``, a proxy in front of it)."""
    return credential_args(
        SAFE_PUBLISH_CREDENTIALS, url or index.url, user=index.username, password=index.password
    )


def cli_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The standalone command's environment: :func:`~tests.support.isolation.clean_env` in ``home``
    (no ~/.pypirc, no keyring), and ``extra``."""
    return {**clean_env(home), **(extra or {})}


def run_safe_publish(
    args: Sequence[str | Path],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
) -> Ran:
    """Run ``safe-publish ARGS`` (waits shortened) in ``cwd``, also its HOME, with :func:`cli_env` + ``env``."""
    return run_command([SAFE_PUBLISH, *SHORT_WAITS, *args], cwd=cwd, env=cli_env(cwd, env), timeout=timeout)
