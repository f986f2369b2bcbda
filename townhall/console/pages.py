"""The console's routes: sign in and out, the list of forums, a forum's page (state, links with
QR codes, exports, deletion), and the ways to make a forum (townhall/console/create.py)."""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from townhall.console import create
from townhall.console.directory import (
    Directory,
    DirectoryError,
    ForumLinks,
    ForumState,
    ForumSummary,
)
from townhall.console.guard import Gate, Session, origin_of
from townhall.console.http import SMALL_CAP, Console, TooLarge, changing, read_form, viewing
from townhall.console.organiser import KeyStore
from townhall.ids import ID_PATTERN
from townhall.script_strings import N_
from townhall.web import qr_svg

# What each state change is called on its button; the list shows the state's own name.
EXPORTS = ("results.csv", "results.json", "posts.csv", "posts.json", "record.jsonl", "digest.json")
SELECTION_EXPORTS = ("selection.csv", "selection.json", "committee.csv")
SHIFT_EXPORTS = ("shift.csv", "shift.json")


def routes(
    directory: Directory, store: KeyStore, base_url: str, templates: dict[str, jinja2.Environment]
) -> list[Route]:
    """The console's routes under /admin. `store` holds the organiser key's record
    (ensure_organiser_key has made one at start); `base_url` is the address phones reach,
    which the forums' links are made with; `templates` are the server's (web.make_templates)."""
    console = Console(
        directory=directory,
        gate=Gate(store, origin_of(base_url)),
        base_url=base_url.rstrip("/"),
        templates=templates,
    )

    async def login_form(request: Request) -> Response:
        return console.render(request, "console/login.html", error="")

    async def login(request: Request) -> Response:
        if reason := console.gate.cross_site(request):
            return console.refuse(request, 403, "cross_site", reason)
        if console.gate.wait_before_trying(request):
            return too_many_tries(request)
        try:
            form = await read_form(request, SMALL_CAP)
        except TooLarge:
            return console.refuse(request, 413, "too_large", "the form is too large")
        key = form.get("key")
        matched = await console.gate.try_key(request, key.strip() if isinstance(key, str) else "")
        if matched is None:
            return too_many_tries(request)
        if not matched:
            message = console.gettext(request, N_("That is not the organiser key."))
            return console.render(request, "console/login.html", status=401, error=message)
        signed_in = RedirectResponse("/admin", status_code=303)
        console.gate.sign_in(request, signed_in)
        return signed_in

    def too_many_tries(request: Request) -> Response:
        message = console.gettext(request, N_("Too many wrong keys. Try again in a minute."))
        response = console.render(request, "console/login.html", status=429, error=message)
        response.headers["retry-after"] = str(int(console.gate.wait_before_trying(request)) or 30)
        return response

    async def logout(request: Request, session: Session, form: FormData) -> Response:
        response = RedirectResponse("/admin/login", status_code=303)
        console.gate.sign_out(request, response)
        return response

    async def forum_list(request: Request, session: Session) -> Response:
        forums = sorted(directory.summaries(), key=lambda s: -s.created_ms)
        return console.render(request, "console/list.html", session, forums=forums, when=_when)

    async def forum_list_json(request: Request, session: Session) -> Response:
        return JSONResponse({"forums": [_summary_json(s) for s in directory.summaries()]})

    async def forum_page(request: Request, session: Session) -> Response:
        forum_id = request.path_params["forum_id"]
        if not ID_PATTERN.match(forum_id):
            return unknown(request)
        try:
            summary = directory.summary(forum_id)
            text = directory.programme_text(forum_id)
        except DirectoryError as exc:
            return failed(request, exc)
        try:
            links: ForumLinks | None = directory.links(forum_id, console.base_url)
        except DirectoryError:
            # Archived, or could not start: nothing to link to or export, but the page is
            # where it is opened again, its fault read, or it is deleted.
            links = None
        return console.render(
            request,
            "console/forum.html",
            session,
            forum=summary,
            links=_link_rows(links) if links else [],
            host_key=_host_key(links) if links else "",
            exports=_exports(text) if links else [],
            when=_when,
            error=request.query_params.get("error", ""),
            added=request.query_params.get("added") == "1",
        )

    async def set_state(request: Request, session: Session, form: FormData) -> Response:
        forum_id = request.path_params["forum_id"]
        wanted = form.get("state")
        if not ID_PATTERN.match(forum_id):
            return unknown(request)
        if wanted not in tuple(ForumState):
            return console.refuse(request, 400, "bad_state", "state: open, closed or archived")
        try:
            await directory.set_state(forum_id, ForumState(str(wanted)))
        except DirectoryError as exc:
            return failed(request, exc)
        return RedirectResponse(f"/admin/forums/{forum_id}", status_code=303)

    async def quick_poll(request: Request, session: Session, form: FormData) -> Response:
        """A quick poll added to a running forum's agenda, after the item on screen."""
        forum_id = request.path_params["forum_id"]
        if not ID_PATTERN.match(forum_id):
            return unknown(request)
        options = [line.strip() for line in str(form.get("options", "")).splitlines()]
        options = [label for label in options if label]
        payload: dict[str, Any] = {"question": str(form.get("question", "")).strip()}
        payload["options"] = options
        if form.get("multiple") == "on" and len(options) > 1:
            payload["max_choices"] = len(options)
        try:
            ack = await directory.change_agenda(forum_id, "poll_add", payload)
        except DirectoryError as exc:
            return failed(request, exc)
        target = f"/admin/forums/{forum_id}"
        if not ack.get("ok"):
            said = ack.get("error", {}).get("message", "")
            return RedirectResponse(f"{target}?{urlencode({'error': said})}#agenda", 303)
        return RedirectResponse(f"{target}?added=1#agenda", status_code=303)

    async def delete(request: Request, session: Session, form: FormData) -> Response:
        forum_id = request.path_params["forum_id"]
        if not ID_PATTERN.match(forum_id):
            return unknown(request)
        if form.get("confirm") != forum_id:
            message = console.gettext(request, N_("Type the forum's id to confirm the deletion."))
            return console.refuse(request, 400, "not_confirmed", message)
        try:
            await directory.delete(forum_id)
        except DirectoryError as exc:
            return failed(request, exc)
        return RedirectResponse("/admin", status_code=303)

    async def qr(request: Request, session: Session) -> Response:
        forum_id, which = request.path_params["forum_id"], request.path_params["which"]
        if not ID_PATTERN.match(forum_id):
            return unknown(request)
        try:
            links = dict(_link_rows(directory.links(forum_id, console.base_url)))
        except DirectoryError as exc:
            return failed(request, exc)
        if which not in links:
            return console.refuse(request, 404, "unknown_link", "no such link")
        response = Response(qr_svg(links[which]), media_type="image/svg+xml")
        response.headers["cache-control"] = "no-store"
        return response

    async def programme(request: Request, session: Session) -> Response:
        forum_id = request.path_params["forum_id"]
        if not ID_PATTERN.match(forum_id):
            return unknown(request)
        try:
            text = directory.programme_text(forum_id)
        except DirectoryError as exc:
            return failed(request, exc)
        return Response(
            text,
            media_type="application/toml; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{forum_id}.toml"'},
        )

    def unknown(request: Request) -> Response:
        message = console.gettext(request, N_("There is no forum with that id."))
        return console.refuse(request, 404, "unknown_forum", message)

    def failed(request: Request, exc: DirectoryError) -> Response:
        if exc.code == "unknown_forum":
            return unknown(request)
        return console.refuse(request, 409, exc.code, exc.message)

    return [
        Route("/admin/login", login_form, methods=["GET"]),
        Route("/admin/login", login, methods=["POST"]),
        Route("/admin/logout", changing(console, logout), methods=["POST"]),
        Route("/admin", viewing(console, forum_list), methods=["GET"]),
        Route("/admin/forums.json", viewing(console, forum_list_json), methods=["GET"]),
        *create.routes(console),
        Route("/admin/forums/{forum_id}", viewing(console, forum_page), methods=["GET"]),
        Route("/admin/forums/{forum_id}/state", changing(console, set_state), methods=["POST"]),
        Route("/admin/forums/{forum_id}/delete", changing(console, delete), methods=["POST"]),
        Route(
            "/admin/forums/{forum_id}/quick-poll",
            changing(console, quick_poll),
            methods=["POST"],
        ),
        Route("/admin/forums/{forum_id}/qr/{which}.svg", viewing(console, qr), methods=["GET"]),
        Route(
            "/admin/forums/{forum_id}/programme.toml",
            viewing(console, programme),
            methods=["GET"],
        ),
    ]


def _when(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def _summary_json(summary: ForumSummary) -> dict[str, object]:
    return dataclasses.asdict(summary)


def _link_rows(links: ForumLinks) -> list[tuple[str, str]]:
    """Each link with the name its QR route and row go by, in the order the page lists them."""
    rows = [("phone", links.phone), ("screen", links.screen), ("host", links.host)]
    if links.moderator:
        rows.append(("moderator", links.moderator))
    rows += [(f"committee-{member}", link) for member, link in links.committee.items()]
    return rows


def _host_key(links: ForumLinks) -> str:
    """The host key the host link carries after #key=, for the page's export downloads."""
    return parse_qs(urlsplit(links.host).fragment).get("key", [""])[0]


def _exports(text: str) -> list[str]:
    """The exports a forum has: the selection's and the opinion shift's only where its
    programme has them."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        data = {}
    found = list(EXPORTS)
    if "selection" in data:
        found += SELECTION_EXPORTS
    if any(isinstance(i, dict) and i.get("compare_to") for i in data.get("items", [])):
        found += SHIFT_EXPORTS
    return found
