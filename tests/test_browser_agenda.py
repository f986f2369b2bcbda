"""The host changes the agenda on the host page in Chromium: a quick poll added, refused first
with the reason beside the form, then opened and voted on by a phone; its title corrected."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser import PROJECTOR
from tests.conftest import Live
from tests.test_browser import phone_page

pytestmark = pytest.mark.browser


async def test_the_host_adds_a_quick_poll_and_a_phone_votes_on_it(
    browser: Browser, live: Live
) -> None:
    errors: list[str] = []
    context = await browser.new_context(viewport=PROJECTOR, locale="ko")
    host = await context.new_page()
    host.on("pageerror", lambda e: errors.append(f"host: {e}"))
    await host.goto(f"{live.url}/host/{live.code}#key={live.host_key}")
    await expect(host.locator("#conn")).to_have_text("연결됨")

    await host.get_by_text("이 안건 다음에 즉석 투표 추가").click()
    await host.get_by_label("질문", exact=True).fill("점심은 무엇으로 할까요?")
    await host.get_by_label("선택지 1").fill("김밥")
    await host.get_by_label("선택지 2").fill("김밥")
    await host.get_by_role("button", name="투표 추가").click()
    await expect(host.locator("#quick-poll-error")).to_contain_text("같은 문구의 선택지")
    await host.get_by_label("선택지 2").fill("비빔밥")
    await host.get_by_role("button", name="선택지 추가", exact=True).click()
    await host.get_by_label("선택지 3").fill("라면")
    await host.get_by_role("button", name="투표 추가").click()
    await expect(host.locator("#agenda-state")).to_contain_text("점심은 무엇으로 할까요?")
    await expect(host.locator("#quick-poll-error")).to_be_hidden()
    await expect(host.locator("#agenda li").nth(1)).to_contain_text("점심은 무엇으로 할까요?")

    await host.get_by_role("button", name="다음 ▶").click()
    await expect(host.locator("#current-title")).to_have_text("점심은 무엇으로 할까요?")
    await host.get_by_text("이 안건의 문구 고치기").click()
    await host.locator("#wording-title").fill("점심 메뉴")
    await host.get_by_role("button", name="문구 저장").click()
    await expect(host.locator("#current-title")).to_have_text("점심 메뉴")
    await host.get_by_role("button", name="투표 시작").click()

    phone = await phone_page(browser, live)
    phone.on("pageerror", lambda e: errors.append(f"phone: {e}"))
    await expect(phone.locator("#item-title")).to_have_text("점심 메뉴")
    await phone.get_by_label("라면").check()
    await phone.get_by_role("button", name="투표하기").click()
    await expect(phone.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
    await expect(host.locator('.bar-row[data-option="o3"] .bar-count')).to_have_text("1 · 100%")
    assert live.forum.polls["quick-1"].counts == {"o1": 0, "o2": 0, "o3": 1}
    assert errors == []
