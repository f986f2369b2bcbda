"""What a vote costs Redis's one thread, and each worker: N votes through the Redis engine on a
private redis-server, with W engines (workers) following the forum, one of them taking the votes.

    .venv/bin/python loadtest/redis_votecost.py --votes 20000 --workers 2

Prints redis-server's CPU per 1,000 votes (user + system, from /proc), this process's CPU per
1,000 votes (all the engines: one takes the votes, the others only follow), and the votes a
second the one process reached. Run it from a checkout to measure that checkout's engine (with
PYTHONPATH=<checkout>): the figures of two commits are then comparable on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

from townhall.engine.redis import RedisEngine
from townhall.model.commands import Actor, OpenPoll, Role, Vote
from townhall.programme import parse_programme

ROOM = """
[forum]
id = "votecost"
title = "Vote cost"

[[items]]
id = "vote"
kind = "poll"
title = "Vote"
options = [{ id = "a", label = "A" }, { id = "b", label = "B" }, { id = "c", label = "C" }]
"""
HOST = Actor(Role.HOST, "host")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(url: str, redis_pid: int, votes: int, workers: int, concurrency: int) -> None:
    programme = parse_programme(ROOM, source="votecost.toml")
    engines = [RedisEngine(programme, url) for _ in range(workers)]
    for engine in engines:
        await engine.start()
    taker = engines[0]
    await taker.execute(HOST, OpenPoll("vote"))
    queue = iter(range(votes))

    async def phone() -> None:
        for n in queue:
            voter = Actor(Role.PARTICIPANT, f"p{n % 5000}")
            await taker.execute(voter, Vote("vote", ("abc"[n % 3],), f"op-{n}"))

    redis_before, own_before, started = cpu_s(redis_pid), time.process_time(), time.perf_counter()
    await asyncio.gather(*(phone() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    redis_used, own_used = cpu_s(redis_pid) - redis_before, time.process_time() - own_before
    stored = {
        k.decode(): int(v)
        for k, v in redis.Redis.from_url(url).hgetall(taker.keys.counts("vote")).items()
    }
    expected = min(votes, 5000)
    for engine in engines:
        await engine.close()
    assert sum(stored.values()) == expected, (stored, expected)
    print(
        f"{votes} votes, {workers} worker(s): redis-server {redis_used / votes * 1000:.3f} s"
        f" per 1,000 votes; this process (every engine) {own_used / votes * 1000:.3f} s per"
        f" 1,000; {votes / elapsed:,.0f} votes/s; counts {stored}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--votes", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="townhall-votecost-") as work:
        server = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", work),
                *("--appendonly", "yes", "--appendfsync", "everysec"),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            client = redis.Redis(port=port)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            client.close()
            url = f"redis://127.0.0.1:{port}/0"
            asyncio.run(run(url, server.pid, args.votes, args.workers, args.concurrency))
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
