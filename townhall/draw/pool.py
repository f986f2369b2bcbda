"""The draw's input: the applicants and the quotas, read from CSV and checked before any lottery.

    applicants.csv                      quotas.csv
    id,이름,연령대,성별,지역            category,value,min,max
    A001,김민지,20대,여성,북구           성별,여성,24,26

Every quota's category is a column of the applicants; every applicant's value in it has a quota.
Personal columns (names, phones, emails, addresses) are read past: nothing of them is kept.
A bad file is refused with its name, line and field; quotas no panel can meet are refused with
the category and value, before the lottery is computed.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import rfc8785

# Read past unless --personal names others: these never reach the report or the public input.
PERSONAL = ("name", "이름", "phone", "전화", "전화번호", "email", "이메일", "address", "주소")
# The quota file's columns, by their English or Korean names.
QUOTA_COLUMNS = {
    "category": ("category", "범주"),
    "value": ("value", "값"),
    "min": ("min", "최소"),
    "max": ("max", "최대"),
}


class DrawError(ValueError):
    """The draw is refused: the file (or option), the line if there is one, and why."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {reason}")
        self.source, self.line, self.reason = source, line, reason


@dataclass(frozen=True)
class Quota:
    """How many of the seats go to applicants with `value` in `category`: min to max."""

    category: str
    value: str
    min: int
    max: int
    line: int

    @property
    def name(self) -> str:
        return f"{self.category}={self.value}"


@dataclass(frozen=True)
class Quotas:
    source: str
    quotas: tuple[Quota, ...]  # by category, then value

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(q.category for q in self.quotas))

    def of(self, category: str) -> tuple[Quota, ...]:
        return tuple(q for q in self.quotas if q.category == category)


@dataclass(frozen=True)
class Applicant:
    id: str
    values: dict[str, str]  # category -> this applicant's value
    line: int


@dataclass(frozen=True)
class Pool:
    """The applicants by id, with their public columns: everything but the personal ones."""

    source: str
    id_column: str
    columns: tuple[str, ...]  # the public columns: the id, then the others by name
    applicants: tuple[Applicant, ...]  # by id
    public_rows: tuple[dict[str, str], ...]  # by id: every public column's value

    def count(self, quota: Quota) -> int:
        return sum(1 for a in self.applicants if a.values[quota.category] == quota.value)


def read_quotas(path: Path) -> Quotas:
    """The quotas in `path`, or a DrawError naming its first bad line."""
    source = str(path)
    top, header, rows = _csv_rows(path)
    index = {}
    for field, names in QUOTA_COLUMNS.items():
        found = [i for i, column in enumerate(header) if column.lower() in names]
        if not found:
            raise DrawError(
                source, top, f"no {'/'.join(names)} column (need category,value,min,max)"
            )
        index[field] = found[0]
    quotas: dict[tuple[str, str], Quota] = {}
    for line, cells in rows:
        if len(cells) != len(header):
            raise DrawError(source, line, f"{len(cells)} fields, the header has {len(header)}")
        category, value = cells[index["category"]], cells[index["value"]]
        if not category or not value:
            raise DrawError(source, line, "a quota needs a category and a value")
        low, high = (_count(source, line, field, cells[index[field]]) for field in ("min", "max"))
        quota = Quota(category, value, low, high, line)
        if low > high:
            raise DrawError(source, line, f"{quota.name}: min {low} is more than max {high}")
        # The library compares values without case: two that differ only so would be one.
        key = (category.casefold(), value.casefold())
        if key in quotas:
            raise DrawError(source, line, f"{quota.name} repeats line {quotas[key].line}")
        quotas[key] = quota
    if not quotas:
        raise DrawError(source, None, "no quotas")
    return Quotas(source, tuple(sorted(quotas.values(), key=lambda q: (q.category, q.value))))


def read_pool(
    path: Path, quotas: Quotas, id_column: str = "id", personal: Sequence[str] | None = None
) -> Pool:
    """The applicants in `path`, each with a value that has a quota in every category; the
    columns named in `personal` (by default any of PERSONAL) are left out."""
    source = str(path)
    top, header, rows = _csv_rows(path)
    if id_column not in header:
        raise DrawError(source, top, f"no {id_column!r} column (the columns: {', '.join(header)})")
    hidden = {c.casefold() for c in (PERSONAL if personal is None else personal)}
    if id_column.casefold() in hidden:
        raise DrawError(source, top, f"the id column {id_column!r} cannot be personal")
    others = sorted(c for c in header if c != id_column and c.casefold() not in hidden)
    public = (id_column, *others)
    for category in quotas.categories:
        if category not in header:
            line = quotas.of(category)[0].line
            raise DrawError(
                quotas.source, line, f"category {category!r} is not a column of {source}"
            )
        if category not in public:
            raise DrawError(source, top, f"column {category!r} cannot be a category and personal")
    allowed = {c: {q.value for q in quotas.of(c)} for c in quotas.categories}
    applicants: dict[str, Applicant] = {}
    rows_by_id: dict[str, dict[str, str]] = {}
    for line, cells in rows:
        if len(cells) != len(header):
            raise DrawError(source, line, f"{len(cells)} fields, the header has {len(header)}")
        row = dict(zip(header, cells, strict=True))
        applicant_id = row[id_column]
        if not applicant_id:
            raise DrawError(source, line, f"column {id_column}: empty")
        if applicant_id in applicants:
            earlier = applicants[applicant_id].line
            raise DrawError(source, line, f"id {applicant_id!r} repeats line {earlier}")
        for category, values in allowed.items():
            value = row[category]
            if not value:
                raise DrawError(source, line, f"column {category}: empty")
            if value not in values:
                raise DrawError(
                    source,
                    line,
                    f"column {category}: value {value!r} has no quota in {quotas.source}",
                )
        applicants[applicant_id] = Applicant(applicant_id, {c: row[c] for c in allowed}, line)
        rows_by_id[applicant_id] = {c: row[c] for c in public}
    if not applicants:
        raise DrawError(source, None, "no applicants")
    ids = sorted(applicants)
    return Pool(
        source,
        id_column,
        public,
        tuple(applicants[i] for i in ids),
        tuple(rows_by_id[i] for i in ids),
    )


def check_feasible(pool: Pool, quotas: Quotas, seats: int) -> None:
    """Refuse seats and quotas that no panel could meet, naming the category and value; what
    passes here the lottery's solver still checks across categories."""
    if seats < 1:
        raise DrawError("--seats", None, f"{seats}: at least one seat")
    if seats > len(pool.applicants):
        raise DrawError(
            pool.source, None, f"{seats} seats but only {len(pool.applicants)} applicants"
        )
    for category in quotas.categories:
        own = quotas.of(category)
        if (least := sum(q.min for q in own)) > seats:
            raise DrawError(
                quotas.source,
                None,
                f"{category} minimums add up to {least}, more than {seats} seats",
            )
        if (most := sum(q.max for q in own)) < seats:
            raise DrawError(
                quotas.source,
                None,
                f"{category} maximums add up to {most}, fewer than {seats} seats",
            )
        for quota in own:
            if (have := pool.count(quota)) < quota.min:
                raise DrawError(
                    quotas.source,
                    quota.line,
                    f"{quota.name} needs at least {quota.min} but only {have} applicants have it",
                )
        if (fillable := sum(min(q.max, pool.count(q)) for q in own)) < seats:
            raise DrawError(
                quotas.source,
                None,
                f"{category} can fill at most {fillable} of {seats} seats"
                " (its maximums, or its applicants where there are fewer)",
            )


def public_sha256(pool: Pool) -> str:
    """SHA-256 of the public input: every applicant's public columns as a JSON object, in a list
    by id, in RFC 8785 canonical form (docs/draw.md)."""
    return hashlib.sha256(rfc8785.dumps(list(pool.public_rows))).hexdigest()


def _csv_rows(path: Path) -> tuple[int, list[str], list[tuple[int, list[str]]]]:
    """The header's line, the header, and the rows that are not blank, each with its line; every
    cell stripped."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's BOM is not a column name
    except OSError as exc:
        raise DrawError(source, None, f"cannot read the file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise DrawError(source, None, f"not UTF-8 text (byte {exc.start})") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((reader.line_num, [cell.strip() for cell in cells]))
    except csv.Error as exc:
        raise DrawError(source, reader.line_num, f"not CSV: {exc}") from exc
    if not rows:
        raise DrawError(source, None, "the file is empty")
    (top, header), body = rows[0], rows[1:]
    seen = set()
    for column in header:
        if not column:
            raise DrawError(source, top, "a column without a name")
        if column.casefold() in seen:  # the library reads columns without case
            raise DrawError(source, top, f"column {column!r} twice")
        seen.add(column.casefold())
    return top, header, body


def _count(source: str, line: int, field: str, text: str) -> int:
    if not text.isdecimal() or not text.isascii():
        raise DrawError(source, line, f"column {field}: {text!r} is not a whole number")
    return int(text)
