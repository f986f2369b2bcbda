"""A console served over a small in-memory directory of forums, for the console's own tests:
the key store, the registry and a signed-in browser."""

from __future__ import annotations

import re
import tomllib
from dataclasses import replace

from starlette.applications import Starlette
from starlette.testclient import TestClient

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

    async def delete(self, forum_id: str) -> None:
        summary = self.summary(forum_id)
        if summary.source == "file":
            raise DirectoryError("not_allowed", "a forum from a file is removed from its command")
        if summary.state not in ("closed", "archived"):
            raise DirectoryError("bad_state", "close or archive the forum before deleting it")
        del self.forums[forum_id]
        del self.texts[forum_id]

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
        app = Starlette(routes=routes(self.directory, self.store, BASE_URL))
        self.asgi = SecurityHeaders(app)

    def client(self) -> TestClient:
        return TestClient(self.asgi, base_url=BASE_URL, follow_redirects=False)

    def signed_in(self) -> tuple[TestClient, str]:
        """A browser signed in to the console, and the CSRF token its pages carry."""
        client = self.client()
        response = client.post("/admin/login", data={"key": self.key}, headers=ORIGIN)
        assert response.status_code == 303, response.text
        return client, csrf_of(client.get("/admin").text)


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, "the page carries no CSRF token"
    return match.group(1)
