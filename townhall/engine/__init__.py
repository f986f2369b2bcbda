"""Engines: where a forum's state and event log live, behind one interface chosen by URL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from townhall.config import REDIS_SCHEMES
from townhall.engine.base import Engine, EngineError, Listener, Outcome, Rewrite
from townhall.engine.registry import Registry
from townhall.model.agenda import Programme

__all__ = [
    "Engine",
    "EngineError",
    "Listener",
    "Outcome",
    "keep_secrets",
    "open_engine",
    "open_registry",
    "purge_stored",
    "read_stored_log",
    "stored_forums",
    "stored_secret",
]


def _scheme(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else url
    if scheme != "memory" and scheme not in REDIS_SCHEMES:
        raise EngineError(
            f"unsupported engine URL {url!r} (use memory://, redis://HOST:PORT/DB or redis+sentinel://HOST:PORT/MASTER)"
        )
    return scheme


def open_engine(url: str, programme: Programme, data_dir: Path) -> Engine:
    """The engine for `url`; each backend is imported only when asked for."""
    if _scheme(url) == "memory":
        from townhall.engine.memory import MemoryEngine

        return MemoryEngine(programme, data_dir / f"{programme.id}.journal")
    from townhall.engine.redis import RedisEngine

    return RedisEngine(programme, url)


def keep_secrets(
    url: str, forum_id: str, data_dir: Path, fixed: Mapping[str, str], fresh: Mapping[str, str]
) -> dict[str, str]:
    """The forum's secrets, kept where the engine for `url` keeps the forum: for each name in
    `fresh`, its `fixed` value if set, else the stored one, else the fresh one; then stored."""
    if _scheme(url) == "memory":
        from townhall.engine.memory import keep_secrets as keep_in_file

        return keep_in_file(data_dir / f"{forum_id}.keys.json", fixed, fresh)
    from townhall.engine.redis_secrets import keep_secrets as keep_in_redis

    return keep_in_redis(url, forum_id, fixed, fresh)


def read_stored_log(url: str, forum_id: str, data_dir: Path) -> AsyncIterator[dict[str, Any]]:
    """Every event record the engine for `url` stores for the forum, in order, read without a
    server and without changing anything; raises EngineError if there is no log."""
    if _scheme(url) == "memory":
        from townhall.engine.memory import read_journal

        return read_journal(data_dir / f"{forum_id}.journal")
    from townhall.engine.redis_log import read_stored

    return read_stored(url, forum_id)


def stored_log_warnings(url: str, forum_id: str, data_dir: Path) -> list[str]:
    """What a reader of the stored log should be told it leaves out: a journal's torn last
    record (a crash mid-write), which reading skips. Redis stores each event whole."""
    if _scheme(url) != "memory":
        return []
    from townhall.engine.memory import torn_record

    path = data_dir / f"{forum_id}.journal"
    torn = torn_record(path)
    if torn is None:
        return []
    return [
        f"{path}: the last record is torn from byte {torn} on (cut off mid-write, as by a"
        " crash): it is left out, so what was being stored there is not in the record"
    ]


def purge_stored(
    url: str, forum_id: str, data_dir: Path, rewrite: Rewrite, placeholder: str
) -> bool:
    """Rewrite the forum's stored log with `rewrite` (townhall/purge.py), and whatever else the
    engine keeps of it to match, as one atomic change; False if `rewrite` changed nothing.
    Raises EngineError while a server serves the forum."""
    if _scheme(url) == "memory":
        from townhall.engine.journal_purge import purge_journal

        return purge_journal(data_dir / f"{forum_id}.journal", forum_id, rewrite)
    from townhall.engine.redis_purge import purge_redis

    return purge_redis(url, forum_id, rewrite, placeholder)


def stored_forums(url: str, data_dir: Path) -> list[str]:
    """The id of every forum with a log where the engine for `url` keeps forums."""
    if _scheme(url) == "memory":
        if not data_dir.is_dir():  # a mistyped path is no empty data dir
            raise EngineError(f"{data_dir}: no such data dir")
        return sorted(path.stem for path in data_dir.glob("*.journal"))
    from townhall.engine.redis_purge import forums_in_redis

    return forums_in_redis(url)


def stored_secret(url: str, forum_id: str, data_dir: Path) -> str:
    """The forum's secret where the engine for `url` keeps it; never makes one: raises
    EngineError, naming where it looked, if none is stored."""
    if _scheme(url) == "memory":
        from townhall.engine.memory import stored_secret as in_file

        return in_file(data_dir / f"{forum_id}.keys.json")
    from townhall.engine.redis_secrets import stored_secret as in_redis

    return in_redis(url, forum_id)


def open_registry(url: str, data_dir: Path) -> Registry:
    """The registry of forums, kept where the engine for `url` keeps forums."""
    if _scheme(url) == "memory":
        from townhall.engine.registry_file import FileRegistry

        return FileRegistry(data_dir)
    from townhall.engine.redis_registry import RedisRegistry

    return RedisRegistry(url)
