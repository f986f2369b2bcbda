"""The selection end to end in a real Chromium: the live vote closes, committee members score
over real connections (one on the committee page, one as a Socket.IO client), the host
publishes, and the projector shows the ranked breakdown stacked by part."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import ARTIFACTS, PHONE, PROJECTOR
from tests.conftest import Live, serve, wait_until
from tests.test_committee import member_auth, programme
from townhall.model.commands import Role

pytestmark = pytest.mark.browser


@pytest.fixture
async def forum(tmp_path: Path) -> AsyncIterator[Live]:
    async with serve(programme(), tmp_path) as (townhall, url):
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


async def tap_score(page: Page, candidate: str, question: int, value: int) -> None:
    card = page.locator(f'.candidate-card[data-candidate="{candidate}"]')
    await (
        card.locator(f'.rubric-question[data-question="{question}"] .score-choice')
        .nth(value - 1)
        .click()
    )


async def test_the_projector_shows_the_ranked_breakdown_once_published(
    browser: Browser, forum: Live
) -> None:
    errors: list[str] = []
    host = await forum.host()
    phones = [(await forum.phone())[0] for _ in range(3)]
    assert (await host.call("poll_open", {"poll": "vote"}))["ok"]
    for n, choice in enumerate(["a", "b", "b"]):
        ack = await phones[n].call("vote", {"poll": "vote", "choices": [choice], "op": "1"})
        assert ack["ok"]
    assert (await host.call("poll_close", {"poll": "vote"}))["ok"]

    # Kim scores on the committee page, by tapping; a wrong link is told so.
    kim_key = member_auth(forum, "kim")["key"]
    bad = await page_at(browser, f"{forum.url}/committee/{forum.code}#member=kim&key=x", errors)
    await expect(bad.locator("#message")).to_contain_text("유효하지 않은 선정단 링크")
    kim = await page_at(
        browser, f"{forum.url}/committee/{forum.code}#member=kim&key={kim_key}", errors, phone=True
    )
    await expect(kim.locator("#conn")).to_have_text("Connected")
    assert "key=" not in kim.url  # the key leaves the address bar
    # The member is named as the programme names them; each score says what it means.
    await expect(kim.locator("#member")).to_have_text("김지현")
    first = kim.locator('.candidate-card[data-candidate="a"] .rubric-question[data-question="0"]')
    choices = first.locator(".score-choice")
    await expect(choices).to_have_text(["1Very poor", "2Poor", "3Fair", "4Good", "5Very good"])
    # Progress counts questions: one scored of a candidate's two is not the candidate done.
    await tap_score(kim, "a", 0, 5)
    await expect(choices.nth(4)).to_have_attribute("aria-pressed", "true")
    await expect(choices.nth(3)).to_have_attribute("aria-pressed", "false")
    card_a = kim.locator('.candidate-card[data-candidate="a"]')
    await expect(card_a.locator(".card-progress")).to_have_text("1 / 2 questions scored")
    await expect(kim.locator("#scored-count")).to_have_text("1 / 4 questions scored")
    # Tapping the chosen score again takes it back.
    await tap_score(kim, "a", 0, 5)
    await expect(choices.nth(4)).to_have_attribute("aria-pressed", "false")
    await expect(card_a.locator(".card-state")).to_have_text("Not scored")
    await expect(kim.locator("#scored-count")).to_have_text("0 / 4 questions scored")
    for candidate, scores in {"a": (5, 5), "b": (3, 4)}.items():
        for question, value in enumerate(scores):
            await tap_score(kim, candidate, question, value)
    for candidate in ("a", "b"):
        card = kim.locator(f'.candidate-card[data-candidate="{candidate}"]')
        await expect(card).to_have_attribute("data-scored", "2")
        await expect(card.locator(".card-state")).to_have_text("Saved")
        await expect(card.locator(".card-progress")).to_have_text("2 / 2 questions scored")
    await expect(kim.locator("#scored-count")).to_have_text("4 / 4 questions scored")
    # After a reload the page shows the same scores, pressed, from the server.
    await kim.reload()
    await expect(choices.nth(4)).to_have_attribute("aria-pressed", "true")
    await expect(kim.locator("#scored-count")).to_have_text("4 / 4 questions scored")
    # Lee scores over a Socket.IO connection, leaving one question of `a` unscored.
    lee = await forum.connect(member_auth(forum, "lee"))
    assert (await lee.call("score", {"candidate": "a", "scores": [4, None]}))["ok"]
    assert (await lee.call("score", {"candidate": "b", "scores": [2, 2]}))["ok"]

    screen = await page_at(browser, f"{forum.url}/screen/{forum.code}", errors)
    host_page = await page_at(
        browser, f"{forum.url}/host/{forum.code}#key={forum.host_key}", errors
    )
    # The host sees questions scored, by member (named) and by candidate; never which scores.
    await expect(host_page.locator('#selection-progress [data-member="kim"]')).to_have_text(
        "김지현: 4문항 중 4문항 평가"
    )
    await expect(host_page.locator('#selection-progress [data-member="lee"]')).to_have_text(
        "lee: 4문항 중 3문항 평가"
    )
    await expect(host_page.locator('#candidate-progress [data-candidate="a"]')).to_have_text(
        "Proposal A: 4문항 중 3문항 평가"
    )
    await expect(host_page.locator('#candidate-progress [data-candidate="b"]')).to_have_text(
        "Proposal B: 4문항 중 4문항 평가"
    )
    # Before publication the projector shows the agenda item and nothing of the scores.
    await expect(screen.locator("#selection")).to_be_hidden()
    await expect(kim.locator("#result-box")).to_be_hidden()

    await host_page.locator("#selection-publish").click()
    await expect(host_page.locator("#confirm-question")).to_have_text(
        "선정 결과를 프로젝터와 휴대폰에 발표할까요?"
    )
    await host_page.locator("#confirm-ok").click()
    await expect(host_page.locator("#selection-scoring")).to_have_text(
        "선정단 평가가 마감되었습니다."
    )

    # By hand: agreements 30/10, live vote 1/2, committee a (5+5+4)/3, b (3+4+2+2)/4.
    #   a: 25        + 25*1/2 = 12.5 + (14/3)/5*50 = 46.67  -> 84.17, one score missing
    #   b: 25*10/30 = 8.33 + 25      + 2.75/5*50 = 27.5     -> 60.83
    rows = screen.locator(".selection-row")
    await expect(screen.locator("#selection")).to_be_visible()
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_have_attribute("data-candidate", "a")
    await expect(rows.nth(0).locator(".selection-total")).to_have_text("84.17")
    await expect(rows.nth(1).locator(".selection-total")).to_have_text("60.83")
    await expect(rows.nth(0).locator(".selection-details")).to_contain_text("평가 1개 누락")
    widths = (
        await rows.nth(0)
        .locator(".stack-part")
        .evaluate_all("parts => parts.map(p => [p.dataset.part, p.style.width])")
    )
    assert widths == [["agreement", "25%"], ["live_vote", "12.5%"], ["committee", "46.67%"]]
    await expect(screen.locator(".selection-legend")).to_contain_text("선정단 평가 (50)")
    # The projector names the publication's line in the public record by its hash, and the
    # host screen shows the record's running digest.
    assert forum.townhall is not None
    published_seq = forum.forum.require_committee().published_seq
    published = await forum.townhall.book.digest_at(published_seq)
    assert published is not None
    await expect(screen.locator("#selection-digest")).to_have_text(
        f"이 결과의 기록 해시: {published[:12]}"
    )
    _, running = await forum.townhall.book.digest()
    await expect(host_page.locator("#record-digest")).to_contain_text(running[:16])
    # The pages connect over WebSocket, so broadcasts reach them by the fast path.
    fanout = forum.hub.transport  # the forum's channel: its rooms on the fanout
    assert fanout.layer.fanout is not None
    await wait_until(lambda: fanout.count(Role.SCREEN) == 1, "the projector page on the fanout")
    assert fanout.count(Role.COMMITTEE) == 2  # Kim's page and Lee's client
    # The member's phone now shows the result and can no longer change a score.
    await expect(kim.locator("#result-box")).to_be_visible()
    await expect(
        kim.locator('.candidate-card[data-candidate="a"] .score-choice').first
    ).to_be_disabled()
    locked = await lee.call("score", {"candidate": "b", "scores": [5, 5]})
    assert locked["error"]["code"] == "scoring_locked"

    ARTIFACTS.mkdir(exist_ok=True)
    await screen.screenshot(path=ARTIFACTS / "projector-selection.png")
    await kim.screenshot(path=ARTIFACTS / "committee-phone.png", full_page=True)
    await host_page.screenshot(path=ARTIFACTS / "host-selection.png", full_page=True)
    assert errors == []


async def test_the_host_hands_each_member_their_link_by_qr_code_or_copy(
    browser: Browser, forum: Live
) -> None:
    errors: list[str] = []
    host = await page_at(browser, f"{forum.url}/host/{forum.code}#key={forum.host_key}", errors)
    await host.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await host.get_by_text("선정단 링크", exact=True).click()
    links = host.locator("#committee-links .member-link")
    await expect(links).to_have_count(2)
    await expect(links.locator(".link-member")).to_have_text(["김지현", "lee"])
    kim = links.nth(0)
    url = await kim.get_by_role("textbox", name="김지현 님의 링크").input_value()
    assert (
        url
        == f"{forum.url}/committee/{forum.code}#member=kim&key={member_auth(forum, 'kim')['key']}"
    )
    qr = kim.get_by_role("img", name="김지현 님의 링크 QR 코드")
    assert (await qr.get_attribute("src") or "").startswith("data:image/svg+xml;base64,")
    # The image is drawn (the page's content security policy allows it), not a broken icon.
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "<code" not in await host.locator("#committee-links").inner_html()  # no raw address
    await kim.get_by_role("button", name="김지현 님의 링크 복사").click()
    await expect(kim.get_by_role("status")).to_have_text("복사했습니다.")
    assert await host.evaluate("navigator.clipboard.readText()") == url
    # The copied link opens that member's sheet, named.
    page = await page_at(browser, url, errors, phone=True)
    await expect(page.locator("#member")).to_have_text("김지현")
    ARTIFACTS.mkdir(exist_ok=True)
    await host.locator("#selection-panel").screenshot(path=ARTIFACTS / "host-committee-links.png")
    assert errors == []
