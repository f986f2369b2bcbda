"""The orchestrator's probes: /livez says the process serves, whatever Redis is doing; /readyz
says it can store changes now. Redis stopped, a worker stays live and stops being ready; Redis
back, it is ready again. /healthz stays as it was."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import forum_programme, free_socket, serve
from tests.redis_server import RedisServer

DEADLINE_S = 20.0


async def statuses(http: httpx.AsyncClient) -> dict[str, int]:
    return {path: (await http.get(path)).status_code for path in ("/livez", "/readyz", "/healthz")}


async def until(http: httpx.AsyncClient, wanted: dict[str, int], what: str) -> None:
    """Ask the probes until they answer `wanted`; fail naming `what` if they never do."""
    deadline = asyncio.get_running_loop().time() + DEADLINE_S
    seen = await statuses(http)
    while seen != wanted:
        assert asyncio.get_running_loop().time() < deadline, f"{what}: still {seen}"
        await asyncio.sleep(0.1)
        seen = await statuses(http)


async def test_probes_on_the_embedded_engine(tmp_path: Path) -> None:
    async with (
        serve(forum_programme(), tmp_path) as (_, url),
        httpx.AsyncClient(base_url=url) as http,
    ):
        live = await http.get("/livez")
        ready = await http.get("/readyz")
        assert (live.status_code, ready.status_code) == (200, 200)
        assert live.json()["ok"] and ready.json() == {
            "ok": True,
            "engine": "memory",
            "pid": live.json()["pid"],
        }
        assert live.headers["cache-control"] == ready.headers["cache-control"] == "no-store"


async def test_redis_stopped_and_back(tmp_path: Path) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    redis = RedisServer(tmp_path / "redis", port)
    redis.start()
    try:
        async with (
            serve(forum_programme(), tmp_path / "data", redis_url=redis.url) as (_, url),
            httpx.AsyncClient(base_url=url) as http,
        ):
            up = {"/livez": 200, "/readyz": 200, "/healthz": 200}
            await until(http, up, "ready on Redis")
            redis.kill()
            down = {"/livez": 200, "/readyz": 503, "/healthz": 503}
            await until(http, down, "live but not ready without Redis")
            assert (await http.get("/readyz")).json()["ok"] is False
            redis.start()
            await until(http, up, "ready again once Redis is back")
    finally:
        redis.stop()
