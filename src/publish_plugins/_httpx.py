"""Import httpx without its command-line module.

``import httpx`` also imports ``httpx._main`` (its CLI), which pulls in rich, click and pygments when they
are installed, as they are beside hatch and PDM: about 0.2 s of start-up for code we never run. Marking the
module missing while httpx loads makes httpx install its stub ``main`` instead; the mark is removed again
so that anyone who really wants ``httpx._main`` can still import it later.
"""

from __future__ import annotations

import sys

__all__ = ["httpx"]

if "httpx" not in sys.modules:
    _blocked = "httpx._main" not in sys.modules
    if _blocked:
        sys.modules["httpx._main"] = None  # type: ignore[assignment]
    try:
        import httpx
    finally:
        if _blocked and sys.modules.get("httpx._main", 0) is None:
            del sys.modules["httpx._main"]
else:
    import httpx
