"""Scale and ranking polls in a real headless Chromium: phones vote by tapping, and the
projector shows the scale's distribution and mean and the ranking's Borda points."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser import ARTIFACTS, PHONE, PROJECTOR
from tests.conftest import Live, serve
from tests.test_poll_kinds import ROOM
from townhall.programme import parse_programme

pytestmark = pytest.mark.browser


@pytest.fixture
async def kinds(tmp_path: Path) -> AsyncIterator[Live]:
    programme = parse_programme(ROOM, source="kinds.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        forum = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield forum
        finally:
            await forum.close_clients()


async def phone(browser: Browser, live: Live, errors: list[str]) -> Page:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="en")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(f"phone: {e}"))
    await page.goto(f"{live.url}/j/{live.code}")
    return page


async def test_phones_vote_a_scale_and_a_ranking_by_tapping(browser: Browser, kinds: Live) -> None:
    errors: list[str] = []
    screen_context = await browser.new_context(viewport=PROJECTOR, locale="en")
    screen = await screen_context.new_page()
    screen.on("pageerror", lambda e: errors.append(f"screen: {e}"))
    await screen.goto(f"{kinds.url}/screen/{kinds.code}")
    host = await kinds.open_poll("mood")  # a live scale: its results show as votes come in

    # The scale: a row of points with the ends' words; a tap and the vote.
    first = await phone(browser, kinds, errors)
    await expect(first.locator("#options .scale-ends")).to_contain_text("1: Not at all")
    # The page's first look at the item (its options as text, for a slow network) is gone.
    await expect(first.locator("#item-preview")).to_have_count(0)
    await first.locator("#options").get_by_text("4", exact=True).tap()
    await first.get_by_role("button", name="Vote").tap()
    await expect(first.locator("#vote-state")).to_contain_text("Your vote is counted")
    second = await phone(browser, kinds, errors)
    await second.locator("#options").get_by_text("5", exact=True).tap()
    await second.get_by_role("button", name="Vote").tap()
    await expect(second.locator("#vote-state")).to_contain_text("Your vote is counted")
    await expect(second.locator("label.mine")).to_have_text("5")
    await second.screenshot(path=ARTIFACTS / "phone-scale.png")
    await expect(screen.locator(".scale-mean")).to_have_text("Mean: 4.50")
    await expect(screen.locator('.scale-col[data-option="4"] .bar-count')).to_have_text("1 · 50%")
    await expect(screen.locator(".bar-total")).to_have_text("2 voters")
    await screen.screenshot(path=ARTIFACTS / "projector-scale.png")

    # The ranking: tap the options in order; the last one places itself; tap again to take out.
    assert (await host.call("goto", {"item": "order"}))["ok"]
    assert (await host.call("poll_open", {"poll": "order"}))["ok"]
    assert (await host.call("results_show", {"poll": "order"}))["ok"]

    def option(page: Page, label: str) -> Locator:
        return page.locator(".rank-option", has_text=label)

    vote = first.get_by_role("button", name="Vote")
    await expect(vote).to_be_disabled()
    for label in ("Charlie", "Alpha", "Bravo"):
        await option(first, label).tap()
    await expect(first.locator(".rank-order li")).to_have_text(
        ["Charlie", "Alpha", "Bravo", "Delta"]
    )
    await option(first, "Alpha").tap()  # taken out: the others close up, and it's incomplete
    await expect(first.locator(".rank-order li")).to_have_text(["Charlie", "Bravo", "Delta"])
    await expect(vote).to_be_disabled()
    await option(first, "Alpha").tap()
    await expect(option(first, "Alpha").locator(".rank-place")).to_have_text("4")
    await expect(vote).to_be_enabled()
    await vote.tap()
    await expect(first.locator("#vote-state")).to_contain_text("Your vote is counted")
    for label in ("Alpha", "Bravo", "Charlie"):
        await option(second, label).tap()
    await second.get_by_role("button", name="Vote").tap()
    await expect(second.locator("#vote-state")).to_contain_text("Your vote is counted")

    # c, b, d, a and a, b, c, d: c 3+1, b 2+2, a 0+3, d 1+0. Ties are shown as ties.
    rows = screen.locator(".ranking-results .bar-row")
    await expect(rows.locator(".bar-count")).to_have_text(
        ["4 points", "4 points", "3 points", "1 point"]
    )
    await expect(rows.locator(".rank-place")).to_have_text(["=1.", "=1.", "3.", "4."])
    await expect(screen.locator(".ranking-method")).to_contain_text("1st gets 3 points")
    await screen.screenshot(path=ARTIFACTS / "projector-ranking.png")

    # A reloaded phone shows its ranking as it was sent.
    await first.reload()
    await expect(first.locator(".rank-order li")).to_have_text(
        ["Charlie", "Bravo", "Delta", "Alpha"]
    )
    await first.screenshot(path=ARTIFACTS / "phone-ranking.png")
    assert kinds.forum.polls["order"].counts == {"a": 3, "b": 4, "c": 4, "d": 1}
    assert errors == []


async def test_a_ranking_by_the_keyboard_alone(browser: Browser, kinds: Live) -> None:
    """Tab and Enter place the options; after "Start again" the focus is on the first option,
    not lost to the page's start; the order is sent with Enter on Vote."""
    errors: list[str] = []
    host = await kinds.host()
    assert (await host.call("goto", {"item": "order"}))["ok"]
    assert (await host.call("poll_open", {"poll": "order"}))["ok"]
    context = await browser.new_context(viewport=PHONE, locale="en")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(f"phone: {e}"))
    await page.goto(f"{kinds.url}/j/{kinds.code}")
    options = page.locator(".rank-option")
    await expect(options).to_have_count(4)

    async def focused_option() -> str | None:
        option: str | None = await page.evaluate(
            "() => document.activeElement?.dataset?.option ?? null"
        )
        return option

    for _ in range(40):
        if await focused_option() == "a":
            break
        await page.keyboard.press("Tab")
    assert await focused_option() == "a"
    await page.keyboard.press("Enter")  # Alpha first
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # Bravo second
    await expect(page.locator(".rank-order li")).to_have_text(["Alpha", "Bravo"])
    clear = page.locator(".rank-clear")
    await clear.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator(".rank-order li")).to_have_count(0)
    assert await focused_option() == "a", "the focus went back to the first option"
    for _ in range(3):  # Alpha, Bravo, Charlie; Delta places itself
        await page.keyboard.press("Enter")
        await page.keyboard.press("Tab")
    await expect(page.locator(".rank-order li")).to_have_text(
        ["Alpha", "Bravo", "Charlie", "Delta"]
    )
    vote = page.get_by_role("button", name="Vote")
    await vote.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#vote-state")).to_contain_text("Your vote is counted")
    assert kinds.forum.polls["order"].counts == {"a": 3, "b": 2, "c": 1, "d": 0}
    assert errors == []
