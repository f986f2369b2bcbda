"""Many forums on one server: each with its own code, keys, data and connections; made, closed,
archived and deleted while the others serve on; back after a restart; on both engines."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    ENGINES,
    TEST_ROOM,
    WAIT_S,
    Endpoint,
    Refused,
    engine_url,
    serve_forums,
    wait_until,
)
from townhall.app import Server
from townhall.engine.registry import ForumState
from townhall.forums.directory import Directory, DirectoryError
from townhall.identity import cookie_name
from townhall.model.agenda import Programme
from townhall.programme import parse_programme
from townhall.programme_fields import ProgrammeError


def room(forum_id: str, code: str = "", title: str = "시험 토론회") -> str:
    """The test programme as another forum: its own id, title and (if given) fixed code."""
    text = TEST_ROOM.replace('id = "test-forum"', f'id = "{forum_id}"')
    text = text.replace('title = "시험 토론회"', f'title = "{title}"')
    return text.replace('code = "TEST42"', f'code = "{code}"' if code else "")


def programme(forum_id: str, code: str = "") -> Programme:
    return parse_programme(room(forum_id, code), source=f"{forum_id}.toml")


def endpoint(server: Server, url: str, forum_id: str) -> Endpoint:
    runtime = server.forums.runtimes[forum_id]
    return Endpoint(url, runtime.code, runtime.keys.host_key)


def settings_for(request: pytest.FixtureRequest, kind: str) -> dict[str, Any]:
    return {"redis_url": engine_url(request, kind)} if kind == "redis" else {}


async def vote(forum: Endpoint, choice: str) -> dict[str, Any]:
    phone, _ = await forum.phone()
    ack: dict[str, Any] = await phone.call("vote", {"poll": "vote", "choices": [choice], "op": "1"})
    return ack


async def open_vote(forum: Endpoint) -> None:
    await forum.open_poll("vote")


@pytest.mark.parametrize("kind", ENGINES)
async def test_two_forums_serve_side_by_side_and_come_back(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    more = settings_for(request, kind)
    rooms = [programme("library-a", "AAA111"), programme("library-b", "BBB222")]
    async with serve_forums(rooms, tmp_path, **more) as (server, url):
        a, b = endpoint(server, url, "library-a"), endpoint(server, url, "library-b")
        assert (a.code, b.code) == ("AAA111", "BBB222")
        assert a.host_key != b.host_key
        await asyncio.gather(open_vote(a), open_vote(b))
        acks = await asyncio.gather(vote(a, "a"), vote(a, "a"), vote(b, "c"))
        assert all(ack["ok"] for ack in acks), acks
        assert server.forums.runtimes["library-a"].engine.forum.polls["vote"].counts == {
            "a": 2,
            "b": 0,
            "c": 0,
        }
        assert server.forums.runtimes["library-b"].engine.forum.polls["vote"].counts["c"] == 1
        # One forum's host key is no key to the other.
        with pytest.raises(Refused) as refused:
            await Endpoint(url, b.code, a.host_key).host()
        assert refused.value.code == "bad_key"
        # Each forum's phone page, its own cookie; another code is refused.
        async with httpx.AsyncClient(base_url=url) as http:
            page = await http.get("/j/AAA111")
            assert cookie_name("AAA111") in page.cookies
            assert (await http.get("/j/ZZZ999")).status_code == 404
            assert (await http.get("/join", params={"code": "bbb222"})).status_code == 303
        await a.close_clients()
        await b.close_clients()
    async with serve_forums(rooms, tmp_path, **more) as (server, url):
        polls = {f: server.forums.runtimes[f].engine.forum.polls["vote"] for f in rooms_ids(rooms)}
        assert polls["library-a"].counts["a"] == 2 and polls["library-b"].counts["c"] == 1


def listing(directory: Path) -> list[str]:
    """Every file and folder under `directory`, by name."""
    return sorted(p.name for p in directory.rglob("*"))


def rooms_ids(rooms: list[Programme]) -> list[str]:
    return [p.id for p in rooms]


@pytest.mark.parametrize("kind", ENGINES)
async def test_a_forum_made_in_the_console_is_kept_and_comes_back(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    more = settings_for(request, kind)
    async with serve_forums([], tmp_path, **more) as (server, url):
        directory = Directory(server.forums)
        made = await directory.create(room("branch-week", title="분관 토론회"), "upload.toml")
        assert made.state == "open" and made.source == "console" and len(made.code) == 6
        forum = endpoint(server, url, "branch-week")
        await open_vote(forum)
        assert (await vote(forum, "b"))["ok"]
        await forum.close_clients()
    async with serve_forums([], tmp_path, **more) as (server, url):
        (summary,) = Directory(server.forums).summaries()
        assert (summary.id, summary.title, summary.code) == (
            "branch-week",
            "분관 토론회",
            made.code,
        )
        counts = server.forums.runtimes["branch-week"].engine.forum.polls["vote"].counts
        assert counts["b"] == 1


@pytest.mark.parametrize("kind", ENGINES)
async def test_closing_archiving_and_deleting_a_forum_leave_the_others_alone(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    more = settings_for(request, kind)
    async with serve_forums([programme("stays", "STAY11")], tmp_path, **more) as (server, url):
        directory = Directory(server.forums)
        await directory.create(room("goes", "GOES22"), "upload.toml")
        stays, goes = endpoint(server, url, "stays"), endpoint(server, url, "goes")
        phone, cookie = await goes.phone()
        staying_phone, _ = await stays.phone()
        # Closed: its phones are let go and no one joins; its exports still answer the host.
        await directory.set_state("goes", ForumState.CLOSED)
        await wait_until(lambda: not phone.sio.connected, "the closed forum's phone to go")
        with pytest.raises(Refused) as refused:
            await goes.phone(cookie)
        assert refused.value.code == "forum_closed"
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/j/GOES22")).status_code == 410
            bearer = {"authorization": f"Bearer {goes.host_key}"}
            exported = await http.get("/export/GOES22/results.json", headers=bearer)
            assert exported.status_code == 200
        assert staying_phone.sio.connected
        assert (await staying_phone.call("snapshot"))["ok"]
        # An open forum is not deleted; an archived one is, with everything stored for it.
        await directory.set_state("goes", ForumState.OPEN)
        with pytest.raises(DirectoryError) as not_yet:
            await directory.delete("goes")
        assert not_yet.value.code == "bad_state"
        await directory.set_state("goes", ForumState.ARCHIVED)
        assert "goes" not in server.forums.runtimes
        removed = await directory.delete("goes")
        assert removed
        assert not await asyncio.to_thread(server.forums.registry.has_forum_data, "goes")
        assert [s.id for s in directory.summaries()] == ["stays"]
        with pytest.raises(DirectoryError) as from_file:
            await directory.delete("stays")
        assert from_file.value.code == "not_allowed"
        assert (await staying_phone.call("snapshot"))["ok"]
        await stays.close_clients()
        await goes.close_clients()


async def test_bad_programmes_are_refused_and_touch_nothing(tmp_path: Path) -> None:
    async with serve_forums([programme("first", "FIRST1")], tmp_path) as (server, _):
        directory = Directory(server.forums)
        before = listing(tmp_path)
        refusals: list[tuple[str, str | None]] = []
        for text in (
            room("first"),  # an id the server holds
            room("other", "FIRST1"),  # a code the server holds
        ):
            with pytest.raises(DirectoryError) as exc:
                await directory.create(text, "upload.toml")
            refusals.append((exc.value.code, exc.value.field))
        assert refusals == [("duplicate_id", "forum.id"), ("duplicate_code", "forum.code")]
        for text, field in (
            (room("../escape"), "forum.id"),
            (room("a/b"), "forum.id"),
            ("[forum\ntitle =", ""),
            (room("csv") + '\n[selection]\ncandidates_csv = "../../etc/passwd"\n', "selection"),
            (room("codes") + '\n[eligibility]\nmode = "codes"\n', "eligibility.mode"),
        ):
            with pytest.raises(ProgrammeError) as bad:
                await directory.create(text, "upload.toml")
            assert bad.value.field.startswith(field), (text[-60:], bad.value)
            assert bad.value.path == "upload.toml"
        assert listing(tmp_path) == before
        assert [s.id for s in directory.summaries()] == ["first"]


async def test_a_refused_forum_is_reported_and_the_rest_serve(tmp_path: Path) -> None:
    async with serve_forums([programme("steady", "STEADY")], tmp_path):
        pass
    # The same forum id, now with a different agenda: its log was written for the old one.
    changed = parse_programme(
        room("steady", "STEADY").replace('id = "qna"', 'id = "questions"'), source="steady.toml"
    )
    async with serve_forums([changed, programme("fine", "FINE22")], tmp_path) as (server, url):
        summaries = {s.id: s for s in Directory(server.forums).summaries()}
        assert summaries["steady"].state == "fault"
        assert "steady" in (summaries["steady"].fault or "")
        assert summaries["fine"].state == "open"
        fine = endpoint(server, url, "fine")
        await open_vote(fine)
        assert (await vote(fine, "a"))["ok"]
        await fine.close_clients()


async def test_a_forum_made_on_one_node_is_live_on_another_within_a_second(
    redis_url: str, tmp_path: Path
) -> None:
    async with (
        serve_forums([], tmp_path / "one", redis_url=redis_url) as (one, url_one),
        serve_forums([], tmp_path / "two", redis_url=redis_url) as (two, url_two),
    ):
        made = await Directory(one.forums).create(room("shared", "SHARED"), "upload.toml")
        loop = asyncio.get_running_loop()
        started = loop.time()
        await wait_until(lambda: "shared" in two.forums.runtimes, "the other node to serve it")
        assert loop.time() - started < 1.5
        on_one, on_two = endpoint(one, url_one, "shared"), endpoint(two, url_two, "shared")
        assert on_two.host_key == on_one.host_key and made.code == "SHARED"
        await open_vote(on_one)
        assert (await vote(on_two, "c"))["ok"]
        # Closed on one node: the other lets its phones go too.
        phone, _ = await on_two.phone()
        await Directory(one.forums).set_state("shared", ForumState.CLOSED)
        await wait_until(lambda: not phone.sio.connected, "the other node to close it")
        await on_one.close_clients()
        await on_two.close_clients()
    assert WAIT_S
