"""What every front end does alike: the core's options and repository from a host's settings, checked
under the names the user gave them; the core's error as a host prints it; argument types, sizes, paths.

Host-free. Front ends import this module when their host starts (poetry and PDM load their plugin on every
command), so it loads only the standard library at import time and the core when a function runs.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from publish_plugins.errors import PublishError
    from publish_plugins.events import Event, EventListener
    from publish_plugins.options import PublishOptions, Repository, RetryPolicy, TrustedPublishing

__all__ = [
    "HOST_OPTIONS",
    "Endpoint",
    "Setting",
    "display_path",
    "endpoint",
    "error_lines",
    "file_size",
    "host_timeout",
    "human_size",
    "mask_in_ci_log",
    "non_negative_int",
    "positive_int",
    "publish_options",
    "seconds",
    "trusted_publishing",
]

# How a host spells the core's option names in messages (see error_lines): the hosts have no --timeout.
HOST_OPTIONS: Mapping[str, str] = {" (--timeout)": ""}


@dataclass(frozen=True)
class Setting:
    """A value as the user gave it, and where: ``-o ca-cert``, ``HATCH_INDEX_CA_CERT``, a config key."""

    value: str | None
    where: str


# ---- a host's settings → the core's PublishOptions and Repository ----------------------------------------


def publish_options(
    *,
    skip_existing: bool,
    dry_run: bool,
    report: Path | None = None,
    report_from: str = "--report",
    jobs: int = 1,
    retry: RetryPolicy | None = None,
    attestations: bool = True,
    require_identical: bool = False,
    per_project: bool = False,
    index_rules: str = "auto",
    index_rules_from: str = "--index-rules",
    max_file_size: int | None = None,
) -> PublishOptions:
    """The core's options. Call it first: a report with nowhere to go stops the run before credentials
    are looked up or asked for (``report_from`` names the option for the message)."""
    from publish_plugins._report import check_report_path
    from publish_plugins.options import PublishOptions

    if report is not None:
        check_report_path(report, what=report_from)
    from publish_plugins.errors import UsageError
    from publish_plugins.options import INDEX_RULES

    rules = next((choice for choice in INDEX_RULES if choice == index_rules.strip().lower()), None)
    if rules is None:
        raise UsageError(f"{index_rules_from}: choose one of {', '.join(INDEX_RULES)}, got {index_rules!r}")
    options = PublishOptions(
        mode="skip-existing" if skip_existing else "strict",
        dry_run=dry_run,
        report_path=report,
        jobs=jobs,
        attestations=attestations,
        require_identical=require_identical,
        per_project=per_project,
        index_rules=rules,
        max_file_size=max_file_size,
    )
    return options if retry is None else dataclasses.replace(options, retry=retry)


@dataclass(frozen=True)
class Endpoint:
    """Where to upload and how to connect, checked; the credentials come later (a host may prompt)."""

    upload_url: str
    check_url: str | None = None
    ca_cert: str | None = None
    verify: bool = True
    client_cert: str | None = None
    client_key: str | None = None
    timeout: float | None = None  # None: the core's default

    def repository(
        self,
        username: str | None,
        password: str | None,
        *,
        user_from: str | None = None,
        password_how: str | None = None,
        trusted: Setting | None = None,
    ) -> Repository:
        """The core's Repository. A user name without a password is refused here, naming where the name
        came from (``user_from``) and how this host takes a password (``password_how``).

        ``trusted``: the trusted-publishing mode as given (``automatic`` when None); ``always`` with
        credentials given too is refused, naming the option.
        """
        from publish_plugins.errors import UsageError
        from publish_plugins.options import DEFAULT_TIMEOUT, Repository, missing_password_message

        mode = trusted_publishing(trusted)
        if mode == "always" and (username or password) and trusted is not None:
            given = (
                f"the user name {username!r} (from {user_from})"
                if username and user_from
                else (f"the user name {username!r}" if username else "a password or token")
            )
            raise UsageError(
                f"{trusted.where} always: trusted publishing mints its own upload token, but {given} was "
                f"given too; remove it, or use {trusted.where} automatic"
            )
        if username and not password and password_how is not None:
            raise UsageError(missing_password_message(username, password_how, where=user_from))
        return Repository(
            upload_url=self.upload_url,
            check_url=self.check_url,
            username=username or None,
            password=password or None,
            ca_cert=self.ca_cert,
            verify=self.verify,
            client_cert=self.client_cert,
            client_key=self.client_key,
            timeout=DEFAULT_TIMEOUT if self.timeout is None else self.timeout,
            trusted_publishing=mode,
        )


def endpoint(
    upload_url: Setting,
    check_url: Setting | None = None,
    *,
    ca_cert: Setting | None = None,
    verify: bool = True,
    client_cert: Setting | None = None,
    client_key: Setting | None = None,
    key_needs_cert: str = "--client-key needs --client-cert",
    timeout: float | None = None,
) -> Endpoint:
    """URLs and certificate files, each checked under the name it was given by, before any password
    prompt or request. A URL's message never quotes a password. ``key_needs_cert`` is the message for a
    client key without its certificate, in the host's option names."""
    from publish_plugins._urls import validate_url
    from publish_plugins.errors import UsageError

    url = validate_url(upload_url.value, what=upload_url.where)
    if check_url is not None and check_url.value is not None:
        validate_url(check_url.value, what=check_url.where)
    if client_key is not None and client_key.value and not (client_cert is not None and client_cert.value):
        raise UsageError(key_needs_cert)
    ca_file = _certificate_file(ca_cert) if verify else None
    cert_file, key_file = _certificate_file(client_cert), _certificate_file(client_key)
    return Endpoint(
        upload_url=url,
        check_url=check_url.value if check_url is not None else None,
        ca_cert=ca_file,
        verify=verify,
        client_cert=cert_file,
        client_key=key_file,
        timeout=timeout,
    )


def trusted_publishing(setting: Setting | None) -> TrustedPublishing:
    """The trusted-publishing mode as given (``automatic`` when not given), checked under its name."""
    from publish_plugins.errors import UsageError
    from publish_plugins.options import parse_trusted_publishing

    if setting is None or setting.value is None or setting.value == "":
        return "automatic"
    try:
        return parse_trusted_publishing(str(setting.value))
    except ValueError as exc:
        raise UsageError(f"{setting.where}: {exc}, got {setting.value!r}") from None


def mask_in_ci_log(listener: EventListener) -> EventListener:
    """``listener``, after masking a minted upload token in a GitHub Actions log (``::add-mask::``) before
    anything else can print it. GitHub reads the command from the job's standard output."""

    def on_event(event: Event) -> None:
        token = getattr(event, "token", None)  # TokenMinted: the one event that carries a secret
        # One line or nothing (the core refuses any other token): a line break would start a new command.
        if token and os.environ.get("GITHUB_ACTIONS") and token.isprintable() and " " not in token:
            sys.stdout.write(f"::add-mask::{token}\n")
            sys.stdout.flush()
        listener(event)

    return on_event


def _certificate_file(setting: Setting | None) -> str | None:
    if setting is None or not setting.value:
        return None
    path = Path(setting.value).expanduser()
    if not path.is_file():
        from publish_plugins.errors import UsageError

        raise UsageError(f"{setting.where}: {setting.value}: no such certificate file")
    return str(path)


def host_timeout(text: object, where: str, *, at_least_default: bool = False) -> float | None:
    """A host's network timeout setting (``None``: not set, the core's default). With
    ``at_least_default``, a shorter one counts as the core's default (sized for index pages, a host's
    timeout would cut off an index that takes a while to answer after a large upload)."""
    from publish_plugins.errors import UsageError
    from publish_plugins.options import DEFAULT_TIMEOUT, parse_seconds

    if text is None or text == "":
        return None
    try:
        value = parse_seconds(str(text))
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}, got {text!r}") from None
    return max(value, DEFAULT_TIMEOUT) if at_least_default else value


# ---- the core's error, as a host shows it ------------------------------------------------------------------


def error_lines(
    error: PublishError,
    *,
    password_given: bool,
    credentials: str,
    skip_existing: str | None,
    options: Mapping[str, str] = HOST_OPTIONS,
) -> tuple[str, str | None]:
    """The error line and the hint after it (or None); the exit code is ``error.exit_code``.

    The core names the standalone command's options (``--check-url``): ``options`` maps them to the host's
    spelling (hatch: ``-o check-url=URL``), or to "" where the host has none. The hint is the host's own
    next step, which the core's message leaves out: ``credentials`` and ``skip_existing`` finish the
    sentences "to give credentials, ..." and "to keep the index's file as it is and upload the rest, ...".
    """
    from publish_plugins.errors import ConflictError, UploadFailed

    message = str(error)
    for name, spelling in options.items():
        message = message.replace(name, spelling)
    hint = None
    if isinstance(error, UploadFailed) and error.status in (401, 403) and not password_given:
        hint = f"to give credentials, {credentials}"
    elif isinstance(error, ConflictError) and skip_existing:
        hint = f"to keep the index's file as it is and upload the rest, {skip_existing}"
    return message, hint


# ---- argument types, sizes and paths -----------------------------------------------------------------------


def positive_int(text: str) -> int:
    """argparse type of ``--jobs``: a whole number of at least 1."""
    from publish_plugins.options import parse_count

    return _argument(text, lambda: parse_count(text, minimum=1))


def non_negative_int(text: str) -> int:
    """argparse type of ``--retries``: a whole number, 0 (no retry) or more (the core's rule)."""
    from publish_plugins.options import parse_count

    return _argument(text, lambda: parse_count(text, minimum=0))


def file_size(text: str) -> int:
    """argparse type of ``--max-file-size``: bytes, or a number with a unit (``100M``, ``1.5GiB``)."""
    import argparse

    from publish_plugins._index_rules import parse_size

    try:
        return parse_size(text)
    except ValueError as exc:  # the reason quotes the value already
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds(text: str) -> float:
    """argparse type of ``--timeout``: a finite number of seconds above 0 (the core's rule)."""
    from publish_plugins.options import parse_seconds

    return _argument(text, lambda: parse_seconds(text))


_T = TypeVar("_T")


def _argument(text: str, parse: Callable[[], _T]) -> _T:
    """The core's parse, its ValueError as argparse's error (``argument --jobs: <reason>, got 'x'``)."""
    import argparse  # here, not at the top: hatch and poetry load this module without parsing arguments

    try:
        return parse()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None


def human_size(count: int) -> str:
    """A byte count in binary units: ``512 B``, ``1.5 KiB``, ``3.0 MiB``, ``2.1 GiB``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def display_path(path: Path) -> Path:
    """``path`` relative to the working folder when it is inside it: shorter lines, as the user sees it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
