"""The agenda changed on the day over real servers, on both engines: a quick poll added mid-forum
is voted on by phones, is still there with its votes after the server is stopped and started
again, and the record verifies; on Redis, a poll added on one worker is votable on another at
once."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Live, forum_programme, serve, wait_until
from tests.test_record import ENGINES, run_python, run_townhall, settings_for
from townhall.app import Townhall

FORUM = "test-forum"


@contextlib.asynccontextmanager
async def served(tmp_path: Path, **more: Any) -> AsyncIterator[Live]:
    """The test forum served for the block, its clients closed after it."""
    async with serve(forum_programme(), tmp_path, **more) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield live
        finally:
            await live.close_clients()


def item_ids(state: dict[str, Any]) -> list[str]:
    return [item["id"] for item in state["items"]]


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_quick_poll_is_voted_on_kept_through_a_restart_and_verified(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    more = settings_for(engine, request)
    async with served(tmp_path, **more) as forum:
        host = await forum.host()
        phone, cookie = await forum.phone()
        other, _ = await forum.phone()
        added = await host.call(
            "poll_add", {"question": "점심은 무엇으로 할까요?", "options": ["비빔밥", "김밥"]}
        )
        assert added["ok"] and added["item"] == "quick-1", added
        state = await phone.wait_for("state", lambda s: "quick-1" in item_ids(s))
        assert item_ids(state)[:3] == ["opening", "quick-1", "vote"]  # after the current item
        quick = state["items"][1]
        assert quick["options"] == [{"id": "o1", "label": "비빔밥"}, {"id": "o2", "label": "김밥"}]
        fixed = {"item": "quick-1", "field": "label", "option": "o2", "text": "김밥 한 줄"}
        assert (await host.call("item_edit", fixed))["ok"]
        assert (await host.call("option_add", {"poll": "quick-1", "label": "라면"}))[
            "option"
        ] == "o3"
        assert (await host.call("next"))["ok"]
        assert (await host.call("poll_open", {"poll": "quick-1"}))["ok"]
        first = await phone.call("vote", {"poll": "quick-1", "choices": ["o2"], "op": "v1"})
        assert first["ok"] and first["choices"] == ["o2"], first
        assert (await other.call("vote", {"poll": "quick-1", "choices": ["o3"], "op": "v1"}))["ok"]
        refused = await host.call("item_edit", {**fixed, "text": "김밥 두 줄"})
        assert refused["error"]["code"] == "option_voted"
        late = await host.call("option_add", {"poll": "quick-1", "label": "우동"})
        assert late["error"]["code"] == "poll_started"
        assert (await host.call("poll_close", {"poll": "quick-1"}))["ok"]
        assert forum.forum.polls["quick-1"].counts == {"o1": 0, "o2": 1, "o3": 1}

    # Stopped and started again on the same data dir or Redis, from the same programme file.
    async with served(tmp_path, **more) as forum:
        assert forum.forum.polls["quick-1"].counts == {"o1": 0, "o2": 1, "o3": 1}
        phone = await forum.connect({"role": "participant", "code": forum.code}, cookie)
        again = await phone.call("snapshot")
        assert item_ids(again["state"])[:3] == ["opening", "quick-1", "vote"]
        labels = [o["label"] for o in again["state"]["items"][1]["options"]]
        assert labels == ["비빔밥", "김밥 한 줄", "라면"]
        assert again["mine"]["quick-1"]["choices"] == ["o2"]
        assert again["state"]["current"] == 1

    where = ["--data-dir", str(tmp_path)] if engine == "memory" else ["--redis", more["redis_url"]]
    out = tmp_path / "record.jsonl"
    done = run_townhall("record", *where, "--forum", FORUM, "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    assert '"type":"item_added"' in text and '"type":"option_added"' in text
    checked = run_townhall("verify", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "poll tallies at their close: 1" in checked.stdout
    # The independent recount, written from docs/record.md, agrees.
    recounted = run_python(str(Path(__file__).parent / "record_recount.py"), str(out))
    assert recounted.returncode == 0, recounted.stderr
    (closed,) = json.loads(recounted.stdout)["tallies"]
    assert closed["poll"] == "quick-1" and closed["tally"] == {"o1": 0, "o2": 1, "o3": 1}


async def test_a_poll_added_on_one_redis_worker_is_votable_on_another_at_once(
    redis_url: str, tmp_path: Path
) -> None:
    async with (
        served(tmp_path / "a", redis_url=redis_url) as one,
        served(tmp_path / "b", redis_url=redis_url) as two,
    ):
        host = await one.host()
        added = await host.call("poll_add", {"question": "Now?", "options": ["Yes", "No"]})
        assert (await host.call("poll_open", {"poll": added["item"]}))["ok"]
        assert (await host.call("option_add", {"poll": "vote", "label": "Proposal D"}))["ok"]
        assert (await host.call("poll_open", {"poll": "vote"}))["ok"]
        # No waiting for the other worker to hear: its phone votes at once.
        phone, _ = await two.phone()
        ack = await phone.call("vote", {"poll": added["item"], "choices": ["o1"], "op": "v1"})
        assert ack["ok"], ack
        ack = await phone.call("vote", {"poll": "vote", "choices": ["o4"], "op": "v2"})
        assert ack["ok"], ack
        # A Q&A board added on one worker takes a post on the other at once.
        board = await host.call("item_add", {"kind": "qna", "title": "Questions, again"})
        post = {"board": board["item"], "text": "When?", "op": "p1"}
        assert (await phone.call("post", post))["ok"]
        townhall: Townhall | None = two.townhall
        assert townhall is not None
        await wait_until(
            lambda: townhall.engine.forum.polls["vote"].counts.get("o4") == 1, "the tally"
        )
