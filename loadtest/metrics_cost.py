"""What the metrics cost on the vote path: A/B blocks in one process.

Serves one forum with metrics on, under uvicorn in this process, connects phones with
python-socketio in the same event loop, and has them vote in blocks, switching the metrics off
and on again between blocks (`metrics.disable`/`enable`, which the hooks read), so both halves run
on the same process, core and moment. Reports the process's CPU time per vote, server and phones
together, for each half: the difference is what the hooks cost. The half-second sampler and the
garbage collector's callback keep running in both halves (a fixed few microseconds a second).

    .venv/bin/python loadtest/metrics_cost.py --phones 100 --votes 3 --blocks 40

`--hooks` times the hooks alone instead (timeit): counting a message and timing its ack, a
journal write's observation, a Redis command's. Run it with PROMETHEUS_MULTIPROC_DIR set to an
empty directory for what they cost under `--workers`, where every value goes to a file.

Traffic goes to 127.0.0.1 only; the run is bounded by --blocks.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import tempfile
import time
import timeit
from pathlib import Path

import httpx
import socketio
import uvicorn

from townhall import metrics
from townhall.app import build
from townhall.config import Settings
from townhall.identity import cookie_name
from townhall.programme import parse_programme
from townhall.transport.lean_websocket import EngineIOWebSocket

ROOM = """
[forum]
id = "cost"
title = "Metrics cost"
language = "en"

[[items]]
id = "vote"
kind = "poll"
title = "Vote"
results = "live"
options = [{ id = "a", label = "A" }, { id = "b", label = "B" }, { id = "c", label = "C" }]
"""
PACE_S = 0.25  # a phone's pace: inside its rate limit of 5 messages a second


async def run(args: argparse.Namespace, data_dir: Path) -> dict[str, list[float]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        host="127.0.0.1",
        port=sock.getsockname()[1],
        data_dir=data_dir,
        metrics=True,
        join_rate=0,
        max_connections_per_address=0,
    )
    townhall = build(parse_programme(ROOM, source="cost.toml"), settings)
    config = uvicorn.Config(
        townhall.asgi, log_level="warning", ws=EngineIOWebSocket, ws_per_message_deflate=False
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(1000):  # ten seconds at most
        if server.started or serving.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    code, key = townhall.keys.code, townhall.keys.host_key
    host = socketio.AsyncClient()
    await host.connect(
        url, auth={"role": "host", "code": code, "key": key}, transports=["websocket"]
    )
    await host.call("goto", {"item": "vote"})
    await host.call("poll_open", {"poll": "vote"})
    phones = []
    async with httpx.AsyncClient() as http:
        for _ in range(args.phones):
            cookie = (await http.get(f"{url}/j/{code}")).cookies[cookie_name(code)]
            http.cookies.clear()  # the next phone is someone else
            phone = socketio.AsyncClient()
            await phone.connect(
                url,
                auth={"role": "participant", "code": code},
                headers={"Cookie": f"{cookie_name(code)}={cookie}"},
                transports=["websocket"],
            )
            phones.append(phone)

    async def vote(n: int, phone: socketio.AsyncClient, block: int) -> None:
        await asyncio.sleep(PACE_S * n / args.phones)  # spread over the pace
        for k in range(args.votes):
            sent = time.perf_counter()
            op = f"{block}-{n}-{k}"
            ack = await phone.call("vote", {"poll": "vote", "choices": ["abc"[k % 3]], "op": op})
            assert ack["ok"], ack
            await asyncio.sleep(max(0.0, sent + PACE_S - time.perf_counter()))

    per_vote: dict[str, list[float]] = {"on": [], "off": []}
    for block in range(args.blocks):
        on = block % 2 == 1
        if on:
            metrics.enable()
        else:
            metrics.disable()
        started = time.process_time()
        await asyncio.gather(*(vote(n, p, block) for n, p in enumerate(phones)))
        used = time.process_time() - started
        per_vote["on" if on else "off"].append(used / (args.phones * args.votes))
    metrics.enable()  # as the server started, for its own stop
    for client in (host, *phones):
        await client.disconnect()
    server.should_exit = True
    await serving
    return per_vote


def hooks() -> None:
    instruments = metrics.defined()
    calls = {
        "message (count + ack time)": lambda: instruments.message("vote", "ok", 0.0004),
        "journal write observed": lambda: instruments.journal_write.observe(0.00004),
        "redis command observed": lambda: instruments.redis_call("vote.lua", 0.0004),
    }
    n = 200_000
    empty = timeit.timeit(lambda: None, number=n) / n
    mode = "multi-process files" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "one process"
    for name, call in calls.items():
        call()
        took = timeit.timeit(call, number=n) / n - empty
        print(f"{name:<28}  {1e6 * took:.2f} µs  ({mode})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=100)
    parser.add_argument("--votes", type=int, default=3, help="votes per phone per block")
    parser.add_argument("--blocks", type=int, default=40, help="off and on in turn")
    parser.add_argument("--hooks", action="store_true", help="time the hooks alone")
    args = parser.parse_args()
    if args.hooks:
        hooks()
        return
    with tempfile.TemporaryDirectory(prefix="townhall-cost-") as data_dir:
        per_vote = asyncio.run(run(args, Path(data_dir)))
    for half, values in per_vote.items():
        spread = ", ".join(f"{1e6 * v:.0f}" for v in values)
        print(
            f"metrics {half:<3}  median {1e6 * statistics.median(values):.0f} µs/vote  ({spread})"
        )
    difference = statistics.median(per_vote["on"]) - statistics.median(per_vote["off"])
    print(f"difference    {1e6 * difference:+.1f} µs/vote (server and phones in one process)")


if __name__ == "__main__":
    main()
