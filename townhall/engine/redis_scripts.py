"""The Redis engine's Lua scripts (townhall/engine/lua/), and what each status they return means.

The scripts check what must be atomic and report a status with its data; they never word a
refusal. `STATUSES` is the one table that turns a script's status into the model's refusal, or
marks it as one the engine carries on from (stored, a resend, ...). control.lua's error replies
are not statuses: they guard the store against records the model would never decide, and
reach the engine as a Redis error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import StrEnum
from importlib import resources
from typing import Any

import msgpack

from townhall.model import board, refusals
from townhall.model.errors import ForumError


class Script(StrEnum):
    VOTE = "vote.lua"
    POST = "post.lua"
    UPVOTE = "upvote.lua"
    CONTROL = "control.lua"
    REDEEM = "redeem.lua"
    SHAPE = "shape.lua"  # returns the stored shape, not a status
    TALLY = "tally.lua"  # returns tallies, not a status

    def source(self) -> str:
        return (resources.files("townhall.engine") / "lua" / self.value).read_text(encoding="utf-8")


# The statuses the engine carries on from; every other status a script returns is a refusal.
STORED = "ok"  # the change is stored and in the log; the reply carries its record
RESENT = "dup"  # a resend of a message already stored: acked as it stands
UNCHECKED = "new"  # post.lua, asked only whether a message is a resend: it is not
STALE = "stale"  # control.lua: the control state moved since the command was decided

Reply = Sequence[Any]
Refusal = Callable[[Reply], ForumError]

# Script -> status -> the model's refusal made from the reply's data, or None to carry on.
# The post limits are read at each refusal, as the model reads them, so both engines word a
# refusal with the limit in force.
STATUSES: dict[Script, dict[str, Refusal | None]] = {
    Script.VOTE: {
        STORED: None,
        RESENT: None,
        "unknown": lambda reply: refusals.unknown_option(text(reply[1])),
        "closed": lambda _: refusals.poll_not_open(),
        "revoked": lambda _: refusals.code_revoked(),
    },
    Script.POST: {
        STORED: None,
        RESENT: None,
        UNCHECKED: None,
        "board_full": lambda _: refusals.board_full(board.MAX_POSTS_PER_BOARD),
        "board_stored_full": lambda _: refusals.board_stored_full(board.MAX_STORED_POSTS_PER_BOARD),
        "post_limit": lambda reply: refusals.post_limit(int(reply[1])),
        "pending_limit": lambda _: refusals.pending_limit(board.PENDING_PER_PARTICIPANT),
        "post_rate": lambda _: refusals.post_rate(),
        "code_revoked": lambda _: refusals.code_revoked(),
    },
    Script.UPVOTE: {
        STORED: None,
        RESENT: None,
        "unknown": lambda reply: refusals.unknown_post(int(reply[1])),
        "merged": lambda reply: refusals.upvoted_post_merged(int(reply[1])),
        "not_open": lambda _: refusals.upvoted_post_not_shown(),
        "revoked": lambda _: refusals.code_revoked(),
    },
    Script.CONTROL: {
        STORED: None,
        STALE: None,
        "voted": lambda _: refusals.option_voted(),
    },
    Script.REDEEM: {
        STORED: None,
        RESENT: None,
        "revoked": lambda _: refusals.code_revoked(),
    },
}


def status_of(script: Script, reply: Reply) -> str:
    """The reply's status if the engine carries on from it; a refusal it names is raised."""
    status = text(reply[0])
    refusal = STATUSES[script][status]
    if refusal is not None:
        raise refusal(reply)
    return status


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def unpack_all(data: bytes) -> list[dict[str, Any]]:
    """Every msgpack record in `data`, as a script's reply or a published message holds them."""
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(data)
    return list(unpacker)
