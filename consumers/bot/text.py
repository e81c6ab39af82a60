"""Fitting replies to a protocol's manners: pure text functions.

Connected packet stations get plain 80-column lines ending in CR; APRS messages carry at most
67 characters of text; Telegram and the web take what they are given.
"""

from __future__ import annotations

import textwrap
import unicodedata

#: Width of a packet terminal's line.
RADIO_COLUMNS = 80
#: Text of one APRS message (APRS 1.0.1, chapter 14).
APRS_TEXT = 67


# Letters NFKD does not take apart, spelled as their languages do without them.
_SPELLED = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "Th",
    }
)


def plain_ascii(text: str) -> str:
    """Text a packet terminal shows: accents dropped, other non-ASCII as "?"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED))
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return kept.encode("ascii", "replace").decode("ascii")


def wrap_lines(text: str, width: int) -> list[str]:
    """Wrap every line of ``text`` at ``width`` columns on word boundaries (long words cut)."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        wrapped = textwrap.wrap(line, width=width, break_long_words=True, drop_whitespace=True)
        lines.extend(wrapped or [""])
    return lines


def for_terminal(text: str) -> str:
    """A reply for a connected packet station: ASCII, 80 columns, CR line ends."""
    return "".join(f"{line}\r" for line in wrap_lines(plain_ascii(text), RADIO_COLUMNS))


_APRS_FORBIDDEN = str.maketrans({"|": "/", "~": "-", "{": "("})


def aprs_clean(text: str) -> str:
    """Text an APRS message may carry: ASCII, and ``|``, ``~`` and ``{`` (forbidden in message
    text; ``{`` starts the message number) replaced so the receiver sees the rest intact."""
    return plain_ascii(text).translate(_APRS_FORBIDDEN)


def for_aprs(text: str) -> list[str]:
    """A reply as APRS messages: each line packed into parts of at most 67 characters
    (cleaned with :func:`aprs_clean`)."""
    clean = aprs_clean(text)
    parts: list[str] = []
    current = ""
    for line in wrap_lines(clean, APRS_TEXT):
        if not line:
            continue
        joined = f"{current}; {line}" if current else line
        if len(joined) <= APRS_TEXT:
            current = joined
        else:
            parts.append(current)
            current = line
    if current:
        parts.append(current)
    return parts
