"""The moderator's screen in a real headless Chromium: the host hands over the link, the
moderator approves what a phone sent (the phone and the projector see it), keeps any board of
the agenda, and has no way to move the agenda: no control for it, and a forged message is
refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import ARTIFACTS
from tests.conftest import Endpoint, serve
from tests.test_browser_boards import (
    BOARDS_ROOM,
    HOST_VIEW,
    Trouble,
    open_host,
    open_phone,
    open_screen,
    post,
    send_post,
)
from townhall.programme import parse_programme

pytestmark = pytest.mark.browser

PENDING = "보냈습니다. 진행자가 승인하면 게시됩니다."

# What a page script can do with the moderator's key, whatever the page draws: connect and send
# the host's commands.
FORGED = """async ([code, storeKey]) => {
  const { io } = await import("/vendor/socket.io.esm.min.js");
  const key = sessionStorage.getItem(storeKey);
  const socket = io({ auth: { role: "moderator", code, key }, transports: ["websocket"] });
  await new Promise((resolve) => socket.on("connect", resolve));
  const replies = {};
  const host = [["next", {}], ["goto", { item: "pick" }], ["poll_open", { poll: "pick" }]];
  for (const [event, payload] of host) {
    replies[event] = await socket.timeout(5000).emitWithAck(event, payload);
  }
  socket.disconnect();
  return { key: Boolean(key), replies };
}"""


async def open_moderator(browser: Browser, link: str, trouble: Trouble) -> Page:
    context = await browser.new_context(viewport=HOST_VIEW, locale="ko")
    page = trouble.watch(await context.new_page(), "moderator")
    await page.goto(link)
    return page


async def test_a_moderator_keeps_the_boards_and_nothing_else(
    browser: Browser, tmp_path: Path
) -> None:
    trouble = Trouble()
    programme = parse_programme(BOARDS_ROOM, source="boards.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        forum = Endpoint(url, townhall.keys.code, townhall.keys.host_key)
        host = await open_host(browser, forum, trouble)
        await host.context.grant_permissions(["clipboard-read", "clipboard-write"])

        # The host's screen holds the link and copies it.
        await host.get_by_text("게시판 관리자 링크", exact=True).click()
        link = await host.locator("#moderator-link").input_value()
        assert link.startswith(f"{url}/moderate/{forum.code}#key=")
        await host.get_by_role("button", name="게시판 관리자 링크 복사").click()
        await expect(host.locator("#moderator-copied")).to_have_text("복사했습니다.")
        assert await host.evaluate("navigator.clipboard.readText()") == link

        moderator = await open_moderator(browser, link, trouble)
        await expect(moderator.locator("#conn")).to_have_attribute("data-state", "up")
        assert "key=" not in moderator.url, "the key leaves the address bar"
        await expect(moderator.locator("#now-title")).to_have_text("Ask the panel")
        tabs = moderator.locator("#board-tabs button")
        await expect(tabs).to_have_text(["Ask the panel (지금)", "Share ideas"])
        await expect(tabs.first).to_have_attribute("aria-pressed", "true")

        # A phone asks; the question waits for the moderator, who approves it.
        screen = await open_screen(browser, forum, trouble)
        phone = await open_phone(browser, forum, trouble, "phone")
        question = "예산은 누가 정하나요?"
        await send_post(phone, question, name="지우", expected=PENDING)
        await expect(moderator.locator("#queue-title")).to_have_text("승인 대기 (1)")
        await post(moderator, "queue-list", question).get_by_role("button", name="승인").click()
        await expect(post(screen, "post-list", question)).to_be_visible()
        await expect(post(phone, "post-list", question).locator(".post-mine")).to_be_visible()
        await expect(post(host, "post-list", question)).to_be_visible()
        await (
            post(moderator, "post-list", question)
            .get_by_role("button", name="답변 중으로 고정")
            .click()
        )
        await expect(post(screen, "pinned-list", question)).to_be_visible()

        # Another board, ahead of its turn: the ideas that have come in already.
        await tabs.nth(1).click()
        await expect(moderator.locator("#board-title")).to_have_text("Share ideas")
        await expect(moderator.locator("#no-posts")).to_be_visible()
        await expect(moderator.locator("#now-title")).to_have_text("Ask the panel")

        # No control moves the agenda, a poll, the timer or the selection; nor promotes ideas.
        for selector in (
            "#prev",
            "#next",
            "#agenda",
            ".go",
            "#poll-open",
            "#timer-start",
            "#promote",
            "#selection-publish",
            "#code-revoke-form",
        ):
            await expect(moderator.locator(selector)).to_have_count(0)
        forged = await moderator.evaluate(FORGED, [forum.code, f"townhall-moderator-{forum.code}"])
        assert forged["key"], "the forgery used the moderator's own key"
        for event, reply in forged["replies"].items():
            assert reply["ok"] is False and reply["error"]["code"] == "forbidden", event
        assert townhall.engine.forum.current == 0

        # The host moves on to the ideas: the moderator's screen follows the agenda.
        await host.get_by_role("button", name="다음 ▶").click()
        await expect(moderator.locator("#now-title")).to_have_text("Share ideas")
        await expect(tabs).to_have_text(["Ask the panel", "Share ideas (지금)"])
        await send_post(phone, "밤 도서관")
        await expect(post(moderator, "post-list", "밤 도서관")).to_be_visible()
        await post(moderator, "post-list", "밤 도서관").get_by_role("button", name="숨기기").click()
        await expect(post(screen, "post-list", "밤 도서관")).to_have_count(0)
        await expect(post(moderator, "hidden-list", "밤 도서관")).to_be_visible()

        ARTIFACTS.mkdir(exist_ok=True)
        await moderator.screenshot(path=ARTIFACTS / "moderator.png", full_page=True)
        await host.screenshot(path=ARTIFACTS / "moderator-host-link.png", full_page=True)
    assert trouble.errors == []
    assert trouble.dialogs == []


async def test_a_wrong_moderator_link_says_so(browser: Browser, tmp_path: Path) -> None:
    trouble = Trouble()
    programme = parse_programme(BOARDS_ROOM, source="boards.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        page = await open_moderator(
            browser, f"{url}/moderate/{townhall.keys.code}#key={townhall.keys.host_key}", trouble
        )
        await expect(page.locator("#message")).to_have_text(
            "유효하지 않은 게시판 관리자 링크입니다. 진행자에게 링크를 다시 받으세요."
        )
        await expect(page.locator("#board")).to_be_hidden()
    assert trouble.errors == []
