"""Candidates with their agreement counts, from a proposal board's CSV export.

    id,title,agreements
    night-library,주 1회 밤의 도서관,42

A header row is required (column order is free, names are case-insensitive); a bad row is refused
with its line number and the reason.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from townhall.model.scorer import Candidate

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
COLUMNS = ("id", "title", "agreements")
MAX_ROWS = 500


class CandidateError(ValueError):
    """A candidates file is malformed: where and why."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")
        self.source, self.line, self.reason = source, line, reason


def load_candidates(path: Path) -> list[Candidate]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not a column name
    except OSError as exc:
        raise CandidateError(str(path), None, f"cannot read the file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise CandidateError(str(path), None, "the file is not UTF-8 text") from exc
    return parse_candidates(text, source=str(path))


def parse_candidates(text: str, *, source: str) -> list[Candidate]:
    """Every candidate in `text`, or a CandidateError naming the first bad line."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CandidateError(
            source, None, "the file is empty; expected a header id,title,agreements"
        ) from None
    except csv.Error as exc:
        raise CandidateError(source, 1, f"not CSV: {exc}") from exc
    names = [name.strip().lower() for name in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise CandidateError(
            source, 1, f"the header needs the columns {', '.join(COLUMNS)}; missing {missing[0]}"
        )
    index = {c: names.index(c) for c in COLUMNS}
    candidates: list[Candidate] = []
    seen: set[str] = set()
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CandidateError(source, reader.line_num, f"not CSV: {exc}") from exc
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        if len(row) < len(names):
            raise CandidateError(
                source, line, f"{len(row)} columns where the header has {len(names)}"
            )
        cid = row[index["id"]].strip()
        title = row[index["title"]].strip()
        count = row[index["agreements"]].strip()
        if not ID_PATTERN.match(cid):
            raise CandidateError(
                source, line, f"id {cid!r} must be a-z, 0-9, _ or -, up to 40 long"
            )
        if cid in seen:
            raise CandidateError(source, line, f"id {cid!r} appears twice")
        if not title or len(title) > 200:
            raise CandidateError(source, line, "title must be 1 to 200 characters")
        if not count.isdigit():
            raise CandidateError(
                source, line, f"agreements {count!r} is not a whole number of 0 or more"
            )
        seen.add(cid)
        candidates.append(Candidate(cid, title, int(count)))
        if len(candidates) > MAX_ROWS:
            raise CandidateError(source, line, f"at most {MAX_ROWS} candidates")
    if not candidates:
        raise CandidateError(source, None, "no candidates after the header")
    return candidates


def parse_committee_scores(
    text: str, *, source: str, candidates: set[str], members: set[str], questions: int
) -> dict[str, dict[str, dict[int, int]]]:
    """Committee scores as `member,candidate,q1,…,qN` rows; an empty cell is a missing score.

    Ranges are checked by the scorer; here each row is checked for shape and names.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        raise CandidateError(source, None, "the file is empty") from None
    expected = ["member", "candidate", *(f"q{n}" for n in range(1, questions + 1))]
    if header != expected:
        raise CandidateError(source, 1, f"the header must be {','.join(expected)}")
    scores: dict[str, dict[str, dict[int, int]]] = {}
    for row in reader:
        line = reader.line_num
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
            if not cell.isdigit():
                raise CandidateError(
                    source, line, f"q{question + 1} {cell!r} is not a whole number"
                )
            given[question] = int(cell)
    return scores
