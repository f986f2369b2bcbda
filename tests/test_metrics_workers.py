"""/metrics under `--workers 2` with Redis: whichever worker answers, it answers for both."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ROOM, Client, Endpoint
from tests.metrics_scrape import (
    CONNECTED,
    LAG_COUNT,
    MESSAGES,
    Scrape,
    assert_names_no_one,
    parse,
    scrape_when,
)
from tests.processes import ServerProcess, Voter
from townhall.metrics_http import exposition

MAX_PHONES = 40  # phones connected, a few at a time, until both workers hold some


@pytest.fixture
def room(tmp_path: Path) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(TEST_ROOM, encoding="utf-8")
    return path


async def phones_per_worker(server: ServerProcess) -> dict[int, int]:
    """Each worker's phones, from its own /healthz, asked on new connections until all answer."""
    loads: dict[int, int] = {}
    async with httpx.AsyncClient(timeout=2, headers={"Connection": "close"}) as http:
        for _ in range(500):
            body = (await http.get(f"{server.url}/healthz")).json()
            loads[body["pid"]] = body["connections"]["participant"]
            if len(loads) == 2:
                break
    assert len(loads) == 2, loads
    return loads


async def phones_on_both_workers(server: ServerProcess, forum: Endpoint) -> list[Voter]:
    voters: list[Voter] = []
    while len(voters) < MAX_PHONES:
        for _ in range(4):
            client, cookie = await forum.phone()
            voters.append(Voter(client, cookie))
        loads = await phones_per_worker(server)
        if sum(loads.values()) == len(voters) and all(loads.values()):
            return voters
    raise AssertionError(f"{len(voters)} phones never spread over both workers: {loads}")


async def test_two_workers_report_the_sum_of_both(
    room: Path, tmp_path: Path, redis_url: str
) -> None:
    server = ServerProcess(
        room, tmp_path / "data", "--redis", redis_url, "--workers", "2", "--metrics"
    )
    await server.start()
    await server.wait_healthy(pids=2)
    try:
        forum = server.endpoint()
        await forum.open_poll("vote")
        voters = await phones_on_both_workers(server, forum)
        await asyncio.gather(
            *(voter.vote("vote", ["abc"[n % 3]], f"op-{n}") for n, voter in enumerate(voters))
        )
        refused: Client = voters[0].client
        bad = await refused.call("vote", {"poll": "vote", "choices": ["nope"], "op": "bad"})
        assert bad["error"]["code"] == "unknown_option"
        accepted = len(voters)
        retried = {code for voter in voters for code in voter.refusals}

        def settled(scraped: Scrape) -> bool:
            phones = scraped.value(CONNECTED, role="participant")
            return phones == len(voters) and scraped.value(LAG_COUNT) > 0

        scrapes = [await scrape_when(server.url, settled) for _ in range(8)]
        for scraped in scrapes:
            assert scraped.value(MESSAGES, event="vote", outcome="ok") == accepted
            assert scraped.value(MESSAGES, event="vote", outcome="unknown_option") == 1
            for code in retried:  # an outage or a burst the phones sent again after
                assert scraped.value(MESSAGES, event="vote", outcome=code) > 0
            assert scraped.value("townhall_ack_seconds_count", event="vote") >= accepted + 1
            assert scraped.value("townhall_connections", role="host") == 1
            assert scraped.value("townhall_forums_running") == 1, "each worker holds the forum"
            assert scraped.value("townhall_redis_command_seconds_count", command="vote.lua") >= (
                accepted
            )
            assert "process_cpu_seconds_total" not in scraped.text  # per process: not summed
            assert_names_no_one(scraped, forum.code, forum.host_key, [v.cookie for v in voters])
        await forum.close_clients()
    finally:
        server.stop()


WORKER = """
from prometheus_client import Counter, Gauge
Gauge("townhall_connections", "", ["role"], multiprocess_mode="livesum").labels("host").set(3)
Counter("townhall_messages_total", "", ["event", "outcome"]).labels("vote", "ok").inc(7)
"""


def test_a_worker_that_ended_keeps_its_counts_but_not_its_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn starts a new worker for one that died: the dead one's phones are gone, and what
    it counted stays counted."""
    environ = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", WORKER], env=environ, check=True, timeout=30)
    assert any(tmp_path.glob("gauge_livesum_*.db"))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    scraped = parse(exposition().decode())
    assert scraped.value(MESSAGES, event="vote", outcome="ok") == 7
    assert ("townhall_connections", frozenset({("role", "host")})) not in scraped.samples
    assert not any(tmp_path.glob("gauge_livesum_*.db"))
