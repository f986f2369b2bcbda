"""The seed: its commitment, published before the draw, and the number the lottery is seeded with.

The commitment is the SHA-256 of the seed's UTF-8 bytes (`printf %s "$SEED" | sha256sum`). The
lottery's number is the SHA-256 of the same bytes under a prefix, read as an integer: were it the
commitment's own, whoever read the published commitment could run the draw before the organiser.
"""

from __future__ import annotations

import hashlib

from townhall.draw.pool import DrawError

NUMBER_PREFIX = b"townhall draw seed\n"
# Shorter than this, a seed can be guessed from its commitment by trying them all.
SHORT_SEED = 16


def commitment(seed: str) -> str:
    """What the organiser publishes before the draw: the seed's SHA-256, in hex."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def seed_number(seed: str) -> int:
    """The integer the lottery is seeded with; never zero in practice (a 256-bit hash), which the
    library would take for "no seed"."""
    return int.from_bytes(hashlib.sha256(NUMBER_PREFIX + seed.encode("utf-8")).digest(), "big")


def check(seed: str, published: str | None) -> None:
    """Refuse an empty seed, and one that is not the seed behind the published commitment."""
    if not seed:
        raise DrawError("--seed", None, "empty")
    if published is not None and published.strip().lower() != commitment(seed):
        raise DrawError(
            "--seed",
            None,
            f"does not match the published commitment {published.strip()}"
            f" (its commitment is {commitment(seed)})",
        )


def is_short(seed: str) -> bool:
    return len(seed) < SHORT_SEED
