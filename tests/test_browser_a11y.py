"""Every page in every state the room reaches, checked by axe-core (WCAG 2.2 A and AA) with the
pages' content security policy on, at phone and laptop sizes; and what axe cannot see: the
keyboard, the timer's announcements, the result bars' text and reduced motion."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.axe import Audit, violations
from tests.browser import LAPTOP, PHONE
from tests.conftest import Endpoint, Live, serve, serve_forums, wait_until
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
        await tab_to(page, '.candidate-card[data-candidate="a"] input[type=radio]')
        # The radio itself is drawn as its number: the ring is on that.
        ring = await page.evaluate(
            "() => getComputedStyle(document.activeElement.nextElementSibling).outlineStyle"
        )
        assert ring == "solid"
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        await expect(card.locator(".card-state")).to_have_text("저장됨")
        await wait_until(
            lambda: forum.forum.committee_view("kim")["mine"].get("a", [None])[0] == 3,
            "the score chosen with the arrow keys to be stored",
        )
        await expect(card.locator('input[value="3"]').first).to_be_checked()
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
            "1 · 50%"
        )
        # What assistive technology is given: each option with its count, and no empty bar.
        tree = await results.aria_snapshot()
        assert "X" in tree and "1 · 50%" in tree and "0 · 0%" in tree, tree
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
