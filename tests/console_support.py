"""A console served over a small in-memory directory of forums, for the console's own tests:
the key store, the registry and a signed-in browser."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import httpx
from starlette.applications import Starlette

from townhall import files, web
from townhall.console import ensure_organiser_key, routes
from townhall.console.directory import (
    DirectoryError,
    ForumLinks,
    ForumState,
    ForumSummary,
)
from townhall.http_guard import SecurityHeaders

BASE_URL = "http://testserver"
ORIGIN = {"origin": BASE_URL}


class MemoryStore:
    """The organiser key's store, as the data directory or Redis would keep it."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    def get(self, name: str) -> bytes | None:
        return self.values.get(name)

    def put(self, name: str, value: bytes) -> None:
        self.values[name] = value


class MemoryDirectory:
    """The registry's interface over a dict: forums made from programme text, with states."""

    def __init__(self) -> None:
        self.forums: dict[str, ForumSummary] = {}
        self.texts: dict[str, str] = {}
        self.created: list[tuple[str, str]] = []  # (text, source) of each create call
        self.changes: list[tuple[str, str, dict[str, Any]]] = []  # each change_agenda call
        self.clock = 1_700_000_000_000

    def summaries(self) -> list[ForumSummary]:
        return list(self.forums.values())

    def summary(self, forum_id: str) -> ForumSummary:
        if forum_id not in self.forums:
            raise DirectoryError("unknown_forum", f"no forum {forum_id!r}")
        return self.forums[forum_id]

    async def create(self, text: str, source: str) -> ForumSummary:
        self.created.append((text, source))
        forum = tomllib.loads(text)["forum"]
        if forum["id"] in self.forums:
            raise DirectoryError("duplicate_id", "a forum with that id exists", "forum.id")
        code = forum.get("code") or f"C{len(self.forums):05d}"
        if any(s.code == code for s in self.forums.values()):
            raise DirectoryError("duplicate_code", "that join code is taken", "forum.code")
        self.clock += 60_000
        made = ForumSummary(
            forum["id"], forum["title"], code, "open", None, 0, self.clock, None, source="console"
        )
        return self.add(made, text)

    def add(self, summary: ForumSummary, text: str) -> ForumSummary:
        self.forums[summary.id] = summary
        self.texts[summary.id] = text
        return summary

    async def set_state(self, forum_id: str, state: ForumState) -> ForumSummary:
        self.forums[forum_id] = replace(self.summary(forum_id), state=state.value)
        return self.forums[forum_id]

    async def delete(self, forum_id: str) -> list[str]:
        summary = self.summary(forum_id)
        if summary.source == "file":
            raise DirectoryError("not_allowed", "a forum from a file is removed from its command")
        if summary.state not in ("closed", "archived"):
            raise DirectoryError("bad_state", "close or archive the forum before deleting it")
        del self.forums[forum_id]
        del self.texts[forum_id]
        return [f"{forum_id}.journal"]

    async def change_agenda(
        self, forum_id: str, event: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        self.summary(forum_id)
        self.changes.append((forum_id, event, payload))
        return {"ok": True, "item": "quick-1"}

    def links(self, forum_id: str, base_url: str) -> ForumLinks:
        code = self.summary(forum_id).code
        members = re.findall(r'"(member-\d+)"', self.texts[forum_id])
        return ForumLinks(
            phone=f"{base_url}/j/{code}",
            host=f"{base_url}/host/{code}#key=hostkey-{forum_id}",
            screen=f"{base_url}/screen/{code}",
            moderator=None,
            committee={m: f"{base_url}/committee/{code}#member={m}&key=k-{m}" for m in members},
            qr=f"/qr/{code}.svg",
        )

    def programme_text(self, forum_id: str) -> str:
        self.summary(forum_id)
        return self.texts[forum_id]


class Console:
    """A console app over a MemoryDirectory, with its organiser key."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        key = ensure_organiser_key(self.store)
        assert key is not None
        self.key = key
        self.directory = MemoryDirectory()
        templates = web.make_templates(files.TEMPLATES, web.load_assets())
        app = Starlette(routes=routes(self.directory, self.store, BASE_URL, templates))
        self.asgi = SecurityHeaders(app)

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.asgi)
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL)

    async def signed_in(self, client: httpx.AsyncClient) -> str:
        """Signs `client` in as a browser would; the CSRF token its pages carry."""
        response = await client.post("/admin/login", data={"key": self.key}, headers=ORIGIN)
        assert response.status_code == 303, response.text
        return csrf_of((await client.get("/admin")).text)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the page carries no CSRF token"
    return match.group(1)


class _FormFields(HTMLParser):
    """The fields a browser would post from a page's form with `action`: inputs with their
    values (checkboxes only when checked), each select's chosen option, textareas' text."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
        self.inside = False
        self.fields: dict[str, str] = {}
        self.select: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("file", "submit"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.fields[name] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "select" and name:
            self.select, self.first_option = name, None
        elif tag == "option" and self.select:
            if self.first_option is None:
                self.first_option = a.get("value", "")
                self.fields.setdefault(self.select, self.first_option)
            if "selected" in a:
                self.fields[self.select] = a.get("value", "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea] += data


def form_fields(page: str, action: str) -> dict[str, str]:
    """What the page's form for `action` posts as it stands."""
    parser = _FormFields(action)
    parser.feed(page)
    return parser.fields
