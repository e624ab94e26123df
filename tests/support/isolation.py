"""Environments for the commands under test: the machine's user, its config and its keyring stay out.

Every command a test runs gets its own HOME and XDG folders, a keyring backend that can hold no
password, and no colour; front ends add their own variables (the host's config and cache folders) on
top. Either only PATH comes from the machine (:func:`clean_env`), or the machine's environment minus
what would change the command's behaviour (:func:`machine_env`: TLS and proxy settings a build needs).
"""

from __future__ import annotations

import os
from pathlib import Path

NULL_KEYRING = "keyring.backends.null.Keyring"  # a keyring that is there and holds nothing
FAIL_KEYRING = "keyring.backends.fail.Keyring"  # no usable keyring at all, as on a bare machine

# Variables of the machine that would change what any command does (its user's folders and keyring, and
# a CI's OIDC identity, which trusted publishing would try: tests that want one set a fake's).
CI_IDENTITY_PREFIXES = (
    "GITHUB_ACTIONS",
    "ACTIONS_ID_TOKEN_",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
    "PYPI_ID_TOKEN",
    "TESTPYPI_ID_TOKEN",
)
MACHINE_PREFIXES = (
    "XDG_",
    "PYTHON_KEYRING",
    "KEYRING_",
    "DBUS_",
    "PYPIRC",
    "VIRTUAL_ENV",
    *CI_IDENTITY_PREFIXES,
)


def home_env(home: Path, *, keyring: str = NULL_KEYRING) -> dict[str, str]:
    """HOME and the XDG base folders under ``home``, the keyring backend ``keyring``, no colour."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CONFIG_DIRS": str(home / ".config-site"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "PYTHON_KEYRING_BACKEND": keyring,
        "NO_COLOR": "1",
    }


def clean_env(home: Path, *, path: str | None = None, keyring: str = NULL_KEYRING) -> dict[str, str]:
    """PATH (the machine's, unless ``path`` is given) and :func:`home_env`: nothing else of the machine."""
    return {"PATH": os.environ["PATH"] if path is None else path, **home_env(home, keyring=keyring)}


def search_path(*folders: Path | str) -> str:
    """A PATH value of ``folders`` then the system's own folders only (no venv of the caller's)."""
    return os.pathsep.join([*(str(folder) for folder in folders), "/usr/local/bin", "/usr/bin", "/bin"])


def machine_env(home: Path, *, drop: tuple[str, ...] = (), keyring: str = NULL_KEYRING) -> dict[str, str]:
    """The machine's environment without the variables starting with ``drop`` or
    :data:`MACHINE_PREFIXES`, then :func:`home_env`; a proxy of the machine's is kept for what a build
    downloads, and :func:`loopback_unproxied` keeps the test servers out of it."""
    prefixes = (*MACHINE_PREFIXES, *drop)
    kept = {key: value for key, value in os.environ.items() if not key.startswith(prefixes)}
    return {**kept, **loopback_unproxied(kept), **home_env(home, keyring=keyring)}


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def loopback_unproxied(env: dict[str, str]) -> dict[str, str]:
    """``NO_PROXY`` and ``no_proxy`` (the lowercase one wins where both are set) extended with the
    loopback hosts: the test servers are reached directly, as a developer's local index would need, even
    on a machine whose proxy settings the tests keep."""
    current = env.get("no_proxy") or env.get("NO_PROXY") or ""
    hosts = [host for host in current.split(",") if host.strip()]
    merged = ",".join([*hosts, *(host for host in LOOPBACK_HOSTS if host not in hosts)])
    return {"NO_PROXY": merged, "no_proxy": merged}


def keyring_backend(folder: Path, module: str, source: str, backend: str) -> dict[str, str]:
    """Write a keyring backend's ``source`` as ``folder/module.py``; return the variables that select it
    the documented way (``PYTHON_KEYRING_BACKEND``, found on ``PYTHONPATH``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{module}.py").write_text(source)
    return {"PYTHONPATH": str(folder), "PYTHON_KEYRING_BACKEND": f"{module}.{backend}"}
