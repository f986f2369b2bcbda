"""The tokenizer's process ends with the server's, however the server ends: a server killed
outright (as uvicorn's re-raised signal kills it, skipping every exit hook) leaves no process
of hundreds of MB behind."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import wait_until
from tests.processes import ServerProcess
from townhall import files

# A server's process in small: it starts the tokenizer's process, says its pid, and is killed.
SERVER = """
import asyncio, multiprocessing, os, signal, sys
from townhall import wordcloud

async def main():
    assert await wordcloud.in_tokenizer(wordcloud.cut_answers, ["책"]) == [("책",)]
    children = multiprocessing.active_children()
    print(" ".join(str(c.pid) for c in children), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)

if __name__ == "__main__":
    asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


async def test_the_tokenizer_ends_when_the_server_is_killed() -> None:
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, stdout=subprocess.PIPE, env={**os.environ}
    )
    assert server.stdout is not None
    line = await asyncio.wait_for(server.stdout.readline(), 120)
    await server.wait()
    pids = [int(pid) for pid in line.split()]
    assert pids, "the server started no tokenizer process"
    await wait_until(lambda: not any(alive(pid) for pid in pids), "the tokenizer to end")


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except FileNotFoundError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


async def test_a_stopped_server_ends_its_tokenizer_and_leaks_nothing(tmp_path: Path) -> None:
    """`townhall serve` of a forum with a word item, stopped as a service manager stops it: the
    tokenizer's process ends with it, and nothing is left to the resource tracker's warning."""
    server = ServerProcess(files.DEMO_ROOM, tmp_path / "d", apart=True)
    assert server.errors is not None
    errors = server.errors
    await server.start()
    try:
        assert server.process is not None
        pid = server.process.pid
        await wait_until(lambda: bool(children_of(pid)), "the tokenizer's process")
        tokenizers = children_of(pid)
    finally:
        server.stop()  # SIGTERM, as a service manager stops it
    await wait_until(lambda: not any(alive(pid) for pid in tokenizers), "the tokenizer to end")
    assert "leaked" not in errors.read_text(), errors.read_text()
