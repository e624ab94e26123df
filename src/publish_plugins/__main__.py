"""``python -m publish_plugins``: the same as ``safe-publish``."""

from __future__ import annotations

from .frontends.cli import console_main

console_main()
