"""Soak: a thousand faults against a live forum, and not one acked vote lost or counted twice.

    .venv/bin/python loadtest/soak.py --faults 1000
    .venv/bin/python loadtest/soak.py --faults 40 --scenario embedded --seed 7 --out /tmp/soak.json

Two scenarios, each on its own temporary data dirs and free loopback ports:

- redis: a `redis-server` (appendonly, fsync on every write), a TCP proxy of the soak's own in
  front of it, and two `townhall serve ROOM --redis URL` processes on separate ports, both
  reaching Redis through the proxy, so each worker, Redis and the link between them can fail on
  its own. Faults: worker kill -9 and restart, Redis kill -9 and restart from its AOF, Redis
  SIGSTOP for 0.2-3 s, a proxy flap (every connection reset, new ones refused for a moment), a
  proxy stall (nothing forwarded for 0.2-3 s), a disconnect storm and a resend storm.
- embedded: one `townhall serve ROOM` with its journal in a data dir. Faults: kill -9 and
  restart, a disconnect storm and a resend storm.

Phones (python-socketio clients, each with its own participant cookie) vote and change their
votes on two open polls the whole time, one message in flight each, resending the same message
id after a refusal, a timeout or a dropped connection, as the phone page does. Every ack is
kept. After each fault a probe phone per worker casts a fresh vote; the fault's recovery time
runs from the moment the fault was undone (restart launched, SIGCONT, link back, storm sent) to
the moment a probe vote is acked through every worker.

The check, at a few points during the run and at the end: each phone's last acked ballot per
poll is its ballot in its own snapshot, and every tally is the count of those ballots. At the end
every server (and Redis) is killed -9, the log (the journal or the Redis stream) is replayed on
its own: every acked vote must be the record its ack's version names, no message id recorded
twice; then everything is started again and the snapshots checked once more. Exit status 1 if
anything was lost or double-counted, or went wrong on the way (a vote never acked, a fault the
forum did not recover from, a server that died by itself).

Traffic stays on 127.0.0.1; every wait is bounded; every child process is killed on the way out,
also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import enum
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import msgpack
import redis.asyncio
import socketio
from itsdangerous import URLSafeSerializer

if __package__ in (None, ""):  # run as a script: the repository root holds the loadtest package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtest.tcp_proxy import TcpProxy
from townhall.engine.journal import Journal
from townhall.engine.redis_keys import RedisKeys
from townhall.identity import COOKIE_NAME, cookie_name
from townhall.model.events import BallotCast, from_record
from townhall.model.forum import Forum
from townhall.programme import parse_programme

FORUM_ID = "soak"
ROOM = f"""
[forum]
id = "{FORUM_ID}"
title = "Soak"
language = "en"

[[items]]
id = "vote"
kind = "poll"
title = "One choice"
results = "live"
options = [{{ id = "a", label = "A" }}, {{ id = "b", label = "B" }}, {{ id = "c", label = "C" }}]

[[items]]
id = "multi"
kind = "poll"
title = "Up to two"
choice = "multiple"
max_choices = 2
results = "live"
options = [{{ id = "x", label = "X" }}, {{ id = "y", label = "Y" }}, {{ id = "z", label = "Z" }}]
"""
POLLS: dict[str, tuple[str, ...]] = {"vote": ("a", "b", "c"), "multi": ("x", "y", "z")}
MAX_CHOICES = {"vote": 1, "multi": 2}
HOST_LINE = re.compile(r"Host screen:\s+http://\S+/host/(\w+)#key=(\S+)")

REDIS_FAULTS = (
    "worker_kill",
    "redis_kill",
    "redis_pause",
    "proxy_flap",
    "proxy_stall",
    "disconnect_storm",
    "resend_storm",
)
EMBEDDED_FAULTS = ("server_kill", "disconnect_storm", "resend_storm")

ACK_TIMEOUT_S = 4.0  # past a 3 s pause; a timed-out vote is resent with the same id anyway
CONNECT_TIMEOUT_S = 5.0
CAST_DEADLINE_S = 60.0  # a vote not acked in this long is a failure of the run
RECOVERY_LIMIT_S = 60.0
SETTLE_LIMIT_S = 30.0
# A worker on Redis takes the tallies of votes other workers acked on its next tick (100 ms):
# a check reads its tallies again until they match, for this long at most.
TALLY_SETTLE_S = 3.0
START_LIMIT_S = 30.0
PACE_S = (0.4, 1.6)  # between one phone's votes: a person changing their mind, briskly
HOLD_S = (0.2, 3.0)  # Redis paused, proxy stalled
REFUSE_S = (0.05, 1.0)  # proxy refusing after a flap
RETRYABLE = ("unavailable", "rate_limited", "internal_error")  # resent, as the page does
GIVE_UP_AFTER = 3  # faults in a row not recovered from: the forum is broken, stop the scenario
KEEP_ANOMALIES = 50


class Interrupt:
    """Set by Ctrl-C or SIGTERM. Cancelling the main task is not enough on its own: Python
    3.11's wait_for can swallow a cancellation that races a result, so every loop also looks
    here."""

    requested: ClassVar[bool] = False

    @classmethod
    def check(cls) -> None:
        if cls.requested:
            raise asyncio.CancelledError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def participant_of(cookie: str) -> str:
    """The participant id inside a signed cookie: the log keys ballots by it. The signature was
    checked by the server that issued it; here only the payload is wanted."""
    _, payload = URLSafeSerializer("unused", salt="townhall.participant").loads_unsafe(cookie)
    return str(payload)


# -- what the run saw ------------------------------------------------------------------------


@dataclass
class Stats:
    """Counters of one scenario, and every anomaly (the first few in full)."""

    acked_new: int = 0
    acked_duplicate: int = 0
    storm_resends: int = 0
    storm_new_ids: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    timeouts: int = 0
    links_lost: int = 0
    links_cut: int = 0  # by a storm, without a close frame
    connects: int = 0
    connect_failures: int = 0
    anomalies: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def anomaly(self, kind: str, detail: str) -> None:
        self.anomalies[kind] += 1
        if len(self.examples) < KEEP_ANOMALIES:
            self.examples.append(f"{kind}: {detail}")


@dataclass
class FaultRecord:
    kind: str
    hold_s: float
    recovery_s: float | None  # None: not recovered within RECOVERY_LIMIT_S
    settle_s: float | None  # until storms ended and every phone was connected again
    probes_s: list[float | None]  # each server's probe ack, from the repair


@dataclass
class CheckResult:
    at: str
    lost: int = 0
    double: int = 0
    tally_short: int = 0
    details: list[str] = field(default_factory=list)

    def note(self, detail: str) -> None:
        if len(self.details) < KEEP_ANOMALIES:
            self.details.append(detail)


# -- child processes -------------------------------------------------------------------------


class Children:
    """Every process the soak starts, so each is killed on the way out whatever happens."""

    everywhere: ClassVar[list[Children]] = []  # for main's last resort

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        Children.everywhere.append(self)

    def start(self, command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("ab") as output:
            process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def forget(self, process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ValueError):
            self.processes.remove(process)

    def kill_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        self.processes.clear()


def kill_9(children: Children, process: subprocess.Popen[bytes] | None) -> None:
    if process is None:
        return
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    children.forget(process)


class RedisProcess:
    """`redis-server` with appendonly and fsync on every write: what it acked survives kill -9."""

    def __init__(self, children: Children, directory: Path) -> None:
        self.children = children
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.paused = False

    def launch(self) -> None:
        kill_9(self.children, self.process)  # a crashed one's remains
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--daemonize",
            "no",
        ]
        self.process = self.children.start(command, self.directory / "redis.log", dict(os.environ))

    async def wait_ready(self, limit_s: float = START_LIMIT_S) -> None:
        """Until PING answers PONG: a Redis loading its AOF answers LOADING, not PONG."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            Interrupt.check()
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_tail()}")
            with contextlib.suppress(OSError, asyncio.TimeoutError):
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                try:
                    writer.write(b"PING\r\n")
                    line = await asyncio.wait_for(reader.readline(), 1.0)
                finally:
                    writer.close()
                if line.startswith(b"+PONG"):
                    return
            await asyncio.sleep(0.01)
        raise RuntimeError(f"redis-server did not answer: {self.log_tail()}")

    def kill(self) -> None:
        kill_9(self.children, self.process)
        self.paused = False

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.paused = False

    def log_tail(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class TownhallProcess:
    """One `python -m townhall serve ROOM` process on its own port."""

    def __init__(
        self, children: Children, name: str, room: Path, data_dir: Path, redis_url: str | None
    ) -> None:
        self.children = children
        self.name = name
        self.room = room
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.expected_down = True

    def launch(self) -> None:
        kill_9(self.children, self.process)  # a crashed one's remains
        self.data_dir.mkdir(parents=True, exist_ok=True)
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
        ]
        if self.redis_url:
            command += ["--redis", self.redis_url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
        # Access logs of every health check and join page would only fill the disk; refusals
        # and tracebacks are warnings and errors, and stay.
        env["TOWNHALL_LOG_LEVEL"] = "warning"
        self.process = self.children.start(command, self.log, env)
        self.expected_down = False

    async def wait_healthy(self, http: httpx.AsyncClient, limit_s: float = START_LIMIT_S) -> None:
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            Interrupt.check()
            if self.died():
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{self.url}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"{self.name} did not come up: {self.log_tail()}")

    def kill(self) -> None:
        self.expected_down = True
        kill_9(self.children, self.process)

    def died(self) -> bool:
        """Exited without being killed by the soak: a crash."""
        return (
            not self.expected_down and self.process is not None and self.process.poll() is not None
        )

    def forum_keys(self) -> tuple[str, str]:
        match = HOST_LINE.search(self.log.read_text(errors="replace"))
        if match is None:
            raise RuntimeError(f"{self.name} printed no host address: {self.log_tail()}")
        return match.group(1), match.group(2)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


# -- phones ----------------------------------------------------------------------------------


class Fail(enum.Enum):
    LOST = "connection lost"
    TIMEOUT = "no ack in time"


@dataclass(frozen=True, slots=True)
class Ack:
    poll: str
    choices: tuple[str, ...]
    version: int
    op: str
    duplicate: bool


class Link:
    """One Socket.IO connection; a call ends with the ack, a timeout, or the connection's loss."""

    def __init__(self, worker: int, on_lost: Callable[[Link], None]) -> None:
        self.worker = worker
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.open = False
        self._pending: set[asyncio.Future[Any]] = set()
        self._on_lost = on_lost
        self.sio.on("disconnect", self._lost)

    async def _lost(self, *_: Any) -> None:
        was_open, self.open = self.open, False
        for future in self._pending:
            if not future.done():
                future.set_result(Fail.LOST)
        if was_open:
            self._on_lost(self)

    @classmethod
    async def connect(
        cls,
        url: str,
        worker: int,
        auth: dict[str, str],
        cookie: str | None,
        on_lost: Callable[[Link], None],
    ) -> Link | None:
        link = cls(worker, on_lost)
        headers = {"Cookie": f"{COOKIE_NAME}={cookie}"} if cookie else {}
        try:
            await asyncio.wait_for(
                link.sio.connect(
                    url,
                    auth=auth,
                    headers=headers,
                    transports=["websocket"],
                    wait_timeout=CONNECT_TIMEOUT_S,
                ),
                CONNECT_TIMEOUT_S + 1,
            )
        except (TimeoutError, socketio.exceptions.ConnectionError, OSError):
            await link.close()
            return None
        link.open = link.sio.connected
        if not link.open:
            await link.close()
            return None
        return link

    async def call(self, event: str, data: dict[str, Any], wait_s: float) -> Any:
        """The ack's payload, or a Fail."""
        if not self.open:
            return Fail.LOST
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.add(future)

        def acked(*args: Any) -> None:
            if not future.done():
                future.set_result(args[0] if args else None)

        try:
            await self.sio.emit(event, data, callback=acked)
            return await asyncio.wait_for(future, wait_s)
        except socketio.exceptions.SocketIOError:
            return Fail.LOST
        except TimeoutError:
            return Fail.TIMEOUT
        finally:
            self._pending.discard(future)

    def drop(self) -> bool:
        """Cut the connection under the client, as a phone leaving Wi-Fi does: no close frame.
        False if the socket can't be reached (then close it cleanly instead)."""
        ws = getattr(self.sio.eio, "ws", None)
        sock: Any = ws.get_extra_info("socket") if ws is not None else None
        if sock is None or not hasattr(sock, "shutdown"):  # asyncio wraps the socket
            return False
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        return True

    async def close(self) -> None:
        self.open = False
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), CONNECT_TIMEOUT_S)


class Phone:
    """A participant's phone: its cookie, one connection at a time, and every ack it got.

    It prefers its home worker and falls back to the other when home does not answer, as a
    load balancer would send it; now and then it goes home again, so kills don't leave every
    phone on one worker. A probe is a phone pinned to one worker, voting only when asked.
    """

    def __init__(
        self,
        scenario: Scenario,
        name: str,
        cookie: str,
        home: int,
        pinned: bool = False,
    ) -> None:
        self.scenario = scenario
        self.stats = scenario.stats
        self.name = name
        self.cookie = cookie
        self.participant = participant_of(cookie)
        self.home = home
        self.pinned = pinned
        self.link: Link | None = None
        self.lock = asyncio.Lock()  # one vote in flight: the phone's own loop and storms take turns
        self._connect_lock = asyncio.Lock()
        self.acks: list[Ack] = []
        self.last: dict[str, Ack] = {}
        self.uncertain: set[str] = set()  # polls with a vote never acked: its fate is unknown
        self._ops = 0
        self._reconnecting: asyncio.Task[None] | None = None
        # The page waits 1-3 s before resending a refused vote; phones here are brisker, and
        # probes, whose acks time the recovery, brisker still.
        self.backoff_cap = 0.05 if pinned else 1.0

    def new_op(self) -> str:
        self._ops += 1
        return f"{self.name}.{self._ops}"

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.open

    def _order(self) -> list[int]:
        if self.pinned:
            return [self.home]
        count = len(self.scenario.servers)
        return [(self.home + k) % count for k in range(count)]

    async def ensure_link(self, order: list[int] | None = None) -> Link | None:
        async with self._connect_lock:
            if self.link is not None and self.link.open:
                return self.link
            for worker in order or self._order():
                link = await Link.connect(
                    self.scenario.servers[worker].url,
                    worker,
                    {"role": "participant", "code": self.scenario.code},
                    self.cookie,
                    self._link_lost,
                )
                if link is not None:
                    self.stats.connects += 1
                    self.link = link
                    return link
                self.stats.connect_failures += 1
            return None

    def _link_lost(self, link: Link) -> None:
        self.stats.links_lost += 1
        if self.scenario.stopping or self.pinned:
            return
        # The page reconnects by itself at once, not only when the person next taps.
        if self._reconnecting is None or self._reconnecting.done():
            self._reconnecting = asyncio.create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.05
        deadline = time.monotonic() + RECOVERY_LIMIT_S
        while not self.scenario.stopping and time.monotonic() < deadline:
            Interrupt.check()
            if await self.ensure_link() is not None:
                return
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.5)

    async def go_home(self) -> None:
        """Move back to the home worker if it answers; stay put if it doesn't."""
        current = self.link
        if current is None or current.worker == self.home:
            return
        link = await Link.connect(
            self.scenario.servers[self.home].url,
            self.home,
            {"role": "participant", "code": self.scenario.code},
            self.cookie,
            self._link_lost,
        )
        if link is None:
            return
        self.stats.connects += 1
        async with self._connect_lock:
            self.link = link
        current.open = False  # its loss is a move, not a fault
        await current.close()

    async def cast(
        self, poll: str, choices: tuple[str, ...], op: str, resend_of: Ack | None = None
    ) -> Ack | None:
        """Send until acked, the same op every time; None if it never was (an anomaly)."""
        payload = {"poll": poll, "choices": list(choices), "op": op}
        deadline = time.monotonic() + CAST_DEADLINE_S
        timeouts_in_row = 0
        delay = 0.05
        while time.monotonic() < deadline:
            Interrupt.check()
            link = await self.ensure_link()
            if link is None:
                await asyncio.sleep(0.05)
                continue
            reply = await link.call("vote", payload, ACK_TIMEOUT_S)
            if reply is Fail.LOST:
                continue
            if reply is Fail.TIMEOUT:
                self.stats.timeouts += 1
                timeouts_in_row += 1
                if timeouts_in_row >= 2:  # the socket may be dead without having said so
                    await link.close()
                continue
            timeouts_in_row = 0
            if not isinstance(reply, dict):
                self.stats.anomaly("bad_ack", f"{self.name} {op}: {reply!r}")
                await asyncio.sleep(0.1)
                continue
            if reply.get("ok"):
                return self._record(poll, choices, op, reply, resend_of)
            code = str(reply.get("error", {}).get("code", "?"))
            self.stats.refusals[code] += 1
            if code not in RETRYABLE:
                self.stats.anomaly("refused_for_good", f"{self.name} {op} {payload}: {reply}")
                self.uncertain.add(poll)
                return None
            delay = min(delay * 2, self.backoff_cap)
            await asyncio.sleep(max(delay, 0.25) if code == "rate_limited" else delay)
        self.stats.anomaly("never_acked", f"{self.name} {op} {payload} in {CAST_DEADLINE_S} s")
        self.uncertain.add(poll)
        return None

    def _record(
        self,
        poll: str,
        choices: tuple[str, ...],
        op: str,
        reply: dict[str, Any],
        resend_of: Ack | None,
    ) -> Ack:
        ack = Ack(
            poll, tuple(reply["choices"]), int(reply["version"]), op, bool(reply["duplicate"])
        )
        if ack.duplicate:
            self.stats.acked_duplicate += 1
        else:
            self.stats.acked_new += 1
        # One message in flight per phone, so the ballot as stored is always what was sent last.
        if ack.choices != choices or reply.get("poll") != poll:
            self.stats.anomaly("ack_mismatch", f"{self.name} {op} sent {choices}, acked {reply}")
        if resend_of is not None and not ack.duplicate:
            self.stats.anomaly("resend_not_duplicate", f"{self.name} {op}: {reply}")
        previous = self.last.get(poll)
        if previous is not None and ack.version < previous.version:
            self.stats.anomaly(
                "version_backwards", f"{self.name} {op} v{ack.version} after v{previous.version}"
            )
        self.acks.append(ack)
        self.last[poll] = ack
        return ack

    async def vote_once(self, rng: random.Random) -> Ack | None:
        poll = rng.choice(sorted(POLLS))
        options = POLLS[poll]
        picked = set(rng.sample(options, rng.randint(1, MAX_CHOICES[poll])))
        choices = tuple(o for o in options if o in picked)  # the poll's order, as acks give it
        return await self.cast(poll, choices, self.new_op())

    async def run(self, rng: random.Random) -> None:
        """Vote, change, vote again, until the scenario stops."""
        while not self.scenario.stopping:
            Interrupt.check()
            async with self.lock:
                if self.scenario.stopping:
                    return
                await self.vote_once(rng)
                if self.link is not None and self.link.worker != self.home and rng.random() < 0.2:
                    await self.go_home()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.scenario.stop.wait(), rng.uniform(*PACE_S))

    async def resend_storm(self, rng: random.Random) -> None:
        """The last acked vote again and again with its own id (must change nothing), then
        perhaps once or twice more with a new id and the same choices (recorded, same count)."""
        async with self.lock:
            if not self.last:
                return
            last = self.last[rng.choice(sorted(self.last))]
            copies = rng.randint(3, 8)
            self.stats.storm_resends += copies
            await asyncio.gather(
                *(
                    self.cast(last.poll, last.choices, last.op, resend_of=last)
                    for _ in range(copies)
                )
            )
            for _ in range(rng.choice((0, 0, 1, 2))):
                self.stats.storm_new_ids += 1
                await self.cast(last.poll, last.choices, self.new_op())

    async def snapshot(self) -> dict[str, Any] | None:
        deadline = time.monotonic() + RECOVERY_LIMIT_S
        while time.monotonic() < deadline:
            Interrupt.check()
            link = await self.ensure_link()
            if link is None:
                await asyncio.sleep(0.05)
                continue
            reply = await link.call("snapshot", {}, ACK_TIMEOUT_S)
            if isinstance(reply, dict) and reply.get("ok"):
                return reply
            await asyncio.sleep(0.1)
        return None

    async def close(self) -> None:
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        if self.link is not None:
            await self.link.close()
            self.link = None


# -- scenarios -------------------------------------------------------------------------------


class Scenario:
    """Servers, phones and faults; subclasses say what runs and what can fail."""

    name = ""
    kinds: tuple[str, ...] = ()

    def __init__(self, workdir: Path, phones: int, seed: int, log: Callable[[str], None]) -> None:
        self.workdir = workdir
        self.phone_count = phones
        self.rng = random.Random(seed)
        self.say = log
        self.children = Children()
        self.stats = Stats()
        self.room = workdir / "room.toml"
        self.programme = parse_programme(ROOM, source="soak.toml")
        self.servers: list[TownhallProcess] = []
        self.phones: list[Phone] = []
        self.probes: list[Phone] = []
        self.code = ""
        self.host_key = ""
        self.stop = asyncio.Event()
        self.faults: list[FaultRecord] = []
        self.checks: list[CheckResult] = []
        self.http = httpx.AsyncClient(timeout=2, limits=httpx.Limits(max_keepalive_connections=0))
        self._phone_tasks: list[asyncio.Task[None]] = []
        self._cookies = 0
        self.elapsed_s = 0.0
        self.gave_up = ""

    @property
    def stopping(self) -> bool:
        return self.stop.is_set()

    @property
    def everyone(self) -> list[Phone]:
        return self.phones + self.probes

    # set-up and tear-down

    async def start_backend(self) -> None:
        """Whatever the servers need before they start."""

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.room.write_text(ROOM, encoding="utf-8")
        await self.start_backend()
        for server in self.servers:
            server.launch()
        for server in self.servers:
            await server.wait_healthy(self.http)
        self.code, self.host_key = self.servers[0].forum_keys()
        host = await self.host_link(0)
        try:
            for poll in POLLS:
                reply = await host.call("poll_open", {"poll": poll}, ACK_TIMEOUT_S)
                if not (isinstance(reply, dict) and reply.get("ok")):
                    raise RuntimeError(f"could not open {poll}: {reply}")
        finally:
            await host.close()
        count = len(self.servers)
        self.phones = list(
            await asyncio.gather(
                *(self.new_phone(f"p{n}", n % count) for n in range(self.phone_count))
            )
        )
        self.probes = [await self.new_phone(f"probe{w}", w, pinned=True) for w in range(count)]
        for phone in self.phones:
            if await phone.ensure_link() is None:
                raise RuntimeError(f"{phone.name} could not connect")

    async def new_phone(self, name: str, home: int, pinned: bool = False) -> Phone:
        server = self.servers[home]
        # A client of its own: a shared one would send the first phone's cookie back and get
        # that same participant again.
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.get(f"{server.url}/j/{self.code}")
        response.raise_for_status()
        return Phone(self, name, response.cookies[cookie_name(self.code)], home, pinned)

    async def host_link(self, worker: int) -> Link:
        deadline = time.monotonic() + RECOVERY_LIMIT_S
        while time.monotonic() < deadline:
            Interrupt.check()
            link = await Link.connect(
                self.servers[worker].url,
                worker,
                {"role": "host", "code": self.code, "key": self.host_key},
                None,
                lambda _: None,
            )
            if link is not None:
                return link
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the host could not connect to {self.servers[worker].name}")

    async def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):
            self.children.kill_all()  # first: nothing below may leave a server running
        for task in self._phone_tasks:
            task.cancel()
        for task in self._phone_tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(p.close() for p in self.everyone), return_exceptions=True),
                CONNECT_TIMEOUT_S * 2,
            )
        await self.close_backend()
        await self.http.aclose()

    async def close_backend(self) -> None:
        """Stop what start_backend started (its processes are killed with the rest)."""

    # the run

    async def run(self, faults: int, check_every: int) -> None:
        started = time.monotonic()
        await self.start()
        self.say(f"{self.name}: {len(self.phones)} phones on {len(self.servers)} server(s)")
        self._phone_tasks = [
            asyncio.create_task(p.run(random.Random(self.rng.random()))) for p in self.phones
        ]
        unrecovered_in_row = 0
        for index, kind in enumerate(self.schedule(faults), start=1):
            Interrupt.check()
            record = await self.one_fault(kind)
            self.faults.append(record)
            unrecovered_in_row = unrecovered_in_row + 1 if record.recovery_s is None else 0
            if unrecovered_in_row >= GIVE_UP_AFTER:
                self.gave_up = f"{GIVE_UP_AFTER} faults in a row not recovered from; stopped"
                self.say(f"{self.name}: {self.gave_up}")
                break
            if index % 50 == 0 or index == faults:
                self.say(self.progress(index, faults, time.monotonic() - started))
            if check_every and index % check_every == 0 and index < faults:
                await self.checkpoint(f"after fault {index}")
            await asyncio.sleep(self.rng.uniform(0, 0.2))  # a moment of plain voting
        await self.finish()
        self.elapsed_s = time.monotonic() - started

    def schedule(self, faults: int) -> Iterator[str]:
        """Random order, but every kind once per round, so a short run still covers them all."""
        done = 0
        while done < faults:
            kinds = list(self.kinds)
            self.rng.shuffle(kinds)
            yield from kinds[: faults - done]
            done += len(kinds)

    def progress(self, index: int, faults: int, elapsed: float) -> str:
        s = self.stats
        return (
            f"{self.name}: {index}/{faults} faults, {elapsed:.0f} s, "
            f"{s.acked_new + s.acked_duplicate} acks, anomalies {sum(s.anomalies.values())}"
        )

    async def one_fault(self, kind: str) -> FaultRecord:
        """Inject, undo, and time until a fresh vote is acked through every server again."""
        hold_s, storm = await self.inject(kind)
        repaired = time.monotonic()
        recovery_s: float | None = None
        probes_s = await self.probe_all(repaired)
        if all(t is not None for t in probes_s):
            recovery_s = time.monotonic() - repaired
        else:
            self.stats.anomaly("not_recovered", f"{kind}: a probe vote was never acked")
        self.notice_crashes()
        settle_s: float | None = None
        try:
            await asyncio.wait_for(self.settle(storm), SETTLE_LIMIT_S)
            settle_s = time.monotonic() - repaired
        except TimeoutError:
            self.stats.anomaly("not_settled", f"{kind}: phones not all back in time")
        return FaultRecord(kind, hold_s, recovery_s, settle_s, probes_s)

    async def inject(self, kind: str) -> tuple[float, asyncio.Task[None] | None]:
        """Make the fault happen and undo it; returns how long it was held and, for a storm,
        the task still running it."""
        if kind == "disconnect_storm":
            return 0.0, asyncio.create_task(self.disconnect_storm())
        if kind == "resend_storm":
            return 0.0, asyncio.create_task(self.resend_storm())
        raise ValueError(kind)

    async def probe_all(self, since: float) -> list[float | None]:
        """A fresh vote acked through every server: each one's time since `since`, None if
        never. Each is bounded by CAST_DEADLINE_S, and never cancelled, so no probe is left with
        a vote of unknown fate."""

        async def probe(phone: Phone) -> float | None:
            ack = await phone.vote_once(self.rng)
            return None if ack is None else time.monotonic() - since

        return list(await asyncio.gather(*(probe(p) for p in self.probes)))

    async def settle(self, storm: asyncio.Task[None] | None) -> None:
        if storm is not None:
            await storm
        for _ in range(int(SETTLE_LIMIT_S / 0.01)):
            Interrupt.check()
            if all(p.connected for p in self.phones):
                return
            await asyncio.sleep(0.01)
        raise TimeoutError

    def notice_crashes(self) -> None:
        for server in self.servers:
            if server.died():
                self.stats.anomaly("crash", f"{server.name} exited: {server.log_tail()}")
                server.launch()

    async def restart(self, server: TownhallProcess) -> None:
        server.kill()
        server.launch()  # at once: recovery is timed from here, while it starts

    async def disconnect_storm(self) -> None:
        """Many phones lose their connection at the same moment and all reconnect at once."""
        hit = self.rng.sample(
            self.phones, self.rng.randint(len(self.phones) // 3, len(self.phones))
        )
        cut: list[Link] = []
        for n, phone in enumerate(hit):
            link = phone.link
            if link is None or not link.open:
                continue
            # Counted as gone from now, before the client library notices.
            link.open = False
            self.stats.links_lost += 1
            cut.append(link)
            # Half vanish without a word, half say goodbye: the server sees both kinds.
            if n % 2 == 0 and link.drop():
                self.stats.links_cut += 1
            else:
                await link.close()
        await asyncio.gather(*(p.ensure_link() for p in hit))
        for link in cut:
            await link.close()  # what is left of a vanished one, once its phone is back

    async def resend_storm(self) -> None:
        hit = self.rng.sample(
            self.phones, self.rng.randint(len(self.phones) // 3, len(self.phones))
        )
        await asyncio.gather(*(p.resend_storm(random.Random(self.rng.random())) for p in hit))

    # checking

    async def quiet(self) -> contextlib.AsyncExitStack:
        """Every phone's lock held: no vote in flight while a check reads the forum."""
        stack = contextlib.AsyncExitStack()
        for phone in self.everyone:
            await stack.enter_async_context(phone.lock)
        return stack

    async def checkpoint(self, at: str) -> None:
        async with await self.quiet():
            await self.check_snapshots(at)

    async def check_snapshots(self, at: str) -> CheckResult:
        """Each phone's own ballots, and every server's tallies, against the acks."""
        result = CheckResult(at)
        expected = self.expected()
        snapshots = await asyncio.gather(*(p.snapshot() for p in self.everyone))
        for phone, snapshot in zip(self.everyone, snapshots, strict=True):
            if snapshot is None:
                result.lost += len(phone.last)
                result.note(f"{phone.name}: no snapshot")
                continue
            self.compare_ballots(result, phone, snapshot["mine"])
        for worker in range(len(self.servers)):
            host = await self.host_link(worker)
            deadline = time.monotonic() + TALLY_SETTLE_S
            try:
                while True:
                    reply = await host.call("snapshot", {}, ACK_TIMEOUT_S * 3)
                    if not (isinstance(reply, dict) and reply.get("ok")):
                        break
                    tallies = CheckResult(at)
                    for poll in POLLS:
                        tally = reply["state"]["polls"][poll]["tally"]
                        where = f"{self.servers[worker].name} {poll}"
                        self.compare_tally(tallies, where, tally, expected)
                    if not (tallies.double or tallies.tally_short):
                        break
                    if time.monotonic() >= deadline:
                        break
                    await asyncio.sleep(0.02)  # its next tick, then read it again
            finally:
                await host.close()
            if not (isinstance(reply, dict) and reply.get("ok")):
                result.lost += 1
                result.note(f"host snapshot on {self.servers[worker].name}: {reply}")
                continue
            result.double += tallies.double
            result.tally_short += tallies.tally_short
            for detail in tallies.details:
                result.note(detail)
        self.checks.append(result)
        self.say(self.check_line(result))
        return result

    def compare_ballots(self, result: CheckResult, phone: Phone, mine: dict[str, Any]) -> None:
        for poll in POLLS:
            if poll in phone.uncertain:
                continue  # a vote never acked: counted as an anomaly, not judged here
            last = phone.last.get(poll)
            ballot = mine.get(poll)
            if last is None:
                if ballot is not None:
                    result.double += 1
                    result.note(f"{phone.name} {poll}: a ballot {ballot} nobody acked")
                continue
            if ballot is None or tuple(ballot["choices"]) != last.choices:
                result.lost += 1
                result.note(f"{phone.name} {poll}: acked {last}, ballot {ballot}")
            elif int(ballot["version"]) != last.version:
                self.stats.anomaly(
                    "ballot_version", f"{phone.name} {poll}: acked {last}, ballot {ballot}"
                )

    def expected(self) -> dict[str, Counter[str]]:
        """Every option's count if each phone's last acked ballot stands."""
        counts: dict[str, Counter[str]] = {poll: Counter() for poll in POLLS}
        for phone in self.everyone:
            for poll, ack in phone.last.items():
                counts[poll].update(ack.choices)
        return counts

    def voters(self, poll: str) -> int:
        return sum(1 for p in self.everyone if poll in p.last)

    def compare_tally(
        self,
        result: CheckResult,
        where: str,
        tally: dict[str, Any],
        expected: dict[str, Counter[str]],
    ) -> None:
        if any(poll in p.uncertain for p in self.everyone for poll in POLLS):
            return  # a vote of unknown fate makes the expected count unknown
        poll = tally["poll"]
        for option in POLLS[poll]:
            have, want = int(tally["counts"].get(option, 0)), expected[poll][option]
            if have > want:
                result.double += have - want
                result.note(f"{where}: {option} counted {have}, acked {want}")
            elif have < want:
                result.tally_short += want - have
                result.note(f"{where}: {option} counted {have}, acked {want}")
        if int(tally["voters"]) != self.voters(poll):
            result.note(f"{where}: {tally['voters']} voters, {self.voters(poll)} acked")
            if int(tally["voters"]) > self.voters(poll):
                result.double += int(tally["voters"]) - self.voters(poll)
            else:
                result.tally_short += self.voters(poll) - int(tally["voters"])

    def check_line(self, result: CheckResult) -> str:
        status = "ok" if not (result.lost or result.double or result.tally_short) else "FAILED"
        line = (
            f"{self.name}: check {result.at}: lost {result.lost}, double {result.double},"
            f" tally short {result.tally_short}: {status}"
        )
        return line + "".join(f"\n    {d}" for d in result.details[:10])

    def check_log(self, records: Sequence[dict[str, Any]], at: str) -> CheckResult:
        """Replay the log alone: every acked vote is the record its version names, no message
        id is recorded twice, and the replayed tallies are the acks' counts."""
        result = CheckResult(at)
        forum = Forum(self.programme)
        by_seq: dict[int, BallotCast] = {}
        seen_ops: set[tuple[str, str, str]] = set()
        for record in records:
            if record.get("t") == "journal":
                continue  # the journal's header
            seq = int(record["seq"])
            if seq != forum.seq + 1:
                result.lost += 1
                result.note(f"the log skips from {forum.seq} to {seq}")
                break
            event = from_record(record)
            forum.apply(event)
            if isinstance(event, BallotCast):
                by_seq[seq] = event
                key = (event.participant, event.poll, event.op)
                if key in seen_ops:
                    result.double += 1
                    result.note(f"op recorded twice: {key} at {seq}")
                seen_ops.add(key)
        for phone in self.everyone:
            for ack in phone.acks:
                stored = by_seq.get(ack.version)
                if (
                    stored is None
                    or stored.participant != phone.participant
                    or stored.poll != ack.poll
                    or stored.choices != ack.choices
                    or (not ack.duplicate and stored.op != ack.op)
                ):
                    result.lost += 1
                    result.note(f"{phone.name} {ack}: the log has {stored} at {ack.version}")
            mine = forum.my_ballots(phone.participant)
            self.compare_ballots(result, phone, mine)
        expected = self.expected()
        for poll in POLLS:
            self.compare_tally(result, f"log {poll}", forum.polls[poll].tally(), expected)
        self.checks.append(result)
        self.say(self.check_line(result))
        return result

    async def finish(self) -> None:
        """Stop voting, check the live forum, kill everything, replay the log, start again and
        check once more."""
        self.stop.set()
        await asyncio.gather(*self._phone_tasks)
        self._phone_tasks = []
        await self.check_snapshots("end, live")
        for phone in self.everyone:
            await phone.close()
        for server in self.servers:
            server.kill()
        self.check_log(await self.read_log(), "end, log replayed")
        for server in self.servers:
            server.launch()
        for server in self.servers:
            await server.wait_healthy(self.http)
        await self.check_snapshots("end, after restarting everything")

    async def read_log(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    # the report

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, Any] = {}
        for kind in self.kinds:
            records = [f for f in self.faults if f.kind == kind]
            recovered = [f.recovery_s for f in records if f.recovery_s is not None]
            settled = [f.settle_s for f in records if f.settle_s is not None]
            kinds[kind] = {
                "count": len(records),
                "not_recovered": len(records) - len(recovered),
                "recovery_p50_s": percentile(recovered, 50),
                "recovery_p99_s": percentile(recovered, 99),
                "recovery_max_s": max(recovered, default=None),
                "settle_p50_s": percentile(settled, 50),
                "settle_p99_s": percentile(settled, 99),
                "hold_mean_s": sum(f.hold_s for f in records) / len(records) if records else None,
            }
        s = self.stats
        lost = max((max(c.lost, c.tally_short) for c in self.checks), default=0)
        return {
            "scenario": self.name,
            "faults": len(self.faults),
            "kinds": kinds,
            "acked_votes": s.acked_new + s.acked_duplicate,
            "acked_new": s.acked_new,
            "acked_duplicate": s.acked_duplicate,
            "storm_resends": s.storm_resends,
            "storm_new_ids": s.storm_new_ids,
            "lost": lost,
            "double_counted": max((c.double for c in self.checks), default=0),
            "checks": [
                {
                    "at": c.at,
                    "lost": c.lost,
                    "double": c.double,
                    "tally_short": c.tally_short,
                    "details": c.details,
                }
                for c in self.checks
            ],
            "checked_at_end": len(self.checks) >= 3 and not self.gave_up,
            "refusals": dict(s.refusals),
            "timeouts": s.timeouts,
            "links_lost": s.links_lost,
            "links_cut": s.links_cut,
            "connects": s.connects,
            "connect_failures": s.connect_failures,
            "anomalies": dict(s.anomalies),
            "fault_log": [
                {
                    "kind": f.kind,
                    "hold_s": round(f.hold_s, 3),
                    "recovery_s": None if f.recovery_s is None else round(f.recovery_s, 3),
                    "settle_s": None if f.settle_s is None else round(f.settle_s, 3),
                    "probes_s": [None if t is None else round(t, 3) for t in f.probes_s],
                }
                for f in self.faults
            ],
            "anomaly_examples": s.examples,
            "gave_up": self.gave_up,
            "seconds": round(self.elapsed_s, 1),
        }


class RedisScenario(Scenario):
    name = "redis"
    kinds = REDIS_FAULTS

    def __init__(self, workdir: Path, phones: int, seed: int, log: Callable[[str], None]) -> None:
        super().__init__(workdir, phones, seed, log)
        self.redis = RedisProcess(self.children, workdir / "redis")
        self.proxy: TcpProxy | None = None

    async def start_backend(self) -> None:
        self.redis.launch()
        await self.redis.wait_ready()
        self.proxy = TcpProxy(self.redis.port)
        await self.proxy.start()
        url = f"redis://127.0.0.1:{self.proxy.port}/0"
        self.servers = [
            TownhallProcess(self.children, f"worker{n}", self.room, self.workdir / f"w{n}", url)
            for n in range(2)
        ]

    async def close_backend(self) -> None:
        if self.proxy is not None:
            await self.proxy.close()

    async def inject(self, kind: str) -> tuple[float, asyncio.Task[None] | None]:
        assert self.proxy is not None
        if kind == "worker_kill":
            await self.restart(self.rng.choice(self.servers))
            return 0.0, None
        if kind == "redis_kill":
            self.redis.kill()
            self.redis.launch()
            return 0.0, None
        if kind == "redis_pause":
            hold = self.rng.uniform(*HOLD_S)
            self.redis.pause()
            try:
                await asyncio.sleep(hold)
            finally:
                self.redis.resume()
            return hold, None
        if kind == "proxy_flap":
            hold = self.rng.uniform(*REFUSE_S)
            await self.proxy.flap(hold)
            return hold, None
        if kind == "proxy_stall":
            hold = self.rng.uniform(*HOLD_S)
            await self.proxy.stall(hold)
            return hold, None
        return await super().inject(kind)

    def notice_crashes(self) -> None:
        super().notice_crashes()
        process = self.redis.process
        if process is not None and process.poll() is not None:
            self.stats.anomaly("crash", f"redis-server exited: {self.redis.log_tail()}")
            self.redis.launch()

    async def read_log(self) -> list[dict[str, Any]]:
        """The Stream, read straight from a Redis killed -9 and started again from its AOF."""
        self.redis.kill()
        self.redis.launch()
        await self.redis.wait_ready()
        key = RedisKeys(FORUM_ID).log
        client = redis.asyncio.Redis(port=self.redis.port)
        records: list[dict[str, Any]] = []
        try:
            start = "-"
            while True:
                entries: Any = await client.xrange(key, min=start, max="+", count=5000)
                for entry_id, fields in entries:
                    records.append(msgpack.unpackb(fields[b"e"], raw=False))
                    start = f"({entry_id.decode()}"
                if len(entries) < 5000:
                    return records
        finally:
            await client.aclose()


class EmbeddedScenario(Scenario):
    name = "embedded"
    kinds = EMBEDDED_FAULTS

    async def start_backend(self) -> None:
        self.servers = [
            TownhallProcess(self.children, "server", self.room, self.workdir / "data", None)
        ]

    async def inject(self, kind: str) -> tuple[float, asyncio.Task[None] | None]:
        if kind == "server_kill":
            await self.restart(self.servers[0])
            return 0.0, None
        return await super().inject(kind)

    async def read_log(self) -> list[dict[str, Any]]:
        """The journal, read once its server is dead (reading cuts a torn last record)."""
        return list(Journal(self.servers[0].data_dir / f"{FORUM_ID}.journal").read())


# -- the command -----------------------------------------------------------------------------


@dataclass
class Options:
    faults: int = 1000
    seed: int = 1
    scenario: str = "both"
    phones: int = 40
    check_every: int = 100
    workdir: Path | None = None
    out: Path | None = None
    quiet: bool = False


def split_faults(options: Options) -> dict[str, int]:
    if options.scenario == "both":
        redis_share = (options.faults + 1) // 2
        return {"redis": redis_share, "embedded": options.faults - redis_share}
    return {options.scenario: options.faults}


def progress_line(line: str) -> None:
    print(line, flush=True)  # at once, also into a file: a long run is followed with tail -f


async def soak(options: Options) -> dict[str, Any]:
    """Run the scenarios one after the other; the report as a dict (see `make_report`)."""
    say: Callable[[str], None] = (lambda _: None) if options.quiet else progress_line
    started = time.monotonic()
    own_dir = options.workdir is None
    root = options.workdir or Path(tempfile.mkdtemp(prefix="townhall-soak-"))
    results: list[dict[str, Any]] = []
    failed = False
    try:
        for n, (name, count) in enumerate(split_faults(options).items()):
            if count <= 0:
                continue
            cls = RedisScenario if name == "redis" else EmbeddedScenario
            scenario = cls(root / name, options.phones, options.seed * 1000 + n, say)
            try:
                await scenario.run(count, options.check_every)
            except Exception as exc:  # reported as the scenario's failure; the next one runs
                scenario.gave_up = f"error: {exc!r}"
                say(f"{name}: {scenario.gave_up}")
            finally:
                await scenario.close()
            results.append(scenario.summary())
        report = make_report(results, time.monotonic() - started)
        failed = not report["passed"]
        return report
    except BaseException:
        failed = True
        raise
    finally:
        if own_dir and not failed:
            shutil.rmtree(root, ignore_errors=True)
        elif failed:
            say(f"soak: logs and data kept in {root}")


def make_report(results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    lost = sum(r["lost"] for r in results)
    double = sum(r["double_counted"] for r in results)
    anomalies = sum(sum(r["anomalies"].values()) for r in results)
    complete = all(r["checked_at_end"] for r in results)
    return {
        "passed": lost == 0 and double == 0 and anomalies == 0 and complete,
        "faults": sum(r["faults"] for r in results),
        "acked_votes": sum(r["acked_votes"] for r in results),
        "lost": lost,
        "double_counted": double,
        "anomalies": anomalies,
        "seconds": round(seconds, 1),
        "scenarios": results,
    }


def render(report: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f}"

    status = "PASS" if report["passed"] else "FAIL"
    lines = [
        f"soak {status}: {report['faults']} faults, {report['acked_votes']} acked votes,"
        f" L={report['lost']} lost, D={report['double_counted']} double-counted,"
        f" {report['anomalies']} anomalies, {report['seconds'] / 60:.1f} min",
        "",
        f"{'scenario':<9} {'fault':<17} {'count':>5} {'rec p50 ms':>10} {'rec p99 ms':>10}"
        f" {'rec max ms':>10} {'settle p50':>10} {'not rec':>7}",
    ]
    for result in report["scenarios"]:
        for kind, k in result["kinds"].items():
            lines.append(
                f"{result['scenario']:<9} {kind:<17} {k['count']:>5}"
                f" {ms(k['recovery_p50_s']):>10} {ms(k['recovery_p99_s']):>10}"
                f" {ms(k['recovery_max_s']):>10} {ms(k['settle_p50_s']):>10}"
                f" {k['not_recovered']:>7}"
            )
    lines.append("")
    for result in report["scenarios"]:
        lines.append(
            f"{result['scenario']}: {result['faults']} faults in {result['seconds']:.0f} s;"
            f" acked {result['acked_new']} new + {result['acked_duplicate']} duplicate"
            f" ({result['storm_resends']} storm resends, {result['storm_new_ids']} new ids);"
            f" lost {result['lost']}, double {result['double_counted']};"
            f" refusals {result['refusals'] or 'none'}; ack timeouts {result['timeouts']};"
            f" connections lost {result['links_lost']} ({result['links_cut']} cut by storms)"
        )
        if result["anomalies"]:
            lines.append(f"  anomalies: {result['anomalies']}")
            lines.extend(f"    {example[:400]}" for example in result["anomaly_examples"][:10])
        if result["gave_up"]:
            lines.append(f"  {result['gave_up']}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", type=int, default=1000, help="faults in all (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", choices=("redis", "embedded", "both"), default="both")
    parser.add_argument("--phones", type=int, default=40, help="phones per scenario (default 40)")
    parser.add_argument(
        "--check-every", type=int, default=100, help="check the snapshots every N faults"
    )
    parser.add_argument("--workdir", type=Path, help="keep data dirs and logs here")
    parser.add_argument("--out", type=Path, help="write the report as JSON")
    args = parser.parse_args(argv)
    if args.faults < 1 or args.phones < 2:
        parser.error("--faults must be at least 1 and --phones at least 2")
    return Options(
        faults=args.faults,
        seed=args.seed,
        scenario=args.scenario,
        phones=args.phones,
        check_every=args.check_every,
        workdir=args.workdir,
        out=args.out,
    )


async def soak_until_interrupted(options: Options) -> dict[str, Any]:
    """`soak`, with Ctrl-C and SIGTERM killing every child at once and then unwinding."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def interrupt() -> None:
        Interrupt.requested = True
        for children in Children.everywhere:
            children.kill_all()
        task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, interrupt)
    return await soak(options)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    try:
        report = asyncio.run(soak_until_interrupted(options))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("soak: interrupted; every process it started is stopped", file=sys.stderr)
        return 130
    finally:
        for children in Children.everywhere:
            children.kill_all()
    print()
    print(render(report))
    if options.out is not None:
        options.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
