"""The record's lines: canonical JSON (RFC 8785) chained by SHA-256."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785

GENESIS = "0" * 64  # the header's `prev`
UNHASHED = ("hash", "plain")  # `plain` may be left out later without changing any hash


def canonical(value: Any) -> bytes:
    """The RFC 8785 form of `value`, as UTF-8 bytes."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def salted_sha256(salt: str, text: str) -> str:
    """A post text's commitment: SHA-256 of its salt and then the text, so that without the salt
    (published only in `plain`) no guess at the text can be checked against it."""
    return sha256_hex((salt + text).encode())


def line_hash(line: dict[str, Any]) -> str:
    """SHA-256 of the line's canonical form without `hash` and `plain`."""
    return sha256_hex(canonical({k: v for k, v in line.items() if k not in UNHASHED}))


class Chain:
    """Links lines one after another: each gets the previous line's hash as `prev`."""

    def __init__(self, prev: str = GENESIS) -> None:
        self.prev = prev

    def link(self, line: dict[str, Any]) -> dict[str, Any]:
        """`line` with its `prev` and `hash` set; it becomes the one the next line follows."""
        line["prev"] = self.prev
        line["hash"] = self.prev = line_hash(line)
        return line


def encoded(line: dict[str, Any]) -> bytes:
    """One line of the file: the canonical form and LF."""
    return canonical(line) + b"\n"
