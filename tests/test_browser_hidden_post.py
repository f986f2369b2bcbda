"""A post the moderator hid, on its author's phone in a real Chromium: it says so, live and after
a reload, while a post still waiting says that; nobody else's phone shows anything of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser import ARTIFACTS
from tests.conftest import ENGINES, Endpoint, serve
from tests.test_browser_boards import (
    BOARDS_ROOM,
    Trouble,
    open_host,
    open_phone,
    post,
    send_post,
)
from townhall.programme import parse_programme

pytestmark = pytest.mark.browser

SENT = "보냈습니다. 진행자가 승인하면 게시됩니다."


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_author_is_told_their_post_was_hidden_also_after_a_reload(
    browser: Browser, engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    trouble = Trouble()
    more = {"redis_url": request.getfixturevalue("redis_url")} if engine == "redis" else {}
    programme = parse_programme(BOARDS_ROOM, source="boards.toml")
    async with serve(programme, tmp_path, **more) as (townhall, url):
        forum = Endpoint(url, townhall.keys.code, townhall.keys.host_key)
        host = await open_host(browser, forum, trouble)
        author = await open_phone(browser, forum, trouble, "author")
        other = await open_phone(browser, forum, trouble, "other")
        rude, fair = "무례한 글입니다", "공정한 질문입니다"
        await send_post(author, rude, name="지우", expected=SENT)
        await send_post(author, fair, expected=SENT)
        await expect(host.locator("#queue-title")).to_have_text("승인 대기 (2)")

        await post(host, "queue-list", rude).get_by_role("button", name="숨기기").click()
        await expect(post(host, "hidden-list", rude)).to_be_visible()
        # The author's phone says so at once; the other post still waits.
        hidden = post(author, "my-pending-list", rude)
        await expect(hidden.locator(".post-waiting")).to_have_text("진행자가 숨김")
        await expect(hidden).to_have_attribute("data-state", "hidden")
        await expect(post(author, "my-pending-list", fair).locator(".post-waiting")).to_have_text(
            "승인 대기 중"
        )
        await expect(author.locator("#my-pending-title")).to_have_text("게시판에 보이지 않는 내 글")

        # After a reload, the same: the author's own posts include the hidden one.
        await author.reload()
        await expect(author.locator("#conn")).to_have_attribute("data-state", "up")
        await expect(hidden.locator(".post-waiting")).to_have_text("진행자가 숨김")
        await expect(post(author, "my-pending-list", fair).locator(".post-waiting")).to_have_text(
            "승인 대기 중"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        await author.screenshot(path=ARTIFACTS / f"phone-hidden-post-{engine}.png", full_page=True)
        # Nobody else's phone shows anything of it, reloaded or not.
        await other.reload()
        await expect(other.locator("#conn")).to_have_attribute("data-state", "up")
        await expect(other.locator("#my-pending")).to_be_hidden()
        assert rude not in await other.content()

        # Shown again by the host: on the board, the author's own, no longer in their list.
        await post(host, "hidden-list", rude).get_by_role("button", name="다시 보이기").click()
        await expect(post(author, "post-list", rude).locator(".post-mine")).to_be_visible()
        await expect(post(author, "my-pending-list", rude)).to_have_count(0)
        await expect(post(other, "post-list", rude)).to_be_visible()
        assert trouble.errors == []
        assert trouble.dialogs == []
