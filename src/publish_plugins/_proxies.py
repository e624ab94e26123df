"""Which proxy a request goes through, read as the standard library reads it (as pip and requests do):
``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` (any case), and on macOS and Windows the
system's settings. The client routes every request by it, and the run opens no early connection to an
origin a proxy stands in front of."""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["environment_proxies", "proxy_for"]


def environment_proxies() -> dict[str, str]:
    """The proxies configured for this process, by scheme (``http``, ``https``, ``all``)."""
    return {
        scheme: url if "://" in url else f"http://{url}"  # "proxy:3128" means an http proxy, as in requests
        for scheme, url in urllib.request.getproxies().items()
        if scheme in ("http", "https", "all") and url
    }


def proxy_for(url: str, proxies: Mapping[str, str]) -> str | None:
    """The proxy ``url`` goes through, or None when it goes direct (no proxy for its scheme, or the host is
    in ``NO_PROXY`` or the system's bypass list)."""
    parts = urlsplit(url)
    proxy = proxies.get(parts.scheme.lower()) or proxies.get("all")
    if not proxy:
        return None
    host = parts.hostname or ""
    where = f"{host}:{parts.port}" if parts.port else host
    return None if urllib.request.proxy_bypass(where) else proxy
