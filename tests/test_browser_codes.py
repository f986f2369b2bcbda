"""Ballot codes in a real headless Chromium: a card's QR link, a typed code, the host's table,
and `townhall codes` making the cards."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import ARTIFACTS, PHONE, PROJECTOR
from tests.conftest import Live
from tests.jury_room import ROOM, Codes, served_jury
from townhall.cli import main
from townhall.codes.book import CodeBook
from townhall.codes.cards import _qr, join_link
from townhall.codes.format import compact

pytestmark = pytest.mark.browser


@pytest.fixture
async def jury(tmp_path: Path) -> AsyncIterator[tuple[Live, Codes]]:
    async with served_jury(tmp_path) as served:
        yield served


async def phone(browser: Browser, url: str, errors: list[str]) -> Page:
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="ko")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(url)
    return page


async def test_a_card_link_and_a_typed_code_each_make_a_phone_a_voter(
    browser: Browser, jury: tuple[Live, Codes]
) -> None:
    live, codes = jury
    errors: list[str] = []
    host = await live.open_poll("pre")
    # The card's QR link: the code rides in the fragment and is taken off the address.
    card = await phone(browser, f"{live.url}/j/{live.code}#ballot={codes.jury[0]}", errors)
    await expect(card.locator("#code-held")).to_have_text("jury 카드 1번으로 참여하고 있습니다")
    await expect(card.locator("#code-box")).to_be_hidden()
    assert await card.evaluate("location.hash") == ""
    await card.get_by_label("Yes").check()
    await card.get_by_role("button", name="투표하기").click()
    await expect(card.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")

    # A phone without a code is asked for one; a typo is caught before it is sent.
    typed = await phone(browser, f"{live.url}/j/{live.code}", errors)
    await expect(typed.locator("#code-box")).to_be_visible()
    await expect(typed.locator("#vote")).to_be_hidden()
    code = codes.audience[1]
    wrong = code[:4] + ("Z" if code[4] != "Z" else "Y") + code[5:]
    await typed.get_by_label("카드에 적힌 코드").fill(wrong.lower())
    await typed.get_by_role("button", name="코드 사용").click()
    await expect(typed.locator("#code-state")).to_have_text(
        "코드에 오타가 있습니다. 카드와 한 글자씩 맞춰 보세요."
    )
    assert live.hub.forum_code_tries.tokens < 0, "nothing reached the server's guess counter"
    await typed.get_by_label("카드에 적힌 코드").fill(f"{code[:3]}-{code[3:6]}-{code[6:]}")
    await typed.get_by_role("button", name="코드 사용").click()
    await expect(typed.locator("#code-held")).to_have_text(
        "audience 카드 5번으로 참여하고 있습니다"
    )
    await typed.get_by_label("No").check()
    await typed.get_by_role("button", name="투표하기").click()
    await expect(typed.locator("#vote-state")).to_contain_text("투표가 반영되었습니다")
    assert live.forum.polls["pre"].tally()["groups"] == {
        "audience": {"yes": 0, "no": 1},
        "jury": {"yes": 1, "no": 0},
    }

    # The host sees the codes in use; the results by group stand side by side.
    context = await browser.new_context(viewport=PROJECTOR, locale="ko")
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{live.url}/host/{live.code}#key={live.host_key}")
    row = page.locator("#codes-table tbody tr", has_text="jury")
    await expect(row.locator("td").nth(1)).to_have_text("1")
    await expect(page.locator('#results .group-col[data-group="jury"]')).to_contain_text("1 · 100%")
    ARTIFACTS.mkdir(exist_ok=True)
    await typed.screenshot(path=ARTIFACTS / "phone-codes.png", full_page=True)
    await page.screenshot(path=ARTIFACTS / "host-codes.png", full_page=True)
    assert (await host.call("poll_close", {"poll": "pre"}))["ok"]
    assert errors == []


async def test_townhall_codes_makes_cards_whose_qr_opens_the_join_page(
    browser: Browser, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = tmp_path / "jury.toml"
    room.write_text(ROOM.format(mode="codes", extra=""), encoding="utf-8")
    url = "https://forum.example.org"
    status = main(["codes", str(room), "--count", "3", "--group", "jury", "--public-url", url])
    assert status == 0
    out = capsys.readouterr().out
    page = tmp_path / "jury-forum-jury-cards-1-3.html"
    assert str(page) in out
    assert page.stat().st_mode & 0o777 == 0o600, "the cards hold the codes in clear"
    html = page.read_text(encoding="utf-8")
    shown = re.findall(
        r'<p class="code">([2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3}-[2-9A-HJ-NP-Z]{3})<', html
    )
    assert len(shown) == 3
    book = CodeBook(tmp_path / "jury-forum.codes.jsonl")
    voters = [book.find(code) for code in shown]
    assert [getattr(v, "voter", None) for v in voters] == ["jury-1", "jury-2", "jury-3"]
    for code in shown:
        assert _qr(join_link(url, "JURY", compact(code))) in html
    assert "#ballot=" not in (tmp_path / "jury-forum.codes.jsonl").read_text(encoding="utf-8")

    # Printed, they fit eight to an A4 sheet.
    context = await browser.new_context()
    printed = await context.new_page()
    await printed.goto(page.as_uri())
    await printed.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    await printed.pdf(path=str(ARTIFACTS / "cards.pdf"), format="A4")
    await printed.screenshot(path=ARTIFACTS / "cards.png", full_page=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group", "Jury!"], "--group 'Jury!': a group name is a-z"),
        (["--group", "press"], "eligibility.groups: 'press' is not one of jury, audience"),
        (["--public-url", "forum.example.org"], "--public-url: give the address phones open"),
        (["--count", "0"], "--count: from 1 to 20000 codes at a time"),
    ],
)
def test_townhall_codes_says_what_is_wrong_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    room = tmp_path / "jury.toml"
    room.write_text(ROOM.format(mode="codes", extra=""), encoding="utf-8")
    base = ["codes", str(room), "--count", "2", "--public-url", "https://f.example.org"]
    assert main([*base, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_townhall_codes_refuses_an_open_forum_and_one_without_a_join_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = tmp_path / "open.toml"
    text = ROOM.format(mode="open", extra="").replace('voters = ["jury"]\n', "")
    room.write_text(text, encoding="utf-8")
    assert main(["codes", str(room), "--count", "2", "--public-url", "https://f.example.org"]) == 2
    assert "eligibility.mode: the forum is open to every phone" in capsys.readouterr().err
    room.write_text(ROOM.format(mode="codes", extra="").replace('code = "JURY"\n', ""))
    assert main(["codes", str(room), "--count", "2", "--public-url", "https://f.example.org"]) == 2
    assert "forum.code: set the forum's join code" in capsys.readouterr().err


def test_a_code_book_that_cannot_be_read_stops_the_server_before_it_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = tmp_path / "jury.toml"
    room.write_text(ROOM.format(mode="codes", extra=""), encoding="utf-8")
    book = tmp_path / "jury-forum.codes.jsonl"
    book.write_text('{"townhall_codes": 1, "forum": "jury-forum"}\nnot json\n', encoding="utf-8")
    (tmp_path / "jury-forum.codes.key").write_text("00" * 32)
    assert main(["serve", str(room), "--data-dir", str(tmp_path / "data"), "--port", "1"]) == 1
    assert f"{book}:2: not a JSON line" in capsys.readouterr().err
