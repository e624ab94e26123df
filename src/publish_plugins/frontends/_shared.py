"""Small host-free helpers that more than one front end uses: argument types, sizes, paths, exit codes.

Only the standard library: every front end may import this at start-up, whatever host loads it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["EXIT_INTERRUPTED", "display_path", "failure_hint", "human_size", "positive_int"]

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped with Ctrl-C


def positive_int(text: str) -> int:
    """argparse type of ``--jobs``: a whole number of at least 1."""
    import argparse  # here, not at the top: hatch loads this module without ever parsing arguments

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


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
