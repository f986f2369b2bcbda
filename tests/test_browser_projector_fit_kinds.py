"""The new item kinds fit the projector too, at 1280×720, 1920×1080 and 3840×2160: a ranking of
8 long Korean options (hidden round, then its Borda points), a 0–10 scale with long words at its
ends (hidden round, then its distribution and mean) and a word cloud of many long answers.
Nothing scrolls, every key element lies whole in the window; a screenshot of each goes to
test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.conftest import Live, serve
from tests.test_browser_projector_fit import LABELS, SIZES, assert_fits, ok, open_screen
from townhall.programme import parse_programme
from townhall.wordcloud import cut_answers, in_tokenizer

pytestmark = pytest.mark.browser

RANKED = LABELS[:8]
OPTIONS = ",\n".join(f'  {{ id = "r{n}", label = "{label}" }}' for n, label in enumerate(RANKED, 1))
LOW = "전혀 그렇지 않다고 생각합니다 (작은도서관이 지금 그대로도 충분합니다)"
HIGH = "매우 그렇다고 생각합니다 (주민 참여가 지금보다 훨씬 더 필요합니다)"
ROOM = f"""
[forum]
id = "fit-kinds"
title = "작은도서관 거버넌스 구축 지원 워크숍"
language = "ko"
code = "WWWWWWWWWWWW"

[[items]]
id = "rank"
kind = "poll"
title = "무엇부터 할까요? 순서대로 골라 주세요"
question = "가장 먼저 해야 할 일부터 차례로 눌러 주세요."
choice = "ranking"
results = "on_reveal"
options = [
{OPTIONS}
]

[[items]]
id = "scale"
kind = "poll"
title = "주민 참여가 더 필요하다고 생각하시나요?"
question = "0부터 10까지 하나를 골라 주세요."
choice = "scale"
scale = [0, 10]
scale_labels = ["{LOW}", "{HIGH}"]
results = "on_reveal"

[[items]]
id = "words"
kind = "words"
title = "자신을 키워드 3개로 소개해 주세요"
question = "나를 소개하는 키워드"
answers_per_person = 3
"""
# Long answers of distinct words, so the cloud has far more than the stage can hold.
WORDS = [
    "도서관활동가",
    "마을공동체",
    "독서모임",
    "자원봉사",
    "그림책",
    "어린이",
    "청소년",
    "어르신",
    "다문화",
    "기록보관소",
    "공론장",
    "운영위원회",
    "주민참여",
    "예산공개",
    "순회문고",
    "낭독봉사",
    "창작교실",
    "교사모임",
    "자료실",
    "방과후",
    "주말개관",
    "저녁모임",
    "정기교육",
    "지원제도",
]


@pytest.fixture
async def forum(tmp_path: Path) -> AsyncIterator[Live]:
    async with serve(parse_programme(ROOM, source="fit-kinds.toml"), tmp_path) as (th, url):
        live = Live(url, th.keys.code, th.keys.host_key, townhall=th)
        try:
            yield live
        finally:
            await live.close_clients()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s['width']}x{s['height']}")
async def test_ranking_scale_and_cloud_fit_the_projector(
    browser: Browser, forum: Live, size: ViewportSize
) -> None:
    errors: list[str] = []
    host = await forum.host()
    screen = await open_screen(browser, forum, size, errors)

    # A ranking: its 8 options while hidden, then each option's points.
    await ok(host, "poll_open", {"poll": "rank"})
    ids = [f"r{n}" for n in range(1, 9)]
    for n in range(3):
        phone, _ = await forum.phone()
        order = ids[n:] + ids[:n]
        await ok(phone, "vote", {"poll": "rank", "choices": order, "op": f"v{n}"})
    await expect(screen.locator("#turnout")).to_have_text("3명 투표")
    await expect(screen.locator("#turnout")).to_be_visible()
    await expect(screen.locator("#poll-options .poll-option")).to_have_count(8)
    await assert_fits(screen, "ranking-hidden", ["#poll-question", ".poll-option", "#turnout"])
    await ok(host, "results_show", {"poll": "rank"})
    # r1 is 1st, 8th and 7th: 7 + 0 + 1 points; r3 is 3rd, 2nd and 1st: 5 + 6 + 7.
    await expect(screen.locator('#results [data-option="r3"] .bar-count')).to_have_text("18점")
    await expect(screen.locator('#results [data-option="r1"] .bar-count')).to_have_text("8점")
    await assert_fits(
        screen, "ranking", ["#results .bar-row", "#results .bar-count", ".ranking-method"]
    )

    # A scale of 11 points with long words at its ends.
    await ok(host, "goto", {"item": "scale"})
    await ok(host, "poll_open", {"poll": "scale"})
    for n, point in enumerate(["10", "7", "7", "0"]):
        phone, _ = await forum.phone()
        await ok(phone, "vote", {"poll": "scale", "choices": [point], "op": f"s{n}"})
    await expect(screen.locator("#turnout")).to_have_text("4명 투표")
    await assert_fits(screen, "scale-hidden", [".poll-option", "#turnout"])
    await ok(host, "results_show", {"poll": "scale"})
    await expect(screen.locator(".scale-col")).to_have_count(11)
    await expect(screen.locator(".scale-mean")).to_contain_text("6.00")
    await assert_fits(screen, "scale", [".scale-col", ".scale-ends", ".scale-mean"])

    # A word cloud: more answers than fit; the biggest words stay, none spills.
    assert await in_tokenizer(cut_answers, ["책"]) == [("책",)]  # the tokenizer has loaded
    await ok(host, "goto", {"item": "words"})
    for n in range(0, len(WORDS), 3):
        phone, _ = await forum.phone()
        for k, word in enumerate(WORDS[n : n + 3]):
            text = f"{word} 도서관" if k == 0 else word
            await ok(phone, "post", {"board": "words", "text": text, "op": f"w{n}-{k}"})
    library = screen.locator(".cloud-text", has_text=re.compile("^도서관$"))
    biggest = screen.locator("#cloud .cloud-word").filter(has=library)
    await expect(biggest).to_have_attribute("data-count", str(len(WORDS) // 3))
    await assert_fits(screen, "cloud", ["#words-question", "#cloud .cloud-word"])
    assert errors == []
