"""One client is many participants: the join page's rate per address, and boards that one client
with many cookies cannot lock others out of. Over a real server where it matters."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.conftest import Client, Endpoint, Live, forum_programme, serve
from tests.test_browser_boards import Trouble, open_host, post
from townhall.config import Settings, SettingsError
from townhall.engine.base import now_ms
from townhall.identity import COOKIE_NAME, cookie_name
from townhall.model import board as board_rules
from townhall.model.board import MAX_POSTS_PER_BOARD, PENDING_PER_PARTICIPANT, POSTS_PER_WINDOW
from townhall.programme import parse_programme
from townhall.ratelimit import AddressBuckets, address_key

# -- the table of buckets -----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_gets_its_burst_then_its_rate() -> None:
    clock = Clock()
    joins = AddressBuckets(rate=2.0, burst=3, clock=clock)
    assert [joins.take("10.0.0.1") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = joins.take("10.0.0.1")
    assert wait == pytest.approx(0.5)
    assert joins.take("10.0.0.2") == 0.0, "each address has its own bucket"
    clock.now += 0.25
    assert joins.take("10.0.0.1") == pytest.approx(0.25), "a refusal spends nothing"
    clock.now += 0.25
    assert joins.take("10.0.0.1") == 0.0
    assert joins.take("10.0.0.1") > 0


def test_idle_addresses_are_dropped_and_the_table_is_bounded() -> None:
    clock = Clock()
    joins = AddressBuckets(rate=10.0, burst=20, max_addresses=3, clock=clock)
    for n in range(3):
        joins.take(f"10.0.0.{n}")
    clock.now += 1.0
    joins.take("10.0.0.9")
    assert list(joins.buckets) == ["10.0.0.1", "10.0.0.2", "10.0.0.9"], "the least recent goes"
    clock.now += 2.0  # burst / rate: every bucket but the next one's is full again
    joins.take("10.0.0.1")
    assert list(joins.buckets) == ["10.0.0.1"]
    for n in range(100):
        joins.take(f"10.1.0.{n}")
    assert len(joins.buckets) == 3


def test_a_rate_of_zero_turns_the_limit_off() -> None:
    joins = AddressBuckets(rate=0.0, burst=1)
    assert all(joins.take("10.0.0.1") == 0.0 for _ in range(1000))
    assert not joins.buckets


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb::9", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("testclient", "testclient"),
        (None, ""),
    ],
)
def test_an_ipv6_network_is_one_address(host: str | None, key: str) -> None:
    assert address_key(host) == key


def test_join_settings_come_from_the_environment_and_are_checked() -> None:
    settings = Settings.from_env({"TOWNHALL_JOIN_RATE": "2.5", "TOWNHALL_JOIN_BURST": "7"})
    assert (settings.join_rate, settings.join_burst) == (2.5, 7)
    assert Settings.from_env({"TOWNHALL_JOIN_RATE": "0"}).join_rate == 0
    assert (Settings().join_rate, Settings().join_burst) == (30.0, 300)
    for name, value, error in (
        ("JOIN_RATE", "fast", "is not a number"),
        ("JOIN_RATE", "-1", "from 0"),
        ("JOIN_BURST", "1.5", "is not a whole number"),
        ("JOIN_BURST", "0", "from 1"),
    ):
        with pytest.raises(SettingsError, match=f"TOWNHALL_{name}.*{error}"):
            Settings.from_env({f"TOWNHALL_{name}": value})


# -- the join page --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def forum(
    tmp_path: Path, room: str | None = None, **settings: Any
) -> AsyncIterator[Endpoint]:
    programme = forum_programme() if room is None else parse_programme(room, source="t.toml")
    async with serve(programme, tmp_path, **settings) as (townhall, url):
        endpoint = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield endpoint
        finally:
            await endpoint.close_clients()


async def test_one_address_minting_ids_is_refused_past_the_burst(tmp_path: Path) -> None:
    async with forum(tmp_path, join_rate=2.0, join_burst=5) as live, httpx.AsyncClient() as http:

        async def join(cookie: str = "", language: str = "ko") -> httpx.Response:
            http.cookies.clear()  # a client that throws its id away to get another
            headers = {"accept-language": language}
            if cookie:
                headers["cookie"] = f"{COOKIE_NAME}={cookie}"
            return await http.get(f"{live.url}/j/{live.code}", headers=headers)

        minted = [await join() for _ in range(5)]
        name = cookie_name(live.code)
        assert all(r.status_code == 200 and name in r.cookies for r in minted)
        cookie = minted[0].cookies[name]
        refused = await join()
        assert refused.status_code == 429
        assert "set-cookie" not in refused.headers, "no id past the burst"
        assert 1 <= int(refused.headers["retry-after"]) <= 5
        assert refused.headers["refresh"] == refused.headers["retry-after"], "it tries again"
        assert "몇 초 뒤 이 페이지가 스스로 다시 시도합니다" in refused.text
        english = await join(language="en")
        assert english.status_code == 429
        assert "Many people are joining at once" in english.text

        # A phone that has its cookie is never held back, however often it reloads.
        for _ in range(20):
            again = await join(cookie)
            assert again.status_code == 200 and "set-cookie" not in again.headers
        client, _ = await live.phone(cookie)
        assert (await client.call("snapshot"))["ok"]

        # The bucket refills at its rate: a later join gets its id.
        deadline = asyncio.get_running_loop().time() + 5
        while (await join()).status_code != 200:
            assert asyncio.get_running_loop().time() < deadline, "the bucket never refilled"
            await asyncio.sleep(0.05)


# -- boards ---------------------------------------------------------------------------------------

MODERATED_ROOM = """
[forum]
id = "flooded"
title = "Flooded"
code = "FLOOD1"

[[items]]
id = "panel"
kind = "qna"
title = "Questions for the panel"
moderated = true
"""


async def ask(phone: Client, text: str, op: str) -> dict[str, Any]:
    ack: dict[str, Any] = await phone.call("post", {"board": "panel", "text": text, "op": op})
    return ack


async def test_a_flood_from_many_ids_cannot_keep_a_participant_out(tmp_path: Path) -> None:
    async with forum(tmp_path, MODERATED_ROOM) as live:
        host = await live.host()
        spammers: list[Client] = []
        spam: dict[int, int] = {}  # post -> its spammer

        async def flood(spammer: int) -> None:
            phone, _ = await live.phone()
            spammers.append(phone)
            for n in range(POSTS_PER_WINDOW):
                ack = await ask(phone, f"spam {spammer}.{n}", f"s{n}")
                if not ack["ok"]:
                    assert ack["error"]["code"] == "board_full", ack  # the flood filled it
                    return
                spam[ack["post"]] = spammer

        spammer = 0
        while len(spam) < MAX_POSTS_PER_BOARD:
            await asyncio.gather(*(flood(spammer + n) for n in range(20)))
            spammer += 20
        assert len(spam) == MAX_POSTS_PER_BOARD

        real, _ = await live.phone()
        full = await ask(real, "When does the library open?", "r1")
        assert full["error"]["code"] == "board_full"

        # One spammer's posts, hidden at once through one of them: the host never sees who.
        first = min(spam)
        hid = await host.call("post_hide_author", {"post": first})
        assert hid["ok"] and hid["hidden"] == POSTS_PER_WINDOW
        theirs = [post for post, who in spam.items() if who == spam[first]]
        board = await host.wait_for(
            "board",
            lambda b: {p["id"] for p in b["posts"] if p["state"] == "hidden"} == set(theirs),
            "the spammer's posts hidden on the host's board",
        )
        assert len(board["posts"]) == MAX_POSTS_PER_BOARD, "hidden posts stay on record"

        asked = await ask(real, "When does the library open?", "r1")
        assert asked["ok"] and asked["state"] == "pending", asked
        assert (await host.call("post_approve", {"post": asked["post"]}))["ok"]

        # Fill the room left, then hide one post by itself: that frees a place too.
        latecomer, _ = await live.phone()
        for n in range(POSTS_PER_WINDOW - 1):
            assert (await ask(latecomer, f"more spam {n}", f"m{n}"))["ok"]
        other, _ = await live.phone()
        assert (await ask(other, "And on Sundays?", "o1"))["error"]["code"] == "board_full"
        assert (await host.call("post_hide", {"post": max(spam)}))["ok"]
        assert (await ask(other, "And on Sundays?", "o1"))["ok"]
        snapshot = await real.call("snapshot")
        assert [p["text"] for p in snapshot["boards"]["panel"]["posts"]] == [
            "When does the library open?"
        ], "phones see only what the host approved"


@pytest.mark.parametrize("engine", ["memory", "redis"])
async def test_hiding_spam_round_after_round_cannot_lock_the_board_for_good(
    engine: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Fresh ids fill the board, the host hides them, and again, until every stored place holds
    a hidden post; the host's purge frees them. Small bounds, read by both engines per post."""
    monkeypatch.setattr(board_rules, "MAX_POSTS_PER_BOARD", 6)
    monkeypatch.setattr(board_rules, "MAX_STORED_POSTS_PER_BOARD", 15)
    settings = {"redis_url": request.getfixturevalue("redis_url")} if engine == "redis" else {}
    async with forum(tmp_path, MODERATED_ROOM, **settings) as live:
        host = await live.host()
        spam: list[int] = []
        rounds = 0
        while True:
            phone, _ = await live.phone()
            ack = await ask(phone, f"spam {len(spam)}", "s")
            if ack["ok"]:
                spam.append(ack["post"])
                continue
            assert ack["error"]["code"] == "board_full", ack
            if "stored" in ack["error"]["message"]:
                break
            rounds += 1
            for post in spam[-6:]:
                assert (await host.call("post_hide_author", {"post": post}))["hidden"] == 1
        assert (len(spam), rounds) == (15, 2)

        real, _ = await live.phone()
        refused = await ask(real, "When does the library open?", "r1")
        assert refused["error"]["code"] == "board_full", "hiding can free nothing more"
        purged = await host.call("post_purge_hidden", {"board": "panel"})
        assert purged == {"ok": True, "seq": purged["seq"], "purged": 12}
        waiting = spam[12:]
        await host.wait_for(
            "board",
            lambda b: [p["id"] for p in b["posts"]] == waiting,
            "only the posts still waiting left on the host's board",
        )
        asked = await ask(real, "When does the library open?", "r1")
        assert asked["ok"] and asked["state"] == "pending", asked
        gone = await host.call("post_approve", {"post": spam[0]})
        assert gone["error"]["code"] == "unknown_post", "a purged post can't be shown again"
        again = await host.call("post_purge_hidden", {"board": "panel"})
        assert again["ok"] and again["purged"] == 0


async def test_a_participant_may_have_only_a_few_posts_waiting(tmp_path: Path) -> None:
    async with forum(tmp_path, MODERATED_ROOM) as live:
        assert isinstance(live, Live) and live.townhall is not None
        engine = live.townhall.engine
        start = now_ms()
        minutes = [0]
        engine.clock = lambda: start + minutes[0] * 60_000  # past the per-minute limit at will
        host = await live.host()
        eager, _ = await live.phone()
        waiting = []
        for n in range(PENDING_PER_PARTICIPANT):
            if n and n % POSTS_PER_WINDOW == 0:
                minutes[0] += 1
            ack = await ask(eager, f"Question {n}", f"q{n}")
            assert ack["ok"] and ack["state"] == "pending", ack
            waiting.append(ack["post"])
        minutes[0] += 1
        refused = await ask(eager, "One more", "q-more")
        assert refused["error"]["code"] == "pending_limit"
        other, _ = await live.phone()
        assert (await ask(other, "Mine?", "o1"))["ok"], "the limit is each participant's own"
        assert (await host.call("post_approve", {"post": waiting[0]}))["ok"]
        assert (await ask(eager, "One more", "q-more"))["state"] == "pending"
        snapshot = await eager.call("snapshot")
        mine = [p["state"] for p in snapshot["my_posts"]]
        assert mine.count("pending") == PENDING_PER_PARTICIPANT


@pytest.mark.browser
async def test_the_host_page_hides_one_authors_posts_at_once(
    browser: Browser, tmp_path: Path
) -> None:
    trouble = Trouble()
    async with forum(tmp_path, MODERATED_ROOM) as live:
        host = await open_host(browser, live, trouble)
        await expect(host.locator("#current-title")).to_have_text("Questions for the panel")
        spammer, _ = await live.phone()
        for n in range(POSTS_PER_WINDOW):
            assert (await ask(spammer, f"spam {n}", f"s{n}"))["ok"]
        real, _ = await live.phone()
        assert (await ask(real, "When does it open?", "r1"))["ok"]
        await expect(host.locator("#queue-title")).to_have_text(
            f"승인 대기 ({POSTS_PER_WINDOW + 1})"
        )

        one = post(host, "queue-list", "spam 1")
        await one.get_by_role("button", name="이 작성자 글 일괄 숨김…").click()
        form = one.locator(".hide-author-form")
        await expect(form).to_contain_text("이 작성자가 이 게시판에 올린 글을 모두 숨길까요?")
        await form.get_by_role("button", name="모두 숨김").click()
        await expect(host.locator("#message")).to_have_text(
            f"이 작성자의 글 {POSTS_PER_WINDOW}개를 숨겼습니다."
        )
        await expect(host.locator("#hidden-list .post")).to_have_count(POSTS_PER_WINDOW)
        await expect(host.locator("#queue-title")).to_have_text("승인 대기 (1)")
        await expect(post(host, "queue-list", "When does it open?")).to_be_visible()

        # Cancelled, nothing happens.
        await (
            post(host, "queue-list", "When does it open?")
            .get_by_role("button", name="이 작성자 글 일괄 숨김…")
            .click()
        )
        await host.get_by_role("button", name="취소").click()
        await expect(host.locator(".hide-author-form")).to_have_count(0)
        await expect(host.locator("#queue-title")).to_have_text("승인 대기 (1)")
    assert trouble.errors == [] and trouble.dialogs == []


@pytest.mark.browser
async def test_the_host_page_removes_hidden_posts_for_good_once_confirmed(
    browser: Browser, tmp_path: Path
) -> None:
    trouble = Trouble()
    async with forum(tmp_path, MODERATED_ROOM) as live:
        host_page = await open_host(browser, live, trouble)
        await expect(host_page.locator("#current-title")).to_have_text("Questions for the panel")
        spammer, _ = await live.phone()
        spam = [(await ask(spammer, f"spam {n}", f"s{n}"))["post"] for n in range(POSTS_PER_WINDOW)]
        real, _ = await live.phone()
        assert (await ask(real, "When does it open?", "r1"))["ok"]
        purge = host_page.get_by_role("button", name="숨긴 글 영구 삭제…")
        await expect(post(host_page, "queue-list", "spam 0")).to_be_visible()
        await expect(purge).to_be_hidden()  # nothing hidden, nothing to remove

        host = await live.host()
        assert (await host.call("post_hide_author", {"post": spam[0]}))["ok"]
        await expect(host_page.locator("#hidden-list .post")).to_have_count(POSTS_PER_WINDOW)
        await purge.click()
        form = host_page.locator(".purge-form")
        await expect(form).to_contain_text("되돌릴 수 없습니다")
        await form.get_by_role("button", name="취소").click()
        await expect(form).to_have_count(0)
        await expect(host_page.locator("#hidden-list .post")).to_have_count(POSTS_PER_WINDOW)

        await purge.click()
        await form.get_by_role("button", name="영구 삭제", exact=True).click()
        await expect(host_page.locator("#message")).to_have_text(
            f"글 {POSTS_PER_WINDOW}개를 영구 삭제했습니다."
        )
        await expect(host_page.locator("#hidden-posts")).to_be_hidden()
        await expect(host_page.locator("#queue-title")).to_have_text("승인 대기 (1)")
        await expect(post(host_page, "queue-list", "When does it open?")).to_be_visible()
    assert trouble.errors == [] and trouble.dialogs == []
