"""The pages in a real headless Chromium: a phone votes, the projector's bar moves."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import ARTIFACTS, PHONE, PROJECTOR
from tests.conftest import TEST_ROOM, Endpoint, Live, forum_programme, serve
from tests.processes import ServerProcess

pytestmark = pytest.mark.browser


async def phone_page(browser: Browser, live: Live, language: str = "ko") -> Page:
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale=language
    )
    page = await context.new_page()
    await page.goto(f"{live.url}/j/{live.code}")
    return page


async def test_phone_vote_moves_the_projector_bar(browser: Browser, live: Live) -> None:
    errors: list[str] = []
    host_context = await browser.new_context(viewport=PROJECTOR, locale="ko")
    host = await host_context.new_page()
    host.on("pageerror", lambda e: errors.append(f"host: {e}"))
    await host.goto(f"{live.url}/host/{live.code}#key={live.host_key}")
    await expect(host.locator("#conn")).to_have_text("연결됨")
    await host.get_by_role("button", name="다음 ▶").click()
    await expect(host.locator("#current-title")).to_have_text("Candidate vote")
    await host.get_by_role("button", name="투표 시작").click()
    await host.get_by_role("button", name="결과 보여주기").click()
    await host.get_by_role("dialog").get_by_role("button", name="결과 보여주기").click()
    await expect(host.locator("#poll-visibility")).to_have_text("결과 표시 중")

    screen_context = await browser.new_context(viewport=PROJECTOR, locale="ko")
    screen = await screen_context.new_page()
    screen.on("pageerror", lambda e: errors.append(f"screen: {e}"))
    await screen.goto(f"{live.url}/screen/{live.code}")
    await expect(screen.locator("#item-title")).to_have_text("Candidate vote")
    bar_b = screen.locator('.bar-row[data-option="b"] .bar-count')
    await expect(bar_b).to_have_text("0 · 0%")

    phone = await phone_page(browser, live)
    phone.on("pageerror", lambda e: errors.append(f"phone: {e}"))
    await expect(phone.locator("#item-title")).to_have_text("Candidate vote")
    await phone.get_by_label("Proposal B").check()
    await phone.get_by_role("button", name="투표하기").click()
    await expect(phone.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
    await expect(bar_b).to_have_text("1 · 100%")
    await expect(host.locator('.bar-row[data-option="b"] .bar-count')).to_have_text("1 · 100%")

    second = await phone_page(browser, live, "en")
    await second.get_by_label("Proposal A").check()
    await second.get_by_role("button", name="Vote").click()
    await expect(second.locator("#vote-state")).to_contain_text("Your vote is counted")
    await expect(bar_b).to_have_text("1 · 50%")
    await expect(screen.locator('.bar-row[data-option="a"] .bar-count')).to_have_text("1 · 50%")

    # The first phone changes its mind; the bars follow, and a reload keeps its choice.
    await phone.get_by_label("Proposal A").check()
    await phone.get_by_role("button", name="투표하기").click()
    await expect(screen.locator('.bar-row[data-option="a"] .bar-count')).to_have_text("2 · 100%")
    await expect(bar_b).to_have_text("0 · 0%")
    await phone.reload()
    await expect(phone.locator("label.mine")).to_have_text("Proposal A")
    await expect(phone.get_by_label("Proposal A")).to_be_checked()

    ARTIFACTS.mkdir(exist_ok=True)
    await phone.screenshot(path=ARTIFACTS / "phone.png")
    await screen.screenshot(path=ARTIFACTS / "projector.png")
    await host.screenshot(path=ARTIFACTS / "host.png")
    assert live.forum.polls["vote"].counts == {"a": 2, "b": 0, "c": 0}
    assert errors == []


async def test_hidden_results_stay_hidden_until_revealed(browser: Browser, live: Live) -> None:
    host = await live.open_poll("vote")
    screen_context = await browser.new_context(viewport=PROJECTOR)
    screen = await screen_context.new_page()
    await screen.goto(f"{live.url}/screen/{live.code}")
    phone = await phone_page(browser, live)
    await phone.get_by_label("Proposal C").check()
    await phone.get_by_role("button", name="투표하기").click()
    await expect(phone.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
    await expect(screen.locator("#results-note")).to_be_visible()
    await expect(screen.locator("#results")).to_be_hidden()
    # The room sees the options and how many have voted, in the programme's Korean.
    options = screen.locator("#poll-options .poll-option")
    await expect(options).to_have_text(["Proposal A", "Proposal B", "Proposal C"])
    await expect(screen.locator("#turnout")).to_have_text("1명 투표")
    await expect(phone.locator("#results")).to_be_hidden()
    await host.call("results_show", {"poll": "vote"})
    await expect(screen.locator('.bar-row[data-option="c"] .bar-count')).to_have_text("1 · 100%")
    await expect(phone.locator('.bar-row[data-option="c"] .bar-count')).to_have_text("1 · 100%")


async def test_the_landing_page_takes_a_typed_code(browser: Browser, live: Live) -> None:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, locale="en")
    page = await context.new_page()
    await page.goto(f"{live.url}/")
    await page.get_by_label("Forum code").fill(live.code.lower())
    await page.get_by_role("button", name="Join").click()
    await expect(page).to_have_url(f"{live.url}/j/{live.code}")
    await expect(page.locator("#item-title")).to_have_text("Opening")


async def test_a_phone_reconnects_by_itself_after_a_restart(
    browser: Browser, tmp_path: Path
) -> None:
    async with serve(forum_programme(), tmp_path) as (townhall, url):
        port = int(url.rsplit(":", 1)[1])
        forum = Endpoint(url, townhall.keys.code, townhall.keys.host_key)
        await forum.open_poll("vote")
        context = await browser.new_context(viewport=PHONE, is_mobile=True, locale="ko")
        phone = await context.new_page()
        await phone.goto(f"{url}/j/{forum.code}")
        await phone.get_by_label("Proposal B").check()
        await phone.get_by_role("button", name="투표하기").click()
        await expect(phone.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
        await forum.close_clients()
    await expect(phone.locator("#conn")).to_have_attribute("data-state", "down")

    async with serve(forum_programme(), tmp_path, port=port) as (townhall, url):
        await expect(phone.locator("#conn")).to_have_attribute("data-state", "up", timeout=15_000)
        forum = Endpoint(url, townhall.keys.code, townhall.keys.host_key)
        host = await forum.host()
        await host.call("poll_close", {"poll": "vote"})
        await expect(phone.locator("#poll-status")).to_have_text("투표 마감")
        await expect(phone.locator("label.mine")).to_have_text("Proposal B")
        assert townhall.engine.forum.polls["vote"].counts["b"] == 1
        await forum.close_clients()


async def test_pages_work_against_two_workers_on_redis(
    browser: Browser, tmp_path: Path, redis_url: str
) -> None:
    room = tmp_path / "room.toml"
    room.write_text(TEST_ROOM, encoding="utf-8")
    server = ServerProcess(room, tmp_path / "data", "--redis", redis_url, "--workers", "2")
    await server.start()
    await server.wait_healthy(pids=2)
    try:
        forum = server.endpoint()
        await forum.open_poll("multi")
        screen_context = await browser.new_context(viewport=PROJECTOR)
        screen = await screen_context.new_page()
        await screen.goto(f"{forum.url}/screen/{forum.code}")
        for choices in (["X", "Z"], ["Z"]):
            phone = await phone_page_at(browser, forum.url, forum.code)
            for label in choices:
                await phone.get_by_label(label, exact=True).check()
            await phone.get_by_role("button", name="투표하기").click()
            await expect(phone.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
        # Shares of the two voters, not of the three choices.
        await expect(screen.locator('.bar-row[data-option="z"] .bar-count')).to_have_text(
            "2 · 100%"
        )
        await expect(screen.locator('.bar-row[data-option="x"] .bar-count')).to_have_text("1 · 50%")
        await expect(screen.locator(".bar-total")).to_have_text("투표자 2명 · 투표자 중 %")
        await forum.close_clients()
    finally:
        server.stop()


async def phone_page_at(browser: Browser, url: str, code: str) -> Page:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, locale="ko")
    page = await context.new_page()
    await page.goto(f"{url}/j/{code}")
    return page
