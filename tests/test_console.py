"""The organiser's console over an in-memory directory: the key, the session, cross-site and
oversized requests refused, forums made, changed and deleted, refusals beside their fields."""

from __future__ import annotations

import asyncio

import httpx

from tests.console_support import ORIGIN, Console, csrf_of
from townhall.console.guard import WRONG_KEY_BURST

TEMPLATE = {"template": "policy-battle", "forum.id": "battle", "forum.title": "정책배틀 2회"}


async def test_every_console_route_needs_the_key() -> None:
    console = Console()
    async with console.client() as http:
        page = await http.get("/admin")
        assert page.status_code == 401
        assert 'name="key"' in page.text, "a browser gets the sign-in form"
        for path in ("/admin/new", "/admin/forums.json", "/admin/new/agenda"):
            refused = await http.get(path, headers={"accept": "application/json"})
            assert refused.status_code == 401, path
            assert refused.json()["error"]["code"] == "unauthorised"
        posted = await http.post("/admin/new/template", data=TEMPLATE, headers=ORIGIN)
        assert posted.status_code == 401
        wrong = await http.get("/admin/forums.json", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (await http.get("/admin/login")).status_code == 200
    assert console.directory.created == []


async def test_signing_in_gives_a_strict_httponly_cookie_for_admin_only() -> None:
    console = Console()
    async with console.client() as http:
        wrong = await http.post("/admin/login", data={"key": "guess"}, headers=ORIGIN)
        assert wrong.status_code == 401
        assert "organiser key" in wrong.text.lower() or "관리자 키" in wrong.text
        right = await http.post("/admin/login", data={"key": console.key}, headers=ORIGIN)
        assert right.status_code == 303 and right.headers["location"] == "/admin"
        cookie = right.headers["set-cookie"].lower()
        for part in ("httponly", "samesite=strict", "path=/admin", "max-age=43200"):
            assert part in cookie, part
        assert "secure" not in cookie, "plain http: a Secure cookie would never come back"
        assert (await http.get("/admin")).status_code == 200
        csrf = csrf_of((await http.get("/admin")).text)
        out = await http.post("/admin/logout", data={"csrf": csrf}, headers=ORIGIN)
        assert out.status_code == 303
        assert (await http.get("/admin")).status_code == 401


async def test_the_session_cookie_is_secure_over_https() -> None:
    console = Console()
    transport = httpx.ASGITransport(app=console.asgi)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        signed = await http.post(
            "/admin/login", data={"key": console.key}, headers={"origin": "https://testserver"}
        )
        assert "secure" in signed.headers["set-cookie"].lower()


async def test_a_script_uses_the_key_as_a_bearer_token_without_csrf() -> None:
    console = Console()
    bearer = {"authorization": f"Bearer {console.key}"}
    async with console.client() as http:
        made = await http.post("/admin/new/template", data=TEMPLATE, headers=bearer)
        assert made.status_code == 303
        listed = await http.get("/admin/forums.json", headers=bearer)
        assert [f["id"] for f in listed.json()["forums"]] == ["battle"]
        closed = await http.post(
            "/admin/forums/battle/state", data={"state": "closed"}, headers=bearer
        )
        assert closed.status_code == 303
    assert console.directory.forums["battle"].state == "closed"


async def test_a_change_without_the_session_token_is_refused() -> None:
    console = Console()
    async with console.client() as http:
        await console.signed_in(http)
        missing = await http.post("/admin/new/template", data=TEMPLATE, headers=ORIGIN)
        assert missing.status_code == 403
        assert "새로고침" in missing.text, "the reason, in the organiser's language"
        forged = await http.post(
            "/admin/new/template", data={**TEMPLATE, "csrf": "0" * 64}, headers=ORIGIN
        )
        assert forged.status_code == 403
    async with console.client() as other:
        # Another session's token is no use: it is bound to the session it was drawn for.
        await console.signed_in(other)
        async with console.client() as http:
            token = await console.signed_in(http)
            stolen = await other.post(
                "/admin/new/template", data={**TEMPLATE, "csrf": token}, headers=ORIGIN
            )
            assert stolen.status_code == 403
    assert console.directory.created == []


async def test_a_request_from_another_origin_is_refused() -> None:
    console = Console()
    async with console.client() as http:
        csrf = await console.signed_in(http)
        data = {**TEMPLATE, "csrf": csrf}
        for headers in (
            {"origin": "http://evil.example"},
            {"origin": "null"},
            {"sec-fetch-site": "cross-site"},
            {"sec-fetch-site": "same-site"},
            {},
        ):
            refused = await http.post("/admin/new/template", data=data, headers=headers)
            assert refused.status_code == 403, headers
        login = await http.post(
            "/admin/login", data={"key": console.key}, headers={"origin": "http://evil.example"}
        )
        assert login.status_code == 403
        # A form posted under the no-referrer policy says Origin: null; Sec-Fetch-Site decides.
        posted = await http.post(
            "/admin/new/template",
            data=data,
            headers={"origin": "null", "sec-fetch-site": "same-origin"},
        )
        assert posted.status_code == 303
    assert [text for text, _ in console.directory.created].__len__() == 1


async def test_wrong_keys_sent_at_once_are_held_to_the_limit_too() -> None:
    console = Console()
    async with console.client() as client:

        async def guess(n: int) -> int:
            data = {"key": f"guess-{n}"}
            return (await client.post("/admin/login", data=data, headers=ORIGIN)).status_code

        said = await asyncio.gather(*(guess(n) for n in range(3 * WRONG_KEY_BURST)))
    assert said.count(401) == WRONG_KEY_BURST, said  # only these were hashed and compared
    assert said.count(429) == 2 * WRONG_KEY_BURST


async def test_wrong_keys_are_rate_limited_per_address() -> None:
    console = Console()
    async with console.client() as http:
        for _ in range(WRONG_KEY_BURST):
            wrong = await http.post("/admin/login", data={"key": "guess"}, headers=ORIGIN)
            assert wrong.status_code == 401
        held = await http.post("/admin/login", data={"key": console.key}, headers=ORIGIN)
        assert held.status_code == 429 and "retry-after" in held.headers


async def test_the_console_follows_the_organisers_language() -> None:
    console = Console()
    async with console.client() as http:
        english = await http.get("/admin/login", headers={"accept-language": "en"})
        assert '<html lang="en">' in english.text and "Organiser key" in english.text
        http.cookies.set("townhall_lang", "ko")
        korean = await http.get("/admin/login", headers={"accept-language": "en"})
        assert '<html lang="ko">' in korean.text


async def test_the_list_shows_each_forum_with_its_fault() -> None:
    console = Console()
    async with console.client() as http:
        csrf = await console.signed_in(http)
        await http.post("/admin/new/template", data={**TEMPLATE, "csrf": csrf}, headers=ORIGIN)
        made = console.directory.forums["battle"]
        from dataclasses import replace

        console.directory.add(
            replace(made, id="broken", title="<b>Broken</b>", state="fault", fault="no engine"),
            "",
        )
        page = (await http.get("/admin", headers={"accept-language": "en"})).text
        assert "정책배틀 2회" in page and made.code in page
        assert "&lt;b&gt;Broken&lt;/b&gt;" in page, "titles are escaped"
        assert "no engine" in page and "Could not start" in page


async def test_a_forum_page_has_its_links_qr_codes_and_exports() -> None:
    console = Console()
    async with console.client() as http:
        csrf = await console.signed_in(http)
        await http.post(
            "/admin/new/template",
            data={
                "template": "small-library-open-forum",
                "forum.id": "lib",
                "forum.title": "Library",
                "csrf": csrf,
            },
            headers=ORIGIN,
        )
        page = (await http.get("/admin/forums/lib")).text
        code = console.directory.forums["lib"].code
        assert f"http://testserver/host/{code}#key=hostkey-lib" in page
        assert 'data-key="hostkey-lib"' in page
        assert "selection.csv" in page and "shift.csv" not in page
        assert "member-5" in page
        qr = await http.get("/admin/forums/lib/qr/committee-member-1.svg")
        assert qr.status_code == 200 and qr.headers["content-type"] == "image/svg+xml"
        assert (await http.get("/admin/forums/lib/qr/nobody.svg")).status_code == 404
        toml = await http.get("/admin/forums/lib/programme.toml")
        assert 'id = "lib"' in toml.text
        assert (await http.get("/admin/forums/nope")).status_code == 404


async def test_path_characters_in_an_id_are_refused_and_nothing_is_made() -> None:
    console = Console()
    async with console.client() as http:
        csrf = await console.signed_in(http)
        for bad in ("../x", "a/b", "..", "A B"):
            data = {**TEMPLATE, "forum.id": bad, "csrf": csrf}
            refused = await http.post("/admin/new/template", data=data, headers=ORIGIN)
            assert refused.status_code == 400, bad
            assert "forum.id" in refused.text
            assert f'value="{bad}"' in refused.text.replace("&#34;", '"'), "what was typed stays"
        for path in ("/admin/forums/..%2Fx", "/admin/forums/a%2Fb", "/admin/forums/A%20B"):
            assert (await http.get(path)).status_code == 404, path
    assert console.directory.created == []


async def test_a_duplicate_id_is_shown_beside_the_id() -> None:
    console = Console()
    async with console.client() as http:
        csrf = await console.signed_in(http)
        data = {**TEMPLATE, "csrf": csrf}
        assert (
            await http.post("/admin/new/template", data=data, headers=ORIGIN)
        ).status_code == 303
        again = await http.post("/admin/new/template", data=data, headers=ORIGIN)
        assert again.status_code == 409
        assert "a forum with that id exists" in again.text
    assert len(console.directory.forums) == 1


async def test_state_changes_and_a_confirmed_delete_of_a_closed_forum() -> None:
    console = Console()
    async with console.client() as http:
        csrf = await console.signed_in(http)
        await http.post("/admin/new/template", data={**TEMPLATE, "csrf": csrf}, headers=ORIGIN)
        open_delete = await http.post(
            "/admin/forums/battle/delete", data={"csrf": csrf, "confirm": "battle"}, headers=ORIGIN
        )
        assert open_delete.status_code == 409, "an open forum is not deleted"
        bad = await http.post(
            "/admin/forums/battle/state", data={"csrf": csrf, "state": "gone"}, headers=ORIGIN
        )
        assert bad.status_code == 400
        closed = await http.post(
            "/admin/forums/battle/state", data={"csrf": csrf, "state": "closed"}, headers=ORIGIN
        )
        assert closed.status_code == 303
        page = (await http.get("/admin/forums/battle")).text
        assert 'action="/admin/forums/battle/delete"' in page
        unconfirmed = await http.post(
            "/admin/forums/battle/delete", data={"csrf": csrf, "confirm": "x"}, headers=ORIGIN
        )
        assert unconfirmed.status_code == 400 and "battle" in console.directory.forums
        gone = await http.post(
            "/admin/forums/battle/delete", data={"csrf": csrf, "confirm": "battle"}, headers=ORIGIN
        )
        assert gone.status_code == 303 and console.directory.forums == {}
