"""``python -m publish_plugins``: the same as ``safe-publish``."""

from __future__ import annotations

import sys

from .frontends.cli import main

sys.exit(main())
