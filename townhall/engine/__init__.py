"""Engines: where a forum's state and event log live, behind one interface chosen by URL."""

from __future__ import annotations

from pathlib import Path

from townhall.config import REDIS_SCHEMES
from townhall.engine.base import Engine, EngineError, Listener, Outcome
from townhall.model.agenda import Programme

__all__ = ["Engine", "EngineError", "Listener", "Outcome", "open_engine"]


def open_engine(url: str, programme: Programme, data_dir: Path) -> Engine:
    """The engine for `url`; each backend is imported only when asked for."""
    scheme = url.split("://", 1)[0] if "://" in url else url
    if scheme == "memory":
        from townhall.engine.memory import MemoryEngine

        return MemoryEngine(programme, data_dir / f"{programme.id}.journal")
    if scheme in REDIS_SCHEMES:
        from townhall.engine.redis import RedisEngine

        return RedisEngine(programme, url)
    raise EngineError(
        f"unsupported engine URL {url!r} (use memory://, redis://HOST:PORT/DB or redis+sentinel://HOST:PORT/MASTER)"
    )
