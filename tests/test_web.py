"""The HTTP side over a real server: pages, cookie, language, QR code, headers, health."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import httpx

from tests.conftest import Live
from townhall.identity import cookie_name
from townhall.page_cache import PageCache


async def get(
    live: Live,
    path: str,
    *,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=live.url, cookies=cookies) as http:
        return await http.get(path, headers=headers, params=params)


async def test_phone_page_sets_a_signed_httponly_cookie_once(live: Live) -> None:
    response = await get(live, f"/j/{live.code}")
    assert response.status_code == 200
    header = response.headers["set-cookie"]
    name = cookie_name(live.code)
    assert header.startswith(f"{name}=")
    assert "HttpOnly" in header
    assert "samesite=lax" in header.lower()
    cookie = response.cookies[name]
    again = await get(live, f"/j/{live.code}", cookies={name: cookie})
    assert "set-cookie" not in again.headers, "a valid cookie is kept, not replaced"
    forged = await get(live, f"/j/{live.code}", cookies={name: "forged"})
    assert name in forged.headers["set-cookie"]


async def test_codes_are_case_insensitive_and_wrong_codes_get_a_404(live: Live) -> None:
    assert (await get(live, f"/j/{live.code.lower()}")).status_code == 200
    missing = await get(live, "/j/NOPE99")
    assert missing.status_code == 404
    assert "코드" in missing.text  # the programme's language, Korean, by default
    join = await get(live, "/join", params={"code": f" {live.code.lower()} "})
    assert join.status_code == 303
    assert join.headers["location"] == f"/j/{live.code}"
    assert (await get(live, "/join", params={"code": "zzz"})).status_code == 404


async def test_every_page_has_a_content_security_policy(live: Live) -> None:
    for path in ("/", f"/j/{live.code}", f"/host/{live.code}", f"/screen/{live.code}", "/healthz"):
        response = await get(live, path)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_language_follows_the_browser_the_switch_and_the_programme(live: Live) -> None:
    korean = await get(live, f"/j/{live.code}")
    assert '<html lang="ko">' in korean.text and "투표하기" in korean.text
    english = await get(live, f"/j/{live.code}", headers={"accept-language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text and ">Vote<" in english.text
    async with httpx.AsyncClient(base_url=live.url) as http:
        switch = await http.get("/lang/en", params={"next": f"/screen/{live.code}"})
        assert switch.status_code == 303
        assert switch.headers["location"] == f"/screen/{live.code}"
        chosen = await http.get(f"/j/{live.code}", headers={"accept-language": "ko"})
        assert '<html lang="en">' in chosen.text, "the switch beats the browser's preference"
        offsite = await http.get("/lang/ko", params={"next": "//evil.example/"})
        assert offsite.headers["location"] == "/"
        assert (await http.get("/lang/fr")).status_code == 400


async def test_qr_code_is_an_svg_of_the_join_address(live: Live) -> None:
    response = await get(live, f"/qr/{live.code}.svg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.lstrip().startswith("<svg")
    assert (await get(live, "/qr/NOPE99.svg")).status_code == 404


async def test_projector_page_shows_the_code_and_join_address(live: Live) -> None:
    page = (await get(live, f"/screen/{live.code}")).text
    assert live.code in page
    assert f"/j/{live.code}" in page
    assert f"/qr/{live.code}.svg" in page


async def test_host_page_never_carries_the_key(live: Live) -> None:
    page = (await get(live, f"/host/{live.code}")).text
    assert live.host_key not in page


async def test_health_reports_the_forum_and_connections(live: Live) -> None:
    await live.phone()
    body = (await get(live, "/healthz")).json()
    assert body["ok"] is True
    assert body["forums"]["test-forum"]["state"] == "open"
    assert body["connections"]["participant"] == 1


async def test_browser_socket_io_client_is_served_from_the_npm_package(live: Live) -> None:
    response = await get(live, "/vendor/socket.io.esm.min.js")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]


async def test_the_join_page_is_sent_gzipped_to_a_browser_that_takes_it_and_plain_otherwise(
    live: Live,
) -> None:
    plain = await get(live, f"/j/{live.code}", headers={"accept-encoding": "identity"})
    zipped = await get(live, f"/j/{live.code}", headers={"accept-encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    for response in (plain, zipped):
        assert response.headers["vary"].lower() == "accept-encoding"
        assert response.headers["cache-control"].startswith("private")
        assert response.text == plain.text  # httpx undoes the gzip
        assert cookie_name(live.code) in response.headers["set-cookie"]


def test_a_drawn_page_is_drawn_once_and_the_cache_is_bounded() -> None:
    drawn: list[str] = []

    def draw(text: str) -> Callable[[], str]:
        def drawing() -> str:
            drawn.append(text)
            return text * 2000

        return drawing

    cache = PageCache(limit=2)
    first = cache.get(("j", "en"), draw("a"))
    assert cache.get(("j", "en"), draw("a")) is first
    assert gzip.decompress(first.gzipped or b"") == first.body == b"a" * 2000
    assert cache.get(("j", "ko"), draw("b")).body == b"b" * 2000
    assert drawn == ["a", "b"]
    cache.get(("j", "fr"), draw("c"))  # full: emptied, then kept
    assert list(cache.pages) == [("j", "fr")]
    assert cache.get(("j", "en"), draw("a")) is not first
    assert drawn == ["a", "b", "c", "a"]
    small = PageCache().get("tiny", lambda: "<p>hi</p>")
    assert small.gzipped is None and "content-encoding" not in small.response("gzip").headers
