"""The opinion shift in a real Chromium: phones vote in the pre-vote and the final vote, the host
shows how opinion moved from the host page, and the projector draws the flow diagram, fitting
the screen at 1280x720 and 1920x1080, with small cells hatched and labels set as text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import ARTIFACTS, PHONE, PROJECTOR
from tests.conftest import Live, serve
from tests.test_shift import ROOM
from tests.test_shift_export import hold_both_votes
from townhall.programme import parse_programme

pytestmark = pytest.mark.browser

# A label that would be markup if it were ever set as HTML.
LABEL = "Split <i>now</i>"


@pytest.fixture
async def forum(tmp_path: Path) -> AsyncIterator[Live]:
    room = ROOM.replace('label = "Split"', f'label = "{LABEL}"')
    async with serve(parse_programme(room, source="battle.toml"), tmp_path) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield live
        finally:
            await live.close_clients()


async def page_at(browser: Browser, url: str, errors: list[str], phone: bool = False) -> Page:
    if phone:
        context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    else:
        context = await browser.new_context(viewport=PROJECTOR, locale="ko")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{url}: {e}"))
    await page.goto(url)
    return page


async def fits(page: Page) -> None:
    """Nothing of the comparison is cut off and the page does not scroll: the projector can't."""
    sizes = await page.evaluate(
        """() => {
          const shift = document.querySelector("#shift");
          const stage = document.querySelector(".stage").getBoundingClientRect();
          const parts = [shift, ...shift.querySelectorAll("*")]
            .map((e) => e.getBoundingClientRect());
          return {
            page: document.documentElement.scrollHeight, height: innerHeight,
            out: parts.filter((r) => r.width && (r.bottom > innerHeight || r.right > stage.right
              || r.top < 0 || r.left < stage.left)).length,
            labels: [...shift.querySelectorAll(".shift-label")].length,
          };
        }"""
    )
    assert sizes["page"] == sizes["height"] and sizes["out"] == 0, sizes
    assert sizes["labels"] == 6, sizes


async def test_the_host_shows_the_flow_on_the_projector(browser: Browser, forum: Live) -> None:
    errors: list[str] = []
    await hold_both_votes(forum)
    # The projector speaks the programme's English unless its address asks for Korean.
    screen = await page_at(browser, f"{forum.url}/screen/{forum.code}?lang=ko", errors)
    phone = await page_at(browser, f"{forum.url}/j/{forum.code}", errors, phone=True)
    host = await page_at(browser, f"{forum.url}/host/{forum.code}#key={forum.host_key}", errors)
    await host.locator(".agenda li", has_text="Final vote").get_by_role("button").click()
    panel = host.locator("#shift-panel")
    await expect(panel.locator(".shift-status")).to_have_text(
        "두 투표가 마감되었습니다. 공개하기 전까지는 진행자에게만 보입니다."
    )
    # The host sees every cell, the single movers too.
    await expect(
        panel.locator('.shift-body .shift-band[data-pre="a"][data-final="b"]')
    ).to_have_attribute("data-people", "1")
    await expect(screen.locator("#shift")).to_be_hidden()

    await panel.locator(".shift-toggle").click()
    await expect(panel.locator(".shift-status")).to_have_text("프로젝터와 휴대폰에 공개 중입니다.")
    shift = screen.locator("#shift")
    await expect(shift).to_be_visible()
    await expect(screen.locator("#item-title")).to_be_hidden()
    # By hand (tests.test_shift_export): 21 in both, a>a 5, and a>b, c>b one each.
    await expect(shift.locator(".shift-headline")).to_have_text(
        "21명 중 8명(38.1%)이 생각을 바꿨습니다"
    )
    await expect(shift.locator('.shift-band[data-pre="a"][data-final="a"]')).to_have_attribute(
        "data-people", "5"
    )
    # Alone in their cells, the two who changed their mind are hatched, not counted.
    hidden = shift.locator(".shift-band.hidden")
    assert await hidden.count() >= 2
    assert await shift.locator(".shift-band[data-people='1']").count() == 0
    label = shift.locator('.shift-labels.final .shift-label[data-option="b"] .shift-label-text')
    await expect(label).to_have_text(LABEL)
    assert await label.locator("i").count() == 0
    await expect(phone.locator("#shift-box .shift-headline")).to_have_text(
        "8 of 21 people (38.1%) changed their mind"
    )
    await fits(screen)

    ARTIFACTS.mkdir(exist_ok=True)
    await screen.screenshot(path=ARTIFACTS / "shift-projector-1280x720.png")
    await screen.set_viewport_size({"width": 1920, "height": 1080})
    await fits(screen)
    await screen.screenshot(path=ARTIFACTS / "shift-projector-1920x1080.png")
    await host.screenshot(path=ARTIFACTS / "shift-host.png", full_page=True)
    await phone.screenshot(path=ARTIFACTS / "shift-phone.png", full_page=True)

    # Shown, it stays on the projector as the agenda moves on, and the host can hide it from there.
    await host.locator(".agenda li", has_text="Panels").get_by_role("button").click()
    await expect(host.locator("#current-title")).to_have_text("Panels")
    await expect(shift).to_be_visible()
    await panel.locator(".shift-toggle").click()
    await expect(shift).to_be_hidden()
    await expect(panel).to_be_hidden()
    await expect(screen.locator("#item-title")).to_have_text("Panels")
    await expect(phone.locator("#shift-box")).to_be_hidden()
    assert errors == []
