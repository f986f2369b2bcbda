"""The comparison's own arithmetic and tables: per-vote CPU, deliveries per CPU-second, ratios."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from loadtest import joinstorm, report, split
from loadtest.compare import known_target, redis_workers
from loadtest.report import heading

META: dict[str, Any] = {
    "date": "2026-11-30",
    "command": "compare",
    "machine": {k: "x" for k in ("nproc", "cpu", "memory", "kernel", "python", "node")},
    "townhall_commit": "abc",
    "rate": 500.0,
    "seconds": 5.0,
}


def run(target: str, cpu: float, p99: float, kb: float, **more: Any) -> dict[str, Any]:
    return {
        "target": target,
        "phones": 1000,
        "server_cpu_s": cpu,
        "latency_p99_ms": p99,
        "rss_per_conn_kb": kb,
        "acked_in_period": 2500,
        "deliveries": 10_000,
        **more,
    }


def test_cpu_per_1000_votes_and_deliveries_per_cpu_second() -> None:
    assert report.cpu_per_1000_votes(2.5, 2500) == 1.0
    assert report.cpu_per_1000_votes(1.0, 0) is None
    assert report.cpu_per_1000_votes(None, 10) is None
    assert report.deliveries_per_cpu_s(10_000, 2.5) == 4000
    assert report.deliveries_per_cpu_s(10_000, 0.0) is None
    assert report.deliveries_per_cpu_s(None, 1.0) is None
    derived = report.derive(run("townhall", 2.0, 100, 5))
    assert derived["cpu_per_1000_votes_s"] == 0.8
    assert derived["deliveries_per_cpu_s"] == 5000


def test_ratio_and_cells() -> None:
    assert report.ratio(1, 2) == "0.50×"
    assert report.ratio(1, 0) == "–"
    assert report.ratio(None, 2) == "–"
    assert report.cell(None) == "–"
    assert report.cell(12345) == "12,345"
    assert report.cell(1.234) == "1.23"
    assert report.cell({"rate_limited": 2}) == "rate_limited 2"


def test_the_tables_put_townhall_over_the_paced_peer() -> None:
    runs = [
        run("townhall", 2.0, 100, 5),
        run("peer", 4.0, 200, 10),
        run("peer-10hz", 8.0, 150, 10),
        run("limit", 1.0, 50, 4),
    ]
    text = report.render(runs, META)
    headline = text.split("## Townhall over the paced peer")[1].split("## 1,000 phones")[0]
    # CPU, CPU per 1,000 votes, p99 and memory per connection over the paced peer; CPU over 10 Hz.
    assert "| 1,000 | 0.50× | 0.50× | 0.50× | 0.50× | 0.25× |" in headline
    table = text.split("## 1,000 phones")[1]
    header = table.splitlines()[2]
    assert header.startswith("|  | Townhall | socket.io peer (paced) | peer-10hz | limit |")
    assert "Townhall/socket.io peer (paced)" in header and "Townhall/peer-10hz" in header
    cpu_row = next(line for line in table.splitlines() if "per 1,000 votes" in line)
    assert cpu_row.split(" | ")[1:5] == ["0.80", "1.60", "3.20", "0.40"]
    assert cpu_row.split(" | ")[5:8] == ["0.50×", "0.25×", "2.00× |"]


def test_long_polling_phones_are_shown_beside_websocket_ones() -> None:
    split = {
        "websocket": {"phones": 1000, "ack_p99_ms": 10.0, "own_tally_p99_ms": 500.0},
        "polling": {"phones": 1000, "ack_p99_ms": 30.0, "own_tally_p99_ms": 750.0},
    }
    text = report.render([run("townhall", 2.0, 100, 5, by_transport=split)], META)
    section = text.split("### Townhall: phones by transport")[1]
    assert section.splitlines()[2] == "|  | websocket | polling |"
    assert "| polling/websocket, vote → ack p99, ms | – | 3.00× |" in section
    assert "| polling/websocket, vote → the phone's own tally p99, ms | – | 1.50× |" in section


def test_a_new_comparison_keeps_the_other_tools_sections() -> None:
    others = "## Many forums on one server\n\nforums\n\n# A phone on a bad network\n\ncold\n"
    old = "# Load benchmarks\n\nold\n\n## 1,000 phones\n\nold table\n\n" + others
    new = report.replace_comparison(
        old, "# Load benchmarks\n\nnew\n\n## 5,000 phones\n\nnew table\n"
    )
    assert new == ("# Load benchmarks\n\nnew\n\n## 5,000 phones\n\nnew table\n\n" + others)
    assert report.replace_comparison("", "# Load benchmarks\n") == "# Load benchmarks\n"


def test_a_redis_row_per_number_of_workers_is_named_by_it() -> None:
    assert [redis_workers(t) for t in ("townhall-redis", "townhall-redis-4", "townhall")] == [
        2,
        4,
        None,
    ]
    assert not known_target("townhall-redis-0") and known_target("townhall-redis-1")
    assert heading("townhall-redis-1") == "townhall redis 1 worker"
    assert heading("townhall-redis-4") == "townhall redis 4 workers"
    assert heading("townhall-redis") == "townhall redis 2 workers"


def generator_result(phones: int, acks: list[float], expected: dict[str, int], **more: Any) -> Any:
    """One gen.js RESULT as run with --samples, one forum."""
    return {
        "phones": phones,
        "connected": phones,
        "seconds": 5,
        "rate": 2500.0,
        "acked": len(acks),
        "acked_in_period": len(acks),
        "vote_s": 5.0,
        "refused": {"rate_limited": 1},
        "ack_ms_all": sorted(acks),
        "latency_ms_all": sorted(a + 100 for a in acks),
        "expected_counts": expected,
        "server_cpu_s": 4.0,
        "gen_cpu_s": 1.0,
        "gen_cpu_pct": 20.0,
        "other_cpu_s": 2.0,
        "gen_loop_delay_p99_ms": 10.0,
        "rss_before_mb": 60.0,
        "rss_after_mb": 65.0,
        **more,
    }


def test_split_generators_share_the_phones_evenly() -> None:
    assert split.shares(1000, 3) == [(0, 334), (334, 333), (667, 333)]
    assert split.shares(2, 2) == [(0, 1), (1, 1)]


def test_merged_generators_count_as_one_and_judge_the_tally_against_every_phone() -> None:
    one = generator_result(
        500,
        [1.0] * 98 + [40.0, 50.0],
        {"a": 300, "b": 200},
        final_version=900,
        final_counts={"a": 600, "b": 399},
        max_acked_version=880,
        rss_after_mb=70.0,
    )
    two = generator_result(
        500,
        [2.0] * 100,
        {"a": 300, "b": 200},
        final_version=1000,
        final_counts={"a": 600, "b": 401, "c": 1},
        max_acked_version=1000,
        gen_loop_delay_p99_ms=30.0,
        error="x",
    )
    merged = split.merge([one, two])
    assert merged["phones"] == 1000 and merged["acked"] == 200 and merged["rate"] == 5000
    assert merged["acked_per_s"] == 40
    assert merged["refused"] == {"rate_limited": 2}
    # Percentiles over every vote: the first's two slow acks are its own p99, not the whole's.
    assert merged["ack_p50_ms"] == 2.0 and merged["ack_p99_ms"] == 40.0
    assert merged["latency_p99_ms"] == 140.0 and merged["latency_max_ms"] == 150.0
    # The newest final tally (version 1000) against both generators' phones: a 600 b 400.
    assert merged["final_counts"] == {"a": 600, "b": 401, "c": 1}
    assert (merged["lost"], merged["double"], merged["forums_behind"]) == (0, 2, 0)
    assert merged["gen_cpu_pct"] == 40 and merged["gen_loop_delay_p99_ms"] == 30
    assert merged["server_cpu_s"] == 4.0
    # The machine was busy 7 s in each generator's view; server 4 and generators 2 leave 1.
    assert merged["other_cpu_s"] == 1.0
    assert merged["rss_per_conn_kb"] == round(10 * 1024 / 1000, 2)
    assert merged["error"] == "generator 1: x"
    assert [g["phones"] for g in merged["per_generator"]] == [500, 500]
    table = report.render([{**merged, "target": "townhall"}], {**META, "generators": 2})
    assert "split over 2 generator processes" in table
    assert "| double-counted votes | 2 |" in table


def test_split_generators_vote_together_and_read_the_same_final_tally(tmp_path: Path) -> None:
    # A stand-in for gen.js --barrier: it says READY, waits for GO, says DRAINED with its own
    # highest version, and reports the CATCHUP version it was given (as its `acked`, summed).
    fake = tmp_path / "gen.py"
    fake.write_text(
        "import json, sys\n"
        "version = int(sys.argv[1])\n"
        "print('READY', flush=True)\n"
        "assert sys.stdin.readline().strip() == 'GO'\n"
        "print(f'DRAINED {version}', flush=True)\n"
        "caught = int(sys.stdin.readline().split()[1])\n"
        "print('RESULT ' + json.dumps({'phones': 1, 'vote_s': 1.0, 'acked_in_period': 1,"
        " 'final_version': caught, 'final_counts': {'a': 2}, 'expected_counts': {'a': 1},"
        " 'max_acked_version': version, 'acked': caught}), flush=True)\n",
        encoding="utf-8",
    )
    merged = split.run([[sys.executable, str(fake), v] for v in ("7", "12")], budget=30)
    assert merged["final_version"] == 12 and merged["max_acked_version"] == 12
    assert merged["forums_behind"] == 0 and (merged["lost"], merged["double"]) == (0, 0)
    assert merged["acked"] == 24, "each was told the highest version of both"
    assert merged["phones"] == 2


def test_a_generator_that_fails_before_voting_fails_the_run(tmp_path: Path) -> None:
    fake = tmp_path / "gen.py"
    fake.write_text('print(\'RESULT {"error": "only 3 of 5 phones connected"}\')\n')
    ready = tmp_path / "ready.py"
    ready.write_text("import sys\nprint('READY', flush=True)\nsys.stdin.readline()\n")
    with pytest.raises(RuntimeError, match="only 3 of 5 phones connected"):
        split.run([[sys.executable, str(ready)], [sys.executable, str(fake)]], budget=30)


def test_the_join_storm_reports_cpu_per_join_and_replaces_only_its_own_section() -> None:
    result = joinstorm.derive(
        {"phones": 2000, "spread_s": 2, "addresses": 500, "snapshots": 1990, "server_cpu_s": 2.985}
    )
    assert result["never_in"] == 10
    assert result["cpu_per_join_ms"] == 1.5 and result["joins_per_core_s"] == 667
    assert joinstorm.derive({"phones": 5, "error": "x"})["cpu_per_join_ms"] is None
    result |= {
        "date": "2026-11-30",
        "command": "joinstorm",
        "townhall_commit": "abc",
        "machine": META["machine"],
        "all_connected": False,
        "failed": {"http_429": 10},
    }
    old = "# Load benchmarks\n\n## A join storm (preliminary)\n\nold\n\n## Many forums\n\nkept\n"
    text = report.replace_section(old, joinstorm.HEADING, joinstorm.section(result))
    assert "old" not in text and text.endswith("## Many forums\n\nkept\n")
    assert "| phones refused for good (never in) | 10 |" in text
    assert "| server CPU per phone in, ms | 1.50 |" in text
    assert "| all connected | false |" in text
    assert "| phones without a snapshot, by reason | http_429 10 |" in text
