"""JSON for the wire: UTF-8 as it is, not `\\uXXXX` escapes.

Korean text escaped that way is six bytes a character instead of three; every board, state and
tally message is mostly such text.
"""

from __future__ import annotations

import json
from typing import Any

loads = json.loads


def dumps(obj: Any, **options: Any) -> str:
    options.setdefault("separators", (",", ":"))
    return json.dumps(obj, ensure_ascii=False, **options)
