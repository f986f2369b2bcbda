"""A programme's fields as written in its TOML text: each read with its type and bounds checked,
and an error that names the file, the line the field is written on, and the field."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ProgrammeError(Exception):
    """A programme file is malformed: where, which field, and what is wrong."""

    path: str
    line: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"


class FieldReader:
    """Reads fields out of a programme's parsed tables; the text is kept to find their lines."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source

    def fail(self, field: str, reason: str) -> ProgrammeError:
        return ProgrammeError(self.source, self.locate(field), field, reason)

    def locate(self, field: str) -> int | None:
        """The line a dotted field path like `items[2].options[0].label` is written on.

        Walks the path down the text; where a part cannot be found, the line of the deepest part
        that was found is the best answer (the table the field belongs in).
        """
        parts = re.findall(r"([A-Za-z_][\w-]*)(?:\[(\d+)\])?", field)
        found: int | None = None
        header = ""
        for name, index in parts:
            header = f"{header}.{name}" if header else name
            start = 0 if found is None else found
            if index:
                line = self._nth_table(header, int(index), start)
            else:
                line = self._key_line(name, start)
                if line is None and found is None:
                    line = self._nth_table(header, 0, 0)
            if line is None:
                break
            found = line
        return None if found is None else found + 1

    def _nth_table(self, header: str, n: int, start: int) -> int | None:
        pattern = re.compile(r"^\s*\[\[?\s*" + re.escape(header) + r"\s*\]\]?\s*(#.*)?$")
        seen = 0
        for i in range(start, len(self.lines)):
            if pattern.match(self.lines[i]):
                if seen == n:
                    return i
                seen += 1
        return None

    def _key_line(self, key: str, start: int) -> int | None:
        pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        for i in range(start, len(self.lines)):
            if i > start and self.lines[i].lstrip().startswith("[["):
                return None
            if pattern.match(self.lines[i]):
                return i
        return None

    # -- field readers --------------------------------------------------------------------------

    def no_unknown_keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(
                f"{where}.{unknown[0]}", f"unknown field (allowed: {', '.join(sorted(allowed))})"
            )

    def string(
        self,
        table: dict[str, Any],
        key: str,
        where: str,
        *,
        default: str | None = None,
        max_length: int = 100,
        pattern: re.Pattern[str] | None = None,
    ) -> str:
        field = f"{where}.{key}"
        if key not in table:
            if default is None:
                raise self.fail(field, "is required")
            return default
        value = table[key]
        if not isinstance(value, str):
            raise self.fail(field, "must be a string")
        if pattern is None and not value.strip():
            raise self.fail(field, "must not be empty")
        if len(value) > max_length:
            raise self.fail(field, f"must be at most {max_length} characters")
        if pattern is not None and not pattern.match(value):
            raise self.fail(field, f"{value!r} does not match {pattern.pattern}")
        return value

    def integer(
        self, table: dict[str, Any], key: str, where: str, *, default: int, low: int, high: int
    ) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(f"{where}.{key}", f"must be a whole number from {low} to {high}")
        return value


def read_toml(text: str, source: str) -> dict[str, Any]:
    """A programme's TOML text as tables; ProgrammeError, naming the line, if it is not TOML.

    Arrays and inline tables nested a few hundred deep exhaust the parser's recursion: that is
    a refusal too, not a traceback.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or line_from_message(str(exc))
        raise ProgrammeError(source, line, "", f"not valid TOML: {exc.args[0]}") from exc
    except RecursionError:
        raise ProgrammeError(source, None, "", "not valid TOML: nested too deeply") from None


def line_from_message(message: str) -> int | None:
    """The line a TOML error's message names, where the error carries no line number itself."""
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
