"""Making a forum in the console: uploads refused with file, line and field; the agenda form's
editing keeps what was typed, shows each error beside its field, and reproduces each shipped
template exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.console_support import ORIGIN, Console, form_fields
from townhall.console.create import MAX_UPLOAD
from townhall.console.programme_text import TEMPLATES, check_programme
from townhall.programme import load_programme

ONE_OPTION = b"""
[[items]]
id = "vote"
kind = "poll"
title = "V"
options = [{ id = "a", label = "A" }]
"""
NAMED_CSV = b"""
[[items]]
id = "v"
kind = "poll"
title = "V"
options = [{ id = "a", label = "A" }, { id = "b", label = "B" }]

[selection]
poll = "v"
candidates_csv = "c.csv"
"""
NAMED_FILES = "a programme made in the console cannot name other files"
MULTIPART_HEAD = (
    b'--xyz\r\ncontent-disposition: form-data; name="programme"; filename="a.toml"\r\n\r\n'
)
GOOD = """[forum]
id = "upload"
title = "Uploaded"

[[items]]
id = "welcome"
kind = "talk"
title = "Welcome"
"""


@pytest.fixture
async def signed_in() -> AsyncIterator[tuple[Console, httpx.AsyncClient, str]]:
    console = Console()
    async with console.client() as http:
        yield console, http, await console.signed_in(http)


async def upload(
    http: httpx.AsyncClient, csrf: str, body: bytes, name: str = "forum.toml"
) -> httpx.Response:
    return await http.post(
        "/admin/new/upload",
        data={"csrf": csrf},
        files={"programme": (name, body, "application/toml")},
        headers=ORIGIN,
    )


async def test_an_uploaded_programme_makes_a_forum(
    signed_in: tuple[Console, httpx.AsyncClient, str],
) -> None:
    console, http, csrf = signed_in
    made = await upload(http, csrf, GOOD.encode())
    assert made.status_code == 303 and made.headers["location"] == "/admin/forums/upload"
    assert console.directory.created == [(GOOD, "forum.toml")]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"\xff\xfe[forum]", "forum.toml: the file is not UTF-8 text"),
        (b"[forum]\ntitle = \n", "forum.toml:2: not valid TOML"),
        (
            GOOD.encode() + ONE_OPTION,
            "forum.toml:14: items[1].options: a poll needs 2 to 12 options",
        ),
        (
            GOOD.replace('title = "Uploaded"', 'title = "U"\ncode = "no"').encode(),
            "forum.toml:4: forum.code:",
        ),
        (
            GOOD.encode() + NAMED_CSV,
            f"forum.toml:18: selection.candidates_csv: {NAMED_FILES}",
        ),
        (
            GOOD.encode() + b'\n[eligibility]\nmode = "codes"\ncodes = "mine.codes.jsonl"\n',
            f"eligibility.codes: {NAMED_FILES}",
        ),
        (b"x = " + b"[" * 3000 + b"]" * 3000, "forum.toml: not valid TOML: nested too deeply"),
        (GOOD.replace('"upload"', '"upload\\n"').encode(), "forum.toml:2: forum.id:"),
    ],
)
async def test_a_malformed_upload_is_refused_with_file_line_and_field(
    signed_in: tuple[Console, httpx.AsyncClient, str], body: bytes, said: str
) -> None:
    console, http, csrf = signed_in
    refused = await upload(http, csrf, body)
    assert refused.status_code == 400
    assert said in refused.text.replace("&#39;", "'")
    assert console.directory.created == []


async def test_an_oversized_upload_is_refused_before_it_is_read(
    signed_in: tuple[Console, httpx.AsyncClient, str],
) -> None:
    console, http, csrf = signed_in
    big = await upload(http, csrf, b"#" * (MAX_UPLOAD + 1))
    assert big.status_code == 413
    huge = await upload(http, csrf, b"#" * (4 * MAX_UPLOAD))
    assert huge.status_code == 413

    read: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        # No Content-Length: the console stops reading once the cap is passed.
        yield MULTIPART_HEAD
        for _ in range(1000):
            read.append(1)
            yield b"x" * 4096

    chunked = await http.post(
        "/admin/new/upload",
        content=endless(),
        headers={**ORIGIN, "content-type": "multipart/form-data; boundary=xyz"},
    )
    assert chunked.status_code == 413
    assert len(read) < 200, "the body was not read to its end"
    assert console.directory.created == []


@pytest.mark.parametrize("template", sorted(TEMPLATES))
async def test_the_agenda_form_reproduces_each_template(
    signed_in: tuple[Console, httpx.AsyncClient, str], template: str
) -> None:
    """The form drawn from a template, posted as a browser would, makes the same programme."""
    console, http, _ = signed_in
    page = await http.get(f"/admin/new/agenda?template={template}")
    fields = form_fields(page.text, "/admin/new/agenda")
    made = await http.post("/admin/new/agenda", data={**fields, "action": "create"}, headers=ORIGIN)
    assert made.status_code == 303, made.text
    text, _ = console.directory.created[0]
    assert check_programme(text, "form") == load_programme(TEMPLATES[template])


async def test_editing_the_agenda_keeps_what_was_typed(
    signed_in: tuple[Console, httpx.AsyncClient, str],
) -> None:
    _, http, _ = signed_in
    fields = form_fields((await http.get("/admin/new/agenda")).text, "/admin/new/agenda")
    fields |= {
        "forum.title": "우리 동네 <토론>",
        "items[0].title": "여는 말",
        "items[0].notes": "줄 1\n줄 2",
    }

    async def step(action: str) -> dict[str, str]:
        nonlocal fields
        page = await http.post(
            "/admin/new/agenda", data={**fields, "action": action}, headers=ORIGIN
        )
        assert page.status_code == 200
        fields = form_fields(page.text, "/admin/new/agenda")
        return fields

    await step("add-item:poll")
    assert fields["items[1].kind"] == "poll" and "items[1].options[1].id" in fields
    fields["items[1].title"] = "첫 투표"
    await step("add-option:1")
    assert "items[1].options[2].label" in fields
    await step("remove-option:1:0")
    assert "items[1].options[2].label" not in fields
    await step("up:1")
    assert fields["items[0].title"] == "첫 투표" and fields["items[1].title"] == "여는 말"
    assert fields["items[1].notes"] == "줄 1\n줄 2"
    assert fields["forum.title"] == "우리 동네 <토론>"
    await step("remove-item:1")
    assert fields["items[0].title"] == "첫 투표" and "items[1].kind" not in fields


async def test_every_error_in_the_agenda_is_shown_beside_its_field(
    signed_in: tuple[Console, httpx.AsyncClient, str],
) -> None:
    console, http, _ = signed_in
    fields = form_fields((await http.get("/admin/new/agenda")).text, "/admin/new/agenda")
    page = await http.post(
        "/admin/new/agenda", data={**fields, "action": "add-item:poll"}, headers=ORIGIN
    )
    fields = form_fields(page.text, "/admin/new/agenda")
    fields |= {
        "forum.title": "Forum",
        "forum.id": "forum",
        "items[0].title": "Hello",
        "items[0].minutes": "ten",
        "items[1].title": "Vote",
        "items[1].options[0].label": "Yes",
    }
    refused = await http.post(
        "/admin/new/agenda", data={**fields, "action": "create"}, headers=ORIGIN
    )
    assert refused.status_code == 400
    page_text = refused.text
    # Each reason sits inside the block of the field it is about, all at once.
    minutes = page_text.index('id="f-items-0-minutes"')
    assert page_text.index("must be a number of minutes", minutes) < page_text.index(
        'id="f-items-1"'
    )
    label = page_text.index('id="f-items-1-options-1-label"')
    assert page_text.index("must not be empty", label) < page_text.index(
        'value="remove-option:1:1"'
    )
    assert 'value="ten"' in page_text, "what was typed is kept"
    assert console.directory.created == []
