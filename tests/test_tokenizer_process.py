"""The tokenizer's process ends with the server's, however the server ends: a server killed
outright (as uvicorn's re-raised signal kills it, skipping every exit hook) leaves no process
of hundreds of MB behind."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from tests.conftest import wait_until

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
