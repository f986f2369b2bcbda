"""What `townhall verify` checks of a jury draw's report stated in the record (docs/draw.md):
the seed matches the commitment published before the draw, the panel has the seats, and every
quota's count of the panel is within its bounds. Re-running the draw itself takes the public
input, which the record does not hold: `townhall draw` with the report's seed does that."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any


def draw_problems(report: Any) -> list[str]:
    """What is wrong with a stated draw report; nothing for a sound one."""
    if not isinstance(report, dict):
        return ["programme.draw: expected the draw's report, an object"]
    try:
        seed, published = str(report["seed"]), str(report["commitment"])
        seats, panel, quotas = int(report["seats"]), list(report["panel"]), list(report["quotas"])
        found: list[str] = []
        if hashlib.sha256(seed.encode("utf-8")).hexdigest() != published:
            found.append("programme.draw: the seed's SHA-256 is not the published commitment")
        if len(panel) != seats or len(set(panel)) != len(panel):
            found.append(
                f"programme.draw: the panel has {len(set(panel))} people for {seats} seats"
            )
        per_category: Counter[str] = Counter()
        for quota in quotas:
            name = f"{quota['category']}={quota['value']}"
            selected, low, high = int(quota["selected"]), int(quota["min"]), int(quota["max"])
            per_category[str(quota["category"])] += selected
            if not low <= selected <= high:
                found.append(
                    f"programme.draw: {name} has {selected} seats, outside its quota {low}-{high}"
                )
        for category, taken in sorted(per_category.items()):
            if taken != len(panel):
                found.append(
                    f"programme.draw: the {category} quotas count {taken} of the panel's"
                    f" {len(panel)}"
                )
        return found
    except (KeyError, TypeError, ValueError) as exc:
        return [f"programme.draw: not a draw report ({exc!r})"]
