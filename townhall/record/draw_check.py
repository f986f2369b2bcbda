"""What `townhall verify` checks of a jury draw's report stated in the record (docs/draw.md):
the seed matches the commitment published before the draw, the panel has the seats, each of
them an applicant, every quota's count of the panel is within its bounds and its pool, and the
chances add up to the seats. Re-running the draw itself takes the public
input, which the record does not hold: `townhall draw` with the report's seed does that."""

from __future__ import annotations

import hashlib
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any

# Each chance is written rounded to 6 decimals: the sum may be off by half a millionth each.
ROUNDING = Decimal("0.0000005")


def draw_problems(report: Any) -> list[str]:
    """What is wrong with a stated draw report; nothing for a sound one."""
    if not isinstance(report, dict):
        return ["programme.draw: expected the draw's report, an object"]
    try:
        seed, published = str(report["seed"]), str(report["commitment"])
        seats, panel, quotas = (
            _count(report["seats"]),
            list(report["panel"]),
            list(report["quotas"]),
        )
        chances = {str(k): _chance(v) for k, v in dict(report["probabilities"]).items()}
        applicants = _count(report["public_input"]["applicants"])
        found: list[str] = []
        if hashlib.sha256(seed.encode("utf-8")).hexdigest() != published:
            found.append("programme.draw: the seed's SHA-256 is not the published commitment")
        if len(panel) != seats or len(set(panel)) != len(panel):
            twice = len(panel) - len(set(panel))
            found.append(
                f"programme.draw: the panel lists {len(panel)} ids"
                + (f" ({twice} more than once)" if twice else "")
                + f" for {seats} seats"
            )
        if len(chances) != applicants:
            found.append(
                f"programme.draw: {len(chances)} applicants have a chance, of {applicants}"
            )
        # Not a chance of 0: one under half a millionth is written as 0, and may still be drawn.
        outsiders = [str(p) for p in panel if str(p) not in chances]
        if outsiders:
            found.append(
                "programme.draw: on the panel but not an applicant: " + ", ".join(outsiders)
            )
        if abs(sum(chances.values(), Decimal(0)) - seats) > ROUNDING * max(len(chances), 1):
            found.append(
                f"programme.draw: the chances add up to {sum(chances.values(), Decimal(0))},"
                f" not the {seats} seats"
            )
        if not quotas:
            found.append("programme.draw: no quotas")
        per_category: Counter[str] = Counter()
        pools: Counter[str] = Counter()
        for quota in quotas:
            name = f"{quota['category']}={quota['value']}"
            low, high = _count(quota["min"]), _count(quota["max"])
            selected, pool = _count(quota["selected"]), _count(quota["pool"])
            per_category[str(quota["category"])] += selected
            pools[str(quota["category"])] += pool
            if not low <= selected <= high:
                found.append(
                    f"programme.draw: {name} has {selected} seats, outside its quota {low}-{high}"
                )
            if selected > pool:
                found.append(
                    f"programme.draw: {name} has {selected} seats, of {pool} applicants with it"
                )
        for category, taken in sorted(per_category.items()):
            if taken != len(panel):
                found.append(
                    f"programme.draw: the {category} quotas count {taken} of the panel's"
                    f" {len(panel)}"
                )
            if pools[category] != applicants:
                found.append(
                    f"programme.draw: the {category} quotas' pools count {pools[category]} of"
                    f" the {applicants} applicants"
                )
        return found
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        return [f"programme.draw: not a draw report ({exc!r})"]


def _count(value: Any) -> int:
    """A whole number as the report writes it: a JSON integer, not text or true/false."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a whole number, found {value!r}")
    return value


def _chance(value: Any) -> Decimal:
    """A chance as the record states it: decimal text from 0 to 1."""
    chance = Decimal(str(value))
    if not 0 <= chance <= 1:
        raise ValueError(f"a chance of {value!r}")
    return chance
