"""The JSON-lines log: one object a line with time, level, logger and message, and for a
client's message its forum, event, role and outcome; a real `townhall serve --log-format json`
logs a refused command so, and nothing in its log holds a cookie id, a key or a post's text."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ROOM, Endpoint, wait_until
from tests.processes import ServerProcess
from townhall.config import Settings, SettingsError
from townhall.logformat import JsonLines


def test_a_record_becomes_one_json_object() -> None:
    record = logging.LogRecord("townhall.hub", logging.INFO, __file__, 1, "%s: %s", ("a", 1), None)
    record.__dict__.update(forum="f", event="vote", role="participant", outcome="poll_not_open")
    line = json.loads(JsonLines().format(record))
    assert line == {
        "time": line["time"],
        "level": "info",
        "logger": "townhall.hub",
        "message": "a: 1",
        "forum": "f",
        "event": "vote",
        "role": "participant",
        "outcome": "poll_not_open",
    }
    assert line["time"].endswith("+00:00")


async def test_a_served_forum_logs_json_lines(tmp_path: Path) -> None:
    room = tmp_path / "room.toml"
    room.write_text(TEST_ROOM, encoding="utf-8")
    server = ServerProcess(room, tmp_path / "data", "--log-format", "json", apart=True)
    assert server.errors is not None
    errors = server.errors
    await server.start()
    phone = Endpoint(server.url, "TEST42", "")
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            # A metrics token put in the address by mistake: refused, and kept out of the log.
            assert (await http.get("/metrics?token=metrics-token-in-the-url")).status_code == 404
        client, cookie = await phone.phone()
        refused = await client.call("goto", {"item": "vote"})
        assert refused["error"]["code"] == "forbidden"
        await client.call("post", {"board": "qna", "text": "비밀 질문 text", "op": "p1"})

        def logged() -> list[dict[str, object]]:
            return [json.loads(line) for line in errors.read_text().splitlines() if line]

        await wait_until(
            lambda: any(line.get("outcome") == "forbidden" for line in logged()),
            "the refusal to be logged",
        )
    finally:
        await phone.close_clients()
        server.stop()
    lines = logged()  # every line is JSON: json.loads raised otherwise
    (line,) = [line for line in lines if line.get("outcome") == "forbidden"]
    assert {k: line[k] for k in ("level", "forum", "event", "role")} == {
        "level": "info",
        "forum": "test-forum",
        "event": "goto",
        "role": "participant",
    }
    assert any(line["logger"] == "uvicorn.error" for line in lines), "uvicorn's own lines too"
    text = errors.read_text()
    assert cookie not in text and "비밀 질문" not in text
    assert "GET /metrics?… HTTP/1.1" in text and "metrics-token-in-the-url" not in text


async def test_the_plain_log_keeps_standard_output_for_the_addresses(tmp_path: Path) -> None:
    """A service manager keeps the two apart: the addresses (with the host key) on standard
    output, every log line, uvicorn's access lines included, on standard error."""
    room = tmp_path / "room.toml"
    room.write_text(TEST_ROOM, encoding="utf-8")
    server = ServerProcess(room, tmp_path / "data", apart=True)
    assert server.errors is not None
    out, errors = server.log, server.errors
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/livez")).status_code == 200
        await wait_until(lambda: "GET /livez" in errors.read_text(), "the access line")
    finally:
        server.stop()
    printed = out.read_text()
    assert "Townhall is running" in printed and "#key=" in printed
    assert "GET /livez" not in printed and "INFO" not in printed, printed


@pytest.mark.parametrize("log_format", ["plain", "json"])
async def test_workers_log_in_the_format_one_process_does(
    log_format: str, tmp_path: Path, redis_url: str
) -> None:
    """Under `--workers 2` the workers' own lines, Townhall's included, are in the chosen
    format: `LEVEL logger: message`, or one JSON object a line."""
    room = tmp_path / "room.toml"
    room.write_text(TEST_ROOM, encoding="utf-8")
    server = ServerProcess(
        room, tmp_path / "data", "--redis", redis_url, "--workers", "2", "--log-format", log_format
    )
    await server.start()
    try:
        await server.wait_healthy(pids=2)
        forum = server.endpoint()
        client, _ = await forum.phone()
        assert (await client.call("goto", {"item": "vote"}))["error"]["code"] == "forbidden"
        refusal = "goto from a participant: forbidden"
        await wait_until(lambda: refusal in server.output(), "the refusal to be logged")
        await forum.close_clients()
    finally:
        server.stop()
    # Standard output's addresses are in the same file here: they start with neither.
    logged = [line for line in server.output().splitlines() if line.startswith(("{", "INFO"))]
    if log_format == "plain":
        assert f"INFO townhall.hub: {refusal}" in logged
        assert "INFO:     Started server process" in server.output(), "uvicorn's own, as ever"
    else:
        lines = [json.loads(line) for line in logged if line.startswith("{")]
        assert not [line for line in logged if not line.startswith("{")]
        loggers = {entry["logger"] for entry in lines}
        assert {"townhall.hub", "uvicorn.error", "uvicorn.access"} <= loggers
        (line,) = [line for line in lines if line.get("outcome") == "forbidden"]
        assert line["role"] == "participant" and line["forum"] == "test-forum"


def test_an_unknown_log_level_is_refused_by_name() -> None:
    assert Settings.from_env({"TOWNHALL_LOG_LEVEL": "DEBUG"}).log_level == "DEBUG"
    with pytest.raises(SettingsError, match="TOWNHALL_LOG_LEVEL: 'loud' is not one of"):
        Settings.from_env({"TOWNHALL_LOG_LEVEL": "loud"})
