"""The host screen's safeguards in a real Chromium: questions before what changes or reveals
results, the highlighted button following the poll, the connection alert coming and going, a
wrong key told once and not retried, the join link and QR code, and the presenter's keys
(with the projector blanked and shown again)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser import PROJECTOR
from tests.conftest import Endpoint, Live, forum_programme, serve, wait_until
from tests.test_committee import programme as committee_programme

pytestmark = pytest.mark.browser

POLL_BUTTONS = ("#next", "#poll-open", "#poll-close", "#results-show")


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    context = await browser.new_context(viewport=PROJECTOR, locale="ko")
    try:
        yield context
    finally:
        await context.close()


async def host_page(context: BrowserContext, forum: Endpoint, errors: list[str]) -> Page:
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{forum.url}/host/{forum.code}#key={forum.host_key}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "up")
    return page


async def expect_primary(page: Page, primary: str) -> None:
    """`primary` is the one highlighted button of the agenda and poll controls."""
    for button in POLL_BUTTONS:
        if button == primary:
            await expect(page.locator(button)).to_have_class("primary")
        else:
            await expect(page.locator(button)).not_to_have_class("primary")


async def test_closing_asks_first_and_the_highlighted_button_follows_the_poll(
    context: BrowserContext, live: Live
) -> None:
    errors: list[str] = []
    page = await host_page(context, live, errors)
    dialog = page.locator("#confirm")
    await expect_primary(page, "#next")
    await page.locator("#next").click()
    await expect(page.locator("#current-title")).to_have_text("Candidate vote")
    await expect_primary(page, "#poll-open")
    await page.locator("#poll-open").click()  # a poll never opened opens without a question
    await expect(page.locator("#poll-status")).to_have_attribute("data-status", "open")
    await expect_primary(page, "#poll-close")

    # Esc, and then the Cancel button, leave the poll open.
    await page.locator("#poll-close").click()
    await expect(dialog).to_be_visible()
    await expect(page.locator("#confirm-question")).to_have_text(
        "‘Candidate vote’ 투표를 마감할까요?"
    )
    await expect(page.locator("#confirm-ok")).to_be_focused()
    # Focus stays in the question: Tab goes round its two buttons.
    await page.keyboard.press("Tab")
    await expect(page.locator("#confirm-cancel")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.locator("#confirm-ok")).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(page.locator("#confirm-cancel")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await page.locator("#poll-close").click()
    await page.locator("#confirm-cancel").click()
    await expect(dialog).to_be_hidden()
    # What the page sends next arrives after anything a cancel would have sent: once the
    # projector is blank, a close would be in already.
    await page.locator("#blank").click()
    await wait_until(lambda: live.forum.blank, "the projector blanked")
    assert live.forum.polls["vote"].status == "open"
    await page.locator("#blank").click()

    # Enter confirms.
    await page.locator("#poll-close").click()
    await expect(dialog).to_be_visible()
    await page.keyboard.press("Enter")
    await expect(page.locator("#poll-status")).to_have_attribute("data-status", "closed")
    await expect_primary(page, "#results-show")
    await expect(page.locator("#poll-open")).to_have_text("투표 다시 열기")

    await page.locator("#results-show").click()
    await expect(page.locator("#confirm-question")).to_have_text(
        "‘Candidate vote’ 결과를 프로젝터와 휴대폰에 보여줄까요?"
    )
    await page.locator("#confirm-ok").click()
    await expect(page.locator("#poll-visibility")).to_have_text("결과 표시 중")
    await expect_primary(page, "#next")

    # Reopening asks too; cancelled, the poll stays closed.
    await page.locator("#poll-open").click()
    await expect(page.locator("#confirm-question")).to_have_text(
        "‘Candidate vote’ 투표를 다시 열까요?"
    )
    await page.keyboard.press("Escape")
    await page.locator("#next").click()
    await expect(page.locator("#current-title")).to_have_text("Several choices")
    assert live.forum.polls["vote"].status == "closed"
    # A live poll shows its results from the start: once closed, the next step is moving on.
    await page.locator("#poll-open").click()
    await expect_primary(page, "#poll-close")
    await page.locator("#poll-close").click()
    await page.locator("#confirm-ok").click()
    await expect(page.locator("#poll-status")).to_have_attribute("data-status", "closed")
    await expect_primary(page, "#next")
    assert errors == []


async def test_the_connection_alert_comes_when_the_server_goes_and_clears_when_it_is_back(
    browser: Browser, tmp_path: Path
) -> None:
    errors: list[str] = []
    context = await browser.new_context(viewport=PROJECTOR, locale="ko")
    async with serve(forum_programme(), tmp_path) as (townhall, url):
        port = int(url.rsplit(":", 1)[1])
        forum = Endpoint(url, townhall.keys.code, townhall.keys.host_key)
        page = await host_page(context, forum, errors)
        await expect(page.locator("#message")).to_be_hidden()
    alert = page.get_by_role("alert")
    await expect(alert).to_have_text("연결이 끊겼습니다. 다시 연결하는 중…")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "down")

    async with serve(forum_programme(), tmp_path, port=port):
        await expect(page.locator("#conn")).to_have_attribute("data-state", "up", timeout=15_000)
        await expect(alert).to_be_hidden()
        # The page works again: the agenda moves.
        await page.keyboard.press("PageDown")
        await expect(page.locator("#current-title")).to_have_text("Candidate vote")
    await context.close()
    assert errors == []


async def count_connection_attempts(page: Page, url: str) -> tuple[list[str], list[str]]:
    """Opens `url` on `page` with its timers under the test's hand; returns the lists that
    gather every WebSocket it opens and every other request it makes."""
    sockets: list[str] = []
    requests: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.on("request", lambda r: requests.append(r.url))
    await page.clock.install()
    await page.goto(url)
    return sockets, requests


async def test_a_wrong_host_key_is_told_and_not_tried_again(
    context: BrowserContext, live: Live
) -> None:
    page = await context.new_page()
    sockets, requests = await count_connection_attempts(
        page, f"{live.url}/host/{live.code}#key=not-the-key"
    )
    await expect(page.get_by_role("alert")).to_have_text(
        "이 링크의 진행자 키가 틀렸습니다. 안내받은 진행자 링크를 그대로 여세요."
    )
    await expect(page.locator("#conn")).to_have_text("연결 안 됨")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "refused")
    made = len(requests)
    # Ten minutes of the page's timers: a reconnect or a poll for the record's digest would go.
    await page.clock.run_for(600_000)
    await page.evaluate("fetch('/healthz')")
    await wait_until(lambda: requests[-1].endswith("/healthz"), "the marker request")
    assert requests[made:] == [f"{live.url}/healthz"]
    assert len(sockets) == 1
    assert live.hub.presence()["host"] == 0


async def test_a_wrong_committee_link_is_told_and_not_tried_again(
    context: BrowserContext, tmp_path: Path
) -> None:
    async with serve(committee_programme(), tmp_path) as (townhall, url):
        page = await context.new_page()
        code = townhall.keys.code
        sockets, requests = await count_connection_attempts(
            page, f"{url}/committee/{code}#member=kim&key=not-the-key"
        )
        await expect(page.get_by_role("alert")).to_have_text(
            "유효하지 않은 선정단 링크입니다. 진행자에게 본인 링크를 받으세요."
        )
        await expect(page.locator("#conn")).to_have_attribute("data-state", "refused")
        made = len(requests)
        await page.clock.run_for(600_000)
        await page.evaluate("fetch('/healthz')")
        await wait_until(lambda: requests[-1].endswith("/healthz"), "the marker request")
        assert requests[made:] == [f"{url}/healthz"]
        assert len(sockets) == 1


async def test_the_join_link_and_its_qr_code_are_on_the_host_page(
    context: BrowserContext, live: Live
) -> None:
    errors: list[str] = []
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = await host_page(context, live, errors)
    join = f"{live.url}/j/{live.code}"
    await expect(page.locator("#join-url")).to_have_value(join)
    qr = page.get_by_role("img", name="참여용 QR 코드")
    await expect(qr).to_have_attribute("src", f"/qr/{live.code}.svg")
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
    await page.get_by_role("button", name="참여 링크 복사").click()
    await expect(page.locator("#join-copied")).to_have_text("복사했습니다.")
    assert await page.evaluate("navigator.clipboard.readText()") == join
    assert errors == []


async def test_the_presenter_keys_move_reveal_and_blank_but_not_while_typing(
    context: BrowserContext, live: Live
) -> None:
    errors: list[str] = []
    page = await host_page(context, live, errors)
    screen = await context.new_page()
    screen.on("pageerror", lambda e: errors.append(f"screen: {e}"))
    await screen.goto(f"{live.url}/screen/{live.code}")
    await expect(screen.locator("#item-title")).to_have_text("Opening")
    black = screen.locator("#blanked")
    await expect(black).to_be_hidden()

    await page.keyboard.press("PageDown")
    await expect(page.locator("#current-title")).to_have_text("Candidate vote")
    await expect(screen.locator("#item-title")).to_have_text("Candidate vote")
    await page.keyboard.press("ArrowRight")
    await expect(page.locator("#current-title")).to_have_text("Several choices")
    await page.keyboard.press("PageUp")
    await expect(page.locator("#current-title")).to_have_text("Candidate vote")

    # B blanks the projector; a reloaded projector stays black; "." brings it back.
    await page.keyboard.press("b")
    await expect(black).to_be_visible()
    await expect(page.locator("#blank")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#blank-note")).to_be_visible()
    await screen.reload()
    await expect(black).to_be_visible()
    assert await black.evaluate("node => getComputedStyle(node).backgroundColor") == "rgb(0, 0, 0)"
    box = await black.bounding_box()
    assert box is not None and (box["width"], box["height"]) == (1280, 720)
    # Each press toggles the state the host page has heard: wait for it between presses.
    pressed = page.locator("#blank")
    await page.keyboard.press(".")
    await expect(black).to_be_hidden()
    await expect(pressed).to_have_attribute("aria-pressed", "false")
    await page.keyboard.press("B")
    await expect(black).to_be_visible()
    await expect(pressed).to_have_attribute("aria-pressed", "true")
    await page.keyboard.press("B")
    await expect(black).to_be_hidden()
    await expect(page.locator("#blank-note")).to_be_hidden()

    # Typed into a field, the same keys are text, not commands.
    field = page.locator("#join-url")
    await field.focus()
    for key in ("b", "PageDown", "ArrowRight", ".", "Space", "r", "?"):
        await field.press(key)
    await page.locator("#current-title").click()  # out of the field
    await page.keyboard.press("ArrowLeft")  # the next command in: the ones before it did nothing
    await expect(page.locator("#current-title")).to_have_text("Opening")
    await expect(black).to_be_hidden()
    assert live.forum.current == 0 and not live.forum.blank

    # R shows a closed poll's results, asking first.
    host = await live.open_poll("vote")
    assert (await host.call("poll_close", {"poll": "vote"}))["ok"]
    await expect(page.locator("#poll-status")).to_have_attribute("data-status", "closed")
    await page.keyboard.press("r")
    await expect(page.locator("#confirm-question")).to_have_text(
        "‘Candidate vote’ 결과를 프로젝터와 휴대폰에 보여줄까요?"
    )
    await page.keyboard.press("PageDown")  # while a question is open, keys are the question's
    await page.keyboard.press("Enter")
    await expect(page.locator("#poll-visibility")).to_have_text("결과 표시 중")
    assert live.forum.current == 1

    # "?" lists the keys; Esc closes the list.
    await page.keyboard.press("?")
    help_list = page.get_by_role("dialog", name="키보드 단축키")
    await expect(help_list).to_be_visible()
    await expect(help_list).to_contain_text("PageDown")
    await page.keyboard.press("Escape")
    await expect(help_list).to_be_hidden()
    assert errors == []
