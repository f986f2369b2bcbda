"""The projector fits its screen in a real Chromium at 1280×720, 1920×1080 and 3840×2160: a long
talk title, a hidden round and the results of a poll with 12 long Korean options, a Q&A board
with long posts and a pinned one, the blanked screen and the selection table, under a join code
as wide as codes come. Nothing scrolls, and every key element lies whole inside the window and
inside whatever box would cut it. A screenshot of each goes to test-artifacts/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.browser import ARTIFACTS
from tests.conftest import Client, Live, serve
from townhall.programme import parse_programme

pytestmark = pytest.mark.browser

SIZES: list[ViewportSize] = [
    {"width": 1280, "height": 720},
    {"width": 1920, "height": 1080},
    {"width": 3840, "height": 2160},
]

LABELS = [
    "작은도서관 운영위원회에 지역 주민이 직접 참여하는 공개 회의를 매달 열기",
    "어린이와 청소년이 스스로 기획하는 방과 후 독서 모임과 창작 교실 만들기",
    "동네 어르신을 위한 큰 글자 책과 낭독 봉사 프로그램을 정기적으로 운영하기",
    "도서관 사이의 책 돌려 읽기 순회 문고를 구 전체로 넓혀 함께 관리하기",
    "주말 저녁에도 문을 여는 자원봉사 당번제를 주민과 함께 짜서 운영하기",
    "이웃과 함께하는 마을 기록 보관소를 도서관 한쪽에 만들어 사진과 이야기 모으기",
    "다문화 가정을 위한 여러 나라 말 그림책 모음과 부모 모임 공간 마련하기",
    "작은도서관 활동가를 위한 온라인 공론장과 정기 교육 과정을 함께 열기",
    "도서관 운영 예산과 결정 과정을 누구나 볼 수 있게 공개하는 게시판 만들기",
    "청년 활동가가 도서관 프로그램을 제안하고 직접 진행하는 지원 제도 만들기",
    "주민 설문으로 해마다 새로 들일 책과 프로그램을 함께 정하는 절차 만들기",
    "지역 학교와 도서관이 함께 쓰는 독서 교육 자료실과 교사 모임 운영하기",
]
OPTIONS = ",\n".join(f'  {{ id = "o{n}", label = "{label}" }}' for n, label in enumerate(LABELS, 1))
LONG_TITLE = "작은도서관 거버넌스 구축 지원 사업: 우리가 함께 만들어 갈 공공성 강화의 방향과 목표"
QUESTION = (
    "올해 우리 작은도서관 거버넌스 사업에서 가장 먼저 해야 할 일은 무엇이라고 생각하시나요? "
    "한 가지만 골라 주세요."
)
# The widest code there can be: twelve of the widest letter.
CODE = "WWWWWWWWWWWW"
ROOM = f"""
[forum]
id = "fit"
title = "작은도서관 거버넌스 구축 지원 워크숍"
language = "ko"
code = "{CODE}"

[[items]]
id = "talk"
kind = "talk"
title = "{LONG_TITLE}"

[[items]]
id = "vote"
kind = "poll"
title = "무엇부터 할까요?"
question = "{QUESTION}"
results = "on_reveal"
options = [
{OPTIONS}
]

[[items]]
id = "qna"
kind = "qna"
title = "질문을 보내 주세요"
"""
POST = (
    "{n}번 질문: 작은도서관 운영위원회에 주민이 참여하려면 어떤 절차를 거쳐야 하고, 회의 결과는 "
    "어디에서 볼 수 있나요? 저희 동네에서는 평일 낮에 모이기가 어려워서 저녁이나 주말 회의도 "
    "가능했으면 좋겠습니다. 다른 지역에서는 어떻게 하고 있는지도 궁금합니다. 오셨나요?"
)

CANDIDATES = "\n".join(
    f'[[selection.candidates]]\nid = "o{n}"\ntitle = "{label}"\nagreements = {40 - 3 * n}\n'
    for n, label in enumerate(LABELS[:8], 1)
)
SELECTION_ROOM = f"""
[forum]
id = "fit-selection"
title = "작은도서관 실험 사업 선정"
language = "ko"
code = "{CODE}"

[[items]]
id = "vote"
kind = "poll"
title = "어떤 실험을 할까요?"
options = [
{",".join(f'{{ id = "o{n}", label = "{label}" }}' for n, label in enumerate(LABELS[:8], 1))}
]

[selection]
poll = "vote"
committee = ["kim", "lee"]
rubric = ["영향이 큰가요?", "실행할 수 있나요?"]

{CANDIDATES}
"""

# Every way the page could fail to fit, as sentences: the document scrolls; a key element is
# not shown, reaches outside the window or outside an ancestor that clips, or cuts its own text.
FIT_PROBLEMS = """(selectors) => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > innerWidth || doc.scrollHeight > innerHeight) {
    const page = `${doc.scrollWidth}×${doc.scrollHeight}`;
    problems.push(`the page is ${page} in a ${innerWidth}×${innerHeight} window`);
  }
  const outside = (box, frame) =>
    box.left < frame.left - 0.5 || box.top < frame.top - 0.5 ||
    box.right > frame.right + 0.5 || box.bottom > frame.bottom + 0.5;
  const window = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
  for (const selector of selectors) {
    const shown = [...document.querySelectorAll(selector)].filter((n) => n.getClientRects().length);
    if (shown.length === 0) problems.push(`${selector}: nothing shown`);
    for (const node of shown) {
      const box = node.getBoundingClientRect();
      const name = `${selector} "${node.textContent.trim().slice(0, 20)}"`;
      if (outside(box, window)) problems.push(`${name} at ${JSON.stringify(box)} leaves it`);
      for (let up = node.parentElement; up; up = up.parentElement) {
        const style = getComputedStyle(up);
        if (style.overflowX !== "visible" || style.overflowY !== "visible") {
          const frame = up.getBoundingClientRect();
          if (outside(box, frame)) problems.push(`${name} is cut by ${up.id || up.className}`);
        }
      }
      const [sw, sh] = [node.scrollWidth, node.scrollHeight];
      const [cw, ch] = [node.clientWidth, node.clientHeight];
      if (sw > cw + 1 || sh > ch + 1) {
        problems.push(`${name} cuts its text (${sw}×${sh} in ${cw}×${ch})`);
      }
    }
  }
  return problems;
}"""
JOIN = [".join-code", ".qr", ".join-url"]


async def assert_fits(page: Page, name: str, selectors: list[str]) -> None:
    """Nothing of the projector overflows; its screenshot is saved under `name`."""
    size = page.viewport_size
    assert size is not None
    ARTIFACTS.mkdir(exist_ok=True)
    shot = f"projector-fit-{size['width']}x{size['height']}-{name}.png"
    await page.screenshot(path=ARTIFACTS / shot)
    problems = await page.evaluate(FIT_PROBLEMS, [*JOIN, *selectors])
    assert problems == [], f"{name} at {size}: {problems}"


@pytest.fixture
async def forum(tmp_path: Path) -> AsyncIterator[Live]:
    async with serve(parse_programme(ROOM, source="fit.toml"), tmp_path) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            yield live
        finally:
            await live.close_clients()


async def open_screen(browser: Browser, live: Live, size: ViewportSize, errors: list[str]) -> Page:
    # An English laptop: the projector still speaks the programme's Korean.
    context = await browser.new_context(viewport=size, locale="en-US")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{live.url}/screen/{live.code}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "up")
    return page


async def ok(client: Client, event: str, data: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = await client.call(event, data)
    assert reply["ok"], reply
    return reply


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s['width']}x{s['height']}")
async def test_every_view_of_the_projector_fits_the_screen(
    browser: Browser, forum: Live, size: ViewportSize
) -> None:
    errors: list[str] = []
    host = await forum.host()
    screen = await open_screen(browser, forum, size, errors)
    assert await screen.locator("html").get_attribute("lang") == "ko"
    await expect(screen.locator("#item-title")).to_have_text(LONG_TITLE)
    await expect(screen.locator(".join-code")).to_have_text(CODE)
    await assert_fits(screen, "talk", ["#item-title"])

    # The hidden round: every option, and the count of voters as phones vote.
    await ok(host, "goto", {"item": "vote"})
    await ok(host, "poll_open", {"poll": "vote"})
    await ok(host, "timer_reset", {"seconds": 300})
    await ok(host, "timer_start", {})
    await expect(screen.locator("#timer")).to_be_visible()
    options = screen.locator("#poll-options .poll-option")
    await expect(options).to_have_count(12)
    await expect(options.nth(11)).to_have_text(LABELS[11])
    await expect(screen.locator("#turnout")).to_have_text("0명 투표")
    await expect(screen.locator("#results")).to_be_hidden()
    for n, choice in enumerate(["o1", "o1", "o3", "o12"]):
        phone, _ = await forum.phone()
        await ok(phone, "vote", {"poll": "vote", "choices": [choice], "op": f"v{n}"})
        await expect(screen.locator("#turnout")).to_have_text(f"{n + 1}명 투표")
    await assert_fits(
        screen, "hidden-round", ["#poll-question", ".poll-option", "#turnout", "#timer"]
    )
    # Korean breaks between words; a token too long for any line still breaks.
    wrapping = await options.first.evaluate(
        "n => [getComputedStyle(n).wordBreak, getComputedStyle(n).overflowWrap]"
    )
    assert wrapping == ["keep-all", "anywhere"]

    # Revealed: twelve bars, each a share of the four voters.
    await ok(host, "results_show", {"poll": "vote"})
    await expect(screen.locator(".bar-row")).to_have_count(12)
    await expect(screen.locator('.bar-row[data-option="o1"] .bar-count')).to_have_text("2 · 50%")
    await expect(screen.locator(".bar-total")).to_have_text("투표자 4명 · 투표자 중 %")
    await assert_fits(
        screen, "results", [".bar-row", ".bar-label", ".bar-count", ".bar-total", "#timer"]
    )

    # A Q&A board: many long posts, one pinned, two answered. What fits shows; the rest waits.
    await ok(host, "goto", {"item": "qna"})
    posts = []
    for n in range(15):
        if n % 3 == 0:
            phone, _ = await forum.phone()
        reply = await ok(
            phone, "post", {"board": "qna", "text": POST.format(n=n + 1), "op": f"p{n}"}
        )
        posts.append(reply["post"])
    await ok(host, "post_pin", {"board": "qna", "post": posts[0]})
    for answered in posts[1:3]:
        await ok(host, "post_answer", {"post": answered})
    await expect(screen.locator("#pinned .post")).to_have_attribute("data-post", str(posts[0]))
    await expect(screen.locator("#answered-list .post")).to_have_count(2)
    await expect(screen.locator("#post-list .post")).to_have_count(8)  # the top eight of 12
    assert await screen.locator("#post-list .post:visible").count() >= 1
    await assert_fits(screen, "board", ["#pinned .post", "#post-list .post"])

    # Blanked: black over the whole window, and still nothing to scroll.
    await ok(host, "screen_blank", {})
    await expect(screen.locator("#blanked")).to_be_visible()
    box = await screen.locator("#blanked").bounding_box()
    assert box == {"x": 0, "y": 0, "width": size["width"], "height": size["height"]}
    await assert_fits(screen, "blank", ["#blanked"])
    assert errors == []


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s['width']}x{s['height']}")
async def test_the_selection_table_fits_the_projector(
    browser: Browser, tmp_path: Path, size: ViewportSize
) -> None:
    programme = parse_programme(SELECTION_ROOM, source="selection.toml")
    async with serve(programme, tmp_path) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            errors: list[str] = []
            host = await live.host()
            await ok(host, "poll_open", {"poll": "vote"})
            for n in range(3):
                phone, _ = await live.phone()
                await ok(phone, "vote", {"poll": "vote", "choices": [f"o{n + 1}"], "op": "v"})
            await ok(host, "poll_close", {"poll": "vote"})
            await ok(host, "selection_publish", {})
            screen = await open_screen(browser, live, size, errors)
            await expect(screen.locator(".selection-row")).to_have_count(8)
            await expect(screen.locator("#item-title")).to_have_text("선정 결과")
            await assert_fits(
                screen,
                "selection",
                [".selection-row", ".selection-total", ".selection-legend", ".selection-rule"],
            )
            assert errors == []
        finally:
            await live.close_clients()
