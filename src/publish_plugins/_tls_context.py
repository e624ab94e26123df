"""The TLS context of a run, built from the repository's settings; standard library (and certifi) only, so
that it can be built in the background before the HTTP stack is loaded (``_early_connections``)."""

from __future__ import annotations

import ssl

from .errors import UsageError
from .options import Repository

__all__ = ["tls_context"]


def tls_context(repository: Repository) -> ssl.SSLContext:
    """The TLS settings of the repository: trust store (or --ca-cert, or none), client certificate."""
    try:
        if not repository.verify:
            # Not verifying the server is no reason to withhold a client certificate it may require.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif repository.ca_cert:
            context = ssl.create_default_context(cafile=repository.ca_cert)
        else:
            # The system's trust store (where company CAs live, as pip and PDM use it) plus certifi's bundle.
            import certifi

            context = ssl.create_default_context()
            context.load_verify_locations(cafile=certifi.where())
        if repository.client_cert:
            context.load_cert_chain(repository.client_cert, repository.client_key)
    except (ssl.SSLError, OSError) as exc:
        which = repository.client_cert or repository.ca_cert
        raise UsageError(f"{which}: not a usable certificate ({exc.strerror or exc})") from None
    return context
