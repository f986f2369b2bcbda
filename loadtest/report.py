"""The comparison's figures and its BENCHMARKS.md: per-vote CPU, deliveries per CPU-second, the
ratios of Townhall to the others, and the tables. Pure: runs in, text out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

LABELS = {
    "townhall": "Townhall",
    "peer": "socket.io peer (paced)",
    "peer-10hz": "peer-10hz",
    "limit": "limit",
    "townhall-redis": "townhall redis 2 workers",
}


def heading(target: str) -> str:
    """A target's column heading; `townhall-redis-4` is Townhall on Redis with 4 workers."""
    if target in LABELS:
        return LABELS[target]
    workers = target.removeprefix("townhall-redis-")
    return f"townhall redis {workers} worker{'s' if workers != '1' else ''}"


# Townhall's own pace (settings tick_ms, townhall/broadcast.py PHONE_TALLY_S), which the paced
# peer and the limit are given: the projector and host every 100 ms, the phones every 500 ms.
PROJECTOR_TICK_MS, PHONE_TICK_MS = 100, 500
# The columns of Townhall over another target, in this order where both were run.
RATIOS = [("townhall", "peer"), ("townhall", "peer-10hz"), ("townhall", "limit")]
# The headline: Townhall over the paced peer, figure by figure.
HEADLINE = [
    ("server_cpu_s", "server CPU"),
    ("cpu_per_1000_votes_s", "CPU per 1,000 votes"),
    ("latency_p99_ms", "p99 vote → projector"),
    ("rss_per_conn_kb", "memory per connection"),
]

ROWS: list[tuple[str, str, bool]] = [  # key, label, whether a Townhall/other ratio means much
    ("connected", "phones connected", False),
    ("connect_s", "time to connect all phones, s", True),
    ("cookies_s", "join pages for the cookies (before connecting), s", False),
    ("acked_per_s", "votes acked per second", True),
    ("latency_p50_ms", "vote → projector p50, ms", True),
    ("latency_p99_ms", "vote → projector p99, ms", True),
    ("ack_p50_ms", "vote → ack p50, ms", True),
    ("ack_p99_ms", "vote → ack p99, ms", True),
    ("rss_per_conn_kb", "server memory per connection, KiB", True),
    ("server_cpu_s", "server CPU s over the vote period", True),
    ("server_cpu_pct", "server CPU % of the vote period", True),
    ("server_system_cpu_s", "of the server CPU, s in the kernel (system time)", True),
    ("cpu_per_1000_votes_s", "server CPU s per 1,000 votes acked", True),
    ("redis_cpu_s", "redis-server CPU s over the whole run, connecting too (on Redis)", False),
    ("deliveries", "broadcast deliveries (messages received by clients) in the vote period", False),
    ("deliveries_per_cpu_s", "broadcast deliveries per server CPU-second", True),
    ("phone_pushes_per_s", "tally messages received by phones per second", False),
    ("gen_cpu_pct", "generator CPU % (its own core)", False),
    ("other_cpu_s", "other CPU s on the machine over the vote period", False),
    ("gen_loop_delay_p99_ms", "generator event-loop delay p99, ms", False),
    ("lost", "lost votes", False),
    ("double", "double-counted votes", False),
    ("unacked", "votes never acked", False),
    ("refused", "refusals (each retried, as the phone page does)", False),
    ("gave_up", "votes refused for good", False),
    ("disconnects", "phones disconnected during the run", False),
    ("skipped", "votes not sent (every phone busy)", False),
]
TRANSPORT_ROWS = [
    ("phones", "phones"),
    ("votes_acked", "votes acked"),
    ("ack_p50_ms", "vote → ack p50, ms"),
    ("ack_p99_ms", "vote → ack p99, ms"),
    ("own_tally_p50_ms", "vote → the phone's own tally p50, ms"),
    ("own_tally_p99_ms", "vote → the phone's own tally p99, ms"),
    ("own_tally_unseen", "votes whose tally never reached the phone"),
]


def cpu_per_1000_votes(cpu_s: float | None, votes: int | None) -> float | None:
    """Server CPU seconds over the vote period per 1,000 votes acked in it."""
    if cpu_s is None or not votes:
        return None
    return round(cpu_s / votes * 1000, 3)


def deliveries_per_cpu_s(deliveries: int | None, cpu_s: float | None) -> float | None:
    """Messages the clients received over the vote period per server CPU-second in it."""
    if deliveries is None or not cpu_s or cpu_s <= 0:
        return None
    return round(deliveries / cpu_s)


def derive(run: dict[str, Any]) -> dict[str, Any]:
    """The run with the figures computed from the generator's: per-vote CPU, deliveries/CPU."""
    votes = run.get("acked_in_period")
    cpu = run.get("server_cpu_s")
    return {
        **run,
        "cpu_per_1000_votes_s": cpu_per_1000_votes(cpu, votes),
        "deliveries_per_cpu_s": deliveries_per_cpu_s(run.get("deliveries"), cpu),
    }


def cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items()) or "0"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def ratio(a: Any, b: Any) -> str:
    """a / b as `1.23×`, or `–` when either is missing or b is 0."""
    if not isinstance(a, int | float) or not isinstance(b, int | float) or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def headline(runs: list[dict[str, Any]]) -> list[str]:
    """One row per phone count: Townhall over the paced peer (and over peer-10hz)."""
    rows = []
    for phones in dict.fromkeys(r["phones"] for r in runs):
        by = {r["target"]: derive(r) for r in runs if r["phones"] == phones}
        if "townhall" not in by or "peer" not in by:
            continue
        row = [f"{phones:,}"]
        for key, _ in HEADLINE:
            row.append(ratio(by["townhall"].get(key), by["peer"].get(key)))
        ten = by.get("peer-10hz", {})
        row.append(ratio(by["townhall"].get("server_cpu_s"), ten.get("server_cpu_s")))
        rows.append(row)
    if not rows:
        return []
    header = ["phones", *(f"{label}, Townhall/peer" for _, label in HEADLINE)]
    header.append("server CPU, Townhall/peer-10hz")
    return ["## Townhall over the paced peer", "", *_table(header, rows), ""]


def transports(by: dict[str, dict[str, Any]], targets: Sequence[str]) -> list[str]:
    """Long-polling phones beside WebSocket phones in the same run, per target."""
    lines: list[str] = []
    for t in targets:
        split = by[t].get("by_transport")
        if not split:
            continue
        kinds = [k for k in ("websocket", "polling") if k in split]
        rows = [[label, *(cell(split[k].get(key)) for k in kinds)] for key, label in TRANSPORT_ROWS]
        if len(kinds) == 2:
            for key, label in TRANSPORT_ROWS[2:6]:
                rows.append([f"polling/websocket, {label}", "–", ratio_of(split, key)])
        lines += [f"### {heading(t)}: phones by transport", ""]
        lines += [*_table(["", *kinds], rows), ""]
    return lines


def ratio_of(split: dict[str, dict[str, Any]], key: str) -> str:
    return ratio(split["polling"].get(key), split["websocket"].get(key))


def render(runs: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    lines = [
        "# Load benchmarks",
        "",
        "Townhall against a plain socket.io 4.8 server doing the same poll",
        "(`loadtest/peers/peer.js`) and a pre-framed limit server (`loadtest/peers/limit.js`),",
        "driven by raw Engine.IO phones (`loadtest/peers/gen.js`). How to run them and",
        "what each figure means: `loadtest/README.md`.",
        "",
        f"- date: {meta['date']}",
        f"- command: `{meta['command']}`",
        f"- machine: {m['nproc']} cores, {m['cpu']}, {m['memory']}, Linux {m['kernel']}",
        f"- Python {m['python']}, Node {m['node']}",
        f"- Townhall at commit {meta['townhall_commit']}",
        f"- {meta['rate']:g} votes/s offered for {meta['seconds']:g} s over all phones; one vote in"
        " 20 is a resend, the others change the phone's choice",
        f"- the pace: Townhall, the socket.io peer (paced) and the limit send a live poll's tally"
        f" to the projector every {PROJECTOR_TICK_MS} ms and to the phones every"
        f" {PHONE_TICK_MS} ms (Townhall's own pace); peer-10hz is the same peer sending every"
        f" {PROJECTOR_TICK_MS} ms to everyone (see \u201ctally messages received by phones\u201d)",
        "- servers pinned to core 0 (`taskset -c 0`), the generator to core 1, except "
        "\u201ctownhall redis 2 workers\u201d: its workers and redis-server are not pinned",
        "- \u201cother CPU\u201d is what the rest of the machine used during the vote period"
        " (for the Redis row, redis-server's share is in it); each run first waits up to"
        f" {meta.get('quiet_wait', 120):g} s for the machine to be quiet",
    ]
    if meta.get("polling"):
        lines.append(
            f"- the first {meta['polling']:,} phones of each run use Engine.IO long-polling"
            " (never upgraded), the rest WebSocket"
        )
    if meta.get("generators", 1) > 1:
        lines.append(
            f"- the phones and the rate split over {meta['generators']} generator processes, all"
            " on core 1, voting together; their figures merged (`loadtest/split.py`): generator"
            " CPU is their sum, loop delay their worst"
        )
    if meta.get("note"):
        lines.append(f"- {meta['note']}")
    lines += ["", *headline(runs)]
    targets = list(dict.fromkeys(r["target"] for r in runs))
    for phones in dict.fromkeys(r["phones"] for r in runs):
        by = {r["target"]: derive(r) for r in runs if r["phones"] == phones}
        cols = [t for t in targets if t in by]
        pairs = [(a, b) for a, b in RATIOS if a in by and b in by]
        header = [
            "",
            *(heading(t) for t in cols),
            *(f"{heading(a)}/{heading(b)}" for a, b in pairs),
        ]
        rows = []
        for key, label, means in ROWS:
            row = [label, *(cell(by[t].get(key)) for t in cols)]
            row += [ratio(by[a].get(key), by[b].get(key)) if means else "–" for a, b in pairs]
            rows.append(row)
        lines += [f"## {phones:,} phones", "", *_table(header, rows)]
        for t in cols:
            lines += notes(heading(t), by[t])
        lines += ["", *transports(by, cols)]
    return "\n".join(lines)


def notes(label: str, run: dict[str, Any]) -> list[str]:
    """What a table cell cannot say: votes never acked, an error, the server log's errors."""
    lines = []
    if run.get("unacked"):
        lines.append(
            f"\n{label}: {run['unacked']:,} votes were never acked (still being"
            " retried at the end of the run), so lost and double-counted cannot tell"
            " them from stored votes: a stored but unacked vote shows as double-counted."
        )
    if run.get("error"):
        lines.append(f"\n{label}: error: `{run['error']}`")
    if run.get("server_errors"):
        excerpt = "\n".join(run["server_log_excerpt"])
        lines.append(
            f"\n{label}: {run['server_errors']} error lines in the server log;"
            f" the first:\n\n```\n{excerpt}\n```"
        )
    return lines


# The comparison's own headings; the first other `## ` or `# ` heading after them starts the
# sections other tools write (forums.py, the cold load), which a new comparison keeps.
OURS = re.compile(r"## (Townhall over the paced peer|[\d,]+ phones)$")


def replace_comparison(old: str, ours: str) -> str:
    """`old` (BENCHMARKS.md) with its comparison part, from the top, replaced by `ours`."""
    lines = old.splitlines(keepends=True)
    for i, line in enumerate(lines[1:], 1):
        heading = line.rstrip("\n")
        if heading.startswith(("# ", "## ")) and not OURS.fullmatch(heading):
            return ours.rstrip("\n") + "\n\n" + "".join(lines[i:])
    return ours


def replace_section(text: str, heading: str, section: str) -> str:
    """`text` (BENCHMARKS.md) with the section whose heading starts with `heading` (to the next
    `## `) replaced by `section`, or `section` added at its end."""
    start = text.find(heading)
    if start < 0:
        return text.rstrip("\n") + ("\n\n" if text else "") + section
    end = text.find("\n## ", start + len(heading))
    return text[:start] + section + (text[end + 1 :] if end >= 0 else "")
