"""Every page in every state the room reaches, checked by axe-core (WCAG 2.2 A and AA, and axe's
best practices) with the pages' content security policy on, at phone and laptop sizes.
What axe cannot see is in test_browser_a11y_beyond_axe.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.axe import Audit, violations
from tests.browser import LAPTOP, PHONE
from tests.conftest import Endpoint, Live, serve, serve_forums
from tests.jury_room import served_jury
from tests.test_browser_boards import BOARDS_ROOM, post, send_post
from tests.test_committee import member_auth
from tests.test_committee import programme as committee_programme
from tests.test_shift import ROOM as SHIFT_ROOM
from tests.test_shift_export import hold_both_votes
from townhall.programme import parse_programme

pytestmark = pytest.mark.browser

SIZES = {"phone": PHONE, "laptop": LAPTOP}


@pytest.fixture(params=SIZES)
def size(request: pytest.FixtureRequest) -> ViewportSize:
    return SIZES[request.param]


async def open_page(browser: Browser, url: str, size: ViewportSize, errors: list[str]) -> Page:
    phone = size == PHONE
    context = await browser.new_context(
        viewport=size, is_mobile=phone, has_touch=phone, locale="ko"
    )
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(f"{url}: {e}"))
    await page.goto(url)
    return page


async def connected(page: Page) -> Page:
    await expect(page.locator("#conn")).to_have_attribute("data-state", "up")
    return page


async def check_all(audit: Audit, pages: dict[str, Page], state: str) -> None:
    for name, page in pages.items():
        await audit.check(page, f"{name}: {state}")


# A page script that tries inline code, which the policy must block, and draws an image
# without a text alternative, which axe-core must report.
BREAK_THE_PAGE = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__inline = true";
  document.body.append(script);
  const img = document.createElement("img");
  img.src = "/qr/" + document.title + ".svg";
  document.querySelector("main").append(img);
  return window.__inline === true;
}"""


async def test_axe_runs_with_the_policy_on_and_reports_what_is_wrong(
    browser: Browser, live: Live
) -> None:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    response = await page.goto(f"{live.url}/j/{live.code}")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    await connected(page)
    assert await violations(page) == []
    assert await page.evaluate(BREAK_THE_PAGE) is False, "the policy let inline script run"
    assert [rule["id"] for rule in await violations(page)] == ["image-alt"]
    await context.close()


async def test_phone_host_and_projector_through_the_agenda(
    browser: Browser, live: Live, size: ViewportSize
) -> None:
    audit = Audit()
    errors: list[str] = []
    landing = await open_page(browser, f"{live.url}/", size, errors)
    await audit.check(landing, "landing")
    host = await connected(
        await open_page(browser, f"{live.url}/host/{live.code}#key={live.host_key}", size, errors)
    )
    screen = await connected(
        await open_page(browser, f"{live.url}/screen/{live.code}", size, errors)
    )
    phone = await connected(await open_page(browser, f"{live.url}/j/{live.code}", size, errors))
    pages = {"phone": phone, "host": host, "screen": screen}

    await host.locator("#timer-start").click()
    await expect(phone.locator("#item-timer")).to_be_visible()
    await check_all(audit, pages, "talk, timer running")

    hub = await live.host()
    assert (await hub.call("goto", {"item": "vote"}))["ok"]
    assert (await hub.call("poll_open", {"poll": "vote"}))["ok"]
    await expect(phone.get_by_label("Proposal B")).to_be_enabled()
    await check_all(audit, pages, "poll open")

    await phone.get_by_label("Proposal B").check()
    await phone.locator("#vote").click()
    await expect(phone.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
    await audit.check(phone, "phone: voted")

    await host.locator("#results-show").click()
    await expect(host.locator("#confirm")).to_be_visible()
    await audit.check(host, "host: asking to show results")
    await host.locator("#confirm-ok").click()
    await expect(screen.locator('.bar-row[data-option="b"] .bar-count')).to_have_text("1 · 100%")
    await expect(phone.locator("#results")).to_be_visible()
    await check_all(audit, pages, "results shown")
    assert (await hub.call("screen_blank"))["ok"]
    await expect(screen.locator("#blanked")).to_be_visible()
    await audit.check(screen, "screen: blanked")
    await audit.check(host, "host: projector blanked")
    assert (await hub.call("screen_unblank"))["ok"]

    assert (await hub.call("goto", {"item": "qna"}))["ok"]
    await send_post(phone, "도서관은 밤 몇 시까지 여나요?")
    await send_post(phone, "주차는 어디에 하나요?")
    await post(phone, "post-list", "주차는 어디에 하나요?").get_by_role("button").click()
    await (
        post(host, "post-list", "도서관은 밤 몇 시까지 여나요?")
        .get_by_role("button", name="답변 중으로 고정")
        .click()
    )
    await expect(post(screen, "pinned-list", "도서관은 밤 몇 시까지 여나요?")).to_be_visible()
    await check_all(audit, pages, "board with posts, one pinned")

    await host.locator("#shortcuts-open").click()
    await expect(host.locator("#shortcuts")).to_be_visible()
    await audit.check(host, "host: shortcuts list")
    audit.assert_clean()
    assert errors == []


async def test_moderated_boards_with_pending_and_hidden_posts(
    browser: Browser, tmp_path: Path, size: ViewportSize
) -> None:
    audit = Audit()
    errors: list[str] = []
    programme = parse_programme(BOARDS_ROOM, source="boards.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        forum = Endpoint(url, townhall.keys.code, townhall.keys.host_key)
        host = await connected(
            await open_page(browser, f"{url}/host/{forum.code}#key={forum.host_key}", size, errors)
        )
        await host.locator("#moderator-box summary").click()
        link = await host.locator("#moderator-link").input_value()
        moderator = await connected(await open_page(browser, link, size, errors))
        screen = await connected(
            await open_page(browser, f"{url}/screen/{forum.code}", size, errors)
        )
        phone = await connected(await open_page(browser, f"{url}/j/{forum.code}", size, errors))
        pages = {"phone": phone, "host": host, "moderator": moderator, "screen": screen}

        pending = "보냈습니다. 진행자가 승인하면 게시됩니다."
        await send_post(phone, "예산은 누가 정하나요?", name="지우", expected=pending)
        await send_post(phone, "회의록은 어디서 보나요?", name="지우", expected=pending)
        await send_post(phone, "광고 글입니다", name="지우", expected=pending)
        await expect(moderator.locator("#queue-title")).to_have_text("승인 대기 (3)")
        await check_all(audit, pages, "posts waiting for approval")

        await (
            post(moderator, "queue-list", "예산은 누가 정하나요?")
            .get_by_role("button", name="승인")
            .click()
        )
        await (
            post(moderator, "queue-list", "광고 글입니다")
            .get_by_role("button", name="숨기기")
            .click()
        )
        await expect(post(host, "hidden-list", "광고 글입니다")).to_be_visible()
        await expect(post(screen, "post-list", "예산은 누가 정하나요?")).to_be_visible()
        await check_all(audit, pages, "one shown, one waiting, one hidden")

        await host.get_by_role("button", name="다음 ▶").click()
        await expect(moderator.locator("#now-title")).to_have_text("Share ideas")
        await send_post(phone, "밤 도서관")
        await send_post(phone, "주말 강좌")
        await expect(post(host, "post-list", "주말 강좌")).to_be_visible()
        await check_all(audit, pages, "ideas board")
    audit.assert_clean()
    assert errors == []


async def test_the_selection_from_scoring_to_publication(
    browser: Browser, tmp_path: Path, size: ViewportSize
) -> None:
    audit = Audit()
    errors: list[str] = []
    async with serve(committee_programme(), tmp_path) as (townhall, url):
        forum = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        hub = await forum.host()
        voter = (await forum.phone())[0]
        assert (await hub.call("poll_open", {"poll": "vote"}))["ok"]
        assert (await voter.call("vote", {"poll": "vote", "choices": ["a"], "op": "1"}))["ok"]
        assert (await hub.call("poll_close", {"poll": "vote"}))["ok"]
        kim_key = member_auth(forum, "kim")["key"]
        committee = await connected(
            await open_page(
                browser, f"{url}/committee/{forum.code}#member=kim&key={kim_key}", size, errors
            )
        )
        await audit.check(committee, "committee: nothing scored")
        card = committee.locator('.candidate-card[data-candidate="a"]')
        await card.locator('.rubric-question[data-question="0"] .score-choice').nth(3).click()
        await expect(card.locator(".card-state")).to_have_text("저장됨")
        await audit.check(committee, "committee: one score saved")

        host = await connected(
            await open_page(browser, f"{url}/host/{forum.code}#key={forum.host_key}", size, errors)
        )
        screen = await connected(
            await open_page(browser, f"{url}/screen/{forum.code}", size, errors)
        )
        phone = await connected(await open_page(browser, f"{url}/j/{forum.code}", size, errors))
        await expect(host.locator('#selection-progress [data-member="kim"]')).to_contain_text("1")
        await audit.check(host, "host: selection before publication")

        assert (await hub.call("selection_publish", {}))["ok"]
        await expect(screen.locator("#selection")).to_be_visible()
        await expect(phone.locator("#selection-box")).to_be_visible()
        await expect(committee.locator("#result-box")).to_be_visible()
        pages = {"phone": phone, "host": host, "screen": screen, "committee": committee}
        await check_all(audit, pages, "selection published")
        await forum.close_clients()
    audit.assert_clean()
    assert errors == []


async def test_the_console_pages(browser: Browser, tmp_path: Path, size: ViewportSize) -> None:
    audit = Audit()
    errors: list[str] = []
    async with serve_forums([], tmp_path) as (server, url):
        assert server.organiser_key is not None
        page = await open_page(browser, f"{url}/admin", size, errors)
        await audit.check(page, "console: sign in")
        await page.locator("input[type=password], input[name=key]").first.fill("not the key")
        await page.locator("form button[type=submit]").first.click()
        await expect(page.locator(".error")).to_be_visible()
        await audit.check(page, "console: sign in refused")
        await page.locator("input[type=password], input[name=key]").first.fill(server.organiser_key)
        await page.locator("form button[type=submit]").first.click()
        await expect(page.locator("h1")).to_be_visible()
        await audit.check(page, "console: no forums")

        await page.goto(f"{url}/admin/new")
        await audit.check(page, "console: new forum")
        await page.goto(f"{url}/admin/new/agenda")
        await audit.check(page, "console: agenda form")
        await page.locator("#f-forum-title").fill("Branch library forum")
        await page.locator("#f-forum-id").fill("branch-forum")
        await page.locator("#f-items-0-title").fill("Welcome")
        await page.locator("button[type=submit]").last.click()
        await expect(page).to_have_url(f"{url}/admin/forums/branch-forum")
        await audit.check(page, "console: a forum")
        await page.goto(f"{url}/admin")
        await audit.check(page, "console: the list")
    audit.assert_clean()
    assert errors == []


async def test_ballot_codes_and_their_results(
    browser: Browser, tmp_path: Path, size: ViewportSize
) -> None:
    audit = Audit()
    errors: list[str] = []
    async with served_jury(tmp_path) as (live, codes):
        hub = await live.open_poll("pre")
        base = f"{live.url}/j/{live.code}"
        asked = await connected(await open_page(browser, base, size, errors))
        await expect(asked.locator("#code-box")).to_be_visible()
        await audit.check(asked, "phone: asked for a ballot code")
        await asked.locator("#code-input").fill("NOT-A-CODE")
        await asked.locator("#code-send").click()
        await expect(asked.locator("#code-state")).not_to_be_empty()
        await audit.check(asked, "phone: a wrong ballot code")

        card = await connected(
            await open_page(browser, f"{base}#ballot={codes.jury[0]}", size, errors)
        )
        await expect(card.locator("#code-held")).to_be_visible()
        await card.get_by_label("Yes").check()
        await card.locator("#vote").click()
        await expect(card.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
        await audit.check(card, "phone: voted with a card's code")

        host = await connected(
            await open_page(
                browser, f"{live.url}/host/{live.code}#key={live.host_key}", size, errors
            )
        )
        screen = await connected(
            await open_page(browser, f"{live.url}/screen/{live.code}", size, errors)
        )
        await expect(host.locator("#codes-panel")).to_be_visible()
        assert (await hub.call("results_show", {"poll": "pre"}))["ok"]
        # One voter so far: too few for groups of their own, so the room's bars and a note.
        await expect(screen.locator('.bar-row[data-option="yes"] .bar-count')).to_have_text(
            "1 · 100%"
        )
        pages = {"phone": card, "host": host, "screen": screen}
        await check_all(audit, pages, "results, groups too small, with the codes table")
    audit.assert_clean()
    assert errors == []


async def test_how_opinion_moved(browser: Browser, tmp_path: Path, size: ViewportSize) -> None:
    audit = Audit()
    errors: list[str] = []
    programme = parse_programme(SHIFT_ROOM, source="battle.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        await hold_both_votes(live)
        host = await connected(
            await open_page(browser, f"{url}/host/{live.code}#key={live.host_key}", size, errors)
        )
        screen = await connected(
            await open_page(browser, f"{url}/screen/{live.code}", size, errors)
        )
        phone = await connected(await open_page(browser, f"{url}/j/{live.code}", size, errors))
        await host.locator(".agenda li", has_text="Final vote").get_by_role("button").click()
        panel = host.locator("#shift-panel")
        await expect(panel).to_be_visible()
        await audit.check(host, "host: the opinion shift, before it is shown")
        await panel.locator(".shift-toggle").click()
        await expect(screen.locator("#shift")).to_be_visible()
        await expect(phone.locator("#shift-box")).to_be_visible()
        await check_all(
            audit, {"phone": phone, "host": host, "screen": screen}, "the opinion shift shown"
        )
        await live.close_clients()
    audit.assert_clean()
    assert errors == []
