"""Logging that an attacker cannot amplify: one line per connection and kind per interval.

A refused or malformed message is logged once per connection and kind in each interval, as one
line with no traceback; what was held back is counted into the next line. Client text appears
only shortened (`brief`). Tracebacks are for Townhall's own bugs.
"""

from __future__ import annotations

import logging
import time
from typing import Any

INTERVAL = 60.0  # seconds between two lines of one kind from one connection
MAX_TRACKED = 10_000  # (connection, kind) pairs remembered; the oldest are forgotten past this
BRIEF = 40  # characters of client text a log line may carry


def brief(value: Any, limit: int = BRIEF) -> str:
    """A client's text, shortened and escaped for a log line."""
    text = value if isinstance(value, str) else repr(value)
    shown = text[:limit].encode("unicode_escape", "backslashreplace").decode("ascii")
    return shown + (f"… ({len(text)} chars)" if len(text) > limit else "")


class LogLimiter:
    """Logs at most one line per (connection, kind) per interval."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = INTERVAL,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self.logger = logger
        self.interval = interval
        self.max_tracked = max_tracked
        # connection -> kind -> (when its last line went out, lines held back since)
        self._seen: dict[str, dict[str, tuple[float, int]]] = {}

    def admit(self, connection: str, kind: str, now: float = 0.0) -> int | None:
        """None if this connection logged this kind within the interval; else how many lines
        of it were held back since its last one (and a line may go out now)."""
        now = now or time.monotonic()
        kinds = self._seen.get(connection)
        if kinds is None:
            if len(self._seen) >= self.max_tracked:
                self._forget(now)
            kinds = self._seen[connection] = {}
        last = kinds.get(kind)
        if last is not None and now - last[0] < self.interval:
            kinds[kind] = (last[0], last[1] + 1)
            return None
        kinds[kind] = (now, 0)
        return last[1] if last is not None else 0

    def should_log(self, connection: str, kind: str) -> bool:
        """For a line logged by the caller (a traceback, say): whether one may go out now."""
        return self.admit(connection, kind) is not None

    def log(self, level: int, connection: str, kind: str, message: str, *args: Any) -> bool:
        """Log `message % args` unless this connection logged this kind within the interval."""
        held = self.admit(connection, kind)
        if held is None:
            return False
        if held:
            message += " (%d more like it held back)"
            args = (*args, held)
        self.logger.log(level, message, *args)
        return True

    def warning(self, connection: str, kind: str, message: str, *args: Any) -> bool:
        return self.log(logging.WARNING, connection, kind, message, *args)

    def info(self, connection: str, kind: str, message: str, *args: Any) -> bool:
        return self.log(logging.INFO, connection, kind, message, *args)

    def forget(self, connection: str) -> None:
        """Drop what is remembered of a connection that has gone."""
        self._seen.pop(connection, None)

    def _forget(self, now: float) -> None:
        """Make room: drop connections with nothing recent, else the oldest half."""

        def latest(connection: str) -> float:
            return max(when for when, _ in self._seen[connection].values())

        stale = [c for c in self._seen if now - latest(c) >= self.interval]
        if not stale:
            stale = sorted(self._seen, key=latest)[: len(self._seen) // 2]
        for connection in stale:
            del self._seen[connection]


ACCESS_TARGET = 120  # characters of a request target an access-log line keeps
# A path whose query a line leaves out: /metrics takes its token in a header only, and one put in
# the address by mistake is refused, but would still be a secret in the log.
QUERY_WITHHELD = ("/metrics",)


class ShortTargets(logging.Filter):
    """Cuts the request target in uvicorn's access-log lines, so a long query (a made-up
    session id, say) does not go into the log whole, and leaves out the query of /metrics."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn logs (client, method, target, http version, status)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            target = args[2]
            path, query, _ = target.partition("?")
            if query and path.rstrip("/") in QUERY_WITHHELD:
                target = f"{path}?…"
            if len(target) > ACCESS_TARGET:
                target = brief(target, ACCESS_TARGET)
            if target is not args[2]:
                record.args = (*args[:2], target, *args[3:])
        return True


def shorten_access_log() -> None:
    """Install `ShortTargets` on uvicorn's access log (once per process)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, ShortTargets) for f in access.filters):
        access.addFilter(ShortTargets())
