"""Text from a server is made safe to print: one line, no escape sequences or control characters."""

from __future__ import annotations

import pytest

from publish_plugins._text import MAX_SERVER_TEXT, clean_server_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("File already exists", "File already exists"),
        ("\x1b[31mred\x1b[0m text", "red text"),  # CSI colour
        ("\x1b]0;pwned\x07title", "title"),  # OSC: set the window title
        ("\x1b]8;;http://evil/\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink
        ("a\x9b2Jb", "ab"),  # 8-bit CSI (clear screen)
        ("\x1bPdevice control\x1b\\after", "after"),  # DCS
        ("line one\r\nline two\n\tthree", "line one line two three"),
        ("back\x08\x08\x08space", "back space"),
        ("bell\x07 and nul\x00", "bell and nul"),
        ("del\x7f", "del"),
        ("safe\u202etxt.exe", "safe txt.exe"),  # right-to-left override
        ("zero\u200bwidth", "zero width"),
        ("\x1b", ""),
        ("ünïcödé is kept", "ünïcödé is kept"),
    ],
)
def test_control_characters_and_escape_sequences_are_removed(text: str, expected: str) -> None:
    assert clean_server_text(text) == expected


def test_length_is_capped_with_a_mark() -> None:
    cleaned = clean_server_text("x" * 10_000)
    assert len(cleaned) == MAX_SERVER_TEXT
    assert cleaned.endswith("...")


def test_a_huge_text_is_not_scanned_whole() -> None:
    """A 50 MB error page costs a bounded amount of work: only the start can reach the line anyway."""
    cleaned = clean_server_text("\x1b[1m" + "y" * 50_000_000, limit=50)
    assert cleaned == "y" * 47 + "..."


def test_line_and_paragraph_separators_are_removed() -> None:
    """U+2028/U+2029 break lines in many terminals and log viewers; U+0085 is a C1 control."""
    assert clean_server_text("demo-1.0\u2028\x1f\x85-py3-none-any.whl") == "demo-1.0 -py3-none-any.whl"
