"""Prometheus metrics (docs/operations.md, "Metrics"): what is measured, and the switch.

Off by default. `enable` defines the metrics, once a process, and makes them `active`; the hooks
(the hub, the broadcaster, the journal, the Redis client, the sampler) do nothing while `active`
is None, so a server without metrics pays one attribute read a message. Under `--workers N` each
worker writes its values to files in PROMETHEUS_MULTIPROC_DIR, a fresh private directory that
`townhall serve` makes before the workers start (metrics_http.py), and any worker's /metrics adds
up every worker's.

No label holds anything a client chose or a person could be known by: events are the protocol's
names (any other counts as "unknown"), outcomes Townhall's own refusal codes, roles the five
roles, and no metric is per forum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

from townhall.model.commands import Role
from townhall.payloads import DECODERS

# The events a client may send (docs/protocol.md); the hub answers these two itself.
KNOWN_EVENTS = frozenset(DECODERS) | {"snapshot", "code_tries_reset"}
CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")  # what every refusal code of Townhall's looks like
# Seconds, from a fraction of a millisecond (an ack, a Redis call on the same machine) up.
FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
DISK = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5)
LAG = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass(slots=True)
class Instruments:
    """Every metric Townhall exports, defined once a process."""

    messages: Counter
    ack_seconds: Histogram
    broadcast_seconds: Histogram
    journal_seconds: Histogram
    redis_seconds: Histogram
    loop_lag_seconds: Histogram
    gc_seconds: Histogram
    connections: Gauge
    forums_running: Gauge
    journal_write: Histogram
    journal_fsync: Histogram
    # The labelled children the hot paths use, looked up once each.
    _messages: dict[tuple[str, str], tuple[Counter, Histogram]] = field(default_factory=dict)
    _redis: dict[str, Histogram] = field(default_factory=dict)

    @classmethod
    def define(cls) -> Instruments:
        journal = Histogram(
            "townhall_journal_seconds",
            "The embedded engine's journal: one append (write) or one fsync.",
            ["operation"],
            buckets=DISK,
        )
        return cls(
            messages=Counter(
                "townhall_messages_total",
                "Client messages answered, by event and outcome (ok, or the refusal's code).",
                ["event", "outcome"],
            ),
            ack_seconds=Histogram(
                "townhall_ack_seconds",
                "From a client's message reaching its forum to its ack, by event.",
                ["event"],
                buckets=FAST,
            ),
            broadcast_seconds=Histogram(
                "townhall_broadcast_tick_seconds",
                "One broadcast tick of one forum: framing and writing what changed.",
                buckets=FAST,
            ),
            journal_seconds=journal,
            redis_seconds=Histogram(
                "townhall_redis_command_seconds",
                "One Redis command or Lua script, sent to answered, by command or script.",
                ["command"],
                buckets=FAST,
            ),
            loop_lag_seconds=Histogram(
                "townhall_event_loop_lag_seconds",
                "How late the event loop wakes a task from a sleep.",
                buckets=LAG,
            ),
            gc_seconds=Histogram(
                "townhall_gc_pause_seconds",
                "Garbage collections, by generation: how long the process stood still.",
                ["generation"],
                buckets=FAST,
            ),
            connections=Gauge(
                "townhall_connections",
                "Socket.IO connections to the forums, by role.",
                ["role"],
                multiprocess_mode="livesum",
            ),
            forums_running=Gauge(
                "townhall_forums_running",
                "Forums open on this server.",
                multiprocess_mode="livemax",  # every worker serves every forum
            ),
            journal_write=journal.labels("write"),
            journal_fsync=journal.labels("fsync"),
        )

    def message(self, event: str, outcome: str, seconds: float) -> None:
        """A client's message was answered: `outcome` is ok or the refusal's code."""
        key = (event if event in KNOWN_EVENTS else "unknown", outcome)
        children = self._messages.get(key)
        if children is None:
            code = outcome if CODE.fullmatch(outcome) else "other"
            children = (self.messages.labels(key[0], code), self.ack_seconds.labels(key[0]))
            self._messages[key] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)

    def redis_call(self, command: str, seconds: float) -> None:
        """One Redis command (or a Lua script, by its file's name) was answered."""
        child = self._redis.get(command)
        if child is None:
            child = self._redis[command] = self.redis_seconds.labels(command)
        child.observe(seconds)

    def roles(self) -> dict[str, Gauge]:
        return {role.value: self.connections.labels(role.value) for role in Role}


_defined: Instruments | None = None
_users = 0
active: Instruments | None = None  # None: metrics are off, and every hook does nothing


def defined() -> Instruments:
    """The metrics, defined the first time a process asks (each name may be defined once)."""
    global _defined
    if _defined is None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # `_created` series: clutter
        _defined = Instruments.define()
    return _defined


def enable() -> None:
    """Turn the metrics on for this process; `disable` as many times turns them off again."""
    global _users, active
    _users += 1
    active = defined()


def disable() -> None:
    global _users, active
    _users = max(_users - 1, 0)
    if _users == 0:
        active = None
