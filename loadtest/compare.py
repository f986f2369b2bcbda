"""The load comparison: Townhall against a plain socket.io peer and a pre-framed limit server.

For each target and each number of phones it starts the server pinned to core 0, runs the Node
generator (loadtest/peers/gen.js: raw Engine.IO phones and a projector) pinned to core 1 for a
fixed vote period, stops the server, and writes BENCHMARKS.md at the repository root with a
table per number of phones (loadtest/report.py), plus the raw figures as JSON. The peer and the
limit send tallies at Townhall's own pace; peer-10hz is the peer sending every 100 ms to all.

    .venv/bin/python loadtest/compare.py                      # the full run: 1k, 5k, 10k phones
    .venv/bin/python loadtest/compare.py --phones 1000 --seconds 5 --out /tmp/quick.md
    .venv/bin/python loadtest/compare.py --phones 5000 --rate 2500   # a busier poll
    .venv/bin/python loadtest/compare.py --phones 2000 --polling 1000  # half on long-polling
    .venv/bin/python loadtest/compare.py --redis              # also Townhall, 2 workers on Redis
    .venv/bin/python loadtest/compare.py --redis --workers 1,2,4   # a row per number of workers

Needs `npm ci --prefix loadtest/peers` (./dev test does it), node, taskset and, for --redis,
redis-server. Every wait is bounded; every child process is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if not __package__:  # run as a file (`python loadtest/compare.py`): the checkout's packages
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from loadtest import split
from loadtest.report import PHONE_TICK_MS, PROJECTOR_TICK_MS, heading, render, replace_comparison

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT / "loadtest" / "peers"
POLL = "vote"
OPTIONS = ("a", "b", "c")
ROOM = f"""
[forum]
id = "loadtest"
title = "Load test"
language = "en"

[[items]]
id = "{POLL}"
kind = "poll"
title = "Vote"
results = "live"
options = [{", ".join(f'{{ id = "{o}", label = "{o.upper()}" }}' for o in OPTIONS)}]
"""
HOST_LINE = re.compile(r"Host screen:\s+http://\S+/host/(\w+)#key=(\S+)")
TARGETS = ("townhall", "peer", "peer-10hz", "limit", "townhall-redis")
# townhall-redis with a set number of workers ("townhall-redis-4"); plain townhall-redis has 2.
REDIS_WORKERS = re.compile(r"townhall-redis-([1-9][0-9]?)")


def redis_workers(name: str, default: int = 2) -> int | None:
    """How many workers a townhall-redis target runs; None for any other target."""
    if name == "townhall-redis":
        return default
    found = REDIS_WORKERS.fullmatch(name)
    return int(found.group(1)) if found else None


def known_target(name: str) -> bool:
    return name in TARGETS or redis_workers(name) is not None


def proc_cpu_s(pid: int) -> float:
    """The CPU seconds (user + system) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# The Node targets' scripts and pace: the peer and the limit at Townhall's own pace, peer-10hz the
# same peer sending every tally to everyone, as the earlier comparison did.
PACE = ["--tick-ms", str(PROJECTOR_TICK_MS), "--phone-tick-ms", str(PHONE_TICK_MS)]
NODE_TARGETS = {
    "peer": ("peer.js", PACE),
    "peer-10hz": ("peer.js", ["--tick-ms", str(PROJECTOR_TICK_MS)]),
    "limit": ("limit.js", PACE),
}
SERVER_CORE, GENERATOR_CORE = 0, 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raise_fd_limit() -> int:
    """The soft open-files limit up to the hard one; children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def pinned(command: list[str], core: int | None) -> list[str]:
    """`taskset -c CORE command`: taskset execs, so the pid is the command's own."""
    return command if core is None else ["taskset", "-c", str(core), *command]


class Children:
    """Every process started for a run; `stop_all` ends whichever are still running."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, command: list[str], **options: Any) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, **options)
        self.processes.append(process)
        return process

    @staticmethod
    def stop(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            self.stop(process)
        self.processes.clear()


@dataclass
class Target:
    """A server under test, up and answering."""

    name: str
    url: str
    code: str
    host_key: str = ""
    cookies: bool = False  # phones need Townhall's participant cookie from the join page
    pids: list[int] = field(default_factory=list)  # the processes holding the sockets
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log: Path | None = None
    note: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""


def _wait(what: str, ready: Any, process: subprocess.Popen[bytes], seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        value = ready()
        if value:
            return value
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {seconds} s")


def _healthz_pid(url: str) -> int | None:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return int(json.load(response)["pid"])
    except (OSError, urllib.error.URLError, ValueError, KeyError):
        return None


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _redis_pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _cpu_times() -> tuple[int, int]:
    """(busy, total) clock ticks of the whole machine so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields[:8]) - idle, sum(fields[:8])


def wait_for_quiet(max_seconds: float = 120, busy_pct: float = 15) -> float:
    """Until the machine is idle enough (between runs our own processes are all stopped), or
    `max_seconds`; the % of all cores busy over the last second sampled."""
    deadline = time.monotonic() + max_seconds
    while True:
        busy0, total0 = _cpu_times()
        time.sleep(1)
        busy1, total1 = _cpu_times()
        busy = 100 * (busy1 - busy0) / max(1, total1 - total0)
        if busy < busy_pct or time.monotonic() > deadline:
            return round(busy, 1)


def start_target(
    name: str,
    work: Path,
    children: Children,
    *,
    pin: bool = True,
    tree: Path = ROOT,
    rooms: Sequence[Path] | None = None,
    workers: int = 2,
    address_limits: bool = False,
) -> Target:
    """Start one target in `work` (a fresh directory) and wait until it answers.

    Townhall runs from the checkout `tree` (another worktree measures another commit), serving
    the programme files `rooms` (default: one forum with one live poll); its `code` and
    `host_key` are then each forum's, comma-separated. `workers` is townhall-redis's. Townhall's
    limits per client address are off unless `address_limits` (the phones share one address)."""
    core = SERVER_CORE if pin else None
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / f"{name}.log"
    with log.open("wb") as output:
        if name in NODE_TARGETS:
            script, pace = NODE_TARGETS[name]
            command = ["node", str(PEERS / script), "--port", str(port), *pace]
            process = children.start(pinned(command, core), stdout=output, stderr=output)
            _wait(name, lambda: _accepts(port), process)
            note = "pinned to core 0" if pin else "not pinned"
            return Target(name, url, "PEER", "", False, [process.pid], [process], log, note)
        on_redis = redis_workers(name, workers)
        if name != "townhall" and on_redis is None:
            raise ValueError(f"unknown target {name}")
        workers = on_redis or workers
        if rooms is None:
            room = work / "room.toml"
            room.write_text(ROOM, encoding="utf-8")
            rooms = [room]
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOWNHALL_")}
        env["TOWNHALL_LOG_LEVEL"] = "warning"
        if not address_limits:
            env.update(one_address_for_many_phones(tree))
        # `-m townhall` from that checkout, not the installed one; an outer PYTHONPATH (a
        # profiling hook, say) still applies after it.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tree), os.environ.get("PYTHONPATH")]))
        serve = [sys.executable, "-m", "townhall", "serve", *map(str, rooms), "--host", "127.0.0.1"]
        serve += ["--port", str(port), "--data-dir", str(work / "data")]
        processes = []
        if on_redis:
            redis_port = free_port()
            redis = children.start(
                [
                    shutil.which("redis-server") or "redis-server",
                    *("--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""),
                    *("--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(work)),
                ],
                stdout=subprocess.DEVNULL,
            )
            processes.append(redis)
            _wait("redis-server", lambda: _redis_pong(redis_port), redis)
            serve += ["--redis", f"redis://127.0.0.1:{redis_port}/0", "--workers", str(workers)]
            core = None  # the workers and redis-server share both cores with the generator
        process = children.start(
            pinned(serve, core), stdout=output, stderr=subprocess.STDOUT, env=env, cwd=tree
        )
        processes.insert(0, process)
        seen: set[int] = set()

        def healthy() -> bool:
            pid = _healthz_pid(url)
            if pid is not None:
                seen.add(pid)
            return len(seen) >= (workers if on_redis else 1)

        _wait(name, healthy, process, seconds=60)

    def addresses() -> list[tuple[str, str]]:
        found = HOST_LINE.findall(log.read_text(errors="replace"))
        return found if len(found) >= len(rooms) else []

    codes, keys = zip(*_wait(name, addresses, process), strict=True) if rooms else ((), ())
    pids = sorted(seen) if on_redis else [process.pid]
    note = (
        f"{workers} workers and redis-server unpinned (both cores, shared with the generator)"
        if on_redis
        else ("pinned to core 0" if pin else "not pinned")
    )
    return Target(name, url, ",".join(codes), ",".join(keys), True, pids, processes, log, note)


def run_generator(
    target: Target,
    phones: int,
    rate: float,
    seconds: float,
    *,
    pin: bool = True,
    extra: Sequence[str] = (),
    generators: int = 1,
) -> dict[str, Any]:
    """One generator run against a started target; its RESULT line as a dict. With several
    `generators`, the phones and the rate are split over that many processes, all on the
    generator's core, and their results merged (loadtest/split.py)."""

    def gen(phones: int, rate: float, host: bool, *more: str) -> list[str]:
        command = [
            "node",
            str(PEERS / "gen.js"),
            *("--url", target.url, "--code", target.code, "--poll", POLL),
            *("--options", ",".join(OPTIONS), "--phones", str(phones)),
            *("--rate", str(rate), "--seconds", str(seconds)),
            *("--server-pids", ",".join(map(str, target.pids))),
            *("--clk-tck", str(os.sysconf("SC_CLK_TCK"))),
            *extra,
            *more,
        ]
        if target.cookies:
            command.append("--cookies")
        if target.host_key and host:
            command += ["--host-key", target.host_key]
        return pinned(command, GENERATOR_CORE if pin else None)

    # The generator bounds its own waits; this is the backstop if it hangs anyway.
    budget = 2 * 180 + seconds + 30 + 60
    if generators > 1:
        more = ("--barrier", "--samples")
        commands = [
            # The first opens the poll, before it says it is ready and any votes go out.
            gen(count, rate * count / phones, g == 0, "--first-index", str(first), *more)
            for g, (first, count) in enumerate(split.shares(phones, generators))
        ]
        return split.run(commands, budget + 2 * 180)
    command = gen(phones, rate, True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=budget)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    lines = [line for line in out.decode().splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"the generator printed no result: {out.decode()}{err.decode()}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    if err.strip():
        result["stderr"] = err.decode()[-2000:]
    return result


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    work = Path(tempfile.mkdtemp(prefix="townhall-loadtest-"))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(
    name: str,
    phones: int,
    rate: float,
    seconds: float,
    *,
    pin: bool = True,
    tree: Path = ROOT,
    extra: Sequence[str] = (),
    quiet_wait: float = 120,
    generators: int = 1,
) -> dict[str, Any]:
    """Start `name`, run the generator once against it, stop it; the figures. It first waits up
    to `quiet_wait` seconds for the machine to be idle."""
    children = Children()
    busy_before = wait_for_quiet(quiet_wait)
    with workspace() as work:
        try:
            target = start_target(name, work, children, pin=pin, tree=tree)
            # redis-server's own CPU over the run (its thread is the one a forum's votes share).
            redis_pid = target.processes[-1].pid if redis_workers(name) else None
            redis_before = proc_cpu_s(redis_pid) if redis_pid else 0.0
            result = run_generator(
                target, phones, rate, seconds, pin=pin, extra=extra, generators=generators
            )
            if redis_pid:
                result["redis_cpu_s"] = round(proc_cpu_s(redis_pid) - redis_before, 3)
            result["target"] = name
            result["setup"] = target.note
            result["busy_before_pct"] = busy_before  # of all cores, before starting
            alive = all(p.poll() is None for p in target.processes)
            result["server_survived"] = alive
            log = target.output().splitlines()
            errors = [line for line in log if re.search(r"\b(ERROR|Traceback)\b", line)]
            if errors:
                result["server_errors"] = len(errors)
                first = log.index(errors[0])
                result["server_log_excerpt"] = log[first : first + 40]
            return result
        except Exception as exc:  # a failed run is a row with its error, not a lost table
            return {"target": name, "phones": phones, "rate": rate, "error": str(exc)}
        finally:
            children.stop_all()


def machine() -> dict[str, str]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    with contextlib.suppress(OSError, IndexError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kib / 2**20:.1f} GiB"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node.stdout.strip(),
    }


def one_address_for_many_phones(tree: Path) -> dict[str, str]:
    """Settings that turn off the limits per client address: the generator is one address
    standing for thousands of phones. A checkout from before those limits gets none."""
    config = (tree / "townhall" / "config.py").read_text(encoding="utf-8")
    names = ("join_rate", "max_connections_per_address")
    return {f"TOWNHALL_{name.upper()}": "0" for name in names if f"    {name}:" in config}


def townhall_commit(tree: Path) -> str:
    """The checkout's commit, marked when its townhall/ has uncommitted changes."""
    git = ["git", "-C", str(tree)]
    head = subprocess.run([*git, "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    changed = subprocess.run(
        [*git, "status", "--porcelain", "townhall"], capture_output=True, text=True
    )
    return head.stdout.strip() + (" (with uncommitted changes)" if changed.stdout.strip() else "")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", default="1000,5000,10000", help="comma-separated N list")
    parser.add_argument("--rate", type=float, default=500, help="votes per second, all phones")
    parser.add_argument("--seconds", type=float, default=20, help="length of the vote period")
    parser.add_argument(
        "--targets", default="townhall,peer,peer-10hz,limit", help=f"of {','.join(TARGETS)}"
    )
    parser.add_argument("--redis", action="store_true", help="also run townhall-redis")
    parser.add_argument(
        "--workers",
        default="",
        help="with --redis: comma-separated numbers of workers, a row each (default 2)",
    )
    parser.add_argument(
        "--polling", type=int, default=0, help="this many of the phones on long-polling"
    )
    parser.add_argument(
        "--quiet-wait", type=float, default=120, help="seconds to wait for an idle machine"
    )
    parser.add_argument(
        "--generators",
        type=int,
        default=1,
        help="generator processes the phones and the rate are split over (all on core 1)",
    )
    parser.add_argument("--note", default="", help="a line for the report (why this run)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="raw figures (default loadtest/results/…)")
    parser.add_argument(
        "--townhall-tree",
        type=Path,
        default=ROOT,
        help="run Townhall from this checkout (e.g. a git worktree of an earlier commit)",
    )
    args = parser.parse_args(argv)
    targets = args.targets.split(",")
    if args.workers and not args.redis:
        parser.error("--workers is for --redis")
    if args.redis and args.workers:
        counts = [int(n) for n in args.workers.split(",")]
        if any(not 1 <= n <= 99 for n in counts):
            parser.error("--workers: each from 1 to 99")
        targets += [f"townhall-redis-{n}" for n in counts if f"townhall-redis-{n}" not in targets]
    elif args.redis and "townhall-redis" not in targets:
        targets.append("townhall-redis")
    if unknown := {t for t in targets if not known_target(t)}:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    if args.generators < 1 or (args.generators > 1 and args.polling):
        parser.error("--generators: 1 or more, and 1 with --polling (its figures are not merged)")
    if args.polling:  # the limit and Townhall on Redis serve WebSocket only
        targets = [t for t in targets if t != "limit" and redis_workers(t) is None]
    if not (PEERS / "node_modules" / "ws").is_dir():
        parser.error("run `npm ci --prefix loadtest/peers` first")
    if (os.cpu_count() or 1) < 2 or not shutil.which("taskset"):
        parser.error("needs two cores and taskset: the server on core 0, the generator on 1")
    fds = raise_fd_limit()
    phone_counts = [int(n) for n in args.phones.split(",")]
    if max(phone_counts) + args.polling + 100 > fds:
        parser.error(f"the open-files limit is {fds}: too low for {max(phone_counts)} phones")

    today = datetime.date.today().isoformat()
    meta = {
        "date": today,
        "command": shlex.join([".venv/bin/python", "loadtest/compare.py", *sys.argv[1:]]),
        "machine": machine(),
        "rate": args.rate,
        "seconds": args.seconds,
        "townhall_commit": townhall_commit(args.townhall_tree),
        "polling": args.polling,
        "note": args.note,
        "quiet_wait": args.quiet_wait,
        "generators": args.generators,
    }
    extra = ["--polling", str(args.polling)] if args.polling else []
    runs = []
    for phones in phone_counts:
        for name in targets:
            print(f"{heading(name)}: {phones} phones …", file=sys.stderr, flush=True)
            result = measure(
                name,
                phones,
                args.rate,
                args.seconds,
                tree=args.townhall_tree,
                extra=extra,
                quiet_wait=args.quiet_wait,
                generators=args.generators,
            )
            figures = ("acked_per_s", "latency_p99_ms", "lost", "redis_cpu_s")
            summary = {k: result.get(k) for k in figures if k in result}
            print(f"  {result.get('error') or summary}", file=sys.stderr, flush=True)
            runs.append(result)
            time.sleep(2)  # let the sockets of the last run wind down
    json_path = args.json or ROOT / "loadtest" / "results" / f"run-{today}.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps({**meta, "runs": runs}, indent=1) + "\n", encoding="utf-8")
    old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    args.out.write_text(replace_comparison(old, render(runs, meta)), encoding="utf-8")
    print(f"wrote {args.out} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
