"""A word item in a real headless Chromium: phones send short answers, the host approves them,
and the projector's cloud grows live, counting Korean words by their stem and never spilling
out of its box; what participants write is only ever shown as text."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from tests.browser import ARTIFACTS, PROJECTOR
from tests.conftest import Live, serve
from tests.test_browser_boards import Trouble, open_host, open_phone, open_screen
from townhall.model.commands import Actor, ApprovePost, Role
from townhall.programme import parse_programme
from townhall.wordcloud import cut_answers, in_tokenizer

pytestmark = pytest.mark.browser

ROOM = """
[forum]
id = "words"
title = "키워드 소개"
language = "ko"
code = "WORDS7"

[[items]]
id = "opening"
kind = "talk"
title = "Welcome"

[[items]]
id = "keywords"
kind = "words"
title = "자신을 키워드 3개로 소개해 주세요"
question = "나를 소개하는 키워드"
moderated = true
answers_per_person = 3
hidden_words = ["바보"]
"""

HOST = Actor(Role.HOST, "host")
PENDING_EN = "Sent. It appears once the host approves it."
PENDING_KO = "보냈습니다. 진행자가 승인하면 게시됩니다."
FITS = """(list) => ({
  fits: list.scrollHeight <= list.clientHeight + 1 && list.scrollWidth <= list.clientWidth + 1,
  page: document.documentElement.scrollHeight <= window.innerHeight + 1,
  inside: list.getBoundingClientRect().bottom <= window.innerHeight
    && list.getBoundingClientRect().right
      <= document.querySelector(".stage").getBoundingClientRect().right,
  sizes: [document.documentElement.scrollWidth, document.documentElement.scrollHeight],
  words: list.querySelectorAll("li").length,
  foreign: list.querySelectorAll("b, script, img").length,
})"""


def word(page: Page, list_id: str, text: str) -> Locator:
    return page.locator(f"#{list_id} .cloud-word").filter(
        has=page.locator(".cloud-text", has_text=text)
    )


async def send(phone: Page, text: str, expected: str) -> None:
    await phone.locator("#post-text").fill(text)
    await phone.locator("#post-send").click()
    await expect(phone.locator("#post-state")).to_have_text(expected)


async def approve_all(live: Live) -> None:
    """The host approves every waiting answer (straight to the engine: the host's page is
    tested with boards, and its rate limit would hold back a batch this large)."""
    assert live.townhall is not None
    for post in list(live.forum.boards.boards["keywords"].posts.values()):
        if post.state.value == "pending":
            await live.townhall.engine.execute(HOST, ApprovePost(post.id))


async def test_phones_answer_and_the_projector_cloud_follows(
    browser: Browser, tmp_path: Path
) -> None:
    programme = parse_programme(ROOM, source="words.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            await answer_and_watch(browser, live)
        finally:
            await live.close_clients()


async def answer_and_watch(browser: Browser, live: Live) -> None:
    # The tokenizer loads in its own process at the forum's start, for seconds on a busy
    # machine: the cloud follows the answers from then on (tests/test_wordcloud.py covers the
    # cloud counted in the background meanwhile).
    assert await in_tokenizer(cut_answers, ["책"]) == [("책",)]
    trouble = Trouble()
    host_client = await live.host()
    assert (await host_client.call("goto", {"item": "keywords"}))["ok"]
    screen = await open_screen(browser, live, trouble, PROJECTOR)
    await expect(screen.locator("#item-title")).to_have_text("자신을 키워드 3개로 소개해 주세요")
    await expect(screen.locator("#words-question")).to_have_text("나를 소개하는 키워드")
    await expect(screen.locator("#words-empty")).to_be_visible()

    minji = await open_phone(browser, live, trouble, "minji")
    sam = await open_phone(browser, live, trouble, "sam", language="en")
    await expect(minji.locator("#post-label")).to_have_text("나를 소개하는 키워드")
    await expect(minji.locator("#post-name-row")).to_be_hidden()
    await expect(minji.locator("#sort-switch")).to_be_hidden()
    await send(minji, "도서관이", PENDING_KO)
    answer = minji.locator("#my-answers-list .answer")
    await expect(answer).to_have_count(1)
    await expect(answer.locator(".answer-state")).to_have_text("승인 대기 중")
    await expect(screen.locator("#cloud .cloud-word")).to_have_count(0)  # not yet approved

    await approve_all(live)
    await expect(word(screen, "cloud", "도서관")).to_have_attribute("data-count", "1")
    await expect(answer.locator(".answer-state")).to_be_hidden()
    await send(sam, "도서관에서 책", PENDING_EN)
    await send(sam, "<b>바보</b> 고양이", PENDING_EN)
    await send(minji, "도서관은", PENDING_KO)
    await approve_all(live)
    # 도서관이, 도서관에서, 도서관은: one word three times, on every screen and phone.
    await expect(word(screen, "cloud", "도서관")).to_have_attribute("data-count", "3")
    await expect(word(screen, "cloud", "도서관")).to_have_class("cloud-word w6")
    await expect(word(screen, "cloud", "고양이")).to_have_attribute("data-count", "1")
    await expect(word(sam, "phone-cloud", "도서관")).to_have_attribute("data-count", "3")
    await expect(word(screen, "cloud", "바보")).to_have_count(0)
    # The markup is text: its lone letter "b" is no word, and its hidden word is never shown.
    await expect(screen.locator("#cloud .cloud-word")).to_have_count(3)  # 도서관 책 고양이
    host = await open_host(browser, live, trouble)
    await expect(word(host, "cloud", "도서관")).to_have_attribute("data-count", "3")

    # The third answer is the last: the phone's button says no more before the server has to.
    await send(sam, "coffee", PENDING_EN)
    await expect(sam.locator("#my-answers-title")).to_have_text("Your answers (3 of 3)")
    await sam.locator("#post-text").fill("one more")
    await expect(sam.locator("#post-send")).to_be_disabled()

    # Many more words than the projector can hold: the least frequent are left out.
    for n in range(16):
        phone, _ = await live.phone()
        for k in range(3):
            text = "neighbourhood" + "".join(chr(97 + int(d)) for d in f"{n * 3 + k:02d}")
            ack = await phone.call("post", {"board": "keywords", "text": text, "op": f"{n}-{k}"})
            assert ack["ok"], ack
    await approve_all(live)
    board = live.forum.boards.boards["keywords"]
    assert len(await live.hub.clouds.cloud(board)) == 4 + 48
    await expect(screen.locator("#board")).to_have_attribute("data-version", str(board.version))
    cloud = screen.locator("#cloud")
    shown = await cloud.evaluate(FITS)
    assert shown["fits"] and shown["page"] and shown["inside"], shown
    assert 4 <= shown["words"] < 4 + 48, "the least frequent words give way, the rest fit"
    assert shown["foreign"] == 0, "an answer's markup is text, never elements"
    await expect(word(screen, "cloud", "도서관")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    await screen.screenshot(path=ARTIFACTS / "words-projector.png")
    await sam.screenshot(path=ARTIFACTS / "words-phone-en.png", full_page=True)
    await host.screenshot(path=ARTIFACTS / "words-host.png", full_page=True)
    assert trouble.errors == []
    assert trouble.dialogs == []
