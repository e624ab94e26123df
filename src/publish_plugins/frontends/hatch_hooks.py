"""hatch entry point (group ``hatch``): registers the ``safe`` publisher for ``hatch publish -p safe``.

hatchling loads the same entry-point group when a build uses third-party plugins, and hatch loads it for
every non-built-in plugin name. So this module imports only ``hatchling.plugin`` and leaves hatch and the
core to the hook, which runs only when hatch collects publishers.
"""

from __future__ import annotations

from hatchling.plugin import hookimpl


@hookimpl
def hatch_register_publisher() -> type:
    from .hatch_publisher import SafePublisher

    return SafePublisher
