"""Test support: real index servers, generated distributions and a fault-injecting proxy.

Import as ``from tests.support.servers import PypiServer``. ``tests/`` is a package, so pytest puts
the repository root on ``sys.path`` (default ``prepend`` import mode) and this works from any folder.
"""
