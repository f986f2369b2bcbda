"""Profile Townhall's vote and broadcast paths under the comparison's load, with py-spy.

Runs `compare.py` for Townhall alone, waits until every phone is connected (the server's
/healthz counts them), records the server with py-spy for the rest of the vote period, and
prints where the time went: the functions with the most samples of their own, and the paths
(vote handling, broadcasting, connecting, garbage collection) with the most samples in all.

    .venv/bin/python loadtest/profile.py --phones 5000 --out loadtest/results/profile-after
    .venv/bin/python loadtest/profile.py --townhall-tree /tmp/before --out …/profile-before

The raw py-spy samples (`samples.txt`, one stack per line) and the summary (`summary.txt`) are
written to --out. py-spy samples from outside the process and is pinned with the generator, so
the server's own core is left to the server.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Stack frames that say which path a sample belongs to, by a function name they contain.
# (Engine.IO's connect handler stays on the stack of every message a WebSocket reads, so
# connecting is told by Townhall's own handler and by uvicorn's upgrade.)
PATHS = {
    "vote and ack (the handler)": ("ForumHub.trigger_event",),
    "broadcast (the broadcaster's tick)": ("Broadcaster.flush",),
    "broadcast (a task per recipient)": ("AsyncServer._send_eio_packet",),
    "engine.io writer tasks": ("_websocket_handler.<locals>.writer",),
    "connecting": ("ForumHub.on_connect", "handle_websocket_upgrade"),
    "long-polling GET (a phone's poll)": ("handle_get_request",),
    "long-polling POST (a phone's messages)": ("handle_post_request",),
    "garbage collection (the collector's step)": ("Collector.step",),
}


def server_pid(parent: int, deadline: float) -> int:
    """The server compare.py started (its child: other servers on the machine are not it)."""
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["pgrep", "-P", str(parent), "-f", "python -m townhall serve"],
            capture_output=True,
            text=True,
        ).stdout.split()
        if found:
            return int(found[0])
        time.sleep(0.2)
    raise SystemExit("profile: the server did not start")


def connected(pid: int) -> int:
    command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    port = command[command.index(b"--port") + 1].decode()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return int(json.load(reply)["connections"]["participant"])
    except OSError:
        return 0


def summarise(samples: Path) -> str:
    own: collections.Counter[str] = collections.Counter()
    paths: collections.Counter[str] = collections.Counter()
    total = 0
    for line in samples.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "concurrent/futures/thread.py" in stack or "threading.py" in stack:
            continue  # the journal's fsync thread, waiting
        n = int(count)
        total += n
        frames = stack.split(";")
        own[re.sub(r" \(/.*?site-packages/| \(/.*?/lib/python3\.\d+/", " (", frames[-1])] += n
        for name, markers in PATHS.items():
            if any(marker in stack for marker in markers):
                paths[name] += n
    lines = [f"{total} samples of the event loop's thread while busy (100 a second)"]
    lines += ["", "by path (a sample can be in more than one):"]
    lines += [f"  {n * 100 / total:5.1f}%  {name}" for name, n in paths.most_common()]
    lines += ["", "functions with the most samples of their own:"]
    lines += [f"  {n * 100 / total:5.1f}%  {name}" for name, n in own.most_common(25)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phones", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20, help="the vote period")
    parser.add_argument("--polling", type=int, default=0, help="this many phones on long-polling")
    parser.add_argument("--townhall-tree", type=Path, help="profile another checkout")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--summarise", action="store_true", help="only summarise --out's samples.txt again"
    )
    args = parser.parse_args()
    if args.summarise:
        summary = summarise(args.out / "samples.txt")
        (args.out / "summary.txt").write_text(summary + "\n")
        print(summary)
        return 0
    if shutil.which("py-spy") is None and not (ROOT / ".venv/bin/py-spy").exists():
        raise SystemExit("profile: py-spy is not installed (it is in the dev lock: ./dev test)")
    spy = shutil.which("py-spy") or str(ROOT / ".venv/bin/py-spy")
    args.out.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(ROOT / "loadtest/compare.py"),
        *("--targets", "townhall", "--phones", str(args.phones)),
        *("--seconds", str(args.seconds), "--out", str(args.out / "run.md")),
        *("--json", str(args.out / "run.json")),
    ]
    if args.townhall_tree:
        command += ["--townhall-tree", str(args.townhall_tree)]
    if args.polling:
        command += ["--polling", str(args.polling)]
    run = subprocess.Popen(command)
    try:
        pid = server_pid(run.pid, time.monotonic() + 180)
        deadline = time.monotonic() + 120
        while connected(pid) < args.phones and time.monotonic() < deadline:
            time.sleep(0.2)
        samples = args.out / "samples.txt"
        subprocess.run(
            [
                *("taskset", "-c", "1", spy, "record", "-p", str(pid), "-r", "100"),
                *("-d", str(max(1, int(args.seconds) - 2)), "-f", "raw", "-o", str(samples)),
            ],
            check=True,
            capture_output=True,
        )
        run.wait(timeout=600)
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait(timeout=30)
    summary = summarise(samples)
    (args.out / "summary.txt").write_text(summary + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
