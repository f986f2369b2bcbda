"""The many-forums harness measures what it says: idle servers with 0 and 3 forums, and 3 forums
of 3 phones voting against 1 forum of 9, each forum's tally conserved; no timing is asserted.
Needs `npm ci --prefix loadtest/peers` (./dev test does it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loadtest import compare, forums


def test_idle_forums_are_measured() -> None:
    rows = forums.per_forum([forums.idle(n, False, 0.2, 1, pin=False) for n in (0, 3)])

    assert all("error" not in row for row in rows), rows
    assert [row["loaded"] for row in rows] == [0, 3]
    assert all(row["rss_settled_mb"] > 0 for row in rows)
    assert "kib_per_forum" in rows[1] and "idle_cpu_us_per_s_per_forum" in rows[1]


def test_many_forums_and_one_conserve_every_vote(tmp_path: Path) -> None:
    assert (compare.PEERS / "node_modules" / "ws").is_dir(), "npm ci --prefix loadtest/peers"
    runs = [forums.load(n, 9, 1, 2, pin=False) for n in (3, 1)]

    for run in runs:
        assert "error" not in run, run
        assert run["forums"] in (3, 1) and run["connected"] == 9
        assert run["sent"] > 0 and run["acked"] == run["sent"] and run["unacked"] == 0, run
        assert run["lost"] == 0 and run["double"] == 0
        assert run["forums_unequal"] == 0 and run["forums_behind"] == 0
        assert run["final_counts"] == run["expected_counts"]
        assert run["final_voters"] == run["expected_voters"] == 9
        assert run["latency_unseen"] == 0 and run["latency_p99_ms"] > 0
        assert run["server_survived"] and run["cpu_s_per_1000_votes"] is not None
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Load benchmarks\n\n## 1,000 phones\n\nkept\n", encoding="utf-8")
    meta: dict[str, Any] = {
        "date": "today",
        "command": "c",
        "machine": compare.machine(),
        "townhall_commit": "x",
    }
    meta |= {"settle": 0.2, "window": 1, "vote_every": 1, "seconds": 2}
    forums.write_section(out, forums.render(meta, [], runs))
    forums.write_section(out, forums.render(meta, [], runs))  # replaced, not added twice
    text = out.read_text(encoding="utf-8")
    assert text.count(forums.HEADING) == 1 and "kept" in text and "3 × 3 phones" in text
