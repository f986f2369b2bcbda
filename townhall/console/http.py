"""The console's requests and answers: reading a posted form within a size cap, drawing a
page in the organiser's language, and refusals as HTML for a browser or JSON for a script."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jinja2
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Message

from townhall import i18n
from townhall.console.directory import Directory
from townhall.console.guard import CSRF_FIELD, CSRF_HEADER, Gate, Session
from townhall.identity import read_cookie
from townhall.script_strings import CONSOLE_STRINGS, N_

FORM_CAP = 1024 * 1024  # the agenda form at its largest: 200 items with their notes
SMALL_CAP = 16 * 1024  # a login, a state change, a deletion


class TooLarge(Exception):
    """The request's body is over the route's cap."""


async def read_form(request: Request, cap: int) -> FormData:
    """The posted form, refused (TooLarge) past `cap` bytes: by its Content-Length before any
    of it is read, or as soon as a body sent without one passes the cap."""
    length = request.headers.get("content-length", "")
    if length and (not length.isdigit() or int(length) > cap):
        raise TooLarge
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > cap:
            raise TooLarge
        return message

    return await Request(request.scope, receive).form(max_files=1, max_fields=4000)


@dataclass(frozen=True, slots=True)
class Console:
    """What every console page needs."""

    directory: Directory
    gate: Gate
    base_url: str
    templates: dict[str, jinja2.Environment]

    def language(self, request: Request) -> str:
        chosen = read_cookie(request.headers.get("cookie", ""), i18n.LANG_COOKIE)
        return i18n.choose_language(chosen, request.headers.get("accept-language", ""), "ko")

    def gettext(self, request: Request, message: str) -> str:
        return i18n.CATALOGUES[self.language(request)].gettext(message)

    def render(
        self,
        request: Request,
        name: str,
        session: Session | None = None,
        status: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        language = self.language(request)
        translations = i18n.CATALOGUES[language]
        strings = {key: translations.gettext(text) for key, text in CONSOLE_STRINGS.items()}
        page = (
            self.templates[language]
            .get_template(name)
            .render(
                language=language,
                languages=i18n.LANGUAGE_NAMES,
                path=request.url.path,
                csrf=session.csrf if session is not None else "",
                signed_in=session is not None and not session.bearer,
                script_config={"lang": language, "strings": strings},
                **context,
            )
        )
        response = HTMLResponse(page, status_code=status)
        response.headers["cache-control"] = "no-store"
        return response

    def refuse(self, request: Request, status: int, code: str, message: str) -> Response:
        """A refusal: JSON for a script or fetch, a page for a browser."""
        if wants_json(request):
            body = {"ok": False, "error": {"code": code, "message": message}}
            return JSONResponse(body, status_code=status)
        return self.render(request, "console/refused.html", status=status, message=message)

    def unauthorised(self, request: Request) -> Response:
        message = self.gettext(request, N_("Sign in with the organiser key to use the console."))
        if wants_json(request):
            response = self.refuse(request, 401, "unauthorised", message)
        else:
            response = self.render(request, "console/login.html", status=401, error="")
        response.headers["www-authenticate"] = "Bearer"
        return response


def wants_json(request: Request) -> bool:
    """A script or a page's fetch, not a browser opening a page."""
    accept = request.headers.get("accept", "")
    return (
        "application/json" in accept
        or request.headers.get("sec-fetch-dest") == "empty"
        or "authorization" in request.headers
    )


Handler = Callable[[Request, Session], Awaitable[Response]]
FormHandler = Callable[[Request, Session, FormData], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def viewing(console: Console, handler: Handler) -> Endpoint:
    """A page the organiser reads: a session or the key, else 401."""

    async def endpoint(request: Request) -> Response:
        session = await console.gate.session(request)
        if session is None:
            return console.unauthorised(request)
        return await handler(request, session)

    return endpoint


def changing(console: Console, handler: FormHandler, cap: int = SMALL_CAP) -> Endpoint:
    """A POST that changes something: a session or the key (401), from this site (403), within
    the cap (413, unread), with the session's CSRF token (403)."""

    async def endpoint(request: Request) -> Response:
        session = await console.gate.session(request)
        if session is None:
            return console.unauthorised(request)
        if not session.bearer and (reason := console.gate.cross_site(request)):
            return console.refuse(request, 403, "cross_site", reason)
        try:
            form = await read_form(request, cap)
        except TooLarge:
            message = console.gettext(request, N_("That is too large: at most {kib} KiB."))
            return console.refuse(request, 413, "too_large", message.format(kib=cap // 1024))
        except HTTPException as exc:
            return console.refuse(request, 400, "bad_form", str(exc.detail))
        try:  # an uploaded file is spooled to a temporary file: closed however this ends
            token = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
            reason = console.gate.bad_token(session, token if isinstance(token, str) else None)
            if reason is not None:
                return console.refuse(request, 403, "bad_csrf", console.gettext(request, reason))
            return await handler(request, session, form)
        finally:
            await form.close()

    return endpoint
