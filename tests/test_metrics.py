"""/metrics: off unless asked for; on, it counts what the phones were told, in Prometheus' format,
and names no one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ROOM, Live, forum_programme, serve
from tests.metrics_scrape import (
    CONNECTED,
    GC_COUNT,
    LAG_COUNT,
    MESSAGES,
    assert_names_no_one,
    scrape,
    scrape_when,
)
from tests.processes import ServerProcess
from townhall.config import Settings, SettingsError

TOKEN = "metrics-token-0123456789"


@pytest.fixture
def room(tmp_path: Path) -> Path:
    path = tmp_path / "room.toml"
    path.write_text(TEST_ROOM, encoding="utf-8")
    return path


async def test_metrics_are_off_unless_asked_for(live: Live) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{live.url}/metrics")
    assert response.status_code == 404


def test_the_settings_turn_metrics_on_and_check_the_token() -> None:
    settings = Settings.from_env({"TOWNHALL_METRICS": "1", "TOWNHALL_METRICS_TOKEN": TOKEN})
    assert settings.metrics and settings.metrics_token == TOKEN
    assert not Settings.from_env({}).metrics
    with pytest.raises(SettingsError, match="TOWNHALL_METRICS: 'maybe' is not on or off"):
        Settings.from_env({"TOWNHALL_METRICS": "maybe"})
    for bad in ("short", "a token with spaces in it"):
        with pytest.raises(SettingsError, match="TOWNHALL_METRICS_TOKEN"):
            Settings.from_env({"TOWNHALL_METRICS": "1", "TOWNHALL_METRICS_TOKEN": bad})


async def test_a_token_keeps_metrics_to_whoever_holds_it(tmp_path: Path) -> None:
    programme = forum_programme()
    async with serve(programme, tmp_path, metrics=True, metrics_token=TOKEN) as (_, url):
        async with httpx.AsyncClient() as http:
            for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"}):
                refused = await http.get(f"{url}/metrics", headers=headers)
                assert refused.status_code == 401
                assert refused.headers["www-authenticate"].startswith("Bearer")
                assert "townhall_" not in refused.text
        scraped = await scrape(url, TOKEN)
        assert "townhall_messages" in scraped.text


async def test_one_process_counts_votes_refusals_connections_and_timings(
    room: Path, tmp_path: Path
) -> None:
    server = ServerProcess(room, tmp_path / "data", "--metrics")
    await server.start()
    try:
        forum = server.endpoint()
        host = await forum.open_poll("vote")
        await forum.screen()
        phones = [await forum.phone() for _ in range(4)]
        acks = []
        for n, (phone, _) in enumerate(phones):
            acks.append(await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": f"{n}"}))
        first, _ = phones[0]
        acks.append(await first.call("vote", {"poll": "vote", "choices": ["b"], "op": "again"}))
        acks.append(await first.call("vote", {"poll": "vote", "choices": ["b"], "op": "again"}))
        bad = await first.call("vote", {"poll": "vote", "choices": ["nope"], "op": "bad"})
        malformed = await first.call("vote", {"poll": "vote"})
        unknown = await first.call("no_such_event", {})
        # A client's own events by the names of the server's: refused, and counted as any other.
        named = [await first.call(name, {}) for name in ("connect", "disconnect")]
        assert (await host.call("poll_close", {"poll": "vote"}))["ok"]
        late = [
            await phone.call("vote", {"poll": "vote", "choices": ["c"], "op": "late"})
            for phone, _ in phones[1:3]
        ]
        assert all(ack["ok"] for ack in acks)
        assert [bad["error"]["code"], malformed["error"]["code"]] == [
            "unknown_option",
            "invalid_payload",
        ]
        assert [ack["error"]["code"] for ack in (unknown, *named)] == ["unknown_event"] * 3
        assert {ack["error"]["code"] for ack in late} == {"poll_not_open"}

        # The loop's lag and the collector's pauses are sampled every half second.
        scraped = await scrape_when(
            server.url, lambda s: s.value(LAG_COUNT) > 0 and s.value(GC_COUNT, generation="1") > 0
        )
        assert scraped.value(MESSAGES, event="vote", outcome="ok") == len(acks) == 6
        assert scraped.value(MESSAGES, event="vote", outcome="unknown_option") == 1
        assert scraped.value(MESSAGES, event="vote", outcome="invalid_payload") == 1
        assert scraped.value(MESSAGES, event="vote", outcome="poll_not_open") == 2
        assert scraped.value(MESSAGES, event="unknown", outcome="unknown_event") == 3
        assert scraped.value(MESSAGES, event="goto", outcome="ok") == 1
        assert scraped.value(MESSAGES, event="poll_close", outcome="ok") == 1
        assert scraped.value("townhall_ack_seconds_count", event="vote") == 10
        assert scraped.value("townhall_connections", role="participant") == 4
        assert scraped.value("townhall_connections", role="host") == 1
        assert scraped.value("townhall_connections", role="screen") == 1
        assert scraped.value("townhall_connections", role="moderator") == 0
        assert scraped.value("townhall_forums_running") == 1
        # Five ballots stored (the resend stores nothing), host commands too: one write each.
        assert scraped.value("townhall_journal_seconds_count", operation="write") >= 5 + 3
        assert scraped.value("townhall_broadcast_tick_seconds_count") > 0
        assert "process_cpu_seconds_total" in scraped.text  # one process: the library's own too
        assert_names_no_one(scraped, forum.code, forum.host_key, [c for _, c in phones])

        await forum.close_clients()
        gone = await scrape_when(server.url, lambda s: s.value(CONNECTED, role="participant") == 0)
        assert gone.value("townhall_connections", role="host") == 0
    finally:
        server.stop()


OLD_RUN = """
from prometheus_client import Counter
Counter("townhall_messages_total", "", ["event", "outcome"]).labels("vote", "ok").inc(1000)
"""


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """A metrics directory an earlier run of some server left, with 1000 votes counted in it."""
    directory = tmp_path / "old"
    directory.mkdir()
    environ = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", OLD_RUN], env=environ, check=True, timeout=30)
    return directory


async def test_one_process_keeps_out_of_a_metrics_directory_it_inherits(
    room: Path, old: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client library writes its values to files wherever PROMETHEUS_MULTIPROC_DIR says
    when it is imported: an operator's old directory adds nothing to the counts, a missing one
    does not stop the server, and the private directory used instead goes with the server."""
    left_there = names(old)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    for inherited in (old, tmp_path / "missing"):
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(inherited))
        server = ServerProcess(room, tmp_path / f"data-{inherited.name}", "--metrics")
        await server.start()
        try:
            forum = server.endpoint()
            await forum.open_poll("vote")
            phone, _ = await forum.phone()
            assert (await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "1"}))["ok"]
            scraped = await scrape(server.url)
            assert scraped.value(MESSAGES, event="vote", outcome="ok") == 1
            (private,) = names(temporary)
            assert private.startswith("townhall-metrics-")
            await forum.close_clients()
        finally:
            server.stop()
        assert not names(temporary), "the private directory is removed at the stop"
    assert names(old) == left_there
    assert not (tmp_path / "missing").exists()


def names(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())
