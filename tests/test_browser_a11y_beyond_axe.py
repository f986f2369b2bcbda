"""What axe-core cannot see, in a real headless Chromium: the keyboard alone doing the room's
work with a visible focus ring, the phone's timer spoken at minute marks only, result bars read
as text, and no motion for those who ask their system for less."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import LAPTOP, PHONE
from tests.conftest import Live, serve, wait_until
from tests.test_browser_a11y import connected, open_page
from tests.test_committee import member_auth
from tests.test_committee import programme as committee_programme

pytestmark = pytest.mark.browser


async def tab_to(page: Page, selector: str, most: int = 60) -> None:
    """Press Tab until the element matching `selector` has the focus."""
    for _ in range(most):
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        await page.keyboard.press("Tab")
    pytest.fail(f"{selector} never took the focus in {most} presses of Tab")


async def focus_ring(page: Page) -> str:
    """The focused element's outline, as drawn: style and width."""
    ring: str = await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return `${s.outlineStyle} ${s.outlineWidth}`; }"
    )
    return ring


async def test_the_keyboard_alone_votes_and_moves_the_agenda(browser: Browser, live: Live) -> None:
    errors: list[str] = []
    host = await connected(
        await open_page(browser, f"{live.url}/host/{live.code}#key={live.host_key}", LAPTOP, errors)
    )
    phone = await connected(await open_page(browser, f"{live.url}/j/{live.code}", LAPTOP, errors))

    # The host moves to the poll and opens it, from the keyboard.
    await tab_to(host, "#next")
    assert await focus_ring(host) == "solid 3px"
    await host.keyboard.press("Enter")
    await expect(host.locator("#current-title")).to_have_text("Candidate vote")
    await tab_to(host, "#poll-open")
    await host.keyboard.press("Space")
    await expect(host.locator("#poll-status")).to_have_text("투표 진행 중")

    # The phone votes: Tab into the options, an arrow key to choose, Tab to the button, Enter.
    await expect(phone.locator("#item-title")).to_have_text("Candidate vote")
    await expect(phone.get_by_label("Proposal A")).to_be_enabled()
    await tab_to(phone, "#options input")
    assert await focus_ring(phone) == "solid 3px"
    await phone.keyboard.press("ArrowDown")
    await expect(phone.get_by_label("Proposal B")).to_be_checked()
    await tab_to(phone, "#vote")
    assert await focus_ring(phone) == "solid 3px"
    await phone.keyboard.press("Enter")
    await expect(phone.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
    assert live.forum.polls["vote"].counts["b"] == 1

    # And on to the next item, by the agenda's own button for it.
    await tab_to(host, "#agenda li:nth-child(4) button")
    await host.keyboard.press("Enter")
    await expect(host.locator("#current-title")).to_have_text("Questions")
    await expect(phone.locator("#item-title")).to_have_text("Questions")
    assert errors == []


async def test_the_keyboard_alone_scores_on_the_committee_page(
    browser: Browser, tmp_path: Path
) -> None:
    errors: list[str] = []
    async with serve(committee_programme(), tmp_path) as (townhall, url):
        forum = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        key = member_auth(forum, "kim")["key"]
        page = await connected(
            await open_page(
                browser, f"{url}/committee/{forum.code}#member=kim&key={key}", PHONE, errors
            )
        )
        card = page.locator('.candidate-card[data-candidate="a"]')
        # Score 3 for the first question: Tab to its button, press Enter.
        question = '.candidate-card[data-candidate="a"] .rubric-question[data-question="0"]'
        three = f'{question} .score-choice[data-value="3"]'
        await tab_to(page, three)
        ring = await page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert ring == "solid"
        await page.keyboard.press("Enter")
        await expect(card.locator(".card-state")).to_have_text("저장됨")
        await wait_until(
            lambda: forum.forum.committee_view("kim")["mine"].get("a", [None])[0] == 3,
            "the score chosen with the keyboard to be stored",
        )
        await expect(page.locator(three)).to_have_attribute("aria-pressed", "true")
        await forum.close_clients()
    assert errors == []


# Every text the announcer region is given, in order, as a screen reader would be handed it.
WATCH_ANNOUNCER = """() => {
  window.__said = [];
  const region = document.getElementById("timer-announce");
  new MutationObserver(() => window.__said.push(region.textContent)).observe(
    region, { childList: true, characterData: true, subtree: true }
  );
}"""


async def test_the_phone_timer_speaks_at_minute_marks_only(browser: Browser, live: Live) -> None:
    errors: list[str] = []
    hub = await live.host()
    phone = await connected(await open_page(browser, f"{live.url}/j/{live.code}", PHONE, errors))
    timer = phone.locator("#item-timer")
    await expect(timer).to_have_text("5:00")
    # The visible clock changes four times a second; it is in no region that is read out.
    live_around = "(node) => node.closest('[aria-live]')?.getAttribute('aria-live')"
    assert await timer.evaluate(live_around) == "off"
    region = phone.locator("#timer-announce")
    assert await region.get_attribute("aria-live") == "polite"
    assert await region.evaluate("(node) => node.getBoundingClientRect().width") <= 1

    await phone.evaluate(WATCH_ANNOUNCER)
    assert (await hub.call("timer_reset", {"seconds": 61}))["ok"]
    await expect(timer).to_have_text("1:01")
    assert (await hub.call("timer_start"))["ok"]
    await expect(region).to_have_text("1분 남았습니다")
    await expect(timer).to_have_text("0:58")
    # Reset and started short: the next thing said is that the time is up, and nothing between.
    assert (await hub.call("timer_reset", {"seconds": 2}))["ok"]
    await expect(timer).to_have_text("0:02")
    assert (await hub.call("timer_start"))["ok"]
    await expect(timer).to_have_text("0:00")
    await expect(region).to_have_text("시간이 다 되었습니다")
    assert await phone.evaluate("window.__said") == ["1분 남았습니다", "시간이 다 되었습니다"]
    assert errors == []


async def test_result_bars_are_read_as_text(browser: Browser, live: Live) -> None:
    errors: list[str] = []
    hub = await live.open_poll("multi")
    voter = (await live.phone())[0]
    assert (await voter.call("vote", {"poll": "multi", "choices": ["x", "z"], "op": "1"}))["ok"]
    phone = await connected(await open_page(browser, f"{live.url}/j/{live.code}", PHONE, errors))
    screen = await connected(
        await open_page(browser, f"{live.url}/screen/{live.code}", LAPTOP, errors)
    )
    for page in (phone, screen):
        results = page.locator("#results")
        await expect(results.locator('.bar-row[data-option="x"] .bar-count')).to_have_text(
            "1 · 100%"
        )
        # What assistive technology is given: each option with its count and its share of the
        # voters (1 of 1 chose x: 100%), and no empty bar.
        tree = await results.aria_snapshot()
        assert "X" in tree and "1 · 100%" in tree and "0 · 0%" in tree, tree
        for track in await results.locator(".bar-track").all():
            assert await track.get_attribute("aria-hidden") == "true"
    # New tallies redraw the phone's bars; they are there to read, not announced at each vote.
    live_around = "(node) => node.closest('[aria-live]')?.getAttribute('aria-live')"
    assert await phone.locator("#results").evaluate(live_around) == "off"
    assert hub is not None
    assert errors == []


# Every element's transitions and animations, as the browser computes them.
MOTION = """() => [...document.querySelectorAll("*")].flatMap((node) => {
  const style = getComputedStyle(node);
  const times = [style.transitionDuration, style.animationDuration].join(",").split(",");
  return times.some((t) => parseFloat(t) > 0) ? [node.className || node.tagName] : [];
})"""


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
async def test_motion_stops_for_those_who_ask(
    browser: Browser, live: Live, motion: Literal["reduce", "no-preference"]
) -> None:
    await live.open_poll("multi")
    context = await browser.new_context(viewport=LAPTOP, reduced_motion=motion)
    screen = await context.new_page()
    await screen.goto(f"{live.url}/screen/{live.code}")
    await expect(screen.locator(".bar-fill").first).to_be_attached()
    moving = await screen.evaluate(MOTION)
    # The bars slide to their width, unless the system asks for less motion.
    assert moving == ([] if motion == "reduce" else ["bar-fill"] * 3)
    await context.close()
