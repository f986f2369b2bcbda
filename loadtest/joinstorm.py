"""The join storm: thousands of phones scanning the QR code on the screen at once ("scan now").

Starts Townhall (embedded engine, one live poll, its per-address join limits as configured)
pinned to core 0 and runs loadtest/peers/storm.js pinned to core 1: N phones started evenly over
a few seconds, each fetching the join page for its cookie, then connecting over an Engine.IO
WebSocket and waiting for its first snapshot. Prints a summary, writes the figures as JSON and,
with --out, the section "A join storm" of BENCHMARKS.md (the rest of the file is kept).

    .venv/bin/python -m loadtest.joinstorm                         # 10,000 phones within 10 s
    .venv/bin/python -m loadtest.joinstorm --phones 2000 --addresses 1 --json /tmp/storm.json
    .venv/bin/python -m loadtest.joinstorm --json /tmp/storm.json --out BENCHMARKS.md

Needs `npm ci --prefix loadtest/peers`, node and taskset. Every child is stopped at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loadtest import compare, report

HEADING = "## A join storm"
SUMMARY = [
    ("phones", "phones"),
    ("spread_s", "started evenly over, s"),
    ("addresses", "client addresses they come from"),
    ("snapshots", "phones with their first snapshot"),
    ("all_connected", "all connected"),
    ("retried_then_in", "phones in after being refused or failing (retried, as a phone does)"),
    ("never_in", "phones refused for good (never in)"),
    ("last_snapshot_s", "last snapshot after the first page request, s"),
    ("page_to_snapshot_p50_ms", "page request → first snapshot p50, ms"),
    ("page_to_snapshot_p99_ms", "page request → first snapshot p99, ms"),
    ("page_to_snapshot_max_ms", "page request → first snapshot max, ms"),
    ("page_p99_ms", "join page (with any retries) p99, ms"),
    ("page_to_connect_p99_ms", "page → Socket.IO connected p99, ms"),
    ("refusals", "refusals and failures, by reason (each try counted)"),
    ("phones_retried", "phones that tried again (page or socket)"),
    ("page_retries", "join pages fetched again (429/503 after Retry-After, failures after 2 s)"),
    ("ws_retries", "sockets opened again (the socket.io client's back-off)"),
    ("dropped_after_snapshot", "connections lost after their snapshot, during the storm"),
    ("failed", "phones without a snapshot, by reason"),
    ("server_cpu_s", "server CPU s over the storm"),
    ("server_cpu_pct", "server CPU % of the storm (of its one core)"),
    ("cpu_per_join_ms", "server CPU per phone in, ms"),
    ("joins_per_core_s", "phones one core takes in a second at that cost"),
    ("listen_overflows", "listen-queue overflows (kernel, machine-wide)"),
    ("listen_queue", "the server's listen queue (its backlog as the kernel took it)"),
    ("somaxconn", "net.core.somaxconn (the kernel's cap on it)"),
    ("server_rss_after_mb", "server RSS after, MiB"),
    ("gen_cpu_pct", "generator CPU % (its own core)"),
    ("gen_loop_delay_p99_ms", "generator event-loop delay p99, ms"),
    ("busy_before_pct", "machine busy before the run, % of both cores"),
]
SOMAXCONN = Path("/proc/sys/net/core/somaxconn")


def storm(
    phones: int, spread: float, addresses: int, timeout: float, tree: Path = compare.ROOT
) -> dict[str, Any]:
    """Start Townhall, run the storm once against it, stop it; the figures."""
    children = compare.Children()
    busy_before = compare.wait_for_quiet()
    with compare.workspace() as work:
        try:
            target = compare.start_target(
                "townhall", work, children, tree=tree, address_limits=True
            )
            command = [
                "node",
                str(compare.PEERS / "storm.js"),
                *("--url", target.url, "--code", target.code, "--phones", str(phones)),
                *("--spread", str(spread), "--addresses", str(addresses)),
                *("--timeout", str(timeout), "--server-pids", ",".join(map(str, target.pids))),
                *("--clk-tck", str(os.sysconf("SC_CLK_TCK"))),
            ]
            result_queue = listen_queue(int(target.url.rsplit(":", 1)[1]))
            overflows_before = listen_overflows()
            done = subprocess.run(
                compare.pinned(command, compare.GENERATOR_CORE),
                capture_output=True,
                text=True,
                timeout=spread + timeout + 60,
                check=False,
            )
            lines = [x for x in done.stdout.splitlines() if x.startswith("RESULT ")]
            if not lines:
                raise RuntimeError(f"the storm printed no result: {done.stdout}{done.stderr}")
            result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
            result["listen_overflows"] = listen_overflows() - overflows_before
            result["listen_queue"] = result_queue
            result["busy_before_pct"] = busy_before
            result["server_survived"] = all(p.poll() is None for p in target.processes)
            return result
        except Exception as exc:  # a failed run is reported with its error
            return {"phones": phones, "error": str(exc)}
        finally:
            children.stop_all()


def listen_queue(port: int) -> int | None:
    """The listening socket's queue length on `port` (`ss` shows it as Send-Q)."""
    shown = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout.split()
    return int(shown[2]) if len(shown) > 2 and shown[2].isdigit() else None


def listen_overflows() -> int:
    """The kernel's count of connections dropped for a full listen queue, every socket's."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            return int(dict(zip(names.split(), values.split(), strict=True))["ListenOverflows"])
    return 0


def derive(result: dict[str, Any]) -> dict[str, Any]:
    """The result with what the issue asks for computed from it: phones never in, server CPU
    per phone in, and how many phones a second one core takes at that cost."""
    snapshots, cpu = result.get("snapshots"), result.get("server_cpu_s")
    per_join = round(cpu * 1000 / snapshots, 2) if snapshots and cpu else None
    return {
        **result,
        "never_in": result["phones"] - snapshots if snapshots is not None else None,
        "cpu_per_join_ms": per_join,
        "joins_per_core_s": round(1000 / per_join) if per_join else None,
    }


def summary(result: dict[str, Any]) -> str:
    """The figures as a two-column Markdown table."""
    rows = [f"| {label} | {_cell(result.get(key))} |" for key, label in SUMMARY]
    return "\n".join(["| figure | value |", "|---|---|", *rows])


def section(result: dict[str, Any]) -> str:
    """BENCHMARKS.md's section for this run."""
    m = result["machine"]
    lines = [
        HEADING,
        "",
        f"{result['phones']:,} phones scanning the QR code within {result['spread_s']:g} s"
        " (`loadtest/joinstorm.py`; what each phone does and when it retries: README, \u201cThe"
        " join storm\u201d). Townhall (embedded engine) pinned to core 0, the generator"
        " (`loadtest/peers/storm.js`) to core 1; the per-address join limits at their settings.",
        "",
        f"- date: {result['date']}",
        f"- command: `{result['command']}`",
        f"- machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}, Linux {m['kernel']}",
        f"- Python {m['python']}, Node {m['node']}",
        f"- Townhall at commit {result['townhall_commit']}",
        "",
        summary(result),
    ]
    if result.get("error"):
        lines += ["", f"error: `{result['error']}`"]
    return "\n".join(lines) + "\n\n"


def _cell(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else report.cell(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=10, help="seconds the phones start over")
    parser.add_argument(
        "--addresses", type=int, default=500, help="loopback source addresses the phones share"
    )
    parser.add_argument("--timeout", type=float, default=120, help="seconds after the last start")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--out", type=Path, help='write its section ("A join storm") in this file')
    parser.add_argument("--townhall-tree", type=Path, default=compare.ROOT)
    args = parser.parse_args(argv)
    if not (compare.PEERS / "node_modules" / "ws").is_dir():
        parser.error("run `npm ci --prefix loadtest/peers` first")
    if not 1 <= args.addresses <= 65_000:
        parser.error("--addresses must be 1 to 65000")
    if args.phones + 100 > compare.raise_fd_limit():
        parser.error(f"the open-files limit is too low for {args.phones} phones")
    result = derive(
        storm(args.phones, args.spread, args.addresses, args.timeout, args.townhall_tree)
    )
    somaxconn = SOMAXCONN.read_text().strip() if SOMAXCONN.exists() else "?"
    result["somaxconn"] = somaxconn
    result["machine"] = compare.machine()
    result["date"] = datetime.date.today().isoformat()
    result["command"] = shlex.join([".venv/bin/python", "-m", "loadtest.joinstorm", *sys.argv[1:]])
    result["townhall_commit"] = compare.townhall_commit(args.townhall_tree)
    print(summary(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    if args.out:
        old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        args.out.write_text(report.replace_section(old, HEADING, section(result)), encoding="utf-8")
    return 1 if result.get("error") or not result.get("all_connected") else 0


if __name__ == "__main__":
    sys.exit(main())
