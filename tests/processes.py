"""`townhall serve` in child processes, as an organiser runs it: for restart and scale tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import socketio

from tests.conftest import Client, Endpoint, free_socket

HOST_LINE = re.compile(r"Host screen:\s+(http://\S+)/host/(\w+)#key=(\S+)")


class ServerProcess:
    """One `python -m townhall serve ROOM …` process, with its output in `log`."""

    def __init__(
        self, room: Path, data_dir: Path, *extra: str, port: int = 0, apart: bool = False
    ) -> None:
        """`apart`: standard error to `errors`, not with standard output in `log`."""
        if not port:
            sock = free_socket()
            port = sock.getsockname()[1]
            sock.close()
        self.port = port
        self.room = room
        self.data_dir = data_dir
        self.extra: Sequence[str] = extra
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / f"server-{self.port}.log"
        self.errors = data_dir / f"server-{self.port}.err" if apart else None
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "townhall",
            "serve",
            str(self.room),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *self.extra,
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
        self.data_dir.mkdir(parents=True, exist_ok=True)
        errors = self.errors.open("ab") if self.errors is not None else None
        with self.log.open("ab") as output, errors or contextlib.nullcontext():
            self.process = subprocess.Popen(  # noqa: ASYNC220 - started once, not awaited
                command, env=env, stdout=output, stderr=errors or subprocess.STDOUT
            )
        await self.wait_healthy()

    async def wait_healthy(self, pids: int = 1) -> None:
        """Until /healthz answers from `pids` different worker processes."""
        seen: set[int] = set()
        # A new connection each time, so the kernel may hand it to any worker.
        async with httpx.AsyncClient(timeout=2, headers={"Connection": "close"}) as http:
            for _ in range(1500):
                assert self.process is not None and self.process.poll() is None, self.output()
                try:
                    response = await http.get(f"{self.url}/healthz")
                    if response.status_code == 200:
                        seen.add(response.json()["pid"])
                        if len(seen) >= pids:
                            return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.02)
        raise AssertionError(f"the server did not come up: {self.output()}")

    async def busiest_worker(self) -> int:
        """The pid of the worker holding the most phones, from each worker's own /healthz."""
        loads: dict[int, int] = {}
        async with httpx.AsyncClient(timeout=2, headers={"Connection": "close"}) as http:
            for _ in range(500):
                body = (await http.get(f"{self.url}/healthz")).json()
                loads[body["pid"]] = body["connections"]["participant"]
                if len(loads) == len(self.worker_pids()):
                    break
        return max(loads, key=lambda pid: loads[pid])

    def output(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in (self.log, self.errors)
            if path is not None and path.exists()
        )

    def endpoint(self) -> Endpoint:
        """The forum as this server printed it: its code and host key."""
        match = HOST_LINE.search(self.output())
        assert match, self.output()
        return Endpoint(self.url, match.group(2), match.group(3))

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


class Voter:
    """A phone that keeps its own record: the choices of its last acked vote."""

    def __init__(self, client: Client, cookie: str) -> None:
        self.client = client
        self.cookie = cookie
        self.acked: list[str] | None = None
        self.refusals: list[str] = []

    async def vote(self, poll: str, choices: list[str], op: str) -> dict[str, Any]:
        """Send until acked, resending the same message id, as the phone page does."""
        for _ in range(600):
            ack: Any = None
            if self.client.sio.connected:
                try:
                    ack = await self.client.sio.call(
                        "vote", {"poll": poll, "choices": choices, "op": op}, timeout=3
                    )
                except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                    ack = None
            if ack is not None and ack["ok"]:
                self.acked = ack["choices"]
                return dict(ack)
            if ack is not None:
                code = ack["error"]["code"]
                assert code in ("unavailable", "rate_limited"), ack
                self.refusals.append(code)
            await asyncio.sleep(0.05)  # back off before the resend
        raise AssertionError(f"vote {op} was never acked")


@contextlib.asynccontextmanager
async def workers_on_redis(
    room: Path, data_dir: Path, redis_url: str, workers: int = 2
) -> AsyncIterator[ServerProcess]:
    """`townhall serve --redis URL --workers N`, every worker answering, stopped afterwards."""
    server = ServerProcess(room, data_dir, "--redis", redis_url, "--workers", str(workers))
    await server.start()
    await server.wait_healthy(pids=workers)
    try:
        yield server
    finally:
        server.stop()
