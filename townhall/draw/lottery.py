"""The lottery, from the sortition-algorithms library (GPL-3.0, used under Townhall's
AGPL-3.0-or-later): the only module that imports it.

It uses the library's own steps for a maximin draw, split where the seed comes in. First the
distribution: every applicant's chance of a seat made as even as the quotas allow (maximin),
as a list of panels that each meet every quota, with the probability of each. Then, per seed,
the library's rounding picks one panel from it. The first is slow and takes no seed; the second
is quick, so one distribution serves any number of seeds.

The distribution depends on the order the library meets applicants and panels in, and it keeps
those in sets of strings, whose order follows the interpreter's string-hash seed: it must be
computed where that seed is fixed (`worker.py`), and this module refuses to compute it anywhere
else. Its own randomness (the solver's, and its starting weights) is seeded with
DISTRIBUTION_SEED, so the distribution is a function of the public input alone.

Besides the package's exports this uses `committee_generation`'s (find_distribution_maximin,
standardize_distribution), `core.lottery_rounding`, `utils.set_random_provider`,
`features.FeatureValueMinMax` and `set_default_max_flex`, and `people.People`;
tests/test_library_drift.py names them, and pyproject.toml pins the library below 0.13.
"""

from __future__ import annotations

import hashlib
import random
import sys
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import version
from typing import Any

import rfc8785
from sortition_algorithms import (
    InfeasibleQuotasCantRelaxError,
    InfeasibleQuotasError,
    SortitionBaseError,
)
from sortition_algorithms.committee_generation import (
    find_distribution_maximin,
    standardize_distribution,
)
from sortition_algorithms.core import lottery_rounding
from sortition_algorithms.features import FeatureValueMinMax, set_default_max_flex
from sortition_algorithms.people import People
from sortition_algorithms.utils import set_random_provider

from townhall.draw.pool import Applicant, DrawError, Quota

ALGORITHM = "maximin"
DISTRIBUTION_SEED = 1


@dataclass(frozen=True)
class Distribution:
    """Panels (each a sorted tuple of ids; the panels sorted) and each one's probability."""

    panels: tuple[tuple[str, ...], ...]
    probabilities: tuple[float, ...]

    @cached_property  # a report per seed reads it: one distribution, many draws
    def marginals(self) -> dict[str, float]:
        """Each applicant's chance of a seat: the probabilities of the panels they are on."""
        chance: dict[str, float] = {}
        for panel, probability in zip(self.panels, self.probabilities, strict=True):
            for applicant in panel:
                chance[applicant] = chance.get(applicant, 0.0) + probability
        return chance

    @cached_property
    def sha256(self) -> str:
        """SHA-256 of the panels with their probabilities in RFC 8785 form (docs/draw.md)."""
        entries: list[dict[str, list[str] | float]] = [
            {"panel": list(panel), "probability": probability}
            for panel, probability in zip(self.panels, self.probabilities, strict=True)
        ]
        return hashlib.sha256(rfc8785.dumps(entries)).hexdigest()


def method() -> dict[str, Any]:
    """How the draw was made, for its report: other versions may compute another distribution."""
    return {
        "algorithm": ALGORITHM,
        "distribution_seed": DISTRIBUTION_SEED,
        "versions": {
            "sortition-algorithms": version("sortition-algorithms"),
            "highspy": version("highspy"),
            "python": ".".join(map(str, sys.version_info[:3])),
        },
    }


def find_distribution(
    quotas: Sequence[Quota], applicants: Sequence[Applicant], seats: int, source: str
) -> Distribution:
    """The maximin distribution over panels of `seats` that meet every quota. Quotas no panel
    meets are refused naming the nearest quotas that one would (`source`: the quotas file)."""
    if sys.flags.hash_randomization:
        raise RuntimeError("the distribution is reproducible only with PYTHONHASHSEED=0")
    features: dict[str, MutableMapping[str, FeatureValueMinMax]] = {}
    for quota in quotas:
        bounds = FeatureValueMinMax(min=quota.min, max=quota.max)
        features.setdefault(quota.category, {})[quota.value] = bounds
    set_default_max_flex(features)  # lets the library suggest raising a maximum when stuck
    people = People(columns_to_keep=[])
    for applicant in applicants:
        people.add(applicant.id, dict(applicant.values), features, applicant.line)
    set_random_provider(DISTRIBUTION_SEED)
    try:
        panels, probabilities, _ = find_distribution_maximin(features, people, seats, [])
    except InfeasibleQuotasError as exc:
        raise DrawError(source, None, _infeasible(quotas, exc.features)) from exc
    except InfeasibleQuotasCantRelaxError as exc:
        raise DrawError(source, None, _infeasible(quotas, None)) from exc
    except SortitionBaseError as exc:
        raise DrawError(source, None, f"the lottery failed: {' '.join(str(exc).split())}") from exc
    panels, probabilities = standardize_distribution(panels, probabilities)
    ordered = sorted(zip((tuple(sorted(p)) for p in panels), probabilities, strict=True))
    return Distribution(tuple(p for p, _ in ordered), tuple(q for _, q in ordered))


def pick(distribution: Distribution, seed_number: int) -> tuple[str, ...]:
    """The panel `seed_number` draws from the distribution, by the library's rounding with its
    random numbers seeded so; the ids sorted."""
    # The library seeds the random module's shared generator: hand it back as it was.
    state = random.getstate()
    set_random_provider(seed_number)
    try:
        drawn = lottery_rounding(
            [frozenset(p) for p in distribution.panels], list(distribution.probabilities), 1
        )
    finally:
        set_random_provider()
        random.setstate(state)
    if len(drawn) != 1:
        raise DrawError("the lottery", None, f"rounding gave {len(drawn)} panels, not one")
    return tuple(sorted(drawn[0]))


def _infeasible(
    quotas: Sequence[Quota],
    relaxed: MutableMapping[str, MutableMapping[str, FeatureValueMinMax]] | None,
) -> str:
    """What is wrong, with the library's suggestion when it has one: the smallest change."""
    changes = []
    for quota in quotas:
        bounds = relaxed[quota.category][quota.value] if relaxed is not None else None
        if bounds is not None and bounds.min != quota.min:
            changes.append(f"{quota.name} min {quota.min} → {bounds.min}")
        if bounds is not None and bounds.max != quota.max:
            changes.append(f"{quota.name} max {quota.max} → {bounds.max}")
    return "no panel of these applicants meets every quota at once" + (
        f"; the nearest quotas one would: {', '.join(changes)}" if changes else ""
    )
