"""A restart under changed selection settings: refused while a result is published, on both
engines; after a withdrawal it is allowed, and every line written before it stays as it was,
each result under the settings it was counted with."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import free_socket, serve
from tests.test_record import ENGINES, FORUM, HOST, ROOM, hold_a_forum, run_townhall, settings_for
from townhall.engine import EngineError, open_engine
from townhall.model.commands import PublishSelection
from townhall.programme import parse_programme

# The same forum with the live vote worth far more: every published total would move.
REWEIGHTED = ROOM.replace(
    'poll = "vote"\n',
    'poll = "vote"\nweights = { agreement = 10, live_vote = 80, committee = 10 }\n',
)
# The same forum with its rubric reworded: what is counted does not change.
REWORDED = ROOM.replace('"Feasible?"', '"Can it be done?"')


def record_of(townhall_args: list[str], out: Path) -> bytes:
    done = run_townhall("record", *townhall_args, "--forum", FORUM, "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


async def refused_start(room: str, data_dir: Path, redis_url: str | None) -> str:
    """Why the engine refuses to start the forum under `room`."""
    engine = open_engine(
        redis_url or "memory://", parse_programme(room, source="room.toml"), data_dir
    )
    with pytest.raises(EngineError) as refused:
        await engine.start()
    await engine.close()
    return str(refused.value)


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_published_result_holds_through_a_restart_with_other_settings(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    assert REWEIGHTED != ROOM and REWORDED != ROOM
    more = settings_for(engine, request)
    where = ["--data-dir", str(tmp_path)] if engine == "memory" else ["--redis", more["redis_url"]]
    async with serve(parse_programme(ROOM, source="room.toml"), tmp_path, **more) as (live, _):
        await hold_a_forum(live)
        published = live.engine.forum.selection_result()["rows"]
    before = record_of(where, tmp_path / "before.jsonl")

    # While the result is published, settings that count differently are refused at start...
    refused = await refused_start(REWEIGHTED, tmp_path, more.get("redis_url"))
    assert "[selection] settings" in refused and "withdraw the result" in refused
    # ...and wording is not.
    async with serve(parse_programme(REWORDED, source="room.toml"), tmp_path, **more) as (live, _):
        assert live.engine.forum.selection_result()["rows"] == published
        await live.engine.execute(HOST, PublishSelection(published=False))
    # Withdrawn, the new weights may come in; the earlier lines stay byte for byte, with the
    # result as it was published.
    reweighted = parse_programme(REWEIGHTED, source="room.toml")
    async with serve(reweighted, tmp_path, **more) as (live, _):
        await live.engine.execute(HOST, PublishSelection(published=True))
        republished = live.engine.forum.selection_result()["rows"]
    assert republished != published
    after = record_of(where, tmp_path / "after.jsonl")
    assert after.startswith(before)
    checked = run_townhall("verify", str(tmp_path / "after.jsonl"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "selection results recomputed: 2" in checked.stdout


async def test_townhall_serve_on_redis_says_why_it_will_not_start(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """On Redis the engine starts inside the app's startup: its refusal is one line there too."""
    redis_url = request.getfixturevalue("redis_url")
    async with serve(parse_programme(ROOM, source="room.toml"), tmp_path, redis_url=redis_url) as (
        live,
        _,
    ):
        await hold_a_forum(live)
    room = tmp_path / "reweighted.toml"
    room.write_text(REWEIGHTED, encoding="utf-8")
    with free_socket() as held:
        port = str(held.getsockname()[1])
    done = run_townhall(
        "serve", str(room), "--redis", redis_url, "--port", port, "--data-dir", str(tmp_path)
    )
    assert done.returncode != 0
    assert "townhall: forum 'record-forum': the [selection] settings" in done.stderr
    assert "Traceback" not in done.stderr
