"""Light on a bad network, over a real server: compressed responses, versioned static files kept
a year, every page's scripts deferred and named up front, the phone page's weight, and the
cold-load measurement itself."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import httpx

from tests.conftest import Live
from townhall.assets import IMMUTABLE, REVALIDATE
from townhall.web import load_assets

ROOT = Path(__file__).resolve().parent.parent

# What the phone's first visit may weigh, gzipped: the page and every file it names. Measured
# at about 48 kB (loadtest/coldload.py); the Socket.IO client alone is 13 kB.
PHONE_PAGE_BUDGET = 64_000
TEMPLATES = ROOT / "templates"


class Tags(HTMLParser):
    """The scripts and links of a page, and whether each sits in its head."""

    def __init__(self) -> None:
        super().__init__()
        self.in_head = False
        self.tags: list[tuple[str, dict[str, str | None], bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        if tag in ("script", "link"):
            self.tags.append((tag, dict(attrs), self.in_head))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False


def tags_of(page: str) -> list[tuple[str, dict[str, str | None], bool]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def named_files(page: str) -> list[str]:
    """Every file on this server a page's scripts and links name."""
    urls = [str(attrs.get("src") or attrs.get("href") or "") for _, attrs, _ in tags_of(page)]
    return [url for url in urls if url.startswith("/") and not url.startswith("/lang/")]


async def pages(live: Live, http: httpx.AsyncClient) -> dict[str, str]:
    paths = ["/", "/admin/login", *(f"/{s}/{live.code}" for s in ("j", "host", "screen"))]
    paths += [f"/committee/{live.code}", f"/moderate/{live.code}"]
    found = {}
    for path in paths:
        response = await http.get(path)
        assert response.status_code == 200, path
        found[path] = response.text
    return found


async def test_pages_and_static_files_are_gzipped_when_asked_and_say_so(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        page = await http.get(f"/j/{live.code}", headers={"accept-encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip"
        assert "accept-encoding" in page.headers["vary"].lower()
        assert page.headers["cache-control"] == f"private, {REVALIDATE}"
        assert page.num_bytes_downloaded < len(page.content) / 2
        plain = await http.get(f"/j/{live.code}", headers={"accept-encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.text.count("<script") == page.text.count("<script")
        for url in named_files(page.text):
            asset = await http.get(url, headers={"accept-encoding": "gzip"})
            assert asset.status_code == 200, url
            assert asset.headers["content-encoding"] == "gzip", url
            assert asset.headers["vary"] == "Accept-Encoding"
            raw = await http.get(url, headers={"accept-encoding": "identity"})
            assert "content-encoding" not in raw.headers and raw.content == asset.content
        # A small answer is sent as it is: gzip would cost more than it saves.
        health = await http.get("/healthz", headers={"accept-encoding": "gzip"})
        assert "content-encoding" not in health.headers


async def test_the_streamed_record_stays_streamed_when_gzipped(live: Live) -> None:
    host = await live.host()
    for item in live.forum.programme.items:  # some events, so the record has lines to stream
        assert (await host.call("goto", {"item": item.id}))["ok"]
    auth = {"authorization": f"Bearer {live.host_key}"}
    path = f"/export/{live.code}/record.jsonl"
    async with httpx.AsyncClient(base_url=live.url) as http:
        gzipped = await http.get(path, headers={**auth, "accept-encoding": "gzip"})
        plain = await http.get(path, headers={**auth, "accept-encoding": "identity"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert "content-length" not in gzipped.headers, "sent in chunks as it is read"
    assert gzipped.headers["transfer-encoding"] == "chunked"
    assert gzipped.text == plain.text and len(plain.text.splitlines()) > len(
        live.forum.programme.items
    )


async def test_no_export_is_kept_by_a_cache(live: Live) -> None:
    """Exports hold the forum as it stands and are asked for with the host key: no cache on the
    way keeps one (the exports' own list is the host page's)."""
    auth = {"authorization": f"Bearer {live.host_key}"}
    names = ["record.jsonl", "results.json", "results.csv", "posts.json", "posts.csv"]
    async with httpx.AsyncClient(base_url=live.url, headers=auth) as http:
        for name in names:
            reply = await http.get(f"/export/{live.code}/{name}")
            assert reply.status_code == 200, name
            assert reply.headers["cache-control"] == "no-store", name
            assert reply.headers["content-disposition"].startswith("attachment"), name


async def test_versioned_files_are_kept_a_year_and_plain_names_still_work(live: Live) -> None:
    assets = load_assets()
    async with httpx.AsyncClient(base_url=live.url) as http:
        for plain in (
            "/static/js/phone.js",
            "/static/css/townhall.css",
            "/vendor/socket.io.esm.min.js",
        ):
            versioned = await http.get(assets.url(plain))
            assert versioned.status_code == 200
            assert versioned.headers["cache-control"] == IMMUTABLE
            old = await http.get(plain)
            assert old.status_code == 200, plain
            assert old.headers["cache-control"] == REVALIDATE, plain
            assert old.content == assets.find(plain).body or plain.endswith("phone.js")
        # The versioned phone.js imports common.js by its versioned name; the plain one as written.
        versioned_phone = (await http.get(assets.url("js/phone.js"))).text
        assert f'from "{assets.url("js/common.js")}"' in versioned_phone
        assert 'from "./common.js"' in (await http.get("/static/js/phone.js")).text
        wrong = await http.get("/static/js/phone.000000000000.js")
        assert wrong.status_code == 404
        assert (await http.get("/vendor/nothing.js")).status_code == 404


def test_no_template_names_a_static_file_by_hand() -> None:
    for template in [*TEMPLATES.glob("*.html"), *TEMPLATES.glob("console/*.html")]:
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']/(static|vendor)/""", text), template.name
        assert '<script type="module" src' not in text, template.name


async def test_every_page_names_versioned_files_with_scripts_deferred_in_head(live: Live) -> None:
    assets = load_assets()
    known = set(assets.by_url)
    async with httpx.AsyncClient(base_url=live.url) as http:
        for path, page in (await pages(live, http)).items():
            tags = tags_of(page)
            scripts = [a for tag, a, _ in tags if tag == "script" and a.get("src")]
            stylesheets = [
                a for tag, a, _ in tags if tag == "link" and a.get("rel") == "stylesheet"
            ]
            assert stylesheets, path
            for tag, attrs, in_head in tags:
                url = attrs.get("src") or attrs.get("href")
                if tag == "script" and url:
                    assert in_head, (path, url)
                    assert attrs.get("type") == "module" or "defer" in attrs, (path, url)
                if url and url.startswith("/") and not url.startswith("/lang/"):
                    assert url in known, (path, url)
            # Every file the entry script imports, however deep, is named up front.
            for script in scripts:
                entry = assets.by_url[str(script["src"])].path
                preloads = [a["href"] for tag, a, _ in tags if a.get("rel") == "modulepreload"]
                assert preloads == assets.imported(entry), path


async def test_the_phone_page_carries_the_current_item_and_stays_under_its_weight(
    live: Live,
) -> None:
    host = await live.host()
    assert (await host.call("goto", {"item": live.forum.programme.items[1].id}))["ok"]
    title = live.forum.programme.items[1].title
    async with httpx.AsyncClient(base_url=live.url) as http:
        page = await http.get(f"/j/{live.code}", headers={"accept-encoding": "gzip"})
        assert f'<h1 id="item-title">{title}</h1>' in page.text
        steps = f"2 / {len(live.forum.programme.items)}"
        assert f'<p id="item-step" class="step">{steps}</p>' in page.text
        # A poll shows its question and its options before the socket is up.
        assert (await host.call("goto", {"item": "vote"}))["ok"]
        poll_page = (await http.get(f"/j/{live.code}")).text
        assert '<p class="question">Which proposal?</p>' in poll_page
        for label in ("Proposal A", "Proposal B", "Proposal C"):
            assert f"<li>{label}</li>" in poll_page
        weight = page.num_bytes_downloaded
        for url in named_files(page.text):
            weight += (
                await http.get(url, headers={"accept-encoding": "gzip"})
            ).num_bytes_downloaded
    assert weight < PHONE_PAGE_BUDGET


def test_the_cold_load_measurement_runs(tmp_path: Path) -> None:
    out = tmp_path / "coldload.json"
    command = [sys.executable, "loadtest/coldload.py", "--runs", "1", "--kbps", "100000"]
    command += ["--rtt-ms", "5", "--json", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "item shown" in done.stdout
    result = json.loads(out.read_text())
    assert result["requests"] >= 5
    assert 0 < result["wire_bytes"] < result["decoded_bytes"]
    load = result["loads"][0]
    assert load["live_ms"] >= load["item_shown_ms"] > 0
    assert all(f.get("encoding") == "gzip" for f in load["files"] if "/static/" in f["url"])
    # The second visit asks the network for the page alone: the files come from the cache.
    assert load["repeat_visit"]["requests"] == 1
    assert load["repeat_visit"]["from_cache"] == load["requests"] - 1
