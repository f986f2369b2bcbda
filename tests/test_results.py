"""Every poll's results: each spell of voting with its times and the tally at its close, the
exports behind the host key, and the selection's poll kept closed while its result is published;
in the model, on both engines across a restart, over a real server and on the host page."""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser import ARTIFACTS
from tests.conftest import ENGINES, Client, Live, engine_url, serve
from townhall.engine import open_engine
from townhall.model.commands import Actor, ClosePoll, OpenPoll, PublishSelection, Role, Vote
from townhall.model.errors import ForumError
from townhall.model.events import from_record
from townhall.model.forum import Forum
from townhall.programme import parse_programme

HOST = Actor(Role.HOST, "host")
ROOM = """\
[forum]
id = "results-forum"
title = "Every poll's results"

[[items]]
id = "welcome"
kind = "talk"
title = "Welcome"

[[items]]
id = "mood"
kind = "poll"
title = "Mood"
question = "How is the room?"
options = [{ id = "calm", label = "=Calm" }, { id = "busy", label = "바쁨" }]

[[items]]
id = "vote"
kind = "poll"
title = "Which experiment?"
question = "Which experiment should we run?"
options = [{ id = "a", label = "Proposal A" }, { id = "b", label = "Proposal B" }]

[selection]
poll = "vote"
committee = ["kim"]
rubric = ["Impact?"]

[[selection.candidates]]
id = "a"
title = "Proposal A"
agreements = 3

[[selection.candidates]]
id = "b"
title = "Proposal B"
agreements = 1
"""


def programme() -> Any:
    return parse_programme(ROOM, source="results.toml")


def voter(n: int) -> Actor:
    return Actor(Role.PARTICIPANT, f"p{n}")


def refusal(forum: Forum, command: Any, now_ms: int = 0) -> ForumError:
    with pytest.raises(ForumError) as caught:
        forum.execute(HOST, command, now_ms)
    return caught.value


# -- the model ------------------------------------------------------------------------------


def test_each_spell_of_voting_is_kept_with_its_times_and_its_tally_at_close() -> None:
    forum = Forum(programme())
    forum.execute(HOST, OpenPoll("mood"), 1_800_000_000_000)
    forum.execute(voter(1), Vote("mood", ("calm",), "1"), 0)
    forum.execute(voter(2), Vote("mood", ("calm",), "1"), 0)
    forum.execute(voter(1), Vote("mood", ("busy",), "2"), 0)  # a change of mind
    forum.execute(HOST, ClosePoll("mood"), 1_800_000_060_000)
    forum.execute(HOST, OpenPoll("mood"), 1_800_000_120_500)
    forum.execute(voter(3), Vote("mood", ("busy",), "1"), 0)
    mood, vote = forum.poll_results()
    assert [o["count"] for o in mood["options"]] == [1, 2]
    assert mood["voters"] == 3 and mood["status"] == "open"
    assert mood["openings"] == [
        {
            "opened_at": "2027-01-15T08:00:00.000+00:00",
            "opened_at_ms": 1_800_000_000_000,
            "closed_at": "2027-01-15T08:01:00.000+00:00",
            "closed_at_ms": 1_800_000_060_000,
            "counts": {"calm": 1, "busy": 1},
            "voters": 2,
        },
        {
            "opened_at": "2027-01-15T08:02:00.500+00:00",
            "opened_at_ms": 1_800_000_120_500,
            "closed_at": None,
            "closed_at_ms": None,
            "counts": None,
            "voters": None,
        },
    ]
    assert (mood["selection_poll"], mood["live_votes"]) == (False, [])
    assert (vote["poll"], vote["status"], vote["openings"], vote["selection_poll"]) == (
        "vote",
        "pending",
        [],
        True,
    )


def test_a_log_from_before_times_were_recorded_gives_no_times() -> None:
    forum = Forum(programme())
    for seq, record in enumerate(({"t": "poll_opened", "poll": "mood"}, {"t": "poll_closed"}), 1):
        forum.apply(from_record({"poll": "mood", **record, "seq": seq}))
    (opening,) = forum.poll_results()[0]["openings"]
    assert opening == {
        "opened_at": None,
        "opened_at_ms": None,
        "closed_at": None,
        "closed_at_ms": None,
        "counts": {"calm": 0, "busy": 0},
        "voters": 0,
    }


def test_the_selection_poll_stays_closed_while_its_result_is_published() -> None:
    forum = Forum(programme())
    forum.execute(HOST, OpenPoll("vote"), 0)
    forum.execute(voter(1), Vote("vote", ("a",), "1"), 0)
    forum.execute(HOST, ClosePoll("vote"), 0)
    forum.execute(HOST, PublishSelection(published=True), 0)
    seq = forum.seq
    refused = refusal(forum, OpenPoll("vote"))
    assert refused.code == "selection_published"
    assert "withdraw first" in str(refused)
    assert forum.seq == seq
    forum.execute(HOST, OpenPoll("mood"), 0)  # other polls are not held
    forum.execute(HOST, PublishSelection(published=False), 0)
    forum.execute(HOST, OpenPoll("vote"), 0)
    # Nor can a result be published from a poll still open: it would change when it closed.
    assert refusal(forum, PublishSelection(published=True)).code == "no_live_vote"


# -- both engines ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ENGINES)
async def test_the_guard_and_every_spell_of_voting_survive_a_restart(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path
) -> None:
    url = engine_url(request, kind)
    engine = open_engine(url, programme(), tmp_path)
    await engine.start()
    started = int(time.time() * 1000)
    for n, poll in enumerate(("mood", "vote", "mood")):
        await engine.execute(HOST, OpenPoll(poll))
        choice = "busy" if poll == "mood" else "b"
        await engine.execute(voter(1), Vote(poll, (choice,), str(n)))
        await engine.execute(HOST, ClosePoll(poll))
    await engine.execute(HOST, PublishSelection(published=True))
    with pytest.raises(ForumError) as caught:
        await engine.execute(HOST, OpenPoll("vote"))
    assert caught.value.code == "selection_published"
    # As the exports read it: on Redis, a worker's replica holds tallies, not every opening's.
    await engine.settle()
    before = engine.settled.poll_results()
    await engine.close()
    restarted = open_engine(url, programme(), tmp_path)
    await restarted.start()
    await restarted.settle()
    assert restarted.settled.poll_results() == before
    mood, vote = before
    times = [o[k] for o in mood["openings"] for k in ("opened_at_ms", "closed_at_ms")]
    assert started <= times[0] and times == sorted(times) and times[-1] <= time.time() * 1000 + 1
    assert [o["counts"] for o in mood["openings"]] == [{"calm": 0, "busy": 1}] * 2
    assert [v["counts"] for v in vote["live_votes"]] == [{"a": 0, "b": 1}]
    with pytest.raises(ForumError) as caught:
        await restarted.execute(HOST, OpenPoll("vote"))
    assert caught.value.code == "selection_published"
    await restarted.execute(HOST, PublishSelection(published=False))
    await restarted.execute(HOST, OpenPoll("vote"))
    await restarted.settle()
    assert restarted.settled.poll_results()[1]["status"] == "open"
    await restarted.close()


# -- over a real server ---------------------------------------------------------------------


@pytest.fixture(params=ENGINES)
async def forum(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Live]:
    redis_url = engine_url(request, request.param) if request.param == "redis" else ""
    async with serve(programme(), tmp_path, redis_url=redis_url) as (townhall, url):
        assert townhall.engine.name == request.param
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield live
        finally:
            await live.close_clients()


class Phones:
    """Phones that vote, and the ballots their acks say are stored: what any tally must be."""

    def __init__(self, clients: list[Client]) -> None:
        self.clients = clients
        self.acked: dict[str, dict[int, list[str]]] = {}
        self.ops = 0

    async def vote(self, phone: int, poll: str, *choices: str) -> None:
        self.ops += 1
        payload = {"poll": poll, "choices": list(choices), "op": f"op-{self.ops}"}
        ack = await self.clients[phone].call("vote", payload)
        assert ack["ok"], ack
        self.acked.setdefault(poll, {})[phone] = ack["choices"]

    def implied(self, poll: str, options: tuple[str, ...]) -> dict[str, int]:
        counted = Counter(c for choices in self.acked.get(poll, {}).values() for c in choices)
        return {option: counted[option] for option in options}


async def test_results_exports_match_the_phones_acks_and_the_guard_holds(forum: Live) -> None:
    host = await forum.host()
    phones = Phones([(await forum.phone())[0] for _ in range(4)])
    mood, vote = ("calm", "busy"), ("a", "b")
    closes: dict[str, list[dict[str, int]]] = {"mood": [], "vote": []}

    async def host_says(event: str, poll: str = "") -> dict[str, Any]:
        ack: dict[str, Any] = await host.call(event, {"poll": poll} if poll else {})
        return ack

    async def close(poll: str, options: tuple[str, ...]) -> None:
        assert (await host_says("poll_close", poll))["ok"]
        closes[poll].append(phones.implied(poll, options))

    started = int(time.time() * 1000)
    # The mood poll: opened, votes with changes of mind, closed, reopened, closed again.
    assert (await host_says("poll_open", "mood"))["ok"]
    await phones.vote(0, "mood", "calm")
    await phones.vote(1, "mood", "calm")
    await phones.vote(0, "mood", "busy")
    await phones.vote(2, "mood", "busy")
    await close("mood", mood)
    late = await phones.clients[3].call("vote", {"poll": "mood", "choices": ["calm"], "op": "x"})
    assert late["error"]["code"] == "poll_not_open"
    assert (await host_says("poll_open", "mood"))["ok"]
    await phones.vote(1, "mood", "busy")
    await phones.vote(3, "mood", "calm")
    await close("mood", mood)
    # The selection's poll: its live vote recorded at close, then published.
    assert (await host_says("poll_open", "vote"))["ok"]
    await phones.vote(0, "vote", "a")
    await phones.vote(1, "vote", "b")
    await phones.vote(1, "vote", "a")
    await close("vote", vote)
    assert (await host_says("selection_publish"))["ok"]
    refused = await host_says("poll_open", "vote")
    assert refused["error"]["code"] == "selection_published"
    assert "withdraw first" in refused["error"]["message"]
    assert (await host_says("selection_withdraw"))["ok"]
    assert (await host_says("poll_open", "vote"))["ok"]
    assert (await host_says("selection_publish"))["error"]["code"] == "no_live_vote"
    await phones.vote(2, "vote", "b")
    await close("vote", vote)
    assert closes["mood"] == [{"calm": 1, "busy": 2}, {"calm": 1, "busy": 3}]
    assert closes["vote"] == [{"a": 2, "b": 0}, {"a": 2, "b": 1}]

    bearer = {"Authorization": f"Bearer {forum.host_key}"}
    async with httpx.AsyncClient(base_url=forum.url) as http:
        for file in ("results.json", "results.csv"):
            path = f"/export/{forum.code}/{file}"
            for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
                denied = await http.get(path, headers=headers)
                assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
            assert (await http.get(f"/export/NOPE/{file}", headers=bearer)).status_code == 404
        exported = (await http.get(f"/export/{forum.code}/results.json", headers=bearer)).json()
        sheet = await http.get(f"/export/{forum.code}/results.csv", headers=bearer)
    finished = time.time() * 1000 + 1

    assert (exported["forum"], exported["seq"]) == ("results-forum", forum.forum.seq)
    polls = exported["polls"]
    assert [p["poll"] for p in polls] == ["mood", "vote"]  # agenda order; the talk has none
    for poll, options in zip(polls, (mood, vote), strict=True):
        name = poll["poll"]
        assert {o["id"]: o["count"] for o in poll["options"]} == phones.implied(name, options)
        assert poll["voters"] == len(phones.acked[name])
        assert [o["counts"] for o in poll["openings"]] == closes[name]
        assert [o["voters"] for o in poll["openings"]] == [
            sum(c.values()) for c in closes[name]
        ]  # one choice per ballot here
        times = [o[k] for o in poll["openings"] for k in ("opened_at_ms", "closed_at_ms")]
        assert started <= times[0] and times == sorted(times) and times[-1] <= finished
    assert [o["label"] for o in polls[0]["options"]] == ["=Calm", "바쁨"]
    assert polls[0]["live_votes"] == [] and not polls[0]["selection_poll"]
    assert [v["counts"] for v in polls[1]["live_votes"]] == closes["vote"]
    assert polls[1]["selection_poll"] and polls[1]["status"] == "closed"

    # The CSV: one row per option, the same numbers, a formula-like label made inert.
    assert sheet.content.startswith(codecs.BOM_UTF8)
    assert sheet.headers["content-disposition"].endswith(f'"{forum.code}-results.csv"')
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode("utf-8-sig"))))
    assert [(r["poll"], r["option"]) for r in rows] == [
        ("mood", "calm"),
        ("mood", "busy"),
        ("vote", "a"),
        ("vote", "b"),
    ]
    assert [r["label"] for r in rows[:2]] == ["'=Calm", "바쁨"]
    for row in rows:
        poll = polls[0] if row["poll"] == "mood" else polls[1]
        option = next(o for o in poll["options"] if o["id"] == row["option"])
        assert int(row["count"]) == option["count"]
        assert int(row["voters"]) == poll["voters"]
        assert row["question"] == poll["question"]
        assert row["closes"] == " ".join(str(c[row["option"]]) for c in closes[row["poll"]])
        assert row["opened_at"] == poll["openings"][0]["opened_at"]
        assert row["closed_at"] == poll["openings"][-1]["closed_at"]


# -- the host page --------------------------------------------------------------------------


@pytest.mark.browser
async def test_the_host_page_links_the_results_and_shows_the_guards_refusal(
    browser: Browser, tmp_path: Path
) -> None:
    async with serve(programme(), tmp_path) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            await host_page_checks(browser, live)
        finally:
            await live.close_clients()


async def host_page_checks(browser: Browser, live: Live) -> None:
    host = await live.host()
    phone, _ = await live.phone()
    assert (await host.call("goto", {"item": "vote"}))["ok"]
    assert (await host.call("poll_open", {"poll": "vote"}))["ok"]
    assert (await phone.call("vote", {"poll": "vote", "choices": ["a"], "op": "1"}))["ok"]
    assert (await host.call("poll_close", {"poll": "vote"}))["ok"]
    assert (await host.call("selection_publish"))["ok"]
    errors: list[str] = []
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="ko")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{live.url}/host/{live.code}#key={live.host_key}")
    links = page.locator("#results-export")
    await expect(links).to_be_visible()
    await expect(links).to_contain_text("투표 결과 내려받기:")
    # The reopen button stays usable: the refusal tells the host what to do.
    await expect(page.locator("#poll-open")).to_be_enabled()
    await page.locator("#poll-open").click()
    await page.locator("#confirm-ok").click()  # reopening asks first
    await expect(page.locator("#message")).to_have_text(
        "오류: 선정 결과를 발표한 상태입니다. 먼저 발표를 취소하세요."
    )
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "host-results.png")
    async with page.expect_download() as download:
        await links.locator('[data-file="results.csv"]').click()
    saved = await asyncio.to_thread(Path(await (await download.value).path()).read_bytes)
    rows = list(csv.DictReader(io.StringIO(saved.decode("utf-8-sig"))))
    assert [(r["option"], r["count"]) for r in rows if r["poll"] == "vote"] == [
        ("a", "1"),
        ("b", "0"),
    ]
    await page.locator("#selection-publish").click()  # withdraw
    await page.locator("#confirm-ok").click()
    await expect(page.locator("#selection-publish")).to_have_attribute("data-published", "false")
    await page.locator("#poll-open").click()
    await page.locator("#confirm-ok").click()
    await expect(page.locator("#poll-status")).to_have_attribute("data-status", "open")
    await expect(page.locator("#message")).to_be_hidden()
    await context.close()
    assert errors == []
