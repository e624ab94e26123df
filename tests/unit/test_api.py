"""The package's public names, and what importing it costs a host."""

from __future__ import annotations

import subprocess
import sys

import publish_plugins


def test_publish_is_the_function_after_any_import_order() -> None:
    """Importing the core's modules never replaces the public ``publish`` function with a module."""
    code = (
        "import publish_plugins._run, publish_plugins._upload_request, publish_plugins._simple_index\n"
        "from publish_plugins import publish\n"
        "assert callable(publish) and publish.__module__ == 'publish_plugins._run', publish\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_public_name_resolves() -> None:
    """Each name in __all__ is importable from the package."""
    for name in publish_plugins.__all__:
        assert getattr(publish_plugins, name) is not None


def test_importing_the_package_loads_no_http_stack() -> None:
    """Hosts import the front ends at start-up: the package alone must not pull in httpx or the core."""
    code = (
        "import sys, publish_plugins\n"
        "loaded = [m for m in ('httpx', 'publish_plugins._run', 'packaging.metadata') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
