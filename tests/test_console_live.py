"""The organiser's console over a real server, on both engines: forums made in it serve, vote at
once, and come back after a restart; its refusals touch nothing; with workers, a forum made on
one is served by all."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ENGINES, WAIT_S, Endpoint, serve_forums
from tests.console_support import csrf_of
from tests.processes import workers_on_redis
from tests.test_forums import listing, room, settings_for
from townhall.console.guard import WRONG_KEY_BURST

KEY_LINE = re.compile(r"Organiser key \(shown only now; keep it safe\): (\S+)")


@contextlib.asynccontextmanager
async def console(url: str, key: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser-like client signed in to the console; the CSRF token its pages carry."""
    async with httpx.AsyncClient(base_url=url, timeout=WAIT_S) as client:
        signed = await client.post("/admin/login", data={"key": key}, headers={"origin": url})
        assert signed.status_code == 303, signed.text
        yield client, csrf_of((await client.get("/admin")).text)


async def upload(client: httpx.AsyncClient, csrf: str, name: str, text: str) -> httpx.Response:
    return await client.post(
        "/admin/new/upload",
        data={"csrf": csrf},
        files={"programme": (name, text.encode(), "application/toml")},
        headers={"origin": str(client.base_url).rstrip("/")},
    )


async def forum(client: httpx.AsyncClient, url: str, forum_id: str) -> Endpoint:
    """The forum's endpoint, from the links its console page gives the organiser."""
    page = (await client.get(f"/admin/forums/{forum_id}")).text
    host = re.search(r"/host/(\w+)#key=([\w-]+)", page)
    assert host, "the forum's page carries its host link"
    return Endpoint(url, host[1], host[2])


async def vote_in(forum: Endpoint, choice: str) -> dict[str, Any]:
    await forum.open_poll("vote")
    phone, _ = await forum.phone()
    ack: dict[str, Any] = await phone.call("vote", {"poll": "vote", "choices": [choice], "op": "1"})
    return ack


@pytest.mark.parametrize("kind", ENGINES)
async def test_two_forums_made_in_the_console_vote_at_once_and_come_back(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    more = settings_for(request, kind)
    async with serve_forums([], tmp_path, **more) as (server, url):
        key = server.organiser_key
        assert key is not None
        async with console(url, key) as (client, csrf):
            for forum_id, code in (("east", "EAST01"), ("west", "WEST02")):
                made = await upload(client, csrf, f"{forum_id}.toml", room(forum_id, code))
                assert made.status_code == 303, made.text
                assert made.headers["location"] == f"/admin/forums/{forum_id}"
            east, west = await forum(client, url, "east"), await forum(client, url, "west")
            acks = await asyncio.gather(vote_in(east, "a"), vote_in(west, "b"))
            assert all(ack["ok"] for ack in acks), acks
            await east.close_clients()
            await west.close_clients()
    async with serve_forums([], tmp_path, **more) as (server, url):
        assert server.organiser_key is None  # kept: the same key signs in again
        async with console(url, key) as (client, _):
            listed = (await client.get("/admin/forums.json")).json()
            forums = listed["forums"] if isinstance(listed, dict) else listed
            assert {(f["id"], f["code"], f["state"]) for f in forums} == {
                ("east", "EAST01", "open"),
                ("west", "WEST02", "open"),
            }
        counts = {
            forum_id: server.forums.runtimes[forum_id].engine.forum.polls["vote"].counts
            for forum_id in ("east", "west")
        }
        assert counts["east"]["a"] == 1 and counts["west"]["b"] == 1


@pytest.mark.parametrize("kind", ENGINES)
async def test_an_archived_forums_page_opens_it_again_and_deletes_it(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    async with serve_forums([], tmp_path, **settings_for(request, kind)) as (server, url):
        assert server.organiser_key is not None
        async with console(url, server.organiser_key) as (client, csrf):
            assert (await upload(client, csrf, "kept.toml", room("kept", "KEPT01"))).is_redirect
            origin = {"origin": url}
            archived = await client.post(
                "/admin/forums/kept/state", data={"csrf": csrf, "state": "archived"}, headers=origin
            )
            assert archived.status_code == 303
            page = await client.get("/admin/forums/kept")
            assert page.status_code == 200, page.text
            assert 'value="open"' in page.text and "/admin/forums/kept/delete" in page.text
            assert "#key=" not in page.text  # no links to a forum that is not running
            reopened = await client.post(
                "/admin/forums/kept/state", data={"csrf": csrf, "state": "open"}, headers=origin
            )
            assert reopened.status_code == 303
            assert "/host/KEPT01#key=" in (await client.get("/admin/forums/kept")).text


async def test_the_console_refuses_and_touches_nothing(tmp_path: Path) -> None:
    async with serve_forums([], tmp_path) as (server, url):
        assert server.organiser_key is not None
        async with httpx.AsyncClient(base_url=url) as stranger:
            assert (await stranger.get("/admin/forums.json")).status_code == 401
            wrong = await stranger.get("/admin", headers={"authorization": "Bearer nope"})
            assert wrong.status_code == 401
        async with console(url, server.organiser_key) as (client, csrf):
            assert (await upload(client, csrf, "one.toml", room("one", "ONE111"))).is_redirect
            before = listing(tmp_path)
            other_site = await client.post(
                "/admin/new/upload",
                data={"csrf": csrf},
                files={"programme": ("x.toml", room("x").encode(), "application/toml")},
                headers={"origin": "https://evil.example", "sec-fetch-site": "cross-site"},
            )
            assert other_site.status_code == 403
            no_token = await upload(client, "", "x.toml", room("x"))
            assert no_token.status_code == 403
            duplicate = await upload(client, csrf, "again.toml", room("again", "ONE111"))
            assert duplicate.status_code == 409 and "ONE111" in duplicate.text
            escape = await upload(client, csrf, "escape.toml", room("../escape"))
            assert escape.status_code == 400 and "forum.id" in escape.text
            huge = await upload(client, csrf, "huge.toml", room("huge") + "#" * 300_000)
            assert huge.status_code == 413
            assert listing(tmp_path) == before
            assert set(server.forums.runtimes) == {"one"}


async def test_wrong_keys_sent_at_once_to_a_real_server_are_held_to_the_limit(
    tmp_path: Path,
) -> None:
    async with serve_forums([], tmp_path) as (_, url):

        async def guess(n: int) -> int:
            async with httpx.AsyncClient(base_url=url, timeout=WAIT_S) as client:
                data = {"key": f"guess-{n}"}
                response = await client.post("/admin/login", data=data, headers={"origin": url})
                return response.status_code

        said = await asyncio.gather(*(guess(n) for n in range(4 * WRONG_KEY_BURST)))
    assert said.count(401) == WRONG_KEY_BURST, said
    assert said.count(429) == 3 * WRONG_KEY_BURST


async def test_with_workers_a_forum_made_on_one_is_served_by_all(
    redis_url: str, tmp_path: Path
) -> None:
    programme = tmp_path / "base.toml"
    programme.write_text(room("base", "BASE11"), encoding="utf-8")
    async with workers_on_redis(programme, tmp_path / "data", redis_url) as server:
        match = KEY_LINE.search(server.output())
        assert match, server.output()
        async with console(server.url, match[1]) as (client, csrf):
            made = await upload(client, csrf, "late.toml", room("late", "LATE22"))
            assert made.status_code == 303, made.text
        seen: dict[int, set[str]] = {}
        loop = asyncio.get_running_loop()
        started = loop.time()
        while len([pid for pid, held in seen.items() if "late" in held]) < 2:
            assert loop.time() - started < WAIT_S, seen
            # A new connection each time: the kernel spreads them over the workers.
            async with httpx.AsyncClient() as http:
                body = (await http.get(f"{server.url}/healthz")).json()
            seen[body["pid"]] = set(body["forums"])
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{server.url}/j/LATE22")).status_code == 200


@pytest.mark.parametrize("kind", ENGINES)
async def test_a_quick_poll_added_in_the_console_is_voted_on(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    more = settings_for(request, kind)
    async with serve_forums([], tmp_path, **more) as (server, url):
        assert server.organiser_key is not None
        async with console(url, server.organiser_key) as (client, csrf):
            assert (await upload(client, csrf, "day.toml", room("day", "DAY123"))).is_redirect
            origin = {"origin": url}
            one_option = await client.post(
                "/admin/forums/day/quick-poll",
                data={"csrf": csrf, "question": "Lunch?", "options": "Rice\n\n"},
                headers=origin,
            )
            assert one_option.status_code == 303 and "error=" in one_option.headers["location"]
            page = (await client.get(one_option.headers["location"])).text
            assert "option" in page.lower() and "<script>" not in page
            added = await client.post(
                "/admin/forums/day/quick-poll",
                data={"csrf": csrf, "question": "<b>Lunch?</b>", "options": "Rice\nNoodles\n"},
                headers=origin,
            )
            assert added.status_code == 303 and "added=1" in added.headers["location"]
            day = await forum(client, url, "day")
        forum_state = server.forums.runtimes["day"].engine.forum
        (quick,) = [item for item in forum_state.programme.items if item.id.startswith("quick")]
        assert quick.question == "<b>Lunch?</b>"  # stored as typed; every page escapes it
        host = await day.open_poll(quick.id)
        phone, _ = await day.phone()
        choice = quick.options[1].id
        ack = await phone.call("vote", {"poll": quick.id, "choices": [choice], "op": "q1"})
        assert ack["ok"], ack
        assert forum_state.polls[quick.id].counts[choice] == 1
        await host.sio.disconnect()
        await day.close_clients()


async def test_townhall_organiser_key_makes_a_new_key_that_the_server_takes(
    tmp_path: Path,
) -> None:
    def new_key() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "townhall", "organiser-key", "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            check=True,
        )
        match = re.search(r"organiser key: (\S+)", done.stdout)
        assert match, done.stdout
        return match[1]

    first = await asyncio.to_thread(new_key)
    second = await asyncio.to_thread(new_key)
    assert first != second
    async with serve_forums([], tmp_path) as (server, url):
        assert server.organiser_key is None  # the kept one stands
        async with httpx.AsyncClient(base_url=url) as client:
            old = await client.post("/admin/login", data={"key": first}, headers={"origin": url})
            assert old.status_code == 401
        async with console(url, second) as (client, _):
            assert (await client.get("/admin/forums.json")).status_code == 200
