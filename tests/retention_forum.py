"""A forum held for the archive and purge tests: the record tests' forum (votes, posts with
nicknames, moderation, scores, a publication) and phones posting and voting over Socket.IO; and
ways to read everything its engine stores, to look for what a purge must remove."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import Endpoint, serve
from tests.test_record import FORUM, ROOM, hold_a_forum, run_townhall
from townhall.model.forum import Forum
from townhall.programme import parse_programme
from townhall.record.log import StoredForum, replayed

# What the phones write: each must be gone from storage after a purge.
PHONE_TEXT = "Call me on 010-5555-0199 about the reading room"
PHONE_NAME = "Zelda Quixote-Park"
TEXTS = ("Where are the new books?", "Where are the books?", "Something rude", PHONE_TEXT)
NAMES = ("Ann", "Bo", PHONE_NAME)


def programme() -> Any:
    return parse_programme(ROOM, source="room.toml")


def engine_settings(engine: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    return {} if engine == "memory" else {"redis_url": request.getfixturevalue("redis_url")}


def where(engine: str, data_dir: Path, more: dict[str, Any]) -> list[str]:
    """The command line's way to the stored forum."""
    return ["--data-dir", str(data_dir)] if engine == "memory" else ["--redis", more["redis_url"]]


def stored(data_dir: Path, more: dict[str, Any]) -> StoredForum:
    return StoredForum(FORUM, data_dir, more.get("redis_url") or "memory://")


async def phones_take_part(endpoint: Endpoint) -> None:
    """A phone posts with a nickname and another agrees with it, over Socket.IO."""
    author, _ = await endpoint.phone()
    ack = await author.call(
        "post", {"board": "panel", "text": PHONE_TEXT, "name": PHONE_NAME, "op": "z1"}
    )
    assert ack["ok"], ack
    other, _ = await endpoint.phone()
    agreed = await other.call("upvote", {"post": ack["post"], "up": True, "op": "z2"})
    assert agreed["ok"], agreed
    await endpoint.close_clients()


async def hold(data_dir: Path, more: dict[str, Any]) -> None:
    """The whole forum, served and then stopped."""
    async with serve(programme(), data_dir, **more) as (townhall, url):
        await hold_a_forum(townhall)
        await phones_take_part(Endpoint(url, townhall.keys.code, townhall.keys.host_key))


def results(forum: Forum) -> dict[str, Any]:
    """Every number the forum shows: tallies, upvotes and the selection."""
    return {
        "polls": {poll: dict(state.counts) for poll, state in forum.polls.items()},
        "upvotes": {post: len(p.upvoters) for post, p in forum.boards.posts.items()},
        "selection": forum.selection_result()["rows"],
    }


async def forum_of(data_dir: Path, more: dict[str, Any]) -> Forum:
    """The forum as its stored log leaves it."""
    return await asyncio.to_thread(replayed, stored(data_dir, more))


async def participant_ids(data_dir: Path, more: dict[str, Any]) -> set[str]:
    """Every participant id and voter the stored log holds."""
    log = [r async for r in stored(data_dir, more).read_log()]
    return {r[k] for r in log for k in ("participant", "voter") if r.get(k)}


def stored_bytes(data_dir: Path, more: dict[str, Any]) -> bytes:
    """Everything kept of the forum: the data dir's files, or every Redis key's contents."""
    if "redis_url" not in more:
        return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())
    client: Any = redis.Redis.from_url(more["redis_url"])  # its replies typed by what we ask
    found: list[bytes] = []
    for key in sorted(client.scan_iter(match="townhall:*")):
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key) or b"")
        elif kind == b"hash":
            found += [b for kv in client.hgetall(key).items() for b in kv]
        elif kind == b"set":
            found += sorted(client.smembers(key))
        elif kind == b"stream":
            found += [v for _, fields in client.xrange(key) for v in fields.values()]
        else:
            raise AssertionError(f"{key!r}: a {kind!r} the test does not read")
    client.close()
    return b"\n".join(found)


def townhall(*args: str) -> subprocess.CompletedProcess[str]:
    return run_townhall(*args)


__all__ = ["FORUM"]
