"""The comparison's own arithmetic and tables: per-vote CPU, deliveries per CPU-second, ratios."""

from __future__ import annotations

from typing import Any

from loadtest import report
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
