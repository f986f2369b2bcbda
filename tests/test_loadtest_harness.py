"""The load harness measures what it says: a short real run against Townhall and the Node peer.

Thirty raw Engine.IO phones vote for two seconds, with changed votes and resends; the final
tally must equal the phones' last acked ballots, every phone must connect, and the latency and
resource figures must be there. Needs `npm ci --prefix loadtest/peers` (./dev test does it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtest import compare

PHONES, RATE, SECONDS = 30, 100, 2


@pytest.fixture
def children() -> Iterator[compare.Children]:
    started = compare.Children()
    try:
        yield started
    finally:
        started.stop_all()


@pytest.mark.parametrize("name", ["townhall", "peer"])
def test_a_short_run_conserves_every_vote(
    name: str, tmp_path: Path, children: compare.Children
) -> None:
    assert (compare.PEERS / "node_modules" / "ws").is_dir(), "npm ci --prefix loadtest/peers"
    target = compare.start_target(name, tmp_path, children, pin=False)
    result: dict[str, Any] = compare.run_generator(target, PHONES, RATE, SECONDS, pin=False)

    assert "error" not in result, result
    assert result["connected"] == PHONES
    assert result["connect_errors"] == {}
    assert result["disconnects"] == 0
    # Every vote sent was acked, none refused; resends were acked as duplicates, nothing else.
    assert result["sent"] > 0 and result["acked"] == result["sent"], result
    assert result["unacked"] == 0 and result["refused"] == {}
    assert result["resends"] > 0
    assert result["duplicate_acks"] == result["resends"]
    assert result["resend_not_duplicate"] == 0 and result["new_marked_duplicate"] == 0
    # Conservation: the final tally is the phones' last acked ballots, nothing lost or doubled.
    assert result["final_version"] >= result["max_acked_version"] > 0
    assert result["lost"] == 0 and result["double"] == 0
    assert result["final_counts"] == result["expected_counts"]
    assert result["final_voters"] == result["expected_voters"] == PHONES
    # Every new vote reached the projector, and the figures are real measurements.
    assert result["latency_unseen"] == 0
    assert result["latency_samples"] == result["sent"] - result["resends"]
    assert 0 < result["latency_p50_ms"] <= result["latency_p99_ms"]
    assert 0 < result["ack_p50_ms"] <= result["ack_p99_ms"]
    assert result["acked_per_s"] > 0 and result["connect_s"] > 0
    assert result["server_cpu_s"] > 0 and result["gen_cpu_s"] > 0
    assert 0 <= result["server_system_cpu_s"] <= result["server_cpu_s"]  # the kernel's part
    assert result["rss_after_mb"] > 0
    assert result["phone_pushes_per_s"] > 0  # a live poll's tallies reach the phones too
    assert all(p.poll() is None for p in target.processes), target.output()
