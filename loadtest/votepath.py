"""What a vote costs on the embedded engine: CPU time per vote through the hub, in one process.

Builds one forum's server as `townhall serve` does (no sockets), opens its poll, and hands the
hub's dispatcher entry (`ForumHub.trigger_event`) rounds of votes: in each round every phone's
vote arrives in the same turn of the event loop, as when one `select()` wakes many phones'
readers. Each goes the whole vote path: the rate and size checks, decoding, the model's
decision, the journal, the ack, and the broadcaster marking the tally dirty. Sending on the
network is left out; it is the same before and after a change to the vote path.

    .venv/bin/python -m loadtest.votepath --phones 1000 --rounds 40
    .venv/bin/python -m loadtest.votepath --profile --out loadtest/results/profile-votepath-after

Reports the process's CPU time per 1,000 votes (the median of --repeats runs), and the number
of journal writes. With --profile, also where the time went (cProfile, functions by their own
time and by time in all) into --out/summary.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from townhall.app import build
from townhall.collector import THRESHOLDS
from townhall.config import Settings
from townhall.hub import Connection
from townhall.model.commands import Actor, Role
from townhall.programme import parse_programme
from townhall.ratelimit import TokenBucket

ROOM = """
[forum]
id = "votepath"
title = "Vote path"
language = "en"

[[items]]
id = "vote"
kind = "poll"
title = "Vote"
results = "live"
options = [{ id = "a", label = "A" }, { id = "b", label = "B" }, { id = "c", label = "C" }]
"""
PAYLOAD_BYTES = 60  # a vote's message as a phone sends it: `42["vote",{...}]`


async def run(phones: int, rounds: int, data_dir: Path) -> tuple[float, int]:
    """CPU seconds for `rounds` × `phones` votes, and the journal writes they took."""
    townhall = build(parse_programme(ROOM, source="votepath.toml"), Settings(data_dir=data_dir))
    hub, engine = townhall.hub, townhall.engine
    await engine.start()
    gc.set_threshold(*THRESHOLDS)  # as the server's collector sets it
    host = "host-sid"
    hub.connections[host] = Connection(Actor(Role.HOST, "host"), TokenBucket(1e9, 1e9))
    for event, data in (("goto", {"item": "vote"}), ("poll_open", {"poll": "vote"})):
        ack = await hub.trigger_event(event, host, data)
        assert ack["ok"], ack
    sids = [f"sid-{n}" for n in range(phones)]
    for n, sid in enumerate(sids):
        # The bucket never empties: the check's cost is measured, not its refusals.
        hub.connections[sid] = Connection(
            Actor(Role.PARTICIPANT, f"phone-{n}"), TokenBucket(1e9, 1e9)
        )
    transport = townhall.transport
    writes = 0
    append = engine.journal.append  # type: ignore[attr-defined]

    def counted(records: list[dict[str, object]]) -> None:
        nonlocal writes
        writes += 1
        append(records)

    engine.journal.append = counted  # type: ignore[attr-defined]

    async def vote(sid: str, op: str, choice: str) -> None:
        transport.sio.message_size = PAYLOAD_BYTES
        ack = await hub.trigger_event("vote", sid, {"poll": "vote", "choices": [choice], "op": op})
        assert ack["ok"], ack

    started = time.process_time()
    for r in range(rounds):
        choice = "abc"[r % 3]
        await asyncio.gather(*(vote(sid, f"{r}-{n}", choice) for n, sid in enumerate(sids)))
    used = time.process_time() - started
    await engine.close()
    return used, writes


def measure(phones: int, rounds: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="townhall-votepath-") as data_dir:
        return asyncio.run(run(phones, rounds, Path(data_dir)))


def profile(phones: int, rounds: int, out: Path) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    measure(phones, rounds)
    profiler.disable()
    out.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(out / "votepath.prof")
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    text.write(f"cProfile of {phones * rounds} votes ({phones} phones x {rounds} rounds)\n")
    text.write("\n== by own time ==\n")
    stats.sort_stats("tottime").print_stats(30)
    text.write("\n== by time in all ==\n")
    stats.sort_stats("cumulative").print_stats(40)
    (out / "summary.txt").write_text(text.getvalue(), encoding="utf-8")
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=1000, help="votes in each loop turn")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("loadtest/results/profile-votepath"))
    args = parser.parse_args()
    votes = args.phones * args.rounds
    runs = [measure(args.phones, args.rounds) for _ in range(args.repeats)]
    per_k = [1000 * used / votes for used, _ in runs]
    spread = ", ".join(f"{v:.3f}" for v in per_k)
    print(
        f"{votes} votes ({args.phones} in each loop turn): median"
        f" {statistics.median(per_k):.3f} CPU-s per 1,000 votes ({spread});"
        f" {runs[0][1]} journal writes"
    )
    if args.profile:
        print(profile(args.phones, args.rounds, args.out)[:4000])


if __name__ == "__main__":
    main()
