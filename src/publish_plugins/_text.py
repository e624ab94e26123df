"""Text that came from a server, made safe to print: one line, no control characters, a bounded length.

An index (or a proxy in front of it) chooses its reason phrases, error pages, file names and Location
headers. Printed as they are, an escape sequence in them could rewrite the user's terminal, recolour or
hide lines, or set the window title; a 10 MB error page would flood a CI log.
"""

from __future__ import annotations

import re

__all__ = ["MAX_SERVER_TEXT", "clean_server_text", "mask_secrets"]

MAX_SERVER_TEXT = 300

# ANSI/VT escape sequences as a whole (CSI, OSC, DCS and friends), so that no "[31m" residue is left;
# then every remaining C0 and C1 control character, DEL, and the Unicode formatting characters that
# reorder or hide text (bidirectional overrides and isolates, zero-width joiners, BOM).
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]).*?(?:\x07|\x1b\\|\x9c|$)"  # OSC/DCS/SOS/PM/APC ... ST
    r"|\x1b[ -/]*[0-~]?",  # any other ESC sequence
    re.S,
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]+")


def clean_server_text(text: str, limit: int = MAX_SERVER_TEXT) -> str:
    """``text`` as one printable line of at most ``limit`` characters (``...`` marks a cut)."""
    text = _ESCAPE_SEQUENCE.sub("", text[: limit * 20])
    line = " ".join(_CONTROL.sub(" ", text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def mask_secrets(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every form of a secret replaced: an index may echo a credential in any message."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "*****")
    return text
