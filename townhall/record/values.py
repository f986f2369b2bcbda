"""What a record line's values must be: each read with its type checked, and the difference
between what a recount expects and what the record says, worded for the verifier's report."""

from __future__ import annotations

import json
from typing import Any


class Bad(ValueError):
    """A line that can't be replayed as it stands; the message says what is wrong with it."""


def difference(expected: Any, found: Any, where: str = "") -> str | None:
    """The first place `found` differs from `expected`, said as expected vs found."""
    if isinstance(expected, dict) and isinstance(found, dict):
        for key in [*expected, *(k for k in found if k not in expected)]:
            inner = f"{where}.{key}" if where else str(key)
            if key not in found:
                return f"{inner}: expected {_show(expected[key])}, found nothing"
            if key not in expected:
                return f"{inner}: unexpected, found {_show(found[key])}"
            wrong = difference(expected[key], found[key], inner)
            if wrong is not None:
                return wrong
        return None
    if expected == found and type(expected) is type(found):
        return None
    return f"{where or 'value'}: expected {_show(expected)}, found {_show(found)}"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Bad(f"{what}: expected an object, found {_show(value)}")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise Bad(f"{what}: expected a list, found {_show(value)}")
    return value


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise Bad(f"{what}: expected a string, found {_show(value)}")
    return value


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Bad(f"{what}: expected a whole number, found {_show(value)}")
    return value
