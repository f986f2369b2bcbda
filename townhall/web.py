"""HTTP: the phone, host, projector, committee and moderator pages, the QR code, language switch
and health check."""

from __future__ import annotations

import io
import math
import os
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import segno
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from townhall import files, i18n
from townhall.assets import REVALIDATE, Assets, StaticServer
from townhall.identity import COOKIE_MAX_AGE, Identities, read_cookie
from townhall.model.agenda import Programme
from townhall.model.forum import Forum
from townhall.page_cache import PageCache
from townhall.ratelimit import AddressBuckets, address_key
from townhall.script_strings import SCRIPT_STRINGS

SOCKET_IO_PATH = "/vendor/socket.io.esm.min.js"


def load_assets() -> Assets:
    """Townhall's static files and the Socket.IO client, versioned: once, at start."""
    return Assets.build(files.STATIC, {SOCKET_IO_PATH: files.SOCKET_IO_CLIENT})


@dataclass(frozen=True, slots=True)
class Site:
    """What the pages need to know about the forum being served; the server's own pages (the
    landing page, a refusal) are drawn by a Site with no programme."""

    programme: Programme | None
    code: str
    join_url: str
    identities: Identities | None
    templates: dict[str, jinja2.Environment]
    transports: tuple[str, ...]
    joins: AddressBuckets  # new participant ids per client address
    # Where the agenda stands now, for the phone to show before its socket connects.
    now_on: Callable[[], NowOn] | None = None

    # Pages drawn already: each depends only on what its key names, so a hall joining at once
    # is sent one drawing (gzipped once) rather than thousands.
    drawn: PageCache = field(default_factory=PageCache, compare=False, repr=False)

    def render(self, request: Request, name: str, language: str, **context: str) -> HTMLResponse:
        path = request.url.path
        now_on = self.now_on() if self.now_on else None
        key = (name, language, path, now_on, *sorted(context.items()))

        def draw() -> str:
            translations = i18n.CATALOGUES[language]
            strings = {k: translations.gettext(text) for k, text in SCRIPT_STRINGS.items()}
            return (
                self.templates[language]
                .get_template(name)
                .render(
                    language=language,
                    languages=i18n.LANGUAGE_NAMES,
                    path=path,
                    programme=self.programme,
                    code=self.code,
                    join_url=self.join_url,
                    script_config={
                        "code": self.code,
                        "lang": language,
                        "strings": strings,
                        "transports": self.transports,
                    },
                    now_on=now_on,
                    **context,
                )
            )

        return self.drawn.get(key, draw).response(request.headers.get("accept-encoding", ""))


@dataclass(frozen=True, slots=True)
class NowOn:
    """The current agenda item as a phone first shows it, before its socket connects: on a slow
    network the page is read seconds before it is live."""

    step: str  # "2 / 5"
    title: str
    question: str = ""  # a poll's or a word item's
    options: tuple[str, ...] = ()  # a poll's option labels, as its ballot will list them


def now_on(forum: Forum) -> NowOn:
    """Where `forum`'s agenda stands, as phone.js writes it once the state comes."""
    items = forum.programme.items
    item = items[forum.current]
    poll = forum.polls.get(item.id)
    options = tuple(o.label for o in poll.options) if poll is not None else ()
    return NowOn(f"{forum.current + 1} / {len(items)}", item.title, item.question, options)


Endpoint = Callable[[Request], Awaitable[Response]]

# A probe's answer is of this moment: no cache on the way keeps it.
NOT_CACHED = {"cache-control": "no-store"}

# Seconds added at random to a refused join's retry, so a crowd's retries do not come together.
JOIN_RETRY_JITTER_S = 4


def make_templates(directory: Path, assets: Assets) -> dict[str, jinja2.Environment]:
    """The pages' templates, one environment per language; `asset`, `stylesheet` and `module`
    name the static files by their versioned names."""
    envs = {}
    for language in i18n.LANGUAGES:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
        )
        env.install_gettext_translations(i18n.CATALOGUES[language], newstyle=True)  # type: ignore[attr-defined]
        env.globals.update(asset=assets.url, stylesheet=assets.stylesheet, module=assets.module)
        envs[language] = env
    return envs


def cookie_value(request: Request, name: str) -> str | None:
    # Not request.cookies: see read_cookie for why.
    return read_cookie(request.headers.get("cookie", ""), name)


def language(request: Request, default: str) -> str:
    """The page's language: the visitor's choice, else their browser's, else `default`."""
    return i18n.choose_language(
        cookie_value(request, i18n.LANG_COOKIE), request.headers.get("accept-language", ""), default
    )


def screen_language(request: Request, default: str) -> str:
    """The projector's language: the address's `?lang=` (its L key sets it), else the
    programme's. The laptop's browser and the host's own choice are not the room's language."""
    return i18n.choose_language(request.query_params.get("lang"), "", default)


def refusal_page(site: Site, request: Request, message: str, status: int) -> HTMLResponse:
    """The landing page with a sentence saying why the page asked for is not there."""
    lang = language(request, site.programme.language if site.programme else i18n.DEFAULT)
    text = i18n.CATALOGUES[lang].gettext(message)
    response = site.render(request, "landing.html", lang, error=text)
    response.status_code = status
    return response


NO_FORUM = "There is no forum with that code. Check the code on the screen."
FORUM_CLOSED = "This forum has closed. Thank you for taking part."
FORUM_PAGES = ("j", "host", "screen", "committee", "moderate")


def forum_routes(site: Site) -> list[Route]:
    """One forum's pages and its QR code; the server routes a request here by its code."""
    assert site.programme is not None and site.identities is not None
    programme, identities = site.programme, site.identities

    def page(
        template: str,
        *,
        participant: bool = False,
        chooses: Callable[[Request, str], str] = language,
    ) -> Endpoint:
        """A forum's page, drawn from `template` in the language `chooses` picks; a
        participant's also gives a newcomer an id."""

        async def handler(request: Request) -> Response:
            if request.path_params["code"].upper() != site.code:
                return refusal_page(site, request, NO_FORUM, 404)
            lang = chooses(request, programme.language)
            cookies = request.headers.get("cookie", "")
            if participant and identities.from_cookie_header(cookies) is None:
                return newcomer(request, template, lang)
            return site.render(request, template, lang)

        return handler

    def newcomer(request: Request, template: str, lang: str) -> HTMLResponse:
        # Only a new participant id costs a token, so a phone that has its cookie is never held
        # back. Behind a reverse proxy, uvicorn's proxy headers put the phone's address here.
        wait = site.joins.take(address_key(request.client.host if request.client else None))
        if wait:
            return too_many_joins(request, lang, wait)
        response = site.render(request, template, lang)
        _, cookie = identities.new()
        response.set_cookie(
            identities.cookie,
            cookie,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    def too_many_joins(request: Request, lang: str, wait: float) -> HTMLResponse:
        """A page that says so and loads itself again: a hall joining at once gets in turn by
        turn. The jitter spreads a crowd's retries over a few seconds instead of one."""
        message = i18n.CATALOGUES[lang].gettext(
            "Many people are joining at once. This page tries again by itself in a few seconds."
        )
        response = site.render(request, "landing.html", lang, error=message)
        response.status_code = 429
        retry = str(math.ceil(wait) + random.randint(0, JOIN_RETRY_JITTER_S))  # noqa: S311
        response.headers["retry-after"] = retry
        response.headers["refresh"] = retry
        response.headers["cache-control"] = "no-store"
        return response

    async def qr(request: Request) -> Response:
        if request.path_params["code"].upper() != site.code:
            return Response("no forum with that code", status_code=404, media_type="text/plain")
        return Response(qr_svg(site.join_url), media_type="image/svg+xml")

    return [
        Route("/j/{code}", page("phone.html", participant=True), name="phone"),
        Route("/host/{code}", page("host.html"), name="host"),
        Route("/screen/{code}", page("screen.html", chooses=screen_language), name="screen"),
        Route("/committee/{code}", page("committee.html"), name="committee"),
        Route("/moderate/{code}", page("moderator.html"), name="moderate"),
        Route("/qr/{code}.svg", qr),
    ]


def qr_svg(url: str) -> bytes:
    """A QR code for `url` as SVG, dark on light with a quiet zone, as phones read best."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=10, border=2, dark="#000", light="#fff", xmldecl=False
    )
    return buffer.getvalue()


def site_routes(
    site: Site,
    assets: Assets,
    health: Callable[[], dict[str, Any]],
    has_code: Callable[[str], bool],
    is_closed: Callable[[str], bool],
) -> list[Route | Mount]:
    """The server's own routes: the landing page, joining by code, the language switch, the
    health check and the static files; and, for a code no forum on the server has, a refusal.
    `health` returns the health check's JSON body."""

    async def landing(request: Request) -> Response:
        return site.render(request, "landing.html", language(request, i18n.DEFAULT), error="")

    async def join(request: Request) -> Response:
        code = request.query_params.get("code", "").strip().upper()
        if not code.isascii() or not code.isalnum() or not has_code(code):
            return refusal_page(site, request, NO_FORUM, 404)
        return RedirectResponse(f"/j/{code}", status_code=303)

    async def no_forum(request: Request) -> Response:
        if is_closed(request.path_params["code"].upper()):
            return refusal_page(site, request, FORUM_CLOSED, 410)
        return refusal_page(site, request, NO_FORUM, 404)

    async def set_language(request: Request) -> Response:
        chosen = request.path_params["lang"]
        if chosen not in i18n.LANGUAGES:
            return Response(
                f"unknown language {chosen[:20]!r}", status_code=400, media_type="text/plain"
            )
        target = request.query_params.get("next", "/")
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"
        response = RedirectResponse(quote(target, safe="/?=&#"), status_code=303)
        response.set_cookie(i18n.LANG_COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="lax")
        return response

    async def healthz(request: Request) -> Response:
        body = health()
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    async def livez(request: Request) -> Response:
        """The process serves: its event loop answered. Whatever Redis is doing."""
        return JSONResponse({"ok": True, "pid": os.getpid()}, headers=NOT_CACHED)

    async def readyz(request: Request) -> Response:
        """It can store changes now: every forum it has loaded can reach its engine."""
        body = health()
        ready = {"ok": body["ok"], "engine": body["engine"], "pid": body["pid"]}
        return JSONResponse(ready, status_code=200 if body["ok"] else 503, headers=NOT_CACHED)

    async def socket_io_client(request: Request) -> Response:
        if not files.SOCKET_IO_CLIENT.exists():
            return Response("socket.io-client is not installed: run npm ci", status_code=500)
        return FileResponse(
            files.SOCKET_IO_CLIENT,
            media_type="text/javascript",
            headers={"cache-control": REVALIDATE},
        )

    async def vendor(request: Request) -> Response:
        return assets.response(request.scope) or Response(
            "no such file", status_code=404, media_type="text/plain"
        )

    async def no_qr(request: Request) -> Response:
        return Response("no forum with that code", status_code=404, media_type="text/plain")

    return [
        Route("/", landing),
        Route("/join", join),
        *(Route(f"/{section}/{{code}}", no_forum) for section in FORUM_PAGES),
        Route("/qr/{code}.svg", no_qr),
        Route("/lang/{lang}", set_language),
        Route("/healthz", healthz),
        Route("/livez", livez),
        Route("/readyz", readyz),
        Route(SOCKET_IO_PATH, socket_io_client),
        Route("/vendor/{name}", vendor),
        Mount(
            "/static",
            app=StaticServer(assets, StaticFiles(directory=files.STATIC)),
            name="static",
        ),
    ]
