"""The ids a programme names things by (forum, items, options, members, candidates): one pattern,
and the slug that makes one from a name."""

from __future__ import annotations

import re

# \Z, not $: $ also matches before a final newline, which would let "id\n" through.
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}\Z")
MAX_ID = 40


def slug(name: str) -> str:
    """`name` lower-cased, each run of characters other than a-z, 0-9, _ and - made one -, cut
    to 40 characters; empty if nothing is left."""
    return re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:MAX_ID]
