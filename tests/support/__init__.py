"""Test support: real index servers, generated distributions and a fault-injecting proxy.

Tests import these as ``from support.servers import PypiServer``: pytest puts ``tests/`` on
``sys.path`` because ``tests/conftest.py`` lives there (the default ``prepend`` import mode).
"""
