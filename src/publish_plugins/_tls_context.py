"""The TLS context of a run, built from the repository's settings; standard library (and certifi) only, so
that it can be built in the background before the HTTP stack is loaded (``_early_connections``)."""

from __future__ import annotations

import ssl

from .errors import UsageError
from .options import Repository

__all__ = ["PassphraseNeeded", "tls_context"]


def tls_context(repository: Repository, *, ask: bool = True) -> ssl.SSLContext:
    """The TLS settings of the repository: trust store (or --ca-cert, or none), client certificate.

    ``ask=False``: never ask for a client key's passphrase (OpenSSL would, on the terminal): an encrypted
    key raises :class:`PassphraseNeeded` instead. Built in the background, the context must not prompt:
    the run builds it again, and asks, where it reports errors.
    """
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
            context.load_cert_chain(
                repository.client_cert, repository.client_key, password=None if ask else _never_ask
            )
    except (ssl.SSLError, OSError) as exc:
        which = repository.client_cert or repository.ca_cert
        raise UsageError(f"{which}: not a usable certificate ({exc.strerror or exc})") from None
    return context


class PassphraseNeeded(Exception):
    """The client key is encrypted, and asking for its passphrase was not allowed."""


def _never_ask() -> str:
    raise PassphraseNeeded
