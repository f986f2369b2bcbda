"""The new item kinds checked by axe-core like every other page (test_browser_a11y.py): a
ranking part-placed and its points, a scale chosen and its distribution, a word item's answer
box, one's own answers and the cloud, on the phone, the host screen and the projector."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.axe import Audit
from tests.conftest import Live, serve
from tests.test_browser_a11y import SIZES, check_all, connected, open_page
from tests.test_browser_projector_fit_kinds import ROOM
from townhall.programme import parse_programme
from townhall.wordcloud import cut_answers, in_tokenizer

pytestmark = pytest.mark.browser


@pytest.fixture(params=SIZES)
def size(request: pytest.FixtureRequest) -> ViewportSize:
    return SIZES[request.param]


async def test_ranking_scale_and_words(
    browser: Browser, tmp_path: Path, size: ViewportSize
) -> None:
    audit = Audit()
    errors: list[str] = []
    async with serve(parse_programme(ROOM, source="kinds.toml"), tmp_path) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            hub = await live.host()
            host = await connected(
                await open_page(
                    browser, f"{url}/host/{live.code}#key={live.host_key}", size, errors
                )
            )
            screen = await connected(
                await open_page(browser, f"{url}/screen/{live.code}", size, errors)
            )
            phone = await connected(await open_page(browser, f"{url}/j/{live.code}", size, errors))
            pages = {"phone": phone, "host": host, "screen": screen}

            assert (await hub.call("poll_open", {"poll": "rank"}))["ok"]
            await phone.locator(".rank-option").nth(2).click()
            await phone.locator(".rank-option").nth(0).click()
            await expect(phone.locator(".rank-order li")).to_have_count(2)
            await check_all(audit, pages, "ranking open, two placed")
            ids = [f"r{n}" for n in range(1, 9)]
            voter, _ = await live.phone()
            assert (await voter.call("vote", {"poll": "rank", "choices": ids, "op": "1"}))["ok"]
            assert (await hub.call("results_show", {"poll": "rank"}))["ok"]
            await expect(screen.locator(".ranking-method")).to_be_visible()
            await check_all(audit, pages, "ranking results")

            assert (await hub.call("goto", {"item": "scale"}))["ok"]
            assert (await hub.call("poll_open", {"poll": "scale"}))["ok"]
            await phone.locator("#options").get_by_text("7", exact=True).click()
            await phone.locator("#vote").click()
            await expect(phone.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
            await check_all(audit, pages, "scale open, voted")
            assert (await hub.call("results_show", {"poll": "scale"}))["ok"]
            await expect(screen.locator(".scale-mean")).to_be_visible()
            await check_all(audit, pages, "scale results")

            assert await in_tokenizer(cut_answers, ["책"]) == [("책",)]
            assert (await hub.call("goto", {"item": "words"}))["ok"]
            await phone.locator("#post-text").fill("도서관 고양이")
            await phone.locator("#post-send").click()
            await expect(phone.locator("#my-answers-list .answer")).to_have_count(1)
            await expect(screen.locator("#cloud .cloud-word")).to_have_count(2)
            await check_all(audit, pages, "word item with an answer and its cloud")
            audit.assert_clean()
            assert errors == []
        finally:
            await live.close_clients()
