"""Attacks found against a running server, each reproduced here against a real one: a same-site
page taking over a phone, lone surrogates in keys and payloads, logs an attacker can amplify,
`/socket.io/` without its security headers, and pongs that pile up for a client that never
reads."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from wsproto.events import AcceptConnection, Ping, Request

from tests.conftest import WAIT_S, Live, forum_programme, free_socket, serve, wait_until
from tests.redis_server import RedisServer
from tests.test_eio_websocket import SOCKET_PATH, RawPhone, join
from tests.test_http_limits import connect, townhall_serve, until_closed
from townhall.identity import COOKIE_NAME, cookie_name
from townhall.loglimit import ShortTargets
from townhall.transport.lean_websocket import MAX_UNSENT_BYTES

POLLING = "/socket.io/?EIO=4&transport=polling"


async def attacker_site(page: str) -> AsyncIterator[str]:
    """A page served from another port of the same host: same site, another origin."""
    sock = free_socket()
    port = sock.getsockname()[1]

    async def index(_: object) -> HTMLResponse:
        return HTMLResponse(page)

    server = uvicorn.Server(
        uvicorn.Config(Starlette(routes=[Route("/", index)]), log_level="warning")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await wait_until(lambda: server.started or task.done(), "the attacker's server")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        await task
        sock.close()


ATTACK_PAGE = """<!doctype html><title>a page on the same site</title>
<script>
  window.got = [];
  window.loads = {};
  window.___eio = [function (data) { window.got.push(data); }];
  function done(name, how) { window.loads[name] = how; }
</script>
<script src="{forum}{polling}&j=0" onload="done('jsonp', 'load')"
        onerror="done('jsonp', 'error')"></script>
<script src="{forum}{polling}" onload="done('plain', 'load')"
        onerror="done('plain', 'error')"></script>
"""


@pytest.mark.browser
async def test_a_same_site_page_cannot_read_a_phones_session(browser: Browser, live: Live) -> None:
    context = await browser.new_context()
    victim = await context.new_page()
    await victim.goto(f"{live.url}/j/{live.code}")
    assert any(c["name"] == cookie_name(live.code) for c in await context.cookies())
    page = ATTACK_PAGE.replace("{forum}", live.url).replace("{polling}", POLLING)
    async for attacker_url in attacker_site(page):
        await victim.goto(attacker_url)
        await victim.wait_for_function("Object.keys(window.loads).length === 2")
        loads = await victim.evaluate("window.loads")
        got = await victim.evaluate("window.got")
        # Before: the JSONP reply ran and handed the page the victim's session id.
        assert got == []
        assert loads == {"jsonp": "error", "plain": "error"}
    assert not live.hub.connections
    await context.close()


async def test_polling_from_other_sites_and_jsonp_are_refused(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        for site in ("same-site", "cross-site"):
            refused = await http.get(POLLING, headers={"sec-fetch-site": site})
            assert refused.status_code == 400
            assert "other sites" in refused.text
        jsonp = await http.get(POLLING + "&j=0")
        assert jsonp.status_code == 400 and "JSONP" in jsonp.text
        own = await http.get(POLLING, headers={"sec-fetch-site": "same-origin"})
        assert own.status_code == 200 and own.text.startswith("0{")
        foreign = await http.get(POLLING, headers={"origin": "http://127.0.0.1:1"})
        assert foreign.status_code == 400


async def test_socket_io_responses_carry_the_security_headers(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        for response in (
            await http.get(POLLING),
            await http.get(POLLING + "&j=0"),
            await http.get("/socket.io/?EIO=3&transport=polling"),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("role", ["host", "committee"])
async def test_a_lone_surrogate_key_is_refused_and_leaves_nothing_behind(
    live: Live, role: str
) -> None:
    eio = live.sio.eio
    before = len(eio.sockets)
    auth = {"role": role, "code": live.code, "key": "\ud800", "member": "\ud800"}
    for _ in range(20):
        phone, reply = await RawPhone.open(live.url)
        assert isinstance(reply, AcceptConnection)
        await phone.message(lambda m: m.startswith("0"))
        phone.send("40" + json.dumps(auth))  # JSON escapes the surrogate as \ud800
        refused = json.loads((await phone.message(lambda m: m.startswith("44")))[2:])
        assert refused["data"]["code"] == "bad_key"
        phone.close()
    # Each refused client has gone; before, each kept a half-made connection for ever.
    await wait_until(lambda: len(eio.sockets) == before, "refused connections to be dropped")
    host = await live.host()
    assert (await host.call("goto", {"item": "vote"}))["ok"]


async def test_a_lone_surrogate_in_a_payload_is_invalid(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    phone = await join(live)
    phone.send('420["post",{"board":"qna","text":"\\ud800","id":"p1"}]')
    reply = json.loads((await phone.message(lambda m: m.startswith("430")))[3:])[0]
    assert reply["error"]["code"] == "invalid_payload"
    assert not [r for r in caplog.records if r.exc_info]
    phone.close()


async def test_an_engine_outage_logs_a_line_not_a_traceback_per_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    redis = RedisServer(tmp_path / "redis", port)
    (tmp_path / "redis").mkdir()
    redis.start()
    try:
        async with serve(forum_programme(), tmp_path, redis_url=redis.url) as (townhall, url):
            forum = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
            await forum.open_poll("vote")
            phones = [(await forum.phone())[0] for _ in range(3)]
            redis.stop()
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="townhall"):
                for n in range(30):
                    ack = await phones[n % 3].call(
                        "vote", {"poll": "vote", "choices": ["a"], "op": f"op-{n}"}
                    )
                    assert ack["error"]["code"] == "unavailable"
            hub_lines = [r for r in caplog.records if r.name == "townhall.hub"]
            assert len(hub_lines) == 1 and hub_lines[0].exc_info is None
            await forum.close_clients()
    finally:
        redis.stop()


@pytest.mark.parametrize("lean", [True, False], ids=["lean", "stock"])
async def test_pongs_to_a_client_that_never_reads_are_bounded(tmp_path: Path, lean: bool) -> None:
    async with serve(forum_programme(), tmp_path, lean_websocket=lean) as (townhall, url):
        host, port = url.removeprefix("http://").split(":")
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # reads nothing, holds little
        raw.connect((host, int(port)))
        reader, writer = await asyncio.open_connection(sock=raw)
        phone = RawPhone(reader, writer)
        writer.write(phone.ws.send(Request(host=f"{host}:{port}", target=SOCKET_PATH)))
        reply = await phone._next(lambda e: isinstance(e, AcceptConnection))
        assert isinstance(reply, AcceptConnection)
        ping = phone.ws.send(Ping(payload=b"x" * 125))
        sent, pings = 0, 120_000
        # 120,000 pings ask for 15 MB of pongs; the server gives up after MAX_UNSENT_BYTES
        # beyond what the kernel holds (a few MB on loopback).
        async with asyncio.timeout(WAIT_S * 3):
            try:
                while sent < pings:
                    writer.write(ping * 100)
                    await writer.drain()
                    sent += 100
            except (ConnectionError, OSError):
                pass
        assert sent < pings, "the server took every ping and kept every pong"
        writer.transport.abort()
        assert pings * 127 // 4 > MAX_UNSENT_BYTES
        await wait_until(lambda: not townhall.hub.connections, "the server to drop the phone")


async def test_a_polling_session_answers_only_to_the_cookie_that_opened_it(live: Live) -> None:
    victim, other = await live.new_cookie(), await live.new_cookie()
    async with httpx.AsyncClient(base_url=live.url) as http:
        opened = await http.get(POLLING, headers={"cookie": f"{COOKIE_NAME}={victim}"})
        sid = json.loads(opened.text[1:])["sid"]
        connect = "40" + json.dumps({"role": "participant", "code": live.code})
        session = f"{POLLING}&sid={sid}"
        # Before: knowing the session id was enough to connect as the victim.
        for cookie in ("", f"{COOKIE_NAME}={other}"):
            refused = await http.post(session, content=connect, headers={"cookie": cookie})
            assert refused.status_code == 400 and "another participant" in refused.text
        assert not live.hub.connections
        accepted = await http.post(
            session, content=connect, headers={"cookie": f"{COOKIE_NAME}={victim}"}
        )
        assert accepted.status_code == 200
        await wait_until(lambda: len(live.hub.connections) == 1, "the victim's own connect")


async def test_the_guard_holds_without_the_trailing_slash(live: Live) -> None:
    victim = await live.new_cookie()
    async with httpx.AsyncClient(base_url=live.url) as http:
        bare = POLLING.replace("/socket.io/", "/socket.io")
        jsonp = await http.get(bare + "&j=0", headers={"sec-fetch-site": "same-site"})
        assert jsonp.status_code == 400 and "JSONP" in jsonp.text
        opened = await http.get(bare, headers={"cookie": f"{COOKIE_NAME}={victim}"})
        sid = json.loads(opened.text[1:])["sid"]
        connect = "40" + json.dumps({"role": "participant", "code": live.code})
        stolen = await http.post(f"{bare}&sid={sid}", content=connect)
        assert stolen.status_code == 400 and "another participant" in stolen.text
    assert not live.hub.connections


async def test_refusals_before_the_app_carry_the_security_headers(tmp_path: Path) -> None:
    async with townhall_serve(tmp_path, header_timeout=0.3, max_connections_per_address=1) as (
        live,
        _,
    ):
        async with httpx.AsyncClient(base_url=live.url) as http:
            for refused, status in (
                (await http.get("/", headers={"x-big": "x" * 9000}), 431),
                (await http.get("/?" + "q" * 5000), 414),
                (await http.get(POLLING + "&sid=" + "s" * 5000), 414),
            ):
                assert refused.status_code == status
                assert refused.headers["x-content-type-options"] == "nosniff"
                assert "default-src 'self'" in refused.headers["content-security-policy"]
        # A head never finished (408), and a connection past the address's cap (503).
        reader, writer = await connect(live.url)
        writer.write(b"GET / HTTP/1.1\r\n")
        timed_out = await until_closed(reader)
        writer.close()
        held_reader, held = await connect(live.url)
        held.write(b"GET / HTTP/1.1\r\n")
        over_reader, over = await connect(live.url)
        too_many = await until_closed(over_reader)
        over.close()
        held.close()
        for said, line in ((timed_out, b"HTTP/1.1 408"), (too_many, b"HTTP/1.1 503")):
            head, _, body = said.partition(b"\r\n\r\n")
            assert head.startswith(line), said
            assert b"x-content-type-options: nosniff" in head
            length = int(head.split(b"content-length: ")[1].split(b"\r\n")[0])
            assert length == len(body)
        del held_reader


def test_access_log_lines_cut_long_targets() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/socket.io/?sid=" + "s" * 4000, "1.1", 400),
        None,
    )
    assert ShortTargets().filter(record)
    line = record.getMessage()
    assert len(line) < 250 and "(4016 chars)" in line
