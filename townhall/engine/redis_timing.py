"""A Redis client that times every command it sends, for the metrics (townhall/metrics.py).

Every command and script call of the engine's clients goes through `execute_command`, redis-py's
public entry point, so the one override here times them all; a Lua script is named by its file
(`vote.lua`), not by its SHA. Publish/subscribe has a client of its own and is not timed: its
reads wait for messages by design.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import redis.asyncio as aioredis

from townhall import metrics
from townhall.engine.redis_scripts import Script

SCRIPTS = {hashlib.sha1(script.source().encode()).hexdigest(): script.value for script in Script}  # noqa: S324 - Redis names scripts by SHA-1


def command_name(args: tuple[Any, ...]) -> str:
    """What a command is, as a label: its name, or a script's file name."""
    name = str(args[0]).lower() if args else "?"
    if name in ("evalsha", "evalsha_ro") and len(args) > 1:
        return SCRIPTS.get(str(args[1]), "script")
    return name


class TimedRedis(aioredis.Redis):
    """redis.asyncio.Redis, each command timed while the metrics are on."""

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        instruments = metrics.active
        if instruments is None:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        started = time.perf_counter()
        try:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        finally:
            instruments.redis_call(command_name(args), time.perf_counter() - started)
