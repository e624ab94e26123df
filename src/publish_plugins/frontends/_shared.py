"""Small host-free helpers that more than one front end uses: argument types, sizes, paths, exit codes.

Only the standard library: every front end may import this at start-up, whatever host loads it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "EXIT_INTERRUPTED",
    "HATCH_OPTIONS",
    "HOST_OPTIONS",
    "display_path",
    "failure_hint",
    "human_size",
    "in_host_terms",
    "non_negative_int",
    "positive_int",
    "seconds",
]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped with Ctrl-C


def positive_int(text: str) -> int:
    """argparse type of ``--jobs``: a whole number of at least 1."""
    import argparse  # here, not at the top: hatch loads this module without ever parsing arguments

    from publish_plugins.settings import parse_count

    try:
        return parse_count(text, minimum=1)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None


def seconds(text: str) -> float:
    """argparse type of ``--timeout``: a finite number of seconds above 0 (the core's rule)."""
    import argparse

    from publish_plugins.settings import parse_seconds

    try:
        return parse_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None


def non_negative_int(text: str) -> int:
    """argparse type of ``--retries``: a whole number, 0 (no retry) or more (the core's rule)."""
    import argparse

    from publish_plugins.settings import parse_count

    try:
        return parse_count(text, minimum=0)
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


def failure_hint(
    error: Exception, *, password_given: bool, credentials: str, skip_existing: str | None
) -> str | None:
    """A front end's own next step after the core's error, or None: the way to give credentials or to
    leave a differing file alone differs per host, so the core's message stays generic.

    ``credentials`` and ``skip_existing`` finish a sentence: "to give credentials, <credentials>".
    """
    from publish_plugins.errors import ConflictError, UploadFailed

    if isinstance(error, UploadFailed) and error.status in (401, 403) and not password_given:
        return f"to give credentials, {credentials}"
    if isinstance(error, ConflictError) and skip_existing:
        return f"to keep the index's file as it is and upload the rest, {skip_existing}"
    return None


def in_host_terms(message: str, options: dict[str, str]) -> str:
    """The core's message with its option names as this front end spells them.

    The core names the standalone command's options (``--check-url``); hatch takes ``-o check-url=URL``,
    and a host without an option gets the mention removed (``options`` maps "--check-url" to
    "-o check-url=URL", " (--timeout)" to "").
    """
    for name, spelling in options.items():
        message = message.replace(name, spelling)
    return message


# How each host spells the core's options (see in_host_terms). Hosts have no --timeout option.
HATCH_OPTIONS = {"--check-url": "-o check-url=URL", "--skip-existing": "-o skip-existing", " (--timeout)": ""}
HOST_OPTIONS = {" (--timeout)": ""}
