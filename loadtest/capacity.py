"""Capacity probe: how much voting one Townhall set-up takes, for docs/operations.md.

Starts Townhall on a free loopback port (the embedded engine, or N workers sharing a
redis-server it starts itself), connects phones and a projector with python-socketio, has every
phone vote at a steady pace for a while, and reports: votes acked per second, ack latency and
vote-to-projector latency (p50/p99), server CPU seconds per 1,000 votes, resident memory per
connection, and conservation (final tally equals the phones' acked ballots).

    .venv/bin/python loadtest/capacity.py --phones 300 --rate 300 --seconds 20
    .venv/bin/python loadtest/capacity.py --phones 300 --rate 300 --seconds 20 --workers 2
    .venv/bin/python loadtest/capacity.py --phones 300 --rate 300 --seconds 10 --redis --workers 1
    .venv/bin/python loadtest/capacity.py --phones 100 --rate 200 --seconds 10 --metrics

Traffic goes to 127.0.0.1 only; every loop is bounded by --seconds. For thousands of phones and
the comparison with a Node socket.io peer, see loadtest/compare.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import redis
import socketio

ROOT = Path(__file__).resolve().parent.parent
ROOM = """
[forum]
id = "capacity"
title = "Capacity probe"
language = "en"

[[items]]
id = "vote"
kind = "poll"
title = "Vote"
results = "live"
options = [{ id = "a", label = "A" }, { id = "b", label = "B" }, { id = "c", label = "C" }]
"""
HOST_LINE = re.compile(r"Host screen:\s+http://\S+/host/(\w+)#key=(\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def server_pids(parent: int, workers: int) -> list[int]:
    if workers == 1:
        return [parent]
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Phone:
    def __init__(self, url: str, code: str) -> None:
        self.url, self.code = url, code
        self.sio = socketio.AsyncClient(reconnection=False)
        self.acked: list[str] | None = None

    async def connect(self) -> None:
        async with httpx.AsyncClient() as http:  # its own cookie jar: a new participant
            response = await http.get(f"{self.url}/j/{self.code}")
        cookie = response.cookies[f"townhall_pid_{self.code}"]
        await self.sio.connect(
            self.url,
            auth={"role": "participant", "code": self.code},
            headers={"Cookie": f"townhall_pid_{self.code}={cookie}"},
            transports=["websocket"],
        )


class Processes:
    """The server under test (and its redis-server), started before the phones' event loop."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="townhall-capacity-"))
        (self.work / "room.toml").write_text(ROOM, encoding="utf-8")
        self.redis: subprocess.Popen[bytes] | None = None
        extra: list[str] = ["--metrics"] if args.metrics else []
        if args.redis:
            redis_port = free_port()
            self.redis = subprocess.Popen(
                [
                    shutil.which("redis-server") or "redis-server",
                    "--port",
                    str(redis_port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--dir",
                    str(self.work),
                ],
                stdout=subprocess.DEVNULL,
            )
            client = redis.Redis(port=redis_port)
            for _ in range(200):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.02)
            client.close()
            extra += [
                "--redis",
                f"redis://127.0.0.1:{redis_port}/0",
                "--workers",
                str(args.workers),
            ]
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
        env["TOWNHALL_LOG_LEVEL"] = "warning"
        # One generator address stands for every phone: no limits per client address.
        env["TOWNHALL_JOIN_RATE"] = "0"
        env["TOWNHALL_MAX_CONNECTIONS_PER_ADDRESS"] = "0"
        self.log = (self.work / "server.log").open("wb")
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "townhall",
                "serve",
                str(self.work / "room.toml"),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--data-dir",
                str(self.work / "data"),
                *extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        self.url = f"http://127.0.0.1:{port}"
        if not args.redis and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(self.server.pid, {0})  # the server on one core,
            os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)))  # the phones on the rest

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=20)
        self.log.close()
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(timeout=10)
        shutil.rmtree(self.work, ignore_errors=True)


async def probe(args: argparse.Namespace, processes: Processes) -> dict[str, Any]:
    url, work, server = processes.url, processes.work, processes.server
    async with httpx.AsyncClient(headers={"Connection": "close"}) as http:
        for _ in range(500):
            try:
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    break
            except httpx.TransportError:
                await asyncio.sleep(0.05)
        match = HOST_LINE.search((work / "server.log").read_text())
        assert match, (work / "server.log").read_text()
        code, key = match.group(1), match.group(2)
        pids = server_pids(server.pid, args.workers)
        rss_before = sum(rss_bytes(p) for p in pids)

        host = socketio.AsyncClient()
        await host.connect(
            url, auth={"role": "host", "code": code, "key": key}, transports=["websocket"]
        )
        await host.call("poll_open", {"poll": "vote"})
        screen = socketio.AsyncClient()
        seen: list[tuple[float, int]] = []
        screen.on("tally", lambda t: seen.append((time.perf_counter(), t["version"])))
        await screen.connect(url, auth={"role": "screen", "code": code}, transports=["websocket"])

        phones = [Phone(url, code) for _ in range(args.phones)]
        started = time.perf_counter()
        for i in range(0, len(phones), 50):
            await asyncio.gather(*(p.connect() for p in phones[i : i + 50]))
        connect_s = time.perf_counter() - started
        await asyncio.sleep(1)
        rss_after = sum(rss_bytes(p) for p in pids)

    acks: list[tuple[float, float, int]] = []  # sent, acked, version
    refused: Counter[str] = Counter()
    interval = args.phones / args.rate  # each phone votes once per interval
    deadline = time.perf_counter() + args.seconds
    cpu_before = {p: cpu_seconds(p) for p in pids}
    redis_before = cpu_seconds(processes.redis.pid) if processes.redis else 0.0

    async def vote_loop(n: int, phone: Phone) -> None:
        await asyncio.sleep(interval * n / args.phones)
        k = 0
        while time.perf_counter() < deadline:
            choice = "abc"[(n + k) % 3]
            sent = time.perf_counter()
            ack = await phone.sio.call(
                "vote", {"poll": "vote", "choices": [choice], "op": f"{n}-{k}"}, timeout=30
            )
            if ack["ok"]:
                acks.append((sent, time.perf_counter(), ack["version"]))
                phone.acked = ack["choices"]
            else:
                refused[ack["error"]["code"]] += 1
            k += 1
            await asyncio.sleep(max(0.0, sent + interval - time.perf_counter()))

    load_started = time.perf_counter()
    await asyncio.gather(*(vote_loop(n, p) for n, p in enumerate(phones)))
    elapsed = time.perf_counter() - load_started
    cpu_each = sorted(cpu_seconds(p) - cpu_before[p] for p in pids)
    cpu_used = sum(cpu_each)
    redis_used = cpu_seconds(processes.redis.pid) - redis_before if processes.redis else 0.0

    final = await host.call("snapshot")
    await asyncio.sleep(1)
    final = await host.call("snapshot")
    counts = final["state"]["polls"]["vote"]["tally"]["counts"]
    expected = Counter(c for p in phones if p.acked for c in p.acked)
    to_screen = []
    for sent, _, version in acks:
        first = next((t for t, v in seen if v >= version and t >= sent), None)
        if first is not None:
            to_screen.append(first - sent)
    for client in (host, screen, *(p.sio for p in phones)):
        await client.disconnect()
    return {
        "setup": f"redis, {args.workers} worker(s) (sharing the cores with the phones)"
        if args.redis
        else "embedded, 1 process on 1 core",
        "phones": args.phones,
        "offered votes/s": args.rate,
        "acked votes/s": round(len(acks) / elapsed, 1),
        "refused": dict(refused),
        "ack p50 ms": round(1000 * percentile([b - a for a, b, _ in acks], 0.5), 1),
        "ack p99 ms": round(1000 * percentile([b - a for a, b, _ in acks], 0.99), 1),
        "vote->screen p50 ms": round(1000 * percentile(to_screen, 0.5), 1),
        "vote->screen p99 ms": round(1000 * percentile(to_screen, 0.99), 1),
        "server CPU s per 1000 votes": round(1000 * cpu_used / max(1, len(acks)), 3),
        "server CPU %": round(100 * cpu_used / elapsed, 1),
        # Each worker's: the sockets it holds, plus every other worker's events on its replica.
        "worker CPU s per 1000 votes": [round(1000 * c / max(1, len(acks)), 3) for c in cpu_each],
        "redis CPU s per 1000 votes": round(1000 * redis_used / max(1, len(acks)), 3),
        "connect s": round(connect_s, 2),
        "RSS per connection KB": round((rss_after - rss_before) / args.phones / 1024, 1),
        "conserved": dict(expected) == {k: v for k, v in counts.items() if v},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=300)
    parser.add_argument("--rate", type=float, default=300, help="votes per second, all phones")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--redis", action="store_true", help="the Redis engine (implied by --workers)"
    )
    parser.add_argument("--metrics", action="store_true", help="the server with /metrics on")
    args = parser.parse_args()
    args.redis = args.redis or args.workers > 1
    if args.rate / args.phones > 4:
        parser.error("each phone may send at most 5 messages a second: add phones")
    processes = Processes(args)
    try:
        result = asyncio.run(probe(args, processes))
    finally:
        processes.stop()
    width = max(map(len, result))
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
