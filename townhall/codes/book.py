"""The code book: every ballot code issued for a forum, stored only as a keyed hash.

Two files beside the programme: `NAME.codes.jsonl`, a header line then one line per code
(`{"n": 17, "group": "jury", "hash": "..."}`), and `NAME.codes.key`, the hashing key, readable by
its owner only. The book alone gives no code away: without the key, a hash cannot be tried
against the 2**40 possible codes. docs/ballot-codes.md has the whole of it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from townhall.codes import format as code_format
from townhall.model.eligibility import CodeEntry, CodeProblem

FORMAT = 1
HASH_HEX = 32  # 128 bits of HMAC-SHA256
MAX_CODES = 20_000  # a city forum's whole hall, with spares


class BookError(ValueError):
    """The code book or its key can't be read or written: which file and why."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A code just made: its card's number and group, and the code itself (never stored)."""

    n: int
    group: str
    code: str

    @property
    def voter(self) -> str:
        return f"{self.group}-{self.n}"


def key_path(book: Path) -> Path:
    return book.with_name(book.name.removesuffix(".jsonl") + ".key")


def lock_path(book: Path) -> Path:
    return book.with_name(book.name.removesuffix(".jsonl") + ".lock")


@contextlib.contextmanager
def _locked(book: Path) -> Iterator[None]:
    """Hold the book's lock file (flock(2)): one `issue` at a time reads the last card's number
    and appends after it, however many are run at once; another waits its turn."""
    fd = os.open(lock_path(book), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and with it the lock


class CodeBook:
    """The model's `CodeLookup` over a book file; read again whenever the file changes, so codes
    issued while the forum runs are taken at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._key = b""
        self._by_hash: dict[str, CodeEntry] = {}
        self._by_voter: dict[str, CodeEntry] = {}
        self._issued: Counter[str] = Counter()  # codes per group

    # -- CodeLookup -----------------------------------------------------------------------------

    def find(self, code: str) -> CodeEntry | CodeProblem:
        typed = code_format.compact(code)
        if not code_format.well_formed(typed):
            return CodeProblem.MALFORMED
        if not code_format.checks(typed):
            return CodeProblem.TYPO
        self._reload()
        if not self._key:
            return CodeProblem.UNKNOWN
        return self._by_hash.get(self._hash(typed), CodeProblem.UNKNOWN)

    def voter(self, voter: str) -> CodeEntry | None:
        self._reload()
        return self._by_voter.get(voter)

    def issued(self) -> dict[str, int]:
        self._reload()
        return dict(self._issued)

    # -- reading and writing --------------------------------------------------------------------

    def _hash(self, code: str) -> str:
        return hmac.new(self._key, code.encode(), hashlib.sha256).hexdigest()[:HASH_HEX]

    def _reload(self) -> None:
        """Read the book if it changed since it was last read; a book that can't be read now
        keeps what was read before (a half-written copy must not lock everyone out)."""
        try:
            stat = self.path.stat()
        except OSError:
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            self.load()
        except BookError:
            return
        self._stamp = stamp

    def load(self) -> None:
        """Read the book and its key; raises BookError naming the file and line."""
        key = _read_key(key_path(self.path))
        by_hash: dict[str, CodeEntry] = {}
        by_voter: dict[str, CodeEntry] = {}
        numbers: set[int] = set()
        for line_no, entry in _lines(self.path):
            try:
                n, group, digest = int(entry["n"]), str(entry["group"]), str(entry["hash"])
            except (KeyError, TypeError, ValueError):
                raise BookError(f"{self.path}:{line_no}: a code needs n, group and hash") from None
            found = CodeEntry(f"{group}-{n}", group)
            if n in numbers:  # two cards with one number would be one voter
                raise BookError(f"{self.path}:{line_no}: card No. {n} is in the book twice")
            numbers.add(n)
            by_hash[digest] = by_voter[found.voter] = found
        self._key, self._by_hash, self._by_voter = key, by_hash, by_voter
        self._issued = Counter(entry.group for entry in by_voter.values())

    def issue(self, count: int, group: str, forum: str) -> list[Issued]:
        """Make `count` new codes in `group`, numbered on from the book's last card, and append
        their hashes to the book (made, with its key, if there is none yet)."""
        if not 1 <= count <= MAX_CODES:
            raise BookError(f"--count: from 1 to {MAX_CODES} codes at a time")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _locked(self.path):
            return self._issue(count, group, forum)

    def _issue(self, count: int, group: str, forum: str) -> list[Issued]:
        if self.path.exists():
            self.load()
        else:
            self._key = _make_key(key_path(self.path))
            header = {"townhall_codes": FORMAT, "forum": forum}
            self.path.write_text(json.dumps(header) + "\n", encoding="utf-8")
        if len(self._by_voter) + count > MAX_CODES:
            raise BookError(f"{self.path}: a book holds at most {MAX_CODES} codes")
        first = 1 + max((int(v.rsplit("-", 1)[1]) for v in self._by_voter), default=0)
        made: list[Issued] = []
        taken = set(self._by_hash)
        while len(made) < count:
            code = code_format.make()
            digest = self._hash(code)
            if digest in taken:
                continue  # 1 in 2**40 per code already issued: never twice in one book
            taken.add(digest)
            made.append(Issued(first + len(made), group, code))
        lines = [json.dumps({"n": c.n, "group": c.group, "hash": self._hash(c.code)}) for c in made]
        with self.path.open("a", encoding="utf-8") as book:
            book.write("\n".join(lines) + "\n")
            book.flush()
            os.fsync(book.fileno())
        self.load()
        return made


def _lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise BookError(f"{path}: cannot read the code book ({exc.strerror})") from exc
    except UnicodeDecodeError:
        raise BookError(f"{path}: the code book is not UTF-8 text") from None
    entries: list[tuple[int, dict[str, Any]]] = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            raise BookError(f"{path}:{line_no}: not a JSON line") from None
        if not isinstance(entry, dict):
            raise BookError(f"{path}:{line_no}: not a JSON object")
        if line_no == 1:
            if entry.get("townhall_codes") != FORMAT:
                raise BookError(f"{path}:1: not a Townhall code book (format {FORMAT})")
            continue
        entries.append((line_no, entry))
    return entries


def _make_key(path: Path) -> bytes:
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return bytes.fromhex(key)


def _read_key(path: Path) -> bytes:
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except OSError as exc:
        raise BookError(f"{path}: cannot read the code book's key ({exc.strerror})") from exc
    except ValueError:
        raise BookError(f"{path}: the code book's key is not hex") from None
