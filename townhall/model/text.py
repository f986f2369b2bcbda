"""What a participant's text may hold: printable characters. Control characters, the direction
overrides and isolates that could reorder what the room reads, and the invisible characters that
would make a blank post or a blank word look like something are taken out before any check."""

from __future__ import annotations

import re

# C0 and C1 controls except tab and newline; zero-width space, word joiner and byte-order mark;
# the bidirectional embeddings, overrides and isolates; the Hangul fillers, which draw nothing.
UNSEEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069"
    "\u115f\u1160\u3164\uffa0]"
)


def printable(text: str) -> str:
    """`text` without the characters no one should receive from a participant."""
    return UNSEEN.sub("", text)
