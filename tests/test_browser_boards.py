"""Q&A and idea boards in a real headless Chromium: phones post and upvote, the host moderates,
the projector follows; and what participants write is only ever shown as text."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    Dialog,
    Locator,
    Page,
    ViewportSize,
    expect,
)

from tests.browser import ARTIFACTS, PHONE, PROJECTOR
from tests.conftest import Endpoint, Live, serve
from townhall.programme import parse_programme

pytestmark = pytest.mark.browser

HOST_VIEW: ViewportSize = {"width": 1280, "height": 900}
# A 4:3 projector: 16:9 at 720p fits fewer than eight posts with names when every one has one.
PROJECTOR_4_3: ViewportSize = {"width": 1024, "height": 768}

# A moderated Q&A that wants nicknames, an anonymous idea board feeding a poll, and the poll.
BOARDS_ROOM = """
[forum]
id = "boards"
title = "게시판 시험"
language = "ko"
code = "BOARD7"

[[items]]
id = "panel"
kind = "qna"
title = "Ask the panel"
moderated = true
names = "required"
max_length = 40

[[items]]
id = "ideas"
kind = "ideas"
title = "Share ideas"
names = "anonymous"
promote_to = "pick"
promote_count = 2

[[items]]
id = "pick"
kind = "poll"
title = "Pick one"
question = "Which idea?"
"""

XSS_PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    "<svg onload=window.__xss=1>",
    '"><iframe src=javascript:window.__xss=1>',
    "javascript:window.__xss=1",
    "{{7*7}}",
    "<b>bold</b>",
    '<a href="javascript:window.__xss=1">x</a>',
]


@dataclass
class Trouble:
    """Everything that should never happen on a page: uncaught errors and dialogs."""

    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def watch(self, page: Page, name: str) -> Page:
        page.on("pageerror", lambda e: self.errors.append(f"{name}: {e}"))

        async def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{name}: {dialog.type} {dialog.message}")
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        return page


async def open_phone(
    browser: Browser, forum: Endpoint, trouble: Trouble, name: str, language: str = "ko"
) -> Page:
    context = await browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale=language
    )
    page = trouble.watch(await context.new_page(), name)
    await page.goto(f"{forum.url}/j/{forum.code}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "up")
    return page


async def open_host(browser: Browser, forum: Endpoint, trouble: Trouble) -> Page:
    context = await browser.new_context(viewport=HOST_VIEW, locale="ko")
    page = trouble.watch(await context.new_page(), "host")
    await page.goto(f"{forum.url}/host/{forum.code}#key={forum.host_key}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "up")
    return page


async def open_screen(
    browser: Browser, forum: Endpoint, trouble: Trouble, viewport: ViewportSize = PROJECTOR
) -> Page:
    context = await browser.new_context(viewport=viewport, locale="ko")
    page = trouble.watch(await context.new_page(), "screen")
    await page.goto(f"{forum.url}/screen/{forum.code}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "up")
    return page


async def send_post(phone: Page, text: str, name: str = "", expected: str = "올렸습니다.") -> None:
    await phone.locator("#post-text").fill(text)
    if name:
        await phone.locator("#post-name").fill(name)
    await phone.locator("#post-send").click()
    await expect(phone.locator("#post-state")).to_have_text(expected)
    await expect(phone.locator("#post-text")).to_have_value("")


async def read_text(path: Path) -> str:
    return await asyncio.to_thread(path.read_text, encoding="utf-8")


def post(page: Page, list_id: str, text: str) -> Locator:
    """The post in one of a page's lists whose text is exactly `text`."""
    exact = re.compile(f"^{re.escape(text)}$")
    return page.locator(f"#{list_id} .post").filter(has=page.locator(".post-text", has_text=exact))


async def test_a_question_is_posted_upvoted_pinned_and_answered(
    browser: Browser, live: Live
) -> None:
    trouble = Trouble()
    host = await open_host(browser, live, trouble)
    await host.locator("#agenda li").nth(3).get_by_role("button").click()
    await expect(host.locator("#current-title")).to_have_text("Questions")
    await expect(host.locator("#no-posts")).to_be_visible()
    screen = await open_screen(browser, live, trouble)
    await expect(screen.locator("#item-title")).to_have_text("Questions")
    await expect(screen.locator("#no-posts")).to_have_text("QR 코드를 찍고 질문을 보내 주세요.")

    minji = await open_phone(browser, live, trouble, "minji")
    await expect(minji.locator("#post-label")).to_have_text("질문을 적어 주세요")
    await expect(minji.locator("#post-name-label")).to_have_text("닉네임 (선택)")
    await expect(minji.locator("#post-counter")).to_have_text("0 / 280")
    question = "도서관은 밤 몇 시까지 여나요?"
    await minji.locator("#post-text").fill(question)
    await expect(minji.locator("#post-counter")).to_have_text(f"{len(question)} / 280")
    await send_post(minji, question, name="민지")
    mine = post(minji, "post-list", question)
    await expect(mine.locator(".post-mine")).to_have_text("내 글")
    await expect(mine.locator(".post-name")).to_have_text("민지")

    # Another phone, in English, agrees; takes it back; agrees again. Its upvote survives a reload.
    sam = await open_phone(browser, live, trouble, "sam", language="en")
    upvote = post(sam, "post-list", question).get_by_role("button")
    await expect(upvote).to_have_attribute("aria-pressed", "false")
    await expect(upvote).to_have_text("Agree0")
    await upvote.click()
    await expect(upvote).to_have_attribute("aria-pressed", "true")
    await expect(upvote.locator(".upvote-count")).to_have_text("1")
    screen_count = post(screen, "post-list", question).locator(".count-number")
    await expect(screen_count).to_have_text("1")
    await upvote.click()
    await expect(upvote).to_have_attribute("aria-pressed", "false")
    await expect(screen_count).to_have_text("0")
    await upvote.click()
    await expect(screen_count).to_have_text("1")
    await expect(post(minji, "post-list", question).locator(".upvote-count")).to_have_text("1")
    await sam.reload()
    await expect(upvote).to_have_attribute("aria-pressed", "true")
    (stored,) = live.forum.boards.boards["qna"].posts.values()
    assert (stored.text, stored.name, len(stored.upvoters)) == (question, "민지", 1)

    # More questions, so the lists have something to sort.
    await send_post(sam, "Will the reading room stay open during exams?", expected="Posted.")
    await send_post(sam, "Can children borrow e-books?", expected="Posted.")
    await send_post(minji, "주차는 어디에 하나요?")
    await expect(screen.locator("#post-list .post")).to_have_count(4)
    await expect(screen.locator("#post-list .post").first.locator(".post-text")).to_have_text(
        question
    )
    await sam.get_by_role("button", name="Newest").click()
    await expect(sam.locator("#post-list .post-text").first).to_have_text("주차는 어디에 하나요?")

    # The host pins it: the projector and the phones show it as being answered now.
    host_post = post(host, "post-list", question)
    await expect(host_post.locator(".post-count")).to_have_text("공감 1")
    await host_post.get_by_role("button", name="답변 중으로 고정").click()
    await expect(post(screen, "pinned-list", question)).to_be_visible()
    await expect(screen.locator("#pinned-title")).to_have_text("지금 답변 중")
    await expect(post(screen, "post-list", question)).to_have_count(0)
    await expect(post(minji, "pinned-list", question)).to_be_visible()
    await expect(post(sam, "pinned-list", question)).to_be_visible()
    await expect(post(host, "pinned-list", question)).to_be_visible()

    await screenshots(minji, host, screen, "pinned")
    await sam.screenshot(path=ARTIFACTS / "board-phone-en.png", full_page=True)

    # Answered: it leaves the pin and drops to the answered list everywhere.
    await post(host, "pinned-list", question).get_by_role("button", name="답변 완료로 표시").click()
    await expect(post(screen, "answered-list", question)).to_be_visible()
    await expect(screen.locator("#pinned")).to_be_hidden()
    await expect(post(screen, "post-list", question)).to_have_count(0)
    await expect(post(minji, "answered-list", question)).to_be_visible()
    await expect(post(minji, "answered-list", question).locator(".post-count")).to_have_text(
        "공감 1"
    )
    await expect(post(sam, "answered-list", question).locator(".post-count")).to_have_text(
        "1 agree"
    )
    await expect(post(host, "answered-list", question)).to_be_visible()
    await expect(screen.locator("#post-list .post")).to_have_count(3)

    await screenshots(minji, host, screen, "answered")
    assert trouble.errors == []
    assert trouble.dialogs == []


async def screenshots(phone: Page, host: Page, screen: Page, label: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await phone.screenshot(path=ARTIFACTS / f"board-phone-{label}.png", full_page=True)
    await host.screenshot(path=ARTIFACTS / f"board-host-{label}.png", full_page=True)
    await screen.screenshot(path=ARTIFACTS / f"board-projector-{label}.png")


# Inside the post lists nothing but the pages' own elements: no markup from participants.
FOREIGN_ELEMENTS = """() => {
  const lists = document.querySelectorAll("#board");
  const found = [];
  for (const list of lists) {
    for (const node of list.querySelectorAll(
      "script, img, iframe, svg, object, embed, a, b, [onerror], [onload], [href], [src]"
    )) found.push(node.outerHTML);
  }
  for (const node of document.querySelectorAll("[onerror], [onload], iframe, svg")) {
    found.push(node.outerHTML);
  }
  const scripts = [...document.scripts].map((s) => s.getAttribute("src") ?? s.type);
  return { found, scripts };
}"""


async def test_what_participants_write_is_only_ever_text(browser: Browser, live: Live) -> None:
    trouble = Trouble()
    host_client = await live.host()
    assert (await host_client.call("goto", {"item": "qna"}))["ok"]

    # Four phones post two payloads each, with payloads as nicknames where one fits (40 at most).
    names = [p for p in XSS_PAYLOADS if len(p) <= 40]
    phones = []
    for n in range(4):
        phone = await open_phone(browser, live, trouble, f"phone{n}")
        await expect(phone.locator("#post-label")).to_have_text("질문을 적어 주세요")
        for k in range(2):
            i = 2 * n + k
            name = names[(i + 3) % len(names)]
            await send_post(phone, XSS_PAYLOADS[i], name=name)
        phones.append(phone)

    host = await open_host(browser, live, trouble)
    screen = await open_screen(browser, live, trouble, PROJECTOR_4_3)
    pages = {"host": host, "screen": screen, "phone": phones[-1]}
    await expect(screen.locator("#post-list .post")).to_have_count(len(XSS_PAYLOADS))
    ARTIFACTS.mkdir(exist_ok=True)
    await screen.screenshot(path=ARTIFACTS / "board-projector-eight.png")
    for page in pages.values():
        board = page.locator("#board")
        for payload in XSS_PAYLOADS:
            await expect(
                board.locator(".post-text").get_by_text(payload, exact=True)
            ).to_be_visible()
        for name in names:
            await expect(
                board.locator(".post-name").get_by_text(name, exact=True).first
            ).to_be_visible()

    # The host corrects one post into another payload and opens the merge chooser on another:
    # the original, the new text and the chooser's options are all plain text too.
    target = post(host, "post-list", "{{7*7}}")
    await target.get_by_role("button", name="수정").click()
    await target.locator(".edit-form textarea").fill("<img src=y onerror=window.__xss=2>")
    await target.get_by_role("button", name="저장").click()
    edited = post(host, "post-list", "<img src=y onerror=window.__xss=2>")
    await expect(edited.locator(".original-text")).to_have_text("{{7*7}}")
    await expect(edited.locator(".post-edited")).to_be_visible()
    await expect(post(screen, "post-list", "<img src=y onerror=window.__xss=2>")).to_be_visible()
    await post(host, "post-list", "<b>bold</b>").get_by_role("button", name="합치기…").click()
    options = host.locator(".merge-form option")
    await expect(options).to_have_count(7)
    await expect(options.filter(has_text="<script>window.__xss=1</script>")).to_have_count(1)

    for name, page in pages.items():
        assert await page.evaluate("typeof window.__xss") == "undefined", name
        result = await page.evaluate(FOREIGN_ELEMENTS)
        assert result["found"] == [], name
        assert len(result["scripts"]) == 2, (name, result["scripts"])
        assert result["scripts"][0] == "application/json"
        assert result["scripts"][1].startswith("/static/js/")
    # The same eight on a 16:9 projector: what does not fit is left out whole, never cut.
    await screen.set_viewport_size(PROJECTOR)
    await screen.screenshot(path=ARTIFACTS / "board-projector-eight-16x9.png")
    assert trouble.errors == []
    assert trouble.dialogs == []


async def test_moderation_edit_merge_hide_and_promotion(browser: Browser, tmp_path: Path) -> None:
    trouble = Trouble()
    programme = parse_programme(BOARDS_ROOM, source="boards.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        forum = Endpoint(url, townhall.keys.code, townhall.keys.host_key)
        boards = townhall.engine.forum.boards
        host = await open_host(browser, forum, trouble)
        await expect(host.locator("#current-title")).to_have_text("Ask the panel")
        await expect(host.locator("#queue-title")).to_have_text("승인 대기 (0)")
        screen = await open_screen(browser, forum, trouble)
        phone = await open_phone(browser, forum, trouble, "phone")
        await expect(phone.locator("#post-name-label")).to_have_text("닉네임")

        # Refused before sending: no nickname; too long for this board (40).
        await phone.locator("#post-text").fill("질문 하나")
        await phone.locator("#post-send").click()
        await expect(phone.locator("#post-state")).to_have_text(
            "이곳에 올리려면 닉네임을 적어 주세요."
        )
        await phone.locator("#post-text").fill("가" * 43)
        await expect(phone.locator("#post-counter")).to_have_text("43 / 40 · 3자 초과")
        await expect(phone.locator("#post-send")).to_be_disabled()

        # Sent, and waiting: only the author and the host see it.
        first = "예산은 누가 정하나요?"
        await send_post(
            phone, first, name="지우", expected="보냈습니다. 진행자가 승인하면 게시됩니다."
        )
        await expect(post(phone, "my-pending-list", first).locator(".post-waiting")).to_have_text(
            "승인 대기 중"
        )
        await expect(host.locator("#queue-title")).to_have_text("승인 대기 (1)")
        await expect(screen.locator("#no-posts")).to_be_visible()
        await phone.reload()  # the snapshot's my_posts keeps it shown as waiting
        await expect(post(phone, "my-pending-list", first)).to_be_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        await phone.screenshot(path=ARTIFACTS / "board-phone-waiting.png", full_page=True)
        await host.screenshot(path=ARTIFACTS / "board-host-queue.png", full_page=True)
        assert [p.text for p in boards.boards["panel"].posts.values()] == [first]

        await post(host, "queue-list", first).get_by_role("button", name="승인").click()
        await expect(post(screen, "post-list", first)).to_be_visible()
        await expect(phone.locator("#my-pending")).to_be_hidden()
        await expect(post(phone, "post-list", first).locator(".post-mine")).to_be_visible()

        # A duplicate, upvoted by someone else, is merged into the first: the upvote moves.
        duplicate = "예산 결정은 누가 하죠?"
        await send_post(phone, duplicate, expected="보냈습니다. 진행자가 승인하면 게시됩니다.")
        await post(host, "queue-list", duplicate).get_by_role("button", name="승인").click()
        other = await open_phone(browser, forum, trouble, "other")
        await post(other, "post-list", duplicate).get_by_role("button").click()
        await expect(post(screen, "post-list", duplicate).locator(".count-number")).to_have_text(
            "1"
        )
        await post(host, "post-list", duplicate).get_by_role("button", name="합치기…").click()
        merge_form = post(host, "post-list", duplicate).locator(".merge-form")
        first_id = next(p.id for p in boards.posts.values() if p.text == first)
        await merge_form.get_by_label("합칠 대상").select_option(label=f"#{first_id} · {first}")
        await merge_form.get_by_role("button", name="합치기").click()
        await expect(post(screen, "post-list", duplicate)).to_have_count(0)
        await expect(post(screen, "post-list", first).locator(".count-number")).to_have_text("1")

        # The host corrects a typo: everyone sees it was edited, the host sees the original.
        corrected = "예산은 누가 정하나요? (2027년)"
        await post(host, "post-list", first).get_by_role("button", name="수정").click()
        await post(host, "post-list", first).locator("textarea").fill(corrected)
        await post(host, "post-list", first).get_by_role("button", name="저장").click()
        await expect(post(host, "post-list", corrected).locator(".original-text")).to_have_text(
            first
        )
        await expect(post(screen, "post-list", corrected).locator(".post-edited")).to_have_text(
            "수정됨"
        )
        await expect(post(phone, "post-list", corrected).locator(".post-edited")).to_be_visible()

        # Hidden, then shown again.
        await post(host, "post-list", corrected).get_by_role("button", name="숨기기").click()
        await expect(post(host, "hidden-list", corrected)).to_be_visible()
        await expect(post(screen, "post-list", corrected)).to_have_count(0)
        await expect(screen.locator("#no-posts")).to_be_visible()
        await post(host, "hidden-list", corrected).get_by_role("button", name="다시 보이기").click()
        await expect(post(screen, "post-list", corrected)).to_be_visible()

        # The idea board: anonymous, so no nickname field; the top two become the poll.
        await host.get_by_role("button", name="다음 ▶").click()
        await expect(host.locator("#current-title")).to_have_text("Share ideas")
        await expect(phone.locator("#post-label")).to_have_text("제안을 적어 주세요")
        await expect(phone.locator("#post-name-row")).to_be_hidden()
        ideas = ["밤 도서관", "책 교환", "어린이 독서회"]
        for idea in ideas:
            await send_post(phone, idea)
        for idea in ideas[1:]:
            await post(other, "post-list", idea).get_by_role("button").click()
            await expect(post(screen, "post-list", idea).locator(".count-number")).to_have_text("1")
        await expect(post(screen, "post-list", ideas[0]).locator(".post-name")).to_have_text("익명")
        promote = host.get_by_role("button", name="공감 많은 제안 2개를 ‘Pick one’ 투표로 올리기")
        await promote.click()
        await expect(host.locator("#message")).to_have_text(
            "공감 많은 제안이 ‘Pick one’의 선택지가 되었습니다."
        )
        await host.screenshot(path=ARTIFACTS / "board-host-ideas.png", full_page=True)
        labels = [o.label for o in townhall.engine.forum.polls["pick"].options]
        assert labels == ideas[1:]

        # The export, fetched with the host key and saved from a temporary object URL.
        async with host.expect_download() as csv_info:
            await host.locator("#export").get_by_role("link", name="CSV").click()
        csv_download = await csv_info.value
        assert csv_download.suggested_filename == f"{forum.code}-posts.csv"
        csv_text = await read_text(await csv_download.path())
        assert csv_text.startswith("\ufeff"), "the download keeps the byte-order mark"
        assert corrected in csv_text and "어린이 독서회" in csv_text
        async with host.expect_download() as json_info:
            await host.locator("#export").get_by_role("link", name="JSON").click()
        json_download = await json_info.value
        exported = json.loads(await read_text(await json_download.path()))
        assert {row["text"] for row in exported["posts"]} >= {corrected, *ideas}
        await forum.close_clients()
    assert trouble.errors == []
    assert trouble.dialogs == []
