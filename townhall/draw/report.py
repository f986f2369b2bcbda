"""The draw's report (docs/draw.md): a plain, JSON-safe dict with everything an observer needs to
run the draw again and check it; its text summary; and the panel as a sheet."""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from townhall.draw.commitment import commitment
from townhall.draw.pool import Pool, Quotas, public_sha256
from townhall.export import to_csv

if TYPE_CHECKING:  # the report is read and shown without the lottery's library
    from townhall.draw.lottery import Distribution

FORMAT = "townhall-draw/1"
DIGITS = 6  # of each probability in the report


def build(
    pool: Pool,
    quotas: Quotas,
    seats: int,
    seed: str,
    distribution: Distribution,
    panel: tuple[str, ...],
    method: dict[str, Any],
) -> dict[str, Any]:
    """The report of one draw: its inputs' digests, the quotas with the pool and the panel
    counted against them, the panel, and each applicant's chance of a seat."""
    chance = distribution.marginals
    chosen = set(panel)
    return {
        "format": FORMAT,
        "seats": seats,
        "seed": seed,
        "commitment": commitment(seed),
        "method": method,
        "public_input": {
            "sha256": public_sha256(pool),
            "applicants": len(pool.applicants),
            "id_column": pool.id_column,
            "columns": list(pool.columns),
        },
        "quotas": [
            {
                "category": q.category,
                "value": q.value,
                "min": q.min,
                "max": q.max,
                "pool": pool.count(q),
                "selected": sum(
                    1 for a in pool.applicants if a.id in chosen and a.values[q.category] == q.value
                ),
            }
            for q in quotas.quotas
        ],
        "distribution": {
            "panels": len(distribution.panels),
            "sha256": distribution.sha256,
        },
        "panel": list(panel),
        "probabilities": {a.id: round(chance.get(a.id, 0.0), DIGITS) for a in pool.applicants},
    }


def render(report: dict[str, Any]) -> str:
    """The report as text to read out: the inputs' digests, the quotas table, the panel."""
    method, public = report["method"], report["public_input"]
    versions = ", ".join(f"{name} {v}" for name, v in method["versions"].items())
    chances = report["probabilities"].values()
    table = [("category", "value", "target", "pool", "selected")] + [
        (q["category"], q["value"], f"{q['min']}–{q['max']}", str(q["pool"]), str(q["selected"]))
        for q in report["quotas"]
    ]
    widths = [max(_width(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        [
            f"Drew {report['seats']} of {public['applicants']} applicants.",
            f"Seed: {report['seed']}",
            f"Seed commitment (SHA-256): {report['commitment']}",
            f"Public input (SHA-256): {public['sha256']}",
            f"Lottery: {method['algorithm']} over {report['distribution']['panels']} panels"
            f" ({versions}); its SHA-256: {report['distribution']['sha256']}",
            f"Chance of a seat: lowest {min(chances):.2%}, highest {max(chances):.2%}",
            "",
            *(
                "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip()
                for row in table
            ),
            "",
            f"Selected ({len(report['panel'])}): {' '.join(report['panel'])}",
        ]
    )


def panel_csv(pool: Pool, quotas: Quotas, panel: tuple[str, ...]) -> str:
    """The panel as a sheet: each selected id with their category values, nothing personal."""
    chosen = set(panel)
    columns = [pool.id_column, *quotas.categories]
    rows = [{pool.id_column: a.id, **a.values} for a in pool.applicants if a.id in chosen]
    return to_csv(rows, columns)


def _width(text: str) -> int:
    """Columns on a terminal: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
