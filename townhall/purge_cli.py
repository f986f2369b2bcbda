"""`townhall purge`: remove a forum's personal data from storage for good, keeping its record
verifiable (townhall/purge.py; docs/operations.md, "Backups and retention")."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from townhall.config import Settings, SettingsError
from townhall.engine import EngineError, purge_stored, stored_forums
from townhall.engine.base import now_ms
from townhall.model.events import ForumPurged, ServerStarted
from townhall.purge import PLACEHOLDER, Purge, PurgeRefused, check_purgeable, purge_log
from townhall.record.log import StoredForum
from townhall.record.writer import RecordError

HELP = "remove a forum's post texts, names and participant ids for good (its record still verifies)"
DAY_MS = 86_400_000


def arguments(purge: argparse.ArgumentParser) -> None:
    purge.add_argument("--forum", metavar="ID", help="the forum's id (its programme's [forum] id)")
    purge.add_argument(
        "--expired",
        action="store_true",
        help="every stored forum whose last activity is older than the retention setting",
    )
    purge.add_argument(
        "--days",
        type=int,
        help="with --expired: the retention in days (default TOWNHALL_RETENTION_DAYS)",
    )
    purge.add_argument("--data-dir", type=Path, default=Path("data"), help="its data dir")
    purge.add_argument("--redis", metavar="URL", help="the forum is kept in Redis instead")
    purge.add_argument(
        "--yes", action="store_true", help="purge; without it, say what would be removed"
    )


def run(args: argparse.Namespace) -> int:
    url = args.redis or "memory://"
    if (args.forum is None) == (not args.expired):
        print("townhall purge: name one forum (--forum ID) or give --expired", file=sys.stderr)
        return 2
    if args.forum is not None and args.days is not None:
        print("townhall purge: --days goes with --expired, not --forum", file=sys.stderr)
        return 2
    try:
        forums, failed = (
            ([args.forum], 0) if args.forum else _expired(url, args.data_dir, args.days)
        )
    except (EngineError, SettingsError, OSError) as exc:
        print(f"townhall purge: {exc}", file=sys.stderr)
        return 1
    for forum in forums:
        failed += not _purge(StoredForum(forum, args.data_dir, url), args.yes)
    if args.expired and not forums:
        print("townhall purge: no forum is past the retention period")
    return 1 if failed else 0


def _purge(stored: StoredForum, really: bool) -> bool:
    """Purge one forum (or, without `really`, say what a purge would remove); False on error."""
    done: list[Purge] = []

    def rewrite(records: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], Any] | None:
        check_purgeable(records)
        done.append(purge_log(records, secret, at))
        return (done[-1].records, done[-1].ids) if done[-1].changed else None

    try:
        secret, at = stored.secret(), now_ms()
        if really:
            purge_stored(stored.engine_url, stored.forum, stored.data_dir, rewrite, PLACEHOLDER)
        else:
            rewrite(_log(stored))
    except (EngineError, PurgeRefused, RecordError, OSError) as exc:  # OSError: a journal unread
        print(f"townhall purge: {stored.where}: {exc}", file=sys.stderr)
        return False
    purge = done[-1]  # each engine refuses a forum with no log before it rewrites anything
    if not purge.changed:
        print(f"{stored.where}: nothing left to purge")
    elif really:
        print(f"{stored.where}: removed {purge.summary()}")
    else:
        print(f"{stored.where}: a purge would remove {purge.summary()}")
        print("  run again with --yes to purge; the record will still verify")
    return True


def _log(stored: StoredForum) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        return [record async for record in stored.read_log()]

    return asyncio.run(read())


# Events that are no one's activity in the forum: a server starting to serve it again (each
# restart logs one) would otherwise keep its personal data for as long as it is restarted.
NOT_ACTIVITY = (ForumPurged.type, ServerStarted.type)


def last_activity(records: list[dict[str, Any]]) -> int:
    """When the forum was last used: its latest event's time, a purge or a server start aside
    (0: unknown)."""
    times = [r.get("at") or 0 for r in records if r.get("t") not in NOT_ACTIVITY]
    return max(times, default=0)


def _expired(url: str, data_dir: Path, days: int | None) -> tuple[list[str], int]:
    """The forums past the retention period, and how many logs could not be read (each said):
    one unreadable log stops no other forum's purge."""
    if days is None:
        days = Settings.from_env(os.environ).retention_days
    if days <= 0:
        raise SettingsError(
            "no retention period: set TOWNHALL_RETENTION_DAYS (or give --days N, N > 0)"
        )
    cutoff = now_ms() - days * DAY_MS
    expired, unread = [], 0
    for forum in stored_forums(url, data_dir):
        stored = StoredForum(forum, data_dir, url)
        try:
            log = _log(stored)
        except (EngineError, OSError) as exc:
            print(f"townhall purge: {stored.where}: {exc}", file=sys.stderr)
            unread += 1
            continue
        if 0 < last_activity(log) < cutoff:
            expired.append(forum)
    return expired, unread
