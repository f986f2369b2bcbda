"""A phone joining on a bad network, from a cold cache: bytes, requests and time to the item.

Starts `townhall serve` on a seed programme, has the host move to a poll and open it, then opens
the phone's join page in headless Chromium with the network throttled through the DevTools
protocol (by default 400 kbit/s each way and 400 ms round trip, a weak 3G link) and an empty
cache, and reports:

- the requests made and the bytes transferred: on the wire (compressed, headers included) and
  the bodies as decoded; the Socket.IO frames apart;
- when the current item's title was first shown (the first frame that has it, and never before
  the first contentful paint), and when the page was live (the poll's options drawn from the
  server's snapshot over Socket.IO), both from the start of navigation, as the page measured.

    .venv/bin/python loadtest/coldload.py --runs 5
    .venv/bin/python loadtest/coldload.py --townhall-tree /tmp/before --runs 5   # another version

Needs Debian's chromium (or TOWNHALL_TEST_CHROMIUM) and `npm ci` run in the tree served.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

import socketio
from playwright.async_api import Browser, CDPSession, Page, async_playwright

ROOT = Path(__file__).resolve().parent.parent
HOST_LINE = re.compile(r"Host screen:\s+(http://\S+)/host/(\w+)#key=(\S+)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"]

# Marks the page makes for itself, in ms from the start of navigation: the first frame with the
# item's title, the first contentful paint, and the first frame with the poll's options.
MARKS = """
(() => {
  const marks = {};
  window.__coldload = marks;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if (entry.name === "first-contentful-paint") marks.fcp = entry.startTime;
  }).observe({ type: "paint", buffered: true });
  const tick = () => {
    const title = document.getElementById("item-title");
    if (marks.title === undefined && title && title.textContent === window.__expected)
      marks.title = performance.now();
    if (marks.live === undefined && document.querySelectorAll("#options input").length > 0)
      marks.live = performance.now();
    if (marks.title === undefined || marks.live === undefined) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


class Server:
    """`python -m townhall serve ROOM` from `tree`, on a free port, with its data in a temp dir."""

    def __init__(self, tree: Path, room: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.data = Path(tempfile.mkdtemp(prefix="coldload-"))
        self.log = self.data / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
        command = [sys.executable, "-m", "townhall", "serve", str(room), "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--data-dir", str(self.data / "data")]
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                command, cwd=tree, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{self.port}"

    def wait(self, timeout_s: float = 60) -> tuple[str, str]:
        """Until the server answers; its forum's code and host key."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"coldload: the server stopped:\n{self.log.read_text()}")
            match = HOST_LINE.search(self.log.read_text(errors="replace"))
            if match:
                try:
                    with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                        return match.group(2), match.group(3)
                except OSError:
                    pass
            time.sleep(0.1)
        raise SystemExit(f"coldload: the server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.data, ignore_errors=True)


async def open_poll(url: str, code: str, key: str, item: str) -> None:
    """The host moves the agenda to `item` and opens its poll."""
    host = socketio.AsyncClient(reconnection=False)
    await host.connect(
        url, auth={"role": "host", "code": code, "key": key}, transports=["websocket"]
    )
    try:
        for event, data in (("goto", {"item": item}), ("poll_open", {"poll": item})):
            reply = await host.call(event, data, timeout=10)
            if not reply.get("ok"):
                raise SystemExit(f"coldload: {event} refused: {reply}")
    finally:
        await host.disconnect()


class Recorder:
    """What the DevTools protocol reports of one page's traffic: requests and socket frames."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, Any]] = {}
        self.frames = {"sent": 0, "received": 0, "count": 0}

    def reset(self) -> None:
        self.requests = {}
        self.frames = {"sent": 0, "received": 0, "count": 0}

    def listen(self, cdp: CDPSession) -> None:
        cdp.on("Network.requestWillBeSent", self.sent)
        cdp.on("Network.dataReceived", self.data)
        cdp.on("Network.responseReceived", self.headers)
        cdp.on("Network.loadingFinished", self.finished)
        cdp.on("Network.requestServedFromCache", self.cached)
        cdp.on("Network.webSocketFrameReceived", lambda event: self.frame("received", event))
        cdp.on("Network.webSocketFrameSent", lambda event: self.frame("sent", event))

    def sent(self, event: dict[str, Any]) -> None:
        self.requests[event["requestId"]] = {"url": event["request"]["url"], "wire": 0, "body": 0}

    def data(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["body"] += event["dataLength"]

    def headers(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self.requests:
            found = {k.lower(): v for k, v in event["response"]["headers"].items()}
            if event["response"].get("fromDiskCache"):
                self.requests[event["requestId"]]["cached"] = True
            self.requests[event["requestId"]]["encoding"] = found.get("content-encoding", "")
            self.requests[event["requestId"]]["cache"] = found.get("cache-control", "")

    def cached(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["cached"] = True

    def finished(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self.requests:
            self.requests[event["requestId"]]["wire"] = event["encodedDataLength"]

    def frame(self, direction: str, event: dict[str, Any]) -> None:
        self.frames[direction] += len(event["response"]["payloadData"].encode())
        self.frames["count"] += 1


async def visit(
    page: Page, recorder: Recorder, url: str, args: argparse.Namespace
) -> dict[str, Any]:
    """One visit to the phone page, until its poll is live; its figures."""
    recorder.reset()
    await page.goto(url, wait_until="commit")
    await page.wait_for_function(
        "() => window.__coldload && window.__coldload.title !== undefined"
        " && window.__coldload.fcp !== undefined && window.__coldload.live !== undefined",
        timeout=args.timeout_s * 1000,
    )
    # What is still in flight then is left to finish, so that it is counted.
    await page.wait_for_load_state("load")
    marks = await page.evaluate("window.__coldload")
    http = [r for r in recorder.requests.values() if r["url"].startswith("http")]
    # A file the cache answered made no request on the network.
    network = [r for r in http if not r.get("cached")]
    return {
        "item_shown_ms": round(max(marks["title"], marks["fcp"])),
        "first_contentful_paint_ms": round(marks["fcp"]),
        "live_ms": round(marks["live"]),
        "requests": len(network),
        "from_cache": len(http) - len(network),
        "wire_bytes": sum(r["wire"] for r in network),
        "decoded_bytes": sum(r["body"] for r in http),
        "socket_frames": recorder.frames,
        "files": http,
    }


async def one_load(
    browser: Browser, page_url: str, title: str, args: argparse.Namespace
) -> dict[str, Any]:
    """A cold load of the phone page on the throttled network, then a second visit with what
    the first left in the cache; their figures."""
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = await context.new_page()
        cdp = await context.new_cdp_session(page)
        recorder = Recorder()
        recorder.listen(cdp)
        await cdp.send("Network.enable")
        await cdp.send("Network.clearBrowserCache")
        await cdp.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": args.rtt_ms,
                "downloadThroughput": args.kbps * 1000 / 8,
                "uploadThroughput": args.kbps * 1000 / 8,
            },
        )
        await page.add_init_script(f"window.__expected = {json.dumps(title)};{MARKS}")
        cold = await visit(page, recorder, page_url, args)
        cold["repeat_visit"] = await visit(page, recorder, page_url, args)
        return cold
    finally:
        await context.close()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    room = args.room.resolve()
    programme = tomllib.loads(room.read_text(encoding="utf-8"))
    titles = {item["id"]: item["title"] for item in programme["items"]}
    if args.item not in titles:
        raise SystemExit(f"coldload: no item {args.item!r} in {room}")
    server = Server(args.townhall_tree.resolve(), room)
    try:
        code, key = await asyncio.to_thread(server.wait)
        await open_poll(server.url, code, key, args.item)
        chromium = os.environ.get("TOWNHALL_TEST_CHROMIUM") or shutil.which("chromium")
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=FLAGS)
            loads = [
                await one_load(browser, f"{server.url}/j/{code}", titles[args.item], args)
                for _ in range(args.runs)
            ]
            await browser.close()
    finally:
        server.stop()
    keys = ("item_shown_ms", "first_contentful_paint_ms", "live_ms")
    summary = {key: statistics.median(load[key] for load in loads) for key in keys}
    for key in ("item_shown_ms", "live_ms"):
        summary[f"repeat_{key}"] = statistics.median(load["repeat_visit"][key] for load in loads)
    return {
        "network": {"kbps": args.kbps, "rtt_ms": args.rtt_ms},
        "room": room.name,
        "item": args.item,
        "runs": args.runs,
        "median": summary,
        "requests": loads[0]["requests"],
        "wire_bytes": loads[0]["wire_bytes"],
        "decoded_bytes": loads[0]["decoded_bytes"],
        "loads": loads,
    }


def report(result: dict[str, Any]) -> str:
    first = result["loads"][0]
    frames = first["socket_frames"]
    again = first["repeat_visit"]
    lines = [
        f"{result['network']['kbps']} kbit/s, {result['network']['rtt_ms']} ms RTT, cold cache,"
        f" {result['runs']} run(s); {result['room']}, poll {result['item']!r} open",
        f"  requests: {result['requests']}, transferred {result['wire_bytes'] / 1000:.1f} kB"
        f" (decoded {result['decoded_bytes'] / 1000:.1f} kB); Socket.IO frames until live:"
        f" {frames['count']}, {frames['received'] / 1000:.1f} kB in",
        f"  item shown (median): {result['median']['item_shown_ms']:.0f} ms;"
        f" first contentful paint {result['median']['first_contentful_paint_ms']:.0f} ms;"
        f" live (options from the snapshot) {result['median']['live_ms']:.0f} ms",
        f"  repeat visit (median): item shown {result['median']['repeat_item_shown_ms']:.0f} ms,"
        f" live {result['median']['repeat_live_ms']:.0f} ms; {again['requests']} request(s)"
        f" ({again['from_cache']} files from the cache), {again['wire_bytes'] / 1000:.1f} kB",
    ]
    for file in first["files"]:
        lines.append(
            f"    {file['wire']:>7} B on the wire, {file['body']:>7} B decoded"
            f"  {file.get('encoding') or '-':<5} {file['url'].split('//', 1)[-1].split('/', 1)[-1]}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--room", type=Path, default=ROOT / "rooms/small-library-open-forum.toml")
    parser.add_argument("--item", default="warm-up", help="the poll the host opens first")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--kbps", type=int, default=400, help="kbit/s, down and up")
    parser.add_argument("--rtt-ms", type=int, default=400)
    parser.add_argument("--timeout-s", type=float, default=60)
    parser.add_argument("--townhall-tree", type=Path, default=ROOT, help="the checkout served")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
