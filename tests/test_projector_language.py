"""The projector speaks the programme's language, whatever the laptop's browser asks for or the
host chose on their own page; its address (`?lang=`) and its L key switch it."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser import PROJECTOR
from tests.conftest import Live
from townhall import i18n


async def test_the_projector_page_is_in_the_programme_language(live: Live) -> None:
    english_laptop = {
        "accept-language": "en-US,en;q=0.9",
        "cookie": f"{i18n.LANG_COOKIE}=en",  # the host picked English on the host page
    }
    async with httpx.AsyncClient(base_url=live.url, headers=english_laptop) as http:
        korean = await http.get(f"/screen/{live.code}")
        asked = await http.get(f"/screen/{live.code}", params={"lang": "en"})
        unknown = await http.get(f"/screen/{live.code}", params={"lang": "xx"})
        host = await http.get(f"/host/{live.code}")
    assert '<html lang="ko">' in korean.text and "연결 중" in korean.text
    assert '<html lang="en">' in asked.text and "Connecting" in asked.text
    assert '<html lang="ko">' in unknown.text  # not a language: the programme's
    assert '<html lang="en">' in host.text  # the host's own page keeps the host's choice


@pytest.mark.browser
async def test_the_l_key_switches_the_projector_language(browser: Browser, live: Live) -> None:
    context = await browser.new_context(viewport=PROJECTOR, locale="en-US")
    screen = await context.new_page()
    await screen.goto(f"{live.url}/screen/{live.code}")
    await expect(screen.locator("html")).to_have_attribute("lang", "ko")
    await expect(screen.locator("#conn")).to_have_attribute("data-state", "up")
    await screen.keyboard.press("l")
    await expect(screen.locator("html")).to_have_attribute("lang", "en")
    assert screen.url.endswith(f"/screen/{live.code}?lang=en")
    await live.open_poll("vote")
    await expect(screen.locator("#results-note")).to_have_text("Results will be shown by the host.")
    await screen.keyboard.press("Shift+L")
    await expect(screen.locator("html")).to_have_attribute("lang", "ko")
    await expect(screen.locator("#results-note")).to_have_text("결과는 진행자가 공개합니다.")
