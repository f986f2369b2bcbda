"""Kill -9 a running server mid-forum and start it again: nothing acked is lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ROOM, Endpoint, free_socket, wait_until


class ServerProcess:
    """`python -m townhall serve` in a child process, as an organiser would run it."""

    def __init__(self, room: Path, data_dir: Path) -> None:
        sock = free_socket()
        self.port = sock.getsockname()[1]
        sock.close()
        self.room = room
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "townhall",
            "serve",
            str(self.room),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "server.log"
        with log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
                command, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        async with httpx.AsyncClient() as http:
            ready = False

            async def up() -> bool:
                try:
                    return (await http.get(f"{self.url}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            for _ in range(1000):
                assert self.process.poll() is None, log.read_text(errors="replace")
                if await up():
                    ready = True
                    break
                await asyncio.sleep(0.02)
            assert ready, "the server did not come up"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def endpoint(self) -> Endpoint:
        keys = json.loads((self.data_dir / "test-forum.keys.json").read_text())
        return Endpoint(self.url, keys["code"], keys["host_key"])


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "test-room.toml"
    path.write_text(TEST_ROOM, encoding="utf-8")
    yield path


@pytest.fixture
async def server(room: Path, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    process = ServerProcess(room, tmp_path / "data")
    try:
        yield process
    finally:
        process.stop()


async def test_kill_9_and_restart_keeps_every_acked_ballot_and_the_forum_state(
    server: ServerProcess,
) -> None:
    await server.start()
    forum = server.endpoint()
    host = await forum.host()
    for event, payload in [
        ("goto", {"item": "vote"}),
        ("poll_open", {"poll": "multi"}),
        ("poll_open", {"poll": "vote"}),
        ("poll_close", {"poll": "multi"}),
        ("results_show", {"poll": "vote"}),
    ]:
        assert (await host.call(event, payload))["ok"], event
    phones = [await forum.phone(reconnect=True) for _ in range(12)]
    acked: dict[str, list[str]] = {}
    for n, (phone, cookie) in enumerate(phones):
        ack = await phone.call("vote", {"poll": "vote", "choices": ["abc"[n % 3]], "op": f"v{n}"})
        assert ack["ok"]
        acked[cookie] = ack["choices"]
    first_phone, first_cookie = phones[0]
    change = await first_phone.call("vote", {"poll": "vote", "choices": ["c"], "op": "change"})
    acked[first_cookie] = change["choices"]

    server.kill()
    await wait_until(lambda: not first_phone.sio.connected, "the phone to notice the crash")
    await server.start()

    # Phones reconnect by themselves and see their own vote.
    await wait_until(lambda: all(p.sio.connected for p, _ in phones), "phones to reconnect")
    for phone, cookie in phones:
        snapshot = await phone.call("snapshot")
        assert snapshot["mine"]["vote"]["choices"] == acked[cookie]
    state = snapshot["state"]
    assert state["items"][state["current"]]["id"] == "vote"
    assert state["polls"]["vote"]["status"] == "open"
    assert state["polls"]["multi"]["status"] == "closed"
    assert state["polls"]["vote"]["results_visible"] is True
    expected = {c: sum(1 for v in acked.values() if v == [c]) for c in "abc"}
    assert state["polls"]["vote"]["tally"]["counts"] == expected
    assert state["polls"]["vote"]["tally"]["voters"] == len(acked)
    await forum.close_clients()


async def test_a_malformed_programme_is_refused_at_start_naming_file_line_and_field(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(TEST_ROOM.replace('results = "live"', 'results = "sometimes"'), encoding="utf-8")
    result = subprocess.run(  # noqa: ASYNC221 - a short-lived command, run to completion
        [sys.executable, "-m", "townhall", "serve", str(bad), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    line = TEST_ROOM.splitlines().index('results = "live"') + 1
    assert f"{bad}:{line}: items[2].results: must be live or on_reveal" in result.stderr
