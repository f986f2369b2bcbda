"""A draw from files to panel and report: `prepare` reads and checks the input and computes the
lottery once; each `Lottery.draw(seed)` picks a panel from it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from townhall.draw import commitment, lottery, report, worker
from townhall.draw.pool import Pool, Quotas, check_feasible, read_pool, read_quotas


@dataclass(frozen=True)
class DrawResult:
    panel: tuple[str, ...]  # the selected ids, sorted
    report: dict[str, Any]  # JSON-safe (docs/draw.md)
    panel_csv: str  # the selected ids with their category values


@dataclass(frozen=True)
class Lottery:
    """Everything of a draw but its seed."""

    pool: Pool
    quotas: Quotas
    seats: int
    distribution: lottery.Distribution

    def draw(self, seed: str) -> DrawResult:
        panel = lottery.pick(self.distribution, commitment.seed_number(seed))
        return DrawResult(
            panel,
            report.build(
                self.pool, self.quotas, self.seats, seed, self.distribution, panel, lottery.method()
            ),
            report.panel_csv(self.pool, self.quotas, panel),
        )


def prepare(
    applicants: Path,
    quotas: Path,
    seats: int,
    *,
    id_column: str = "id",
    personal: Sequence[str] | None = None,
) -> Lottery:
    """Read and check the applicants and quotas, then compute the lottery (the slow part)."""
    read = read_quotas(quotas)
    pool = read_pool(applicants, read, id_column, personal)
    check_feasible(pool, read, seats)
    return Lottery(pool, read, seats, worker.compute(pool, read, seats))


def run_draw(
    applicants: Path,
    quotas: Path,
    seats: int,
    seed: str,
    *,
    published: str | None = None,
    id_column: str = "id",
    personal: Sequence[str] | None = None,
) -> DrawResult:
    """The draw: the same files, seats and seed give the same panel on every run. A seed that is
    not the one behind the `published` commitment is refused before anything is read."""
    commitment.check(seed, published)
    return prepare(applicants, quotas, seats, id_column=id_column, personal=personal).draw(seed)
