"""The cost of many forums on one server: idle, and a library network's week voting at once.

Idle: `townhall serve` with 0, then N copies of rooms/small-library-open-forum.toml (forum-001…,
fixed codes), no connections: resident memory after start and after settling, and CPU per idle
second, whence the memory and CPU of one idle forum. With --redis also on a redis-server of its
own (one worker).

Load: F forums of P phones and a projector each, every forum's live poll opened by its host,
every phone voting at a steady pace (a vote every --vote-every seconds, changing its choice),
against one forum of F × P phones at the same pace: is it the forums or the phones that cost?
The generator is loadtest/peers/gen.js with one code per forum, pinned to core 1; the server is
pinned to core 0 (loadtest/compare.py starts both).

    .venv/bin/python -m loadtest.forums                       # idle 0,10,50,100,200; 100 × 30
    .venv/bin/python -m loadtest.forums --idle 0,3 --forums 3 --phones-per-forum 3 --seconds 2 \\
        --out /tmp/forums.md --json /tmp/forums.json

It writes the section "Many forums on one server" of BENCHMARKS.md (the rest of the file is
left as it is) and the raw figures as JSON. Every child is stopped at the end, also on an error.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from loadtest import compare, report

ROOM = compare.ROOT / "rooms" / "small-library-open-forum.toml"
POLL = "warm-up"  # the room's live poll
OPTIONS = ("operator", "volunteer", "citizen", "other")
HEADING = "## Many forums on one server"


def programmes(work: Path, count: int) -> list[Path]:
    """`count` copies of the small-library room in `work`: forum-001… with codes LIB001…"""
    text = ROOM.read_text(encoding="utf-8")
    shutil.copy(ROOM.with_name("small-library-proposals.csv"), work)
    paths = []
    for n in range(1, count + 1):
        path = work / f"forum-{n:03d}.toml"
        forum = f'id = "forum-{n:03d}"\ncode = "LIB{n:03d}"'
        path.write_text(text.replace('id = "small-library"', forum, 1), encoding="utf-8")
        paths.append(path)
    return paths


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of a process, KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return {k: int(v) for k, v in re.findall(r"(VmRSS|VmHWM):\s+(\d+) kB", status)}


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(count: int, redis: bool, settle: float, window: float, pin: bool = True) -> dict[str, Any]:
    """Start a server with `count` forums and no connections; its memory and idle CPU."""
    children = compare.Children()
    name = "townhall-redis" if redis else "townhall"
    with compare.workspace() as work:
        try:
            started = time.monotonic()
            rooms = programmes(work, count)
            target = compare.start_target(name, work, children, pin=pin, rooms=rooms, workers=1)
            start_s = time.monotonic() - started
            (pid,) = target.pids
            at_start = rss_kib(pid)["VmRSS"]
            time.sleep(settle)
            settled = rss_kib(pid)["VmRSS"]
            others = [p.pid for p in target.processes[1:]]  # redis-server
            cpu0, other0 = cpu_s(pid), sum(map(cpu_s, others))
            time.sleep(window)
            cpu, other = cpu_s(pid) - cpu0, sum(map(cpu_s, others)) - other0
            return {
                "forums": count,
                "engine": "redis" if redis else "embedded",
                "start_s": round(start_s, 2),
                "rss_start_mb": round(at_start / 1024, 1),
                "rss_settled_mb": round(settled / 1024, 1),
                "idle_cpu_ms_per_s": round(1000 * cpu / window, 2),
                "redis_cpu_ms_per_s": round(1000 * other / window, 2) if redis else None,
                "loaded": len(target.code.split(",")) if target.code else 0,
            }
        except Exception as exc:  # a failed run is a row with its error
            return {"forums": count, "engine": "redis" if redis else "embedded", "error": str(exc)}
        finally:
            children.stop_all()


def load(
    forums: int, phones: int, vote_every: float, seconds: float, pin: bool = True
) -> dict[str, Any]:
    """`forums` forums sharing `phones` phones, each phone voting every `vote_every` s."""
    children = compare.Children()
    busy_before = compare.wait_for_quiet() if pin else None
    rate = phones / vote_every
    with compare.workspace() as work:
        try:
            rooms = programmes(work, forums)
            target = compare.start_target("townhall", work, children, pin=pin, rooms=rooms)
            (pid,) = target.pids
            at_start = rss_kib(pid)["VmRSS"]
            options = ("--poll", POLL, "--options", ",".join(OPTIONS))
            result = compare.run_generator(target, phones, rate, seconds, pin=pin, extra=options)
            memory = rss_kib(pid)
            votes = (result.get("acked_per_s") or 0) * (result.get("vote_s") or 0)
            result.update(
                label=f"{forums} × {phones // forums}",
                forums=forums,
                busy_before_pct=busy_before,
                rss_start_mb=round(at_start / 1024, 1),
                rss_end_mb=round(memory["VmRSS"] / 1024, 1),
                rss_peak_mb=round(memory["VmHWM"] / 1024, 1),
                cpu_s_per_1000_votes=round(1000 * result["server_cpu_s"] / votes, 3)
                if votes and "server_cpu_s" in result
                else None,
                server_survived=all(p.poll() is None for p in target.processes),
            )
            return result
        except Exception as exc:
            return {"label": f"{forums} × {phones // forums}", "forums": forums, "error": str(exc)}
        finally:
            children.stop_all()


# ---- the report -----------------------------------------------------------------------------


def per_forum(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with what one forum adds over the row with 0 forums of the same engine."""
    for row in rows:
        base = next((r for r in rows if r["engine"] == row["engine"] and r["forums"] == 0), None)
        if base is None or row["forums"] == 0 or "error" in row or "error" in base:
            continue
        n = row["forums"]
        row["kib_per_forum_start"] = round(1024 * (row["rss_start_mb"] - base["rss_start_mb"]) / n)
        row["kib_per_forum"] = round(1024 * (row["rss_settled_mb"] - base["rss_settled_mb"]) / n)
        extra = row["idle_cpu_ms_per_s"] - base["idle_cpu_ms_per_s"]
        row["idle_cpu_us_per_s_per_forum"] = round(1000 * extra / n, 1)
    return rows


IDLE_ROWS = [
    ("start_s", "time to start, s"),
    ("loaded", "forums serving"),
    ("rss_start_mb", "RSS just after start, MiB"),
    ("rss_settled_mb", "RSS after settling, MiB"),
    ("kib_per_forum_start", "RSS per forum just after start, KiB"),
    ("kib_per_forum", "RSS per forum after settling, KiB"),
    ("idle_cpu_ms_per_s", "server CPU per idle second, ms"),
    ("idle_cpu_us_per_s_per_forum", "server CPU per idle second per forum, µs"),
    ("redis_cpu_ms_per_s", "redis-server CPU per idle second, ms"),
    ("busy_before_pct", "machine busy before the run (both cores), %"),
]
LOAD_ROWS = [
    ("connected", "phones connected"),
    ("rate", "votes offered per second"),
    ("acked_per_s", "votes acked per second"),
    ("ack_p50_ms", "vote → ack p50, ms"),
    ("ack_p99_ms", "vote → ack p99, ms"),
    ("latency_p50_ms", "vote → projector p50, ms"),
    ("latency_p99_ms", "vote → projector p99, ms"),
    ("server_cpu_s", "server CPU s over the vote period"),
    ("server_cpu_pct", "server CPU % of the vote period (one core)"),
    ("cpu_s_per_1000_votes", "server CPU s per 1,000 votes"),
    ("rss_start_mb", "server RSS after start, no connections, MiB"),
    ("rss_before_mb", "server RSS with the projectors (poll open), MiB"),
    ("rss_after_mb", "server RSS with every phone connected, MiB"),
    ("rss_end_mb", "server RSS after the vote period, MiB"),
    ("rss_per_conn_kb", "server RSS per phone connection, KiB"),
    ("projector_tallies", "tallies received by the projectors"),
    ("phone_pushes_per_s", "tally messages received by phones per second"),
    ("gen_cpu_pct", "generator CPU % (its own core)"),
    ("gen_loop_delay_p99_ms", "generator event-loop delay p99, ms"),
    ("other_cpu_s", "other CPU s on the machine over the vote period"),
    ("busy_before_pct", "machine busy before the run (both cores), %"),
    ("lost", "lost votes"),
    ("double", "double-counted votes"),
    ("forums_unequal", "forums whose final tally ≠ their phones' acked ballots"),
    ("forums_behind", "forums whose projector never showed the last acked vote"),
    ("unacked", "votes never acked"),
    ("refused", "refusals (each retried, as the phone page does)"),
    ("disconnects", "phones disconnected during the run"),
    ("skipped", "votes not sent (every phone busy)"),
]


def table(rows: list[dict[str, Any]], header: list[str], figures: list[tuple[str, str]]) -> str:
    lines = ["| " + " | ".join(["", *header]) + " |", "|" + "---|" * (len(header) + 1)]
    for key, label in figures:
        lines.append("| " + " | ".join([label, *(report.cell(r.get(key)) for r in rows)]) + " |")
    for name, row in zip(header, rows, strict=True):
        if "error" in row:
            lines.append(f"\n{name}: error: `{row['error']}`")
    return "\n".join(lines)


def render(
    meta: dict[str, Any], idle_rows: list[dict[str, Any]], runs: list[dict[str, Any]]
) -> str:
    m = meta["machine"]
    lines = [
        HEADING,
        "",
        "One `townhall serve` holding many copies of `rooms/small-library-open-forum.toml`",
        "(forum-001…, join codes LIB001…), measured by `loadtest/forums.py`.",
        "",
        f"- date: {meta['date']}",
        f"- command: `{meta['command']}`",
        f"- machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}, Linux {m['kernel']}",
        f"- Python {m['python']}, Node {m['node']}",
        f"- Townhall at commit {meta['townhall_commit']}",
        "",
        "### Idle forums",
        "",
        f"No connections. RSS read just after the server answers and again {meta['settle']:g} s"
        f" later; CPU over the following {meta['window']:g} s. Per forum: the difference from"
        " the server with no forum, divided by the number of forums. The embedded engine's"
        " server is pinned to core 0; with Redis, one worker and a redis-server of its own,"
        " not pinned.",
        "",
        table(
            idle_rows,
            [f"{r['forums']} ({r['engine']})" for r in idle_rows],
            IDLE_ROWS,
        ),
        "",
        "### A library network's week voting at once",
        "",
        f"Each phone votes every {meta['vote_every']:g} s (changing its choice; one vote in 20 is"
        f" a resend) for {meta['seconds']:g} s, on the room's live poll `{POLL}`, opened by each"
        " forum's host. The server (embedded engine) is pinned to core 0, the generator"
        " (`loadtest/peers/gen.js`) to core 1. Vote → projector: from sending a vote to the"
        " first tally its own forum's projector shows whose version includes it.",
        "",
        table(runs, [f"{r['label']} phones" for r in runs], LOAD_ROWS),
        "",
    ]
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Put `section` in place of the file's own "Many forums" section, or at its end."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(report.replace_section(text, HEADING, section), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--idle", default="0,10,50,100,200", help="forum counts, idle")
    parser.add_argument("--idle-settle", type=float, default=5, help="s before the 2nd reading")
    parser.add_argument("--idle-window", type=float, default=20, help="s of idle CPU measured")
    parser.add_argument("--redis", action="store_true", help="the idle runs on Redis too")
    parser.add_argument("--forums", type=int, default=100, help="forums voting at once")
    parser.add_argument("--phones-per-forum", type=int, default=30)
    parser.add_argument("--vote-every", type=float, default=2, help="s between a phone's votes")
    parser.add_argument("--seconds", type=float, default=30, help="length of the vote period")
    parser.add_argument("--out", type=Path, default=compare.ROOT / "BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="raw figures (default loadtest/results/…)")
    args = parser.parse_args(argv)
    if not (compare.PEERS / "node_modules" / "ws").is_dir():
        parser.error("run `npm ci --prefix loadtest/peers` first")
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        parser.error("needs two cores and taskset: the server on core 0, the generator on 1")
    compare.raise_fd_limit()
    today = datetime.date.today().isoformat()
    meta = {
        "date": today,
        "command": shlex.join([".venv/bin/python", "-m", "loadtest.forums", *sys.argv[1:]]),
        "machine": compare.machine(),
        "townhall_commit": compare.townhall_commit(compare.ROOT),
        "settle": args.idle_settle,
        "window": args.idle_window,
        "vote_every": args.vote_every,
        "seconds": args.seconds,
    }
    idle_rows = []
    for redis in (False, True) if args.redis else (False,):
        for count in (int(n) for n in args.idle.split(",")):
            print(f"idle: {count} forums{' on Redis' if redis else ''} …", file=sys.stderr)
            busy = compare.wait_for_quiet(max_seconds=30)  # CPU over whole seconds: less noisy
            row = idle(count, redis, args.idle_settle, args.idle_window) | {"busy_before_pct": busy}
            print(f"  {row}", file=sys.stderr, flush=True)
            idle_rows.append(row)
    phones = args.forums * args.phones_per_forum
    runs = []
    for forums in (args.forums, 1):
        print(f"load: {forums} forums, {phones} phones …", file=sys.stderr, flush=True)
        run = load(forums, phones, args.vote_every, args.seconds)
        keys = ("acked_per_s", "ack_p99_ms", "latency_p99_ms", "server_cpu_s", "lost", "error")
        print(f"  { ({k: run.get(k) for k in keys if k in run}) }", file=sys.stderr, flush=True)
        runs.append(run)
    meta.update(idle=per_forum(idle_rows), runs=runs)
    json_path = args.json or compare.ROOT / "loadtest" / "results" / f"forums-{today}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    write_section(args.out, render(meta, idle_rows, runs))
    print(f"wrote {args.out} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
