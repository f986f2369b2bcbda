"""JSON for the wire: UTF-8 as it is, not `\\uXXXX` escapes.

Korean text escaped that way is six bytes a character instead of three; every board, state and
tally message is mostly such text.

orjson does the work: every vote's packet is decoded and its ack encoded here, and the
standard library's json took about a fifteenth of the server's time under a vote storm
(docs/performance.md, "The vote path, #18"). Whatever orjson refuses (a lone surrogate from a
`\\ud800` escape, an integer past 64 bits to write, a `NaN` literal, keys that are not strings)
goes the standard library's way, so what a client may send and what the server writes back are
as before, but for two things: a float that is not a number is written `null`, which JSON can
read, not `NaN`; and an integer literal past 64 bits is read as a float (orjson takes it so),
where the standard library read an exact int: no payload field takes either, each refuses both.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

COMPACT = (",", ":")


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # takes it, or raises its own error, as it always did


def dumps(obj: Any, **options: Any) -> str:
    if options.get("separators", COMPACT) == COMPACT and options.keys() <= {"separators"}:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:  # orjson.JSONEncodeError: the standard library decides
            pass
    options.setdefault("separators", COMPACT)
    return json.dumps(obj, ensure_ascii=False, **options)
