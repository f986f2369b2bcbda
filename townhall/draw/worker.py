"""The distribution, computed in a fresh interpreter started with PYTHONHASHSEED=0.

The library meets applicants and panels in the order of sets of strings, which follows the
interpreter's string-hash seed, random per process unless fixed: computed in this process, the
same input would give a different distribution, so a different panel, in each run. Fixed, every
run on the same public input and versions computes the same one. The child also keeps the
solver's banner and the library's log off the caller's standard output.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from typing import Any

from townhall.draw.lottery import Distribution, find_distribution
from townhall.draw.pool import Applicant, DrawError, Pool, Quota, Quotas

CHILD = "from townhall.draw.worker import main; main()"


def compute(pool: Pool, quotas: Quotas, seats: int) -> Distribution:
    """The maximin distribution for this pool, quotas and seats, from a child interpreter."""
    request = {
        "quotas": [dataclasses.asdict(q) for q in quotas.quotas],
        "applicants": [dataclasses.asdict(a) for a in pool.applicants],
        "seats": seats,
        "source": quotas.source,
    }
    done = subprocess.run(  # noqa: S603 - this interpreter, running our own module
        [sys.executable, "-c", CHILD],
        input=json.dumps(request),
        capture_output=True,
        encoding="utf-8",
        env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8"},
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise DrawError("the lottery", None, f"its worker stopped with {done.returncode}: {last}")
    answer = json.loads(done.stdout)
    if "refused" in answer:
        raise DrawError(*answer["refused"])
    return Distribution(
        tuple(tuple(panel) for panel in answer["panels"]), tuple(answer["probabilities"])
    )


def main() -> None:
    """The child: the request on standard input, the distribution (or the refusal) out."""
    request = json.loads(sys.stdin.read())
    # The answer goes to the real standard output; whatever else prints goes to standard error.
    answer_to = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    answer: dict[str, Any]
    try:
        distribution = find_distribution(
            [Quota(**q) for q in request["quotas"]],
            [Applicant(**a) for a in request["applicants"]],
            request["seats"],
            request["source"],
        )
        answer = {"panels": distribution.panels, "probabilities": distribution.probabilities}
    except DrawError as exc:
        answer = {"refused": [exc.source, exc.line, exc.reason]}
    with answer_to:
        json.dump(answer, answer_to)
