"""Candidates with their agreement counts, from a proposal board's CSV export; and the committee's
scores sheet.

    id,title,agreements
    night-library,주 1회 밤의 도서관,42

A header row is required. Columns come in any order and others are ignored; a header name is
matched ignoring case, spaces and a leading byte-order mark:

    id          id (optional)
    title       title, 제목
    agreements  agreements, 공감 수, 공감, 동의 수

so a Parti Mix export (제목, 공감 수) is read as it is. `아이디` and `번호` are not read as the id:
in a board's export the first usually names the author's account, and the second may be the
row's place in the list, which moves when the list is sorted again and would move the scores
with it.

With no id column, each id is made from its title, the same on every reading: a title wholly in
ASCII becomes its slug, lower-cased with each run of characters other than a-z, 0-9, _ and -
made one - and cut to 40 (`Night library!` is `night-library`); any other title becomes `c-` and
the first 8 hex digits of the SHA-256 of its UTF-8 text in NFC (`주 1회 밤의 도서관` is
`c-31412201`). A second candidate whose made id is taken gets `-2`, then `-3`, …, in file order.

A count is written with the digits 0-9: `²`, `٣` or `３` is refused, not read as 2 or 3. A bad
row is refused with its line number and the reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from townhall.ids import ID_PATTERN, MAX_ID, slug
from townhall.model.scorer import Candidate

MAX_ROWS = 500
MAX_AGREEMENTS = 10_000_000
# Each accepted header name, as `_header_key` leaves it, and the column it names.
HEADERS = {
    "id": "id",
    "title": "title",
    "제목": "title",
    "agreements": "agreements",
    "공감수": "agreements",
    "공감": "agreements",
    "동의수": "agreements",
}
# ASCII digits only: int() and str.isdigit() also take '٣' and '３' as 3, and isdigit takes '²'.
# At most 18 of them, well inside int()'s limit on the length of what it reads.
WHOLE_NUMBER = re.compile(r"[0-9]{1,18}")


class CandidateError(ValueError):
    """A candidates file or a scores sheet is malformed: where and why."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")
        self.source, self.line, self.reason = source, line, reason


def read_sheet(path: Path) -> str:
    """A CSV file's text, with or without a byte-order mark, or a CandidateError saying why not."""
    try:
        return path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not a column name
    except OSError as exc:
        raise CandidateError(str(path), None, f"cannot read the file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise CandidateError(str(path), None, "the file is not UTF-8 text") from exc


def load_candidates(path: Path) -> list[Candidate]:
    return parse_candidates(read_sheet(path), source=str(path))


def parse_candidates(text: str, *, source: str) -> list[Candidate]:
    """Every candidate in `text`, or a CandidateError naming the first bad line."""
    rows = _rows(text, source)
    first = next(rows, None)
    if first is None:
        raise CandidateError(source, None, "the file is empty; expected a header title,agreements")
    header = first[1]
    columns = _columns(header, source)
    candidates: list[Candidate] = []
    seen: set[str] = set()
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) < len(header):
            raise CandidateError(
                source, line, f"{len(row)} columns where the header has {len(header)}"
            )
        title = row[columns["title"]].strip()
        count = row[columns["agreements"]].strip()
        if not title or len(title) > 200:
            raise CandidateError(source, line, "title must be 1 to 200 characters")
        if "id" in columns:
            cid = row[columns["id"]].strip()
            if not ID_PATTERN.match(cid):
                raise CandidateError(
                    source, line, f"id {cid!r} must be a-z, 0-9, _ or -, up to {MAX_ID} long"
                )
            if cid in seen:
                raise CandidateError(source, line, f"id {cid!r} appears twice")
        else:
            cid = _unique_id(made_id(title), seen)
        agreements = _whole_number(count)
        if agreements is None or agreements > MAX_AGREEMENTS:
            raise CandidateError(
                source,
                line,
                _not_a_number("agreements", count, f"a whole number from 0 to {MAX_AGREEMENTS}"),
            )
        seen.add(cid)
        candidates.append(Candidate(cid, title, agreements))
        if len(candidates) > MAX_ROWS:
            raise CandidateError(source, line, f"at most {MAX_ROWS} candidates")
    if not candidates:
        raise CandidateError(source, None, "no candidates after the header")
    return candidates


def made_id(title: str) -> str:
    """The id a candidate listed without one gets from its title (see the module's docstring)."""
    if title.isascii() and (made := slug(title)):
        return made
    digest = hashlib.sha256(unicodedata.normalize("NFC", title).encode()).hexdigest()
    return f"c-{digest[:8]}"


def _unique_id(base: str, taken: set[str]) -> str:
    """`base`, or if that is taken `base-2`, `base-3`, … (cut to stay within the id's length)."""
    made, n = base, 1
    while made in taken:
        n += 1
        suffix = f"-{n}"
        made = base[: MAX_ID - len(suffix)].rstrip("-_") + suffix
    return made


def _whole_number(cell: str) -> int | None:
    """`cell` as a whole number of 0 or more written with the digits 0-9, else None."""
    return int(cell) if WHOLE_NUMBER.fullmatch(cell) else None


def _not_a_number(column: str, cell: str, wanted: str) -> str:
    """The reason a cell is refused as a number, with a hint when it holds other digits."""
    shown = cell if len(cell) <= 20 else cell[:20] + "…"
    other_digits = any(ch.isnumeric() and not ch.isascii() for ch in cell)
    hint = "; write it with the digits 0-9" if other_digits else ""
    return f"{column} {shown!r} is not {wanted}{hint}"


def parse_committee_scores(
    text: str, *, source: str, candidates: set[str], members: set[str], questions: int
) -> dict[str, dict[str, dict[int, int]]]:
    """Committee scores as `member,candidate,q1,…,qN` rows; an empty cell is a missing score.

    Ranges are checked by the scorer; here each row is checked for shape, names and numbers.
    """
    rows = _rows(text, source)
    first = next(rows, None)
    if first is None:
        raise CandidateError(source, None, "the file is empty")
    header = [_header_key(name) for name in first[1]]
    expected = ["member", "candidate", *(f"q{n}" for n in range(1, questions + 1))]
    if header != expected:
        raise CandidateError(source, 1, f"the header must be {','.join(expected)}")
    scores: dict[str, dict[str, dict[int, int]]] = {}
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(expected):
            raise CandidateError(
                source, line, f"{len(row)} columns where the header has {len(expected)}"
            )
        member, candidate = row[0].strip(), row[1].strip()
        if member not in members:
            raise CandidateError(source, line, f"{member!r} is not on the committee")
        if candidate not in candidates:
            raise CandidateError(source, line, f"{candidate!r} is not a candidate")
        given = scores.setdefault(member, {}).setdefault(candidate, {})
        if given:
            raise CandidateError(source, line, f"{member} scored {candidate} twice")
        for question, cell in enumerate(row[2:]):
            cell = cell.strip()
            if not cell:
                continue  # missing: left out of the mean, and shown as missing
            score = _whole_number(cell)
            if score is None:
                raise CandidateError(
                    source, line, _not_a_number(f"q{question + 1}", cell, "a whole number")
                )
            given[question] = score
    return scores


def _rows(text: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """Each row of `text` with the line it ends on; what is not CSV is refused at its line."""
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CandidateError(source, reader.line_num, f"not CSV: {exc}") from exc
        yield reader.line_num, row


def _header_key(name: str) -> str:
    """A header name as it is matched: no BOM, no spaces anywhere, in NFC, case folded."""
    return "".join(unicodedata.normalize("NFC", name).lstrip("\ufeff").split()).casefold()


def _columns(header: list[str], source: str) -> dict[str, int]:
    """Where each known column is in `header`; a column named twice is refused."""
    columns: dict[str, int] = {}
    for at, name in enumerate(header):
        column = HEADERS.get(_header_key(name))
        if column is None:
            continue
        if column in columns:
            first = header[columns[column]].strip()
            raise CandidateError(
                source, 1, f"the header has two {column} columns: {first!r} and {name.strip()!r}"
            )
        columns[column] = at
    for column in ("title", "agreements"):
        if column not in columns:
            raise CandidateError(
                source,
                1,
                "the header needs the columns title (or 제목) and agreements (or 공감 수,"
                f" 동의 수), and may have id; missing {column}",
            )
    return columns
