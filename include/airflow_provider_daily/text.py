"""The one text rule for what reaches Daily's display name (and the application's titles):
:func:`clean_text`.

Daily shows ``properties.dialin.display_name`` to the people in a room next to each phone
caller; whatever path builds a room - the application's one-off meetings and series
(``daily_dialin.provisioning.meetings`` re-exports this function) or
:class:`~airflow_provider_daily.operators.daily.DailyCreateDialinRoomOperator` - cleans the name
with this rule before it is sent.

May import: the standard library only.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["clean_text"]

# ANSI/ECMA-48 escape sequences, 7- and 8-bit: CSI (``ESC [`` / 0x9b ... final byte), OSC, DCS,
# SOS, PM and APC strings (up to BEL or ST; unterminated: to the end), and two-byte escapes
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)
_LINE_BREAKS = re.compile(r"[\t\n\r\v\f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# Unicode format characters (category Cf): bidi overrides and isolates (U+202A-202E, U+2066-2069),
# zero-width space/joiners (U+200B-200D), word joiner, BOM, soft hyphen... Invisible, and the bidi ones
# reorder what callers see next to the name in Daily's UI: removed like control characters. None of
# them is printable, so text that is (the usual case) never pays for the check.
def _without_format(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


_WHITESPACE = re.compile(r"\s+")


def clean_text(value: Any) -> str:
    """A title or display name as it may be shown: ANSI escape sequences and C0/C1 control
    characters (NUL, BEL, ESC, DEL, ...) removed, tab and line breaks (CR, LF, VT, FF) turned
    into spaces, runs of whitespace collapsed to one space, stripped. ``None`` is ``""``.

    Control characters are removed, not replaced by a space (``"Bob\\x00Smith"`` is
    ``"BobSmith"``): they are not text, and a space would split words they happen to sit in."""
    text = "" if value is None else str(value)
    if text.isprintable() and "  " not in text:  # the usual case: nothing to clean but the ends
        return text.strip()
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _without_format(_CONTROL.sub("", _LINE_BREAKS.sub(" ", text)))
    return _WHITESPACE.sub(" ", text).strip()
