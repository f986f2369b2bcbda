"""Kill -9 a running server mid-forum and start it again: nothing acked is lost."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import TEST_ROOM, wait_until
from tests.processes import ServerProcess


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

    question = await first_phone.call(
        "post", {"board": "qna", "text": "Will it restart?", "op": "q1"}
    )
    upvote = await phones[1][0].call("upvote", {"post": question["post"], "up": True, "op": "u1"})
    assert question["ok"] and upvote["ok"]

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
    board = snapshot["boards"]["qna"]
    assert [(p["id"], p["text"], p["upvotes"]) for p in board["posts"]] == [
        (question["post"], "Will it restart?", 1)
    ]
    upvoter = await phones[1][0].call("snapshot")
    assert upvoter["my_upvotes"] == {"qna": [question["post"]]}
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
