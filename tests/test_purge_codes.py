"""A purge of a forum that takes part by ballot code, on each engine: the voters and phones in
its log become pseudonyms, and every tally by group, every revocation and the record stay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import serve
from tests.jury_room import jury_room
from tests.retention_forum import engine_settings, stored_bytes, townhall
from tests.test_ballot_codes import act, phone, refused
from tests.test_engine_contract import HOST
from townhall.app import Townhall
from townhall.model.commands import ClosePoll, OpenPoll, RedeemCode, RevokeCode, SubmitPost, Vote

ENGINES = ["memory", "redis"]


def tallies(townhall: Townhall) -> dict[str, Any]:
    forum = townhall.engine.forum
    return {
        "polls": {p: (dict(s.counts), dict(s.group_counts)) for p, s in forum.polls.items()},
        "codes": forum.state_view(HOST.role)["codes"],
    }


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_purged_code_forum_counts_the_same_and_verifies(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    more = engine_settings(engine, request)
    programme, codes = jury_room(tmp_path)
    data = tmp_path / "data"
    args = ["--data-dir", str(data)] if engine == "memory" else ["--redis", more["redis_url"]]
    args += ["--forum", "jury-forum"]
    async with serve(programme, data, **more) as (held, _):
        run = held.engine.execute
        await run(HOST, OpenPoll("pre"))
        await run(HOST, OpenPoll("final"))
        for n, code in enumerate(codes.jury + codes.audience):
            await act(held.engine, phone(n), RedeemCode(code))
        for n, choice in enumerate(("yes", "yes", "no", "no", "no")):
            await act(held.engine, phone(n), Vote("pre", (choice,), "pre"))
        await act(held.engine, phone(0), Vote("final", ("yes",), "final"))
        await act(
            held.engine, phone(1), SubmitPost("ideas", "A longer opening hour", "Juror Kay", "i")
        )
        await run(HOST, RevokeCode("jury-3"))
        await run(HOST, ClosePoll("pre"))
        await run(HOST, ClosePoll("final"))
        counted = tallies(held)
    before = tmp_path / "before.jsonl"
    assert townhall("record", *args, "-o", str(before)).returncode == 0
    done = townhall("purge", *args, "--yes")
    assert done.returncode == 0, done.stderr
    assert "1 post texts, 1 names, 10 participant ids" in done.stdout  # 5 phones, 5 voters
    left = stored_bytes(data, more)
    for gone in (b"phone-1", b"jury-3", b"Juror Kay", b"A longer opening hour"):
        assert gone not in left, gone
    after = tmp_path / "after.jsonl"
    assert townhall("record", *args, "-o", str(after)).returncode == 0
    old, new = (
        [json.loads(line)["hash"] for line in path.read_text().splitlines()]
        for path in (before, after)
    )
    assert new[: len(old)] == old and len(new) == len(old) + 1
    checked = townhall("verify", str(after))
    assert checked.returncode == 0, checked.stdout
    async with serve(programme, data, **more) as (served, _):
        assert tallies(served) == counted
        # Who held which code is pseudonyms now, jury-3's revocation too: no card is taken,
        # or the revoked one would vote again in a poll opened from now on.
        for n, code in enumerate(codes.jury + codes.audience):
            assert await refused(served.engine, phone(n), RedeemCode(code)) == "codes_purged"
