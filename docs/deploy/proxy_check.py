"""Check a Townhall behind a reverse proxy, as docs/deployment.md's "Tried" blocks did: for a
trial forum only, as it opens a poll and votes in it.

    python docs/deploy/proxy_check.py vote URL CODE HOST_KEY [--transport polling]
    python docs/deploy/proxy_check.py code-tries URL CODE [--tries 5] [--connections 1]

`vote`: the join page (its cookie's flags), a phone and the host connected over Socket.IO, the
host opening the programme's `candidate-vote` poll, the phone's vote and its ack, the host's
tally, and which worker (`/healthz`'s pid) holds which connection. `code-tries`: wrong ballot
codes (5 a connection at most); the server allows 20 per client address at once, so the answers
show which address it saw. `--source` sends from another local address (127.0.0.2: one uvicorn does
not trust), `--resolve NAME` connects to 127.0.0.1 for NAME (a test name), `--forwarded-for`
adds a client's own X-Forwarded-For. Certificates are not checked (a test certificate).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio
from aiohttp.abc import AbstractResolver, ResolveResult

from townhall.codes.format import make, shown


class Loopback(AbstractResolver):
    """Every name is this machine: a test name needs no /etc/hosts line."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


def session(args: argparse.Namespace) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        resolver=Loopback() if args.resolve else None,
        local_addr=(args.source, 0) if args.source else None,
        ssl=False,
    )
    return aiohttp.ClientSession(connector=connector)


async def connect(
    http: aiohttp.ClientSession, args: argparse.Namespace, auth: dict[str, str]
) -> tuple[socketio.AsyncClient, asyncio.Queue[tuple[str, Any]]]:
    """A Socket.IO client with the page's own Origin, and a queue of what the server pushes."""
    client = socketio.AsyncClient(http_session=http, ssl_verify=False, reconnection=False)
    pushed: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    client.on("tally", lambda data: pushed.put_nowait(("tally", data)))
    headers = {"Origin": args.url}
    if args.forwarded_for:
        headers["X-Forwarded-For"] = args.forwarded_for
    await client.connect(
        args.url, auth=auth, transports=[args.transport], headers=headers, wait_timeout=10
    )
    return client, pushed


async def join(http: aiohttp.ClientSession, args: argparse.Namespace) -> None:
    page = await http.get(f"{args.url}/j/{args.code}")
    flags = [part.strip() for part in page.headers.get("set-cookie", "").split(";")[1:]]
    print("join page:", page.status, "| cookie flags:", "; ".join(flags))


async def vote(args: argparse.Namespace) -> None:
    async with session(args) as phone_http, session(args) as host_http:
        await join(phone_http, args)
        phone, _ = await connect(phone_http, args, {"role": "participant", "code": args.code})
        host, tallies = await connect(
            host_http, args, {"role": "host", "code": args.code, "key": args.key}
        )
        print("phone and host connected over", phone.transport(), "and", host.transport())
        workers = {}
        for _ in range(12):  # the proxy spreads these over the workers
            health = await (await phone_http.get(f"{args.url}/healthz")).json()
            workers[health["pid"]] = health["connections"]
        for pid, connections in sorted(workers.items()):
            held = {role: n for role, n in connections.items() if n}
            print(f"worker {pid} holds {held}")
        print("host goto:", await host.call("goto", {"item": "candidate-vote"}))
        print("host poll_open:", await host.call("poll_open", {"poll": "candidate-vote"}))
        snapshot = await phone.call("snapshot", {})
        status = snapshot["state"]["polls"]["candidate-vote"]["status"]
        print("phone's snapshot: join_url", snapshot["forum"]["join_url"], "| poll", status)
        ballot = {"poll": "candidate-vote", "choices": ["book-swap"], "op": uuid.uuid4().hex}
        ack = await phone.call("vote", ballot)
        print("phone's vote ack:", ack)
        async with asyncio.timeout(10):
            while True:
                _, tally = await tallies.get()
                if tally["poll"] == "candidate-vote" and tally["version"] >= ack["version"]:
                    break
        print("host's tally:", tally)
        await phone.disconnect()
        await host.disconnect()


async def code_tries(args: argparse.Namespace) -> None:
    async with session(args) as http:
        await http.get(f"{args.url}/j/{args.code}")
        for _ in range(args.connections):  # one phone's cookie, a new connection each time
            phone, _ = await connect(http, args, {"role": "participant", "code": args.code})
            answers = []
            for _ in range(args.tries):
                ack = await phone.call("redeem", {"code": shown(make())})
                answers.append(ack["error"]["code"] if not ack["ok"] else "ok")
            await phone.disconnect()
            claim = f" claiming X-Forwarded-For {args.forwarded_for}" if args.forwarded_for else ""
            print(f"from {args.source or 'this machine'}{claim}: {' '.join(answers)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("check", choices=("vote", "code-tries"))
    parser.add_argument("url", help="the public address, https://NAME[:PORT]")
    parser.add_argument("code", help="the forum's join code")
    parser.add_argument("key", nargs="?", help="the host key (vote)")
    parser.add_argument("--transport", choices=("websocket", "polling"), default="websocket")
    parser.add_argument("--source", help="the local address to send from")
    parser.add_argument("--resolve", action="store_true", help="the URL's name is 127.0.0.1")
    parser.add_argument("--forwarded-for", help="an X-Forwarded-For header of the client's own")
    parser.add_argument("--tries", type=int, default=5, help="wrong codes per connection")
    parser.add_argument("--connections", type=int, default=1, help="code-tries: one by one")
    args = parser.parse_args()
    args.url = args.url.rstrip("/")
    if args.check == "vote" and not args.key:
        parser.error("vote needs the host key")
    if not urlsplit(args.url).hostname:
        parser.error(f"not an address: {args.url}")
    try:
        asyncio.run(vote(args) if args.check == "vote" else code_tries(args))
    except (socketio.exceptions.ConnectionError, aiohttp.ClientError, TimeoutError) as exc:
        raise SystemExit(f"proxy_check: {args.url}: {exc or type(exc).__name__}") from None


if __name__ == "__main__":
    main()
