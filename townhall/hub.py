"""Socket.IO handlers: decode, authorise, call the engine, ack. No forum rules here."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import socketio

from townhall import metrics
from townhall.committee_links import member_links
from townhall.engine import Engine, EngineError
from townhall.identity import Identities
from townhall.loglimit import LogLimiter, brief
from townhall.model import refusals
from townhall.model.commands import Actor, RedeemCode, Role
from townhall.model.errors import ForumError, InvalidPayload
from townhall.payloads import decode
from townhall.presence import Presence
from townhall.ratelimit import AddressBuckets, TokenBucket, address_key
from townhall.transport.layer import Channel
from townhall.wordcloud import WordClouds

log = logging.getLogger(__name__)
limited = LogLimiter(log)
# Refusals whose cause is logged where it happens, in a line of its own (the engine's outage,
# a bug's traceback): not again as a message's outcome.
OWN_LINES = frozenset({"unavailable", "internal_error"})

MAX_PAYLOAD_BYTES = 8 * 1024  # a 2,000-character post in Korean is about 6 KiB
# The host's: an agenda item's notes (4,000 characters) in Korean are about 12 KiB, under the
# transport's 16 KiB message limit.
MAX_HOST_PAYLOAD_BYTES = 15 * 1024
# What a message carries besides its payload and event name: the packet type, an ack id, the
# quotes, comma and brackets of `2<id>["<event>",<payload>]`.
FRAMING_BYTES = 16
# Messages per second a connection may send, and the burst it may save up.
RATES = {
    Role.PARTICIPANT: (5.0, 10.0),
    Role.HOST: (20.0, 40.0),
    Role.SCREEN: (2.0, 5.0),
    Role.COMMITTEE: (5.0, 20.0),  # a member may tap through a rubric quickly
    Role.MODERATOR: (20.0, 40.0),  # works through a queue as fast as the host
}
# Posts and upvotes per second one participant may send over all their tabs and phones.
BOARD_RATE = (2.0, 10.0)
BOARD_EVENTS = frozenset({"post", "upvote"})
# Wrong ballot codes (well formed, check character right, never issued or revoked) a connection,
# an address and the whole forum may try, per second and in a burst. A typo caught by the check
# character costs nothing: it could never have been a way in. docs/ballot-codes.md states the
# odds these leave a guesser.
CODE_TRIES_PER_CONNECTION = (1 / 30, 5)
CODE_TRIES_PER_ADDRESS = (0.1, 20)
CODE_TRIES_PER_FORUM = (5.0, 100)
WRONG_CODE = frozenset({"unknown_code", "code_revoked"})
DISCONNECT_WAIT_S = 2.0  # how long a closing forum waits for each connection to be let go


def error_ack(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


@dataclass(slots=True)
class Connection:
    actor: Actor  # a participant's phone, as its cookie names it
    bucket: TokenBucket
    address: str = ""
    code_tries: TokenBucket = field(default_factory=lambda: TokenBucket(*CODE_TRIES_PER_CONNECTION))


class ForumHub:
    """One forum's connections: phones, the host screen, the projector and the committee. The
    server's dispatcher hands it the events of the connections that named its code."""

    def __init__(
        self,
        engine: Engine,
        transport: Channel,
        present: Presence,
        identities: Identities,
        code: str,
        host_key: str,
        forum_info: dict[str, Any],
        committee_keys: dict[str, str] | None = None,
        moderator_key: str = "",
        *,
        clouds: WordClouds,
    ) -> None:
        self.engine = engine
        self.transport = transport
        self.present = present
        self.identities = identities
        self.code = code
        self.host_key = host_key
        self.forum_info = forum_info
        self.committee_keys = committee_keys or {}
        self.committee_links: list[dict[str, Any]] | None = None  # made at the host's first call
        self.moderator_key = moderator_key  # empty: this forum has no moderator link
        self.clouds = clouds  # shared with the broadcaster: each cloud counted once
        self.connections: dict[str, Connection] = {}
        # Per participant, not per connection; dropped when their last connection closes.
        self.open_connections: Counter[str] = Counter()
        self.board_buckets: dict[str, TokenBucket] = {}
        self.code_tries = AddressBuckets(*CODE_TRIES_PER_ADDRESS)
        self.forum_code_tries = TokenBucket(*CODE_TRIES_PER_FORUM)

    def presence(self) -> dict[str, int]:
        return self.present.counts()

    async def disconnect_all(self) -> None:
        """Let every connection go (the forum is closing or stopping); each hears why."""
        for sid in list(self.connections):
            try:
                # A long-polling client's close waits for its next poll; not for long.
                await asyncio.wait_for(self.transport.disconnect(sid), DISCONNECT_WAIT_S)
            except TimeoutError:
                await self.on_disconnect(sid)

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Every event passes here: connection and rate checks, then one handler, one ack; a
        refusal is logged (at most one line per code an interval), an accepted message too at
        the debug level; with metrics on, each is counted by outcome and its ack timed."""
        instruments = metrics.active
        started = time.perf_counter() if instruments is not None else 0.0
        ack = await self._handle(event, *args)
        # The server's own connect and disconnect answer None; a client's events by those names
        # are refused with an ack, and counted and logged like any other refusal.
        if isinstance(ack, dict):
            self._log_outcome(args[0], event, ack)
            if instruments is not None:
                name = event if isinstance(event, str) else "unknown"
                instruments.message(name, outcome_of(ack), time.perf_counter() - started)
        return ack

    def _log_outcome(self, sid: str, event: Any, ack: dict[str, Any]) -> None:
        accepted = ack.get("ok") is True
        level = logging.DEBUG if accepted else logging.INFO
        if not log.isEnabledFor(level):
            return
        outcome = outcome_of(ack)
        if outcome in OWN_LINES:
            return
        # One line a code an interval for the whole forum: a hall of phones refused at once (a
        # poll closing under their votes) is one line, not one a phone.
        forum = self.forum_info.get("id")
        if not accepted and not limited.should_log(f"forum:{forum}", f"refused:{outcome}"):
            return
        connection = self.connections.get(sid)
        role = connection.actor.role.value if connection is not None else "client"
        name = brief(event, 20) if isinstance(event, str) else "?"
        fields = {"forum": forum, "event": name, "role": role}
        log.log(
            level, "%s from a %s: %s", name, role, outcome, extra={**fields, "outcome": outcome}
        )

    async def _handle(self, event: str, *args: Any) -> Any:
        sid = args[0]
        # python-socketio also routes a client's own event named "connect" or "disconnect" here;
        # only the server's (a new sid, or one already marked as leaving) is the real thing.
        if event == "connect" and sid not in self.connections:
            return await self.on_connect(*args[:3])
        if event == "disconnect" and not self.transport.is_connected(sid):
            return await self.on_disconnect(sid)
        connection = self.connections.get(sid)
        if connection is None:
            return error_ack("not_connected", "connect to the forum first")
        if not isinstance(event, str) or event in ("connect", "disconnect"):
            return error_ack("unknown_event", "event names are strings from the protocol")
        data = args[1] if len(args) > 1 else None
        if not connection.bucket.take() or (
            event in BOARD_EVENTS and not self._board_bucket(connection.actor).take()
        ):
            return error_ack("rate_limited", "too many messages; wait a moment and try again")
        try:
            if len(args) > 2:
                raise InvalidPayload("send one payload object per message")
            host = connection.actor.role is Role.HOST
            limit = MAX_HOST_PAYLOAD_BYTES if host else MAX_PAYLOAD_BYTES
            if too_large(self.transport.message_size(), event, data, limit):
                return error_ack("payload_too_large", f"payloads are at most {limit} bytes")
            if event == "snapshot":
                return await self.snapshot(connection.actor)
            if event == "code_tries_reset":
                return self.reset_code_tries(connection.actor, data)
            command = decode(event, data)
            if isinstance(command, RedeemCode):
                return await self.redeem(connection, command)
            # A phone holding a ballot code acts as the code's voter, as the forum knows it now.
            actor = self.engine.forum.actor_for(connection.actor)
            outcome = await self.engine.execute(actor, command)
            return outcome.ack
        except ForumError as exc:
            return exc.as_ack()
        except EngineError as exc:
            # An outage refuses every message; one line per interval says so, not one each.
            limited.warning("engine", "unavailable", "the engine refused a change: %s", exc)
            return error_ack("unavailable", "the forum cannot store changes right now; try again")
        except Exception:
            if limited.should_log(sid, f"bug:{brief(event, 20)}"):
                log.exception("failed handling %s from %s", brief(event, 20), sid)
            return error_ack("internal_error", "something went wrong; nothing was changed")

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        try:
            actor = self.authenticate(environ, auth)
        except socketio.exceptions.ConnectionRefusedError:
            raise
        except Exception as exc:
            # Anything but a refusal would leave python-socketio holding a half-made
            # connection that never gets a reply.
            if limited.should_log(sid, "bug:connect"):
                log.exception("failed authenticating %s", sid)
            raise _refuse("internal_error", "the connection could not be checked") from exc
        rate, burst = RATES[actor.role]
        address = address_key(environ.get("REMOTE_ADDR"))
        self.connections[sid] = Connection(actor, TokenBucket(rate, burst), address)
        self.open_connections[actor.id] += 1
        self.present.joined(actor.role)
        await self.transport.join(sid, actor.role, environ)

    async def on_disconnect(self, sid: str) -> None:
        self.transport.leave(sid)
        limited.forget(sid)
        connection = self.connections.pop(sid, None)
        if connection is None:
            return
        participant = connection.actor.id
        left = self.open_connections[participant] - 1
        if left > 0:
            self.open_connections[participant] = left
        else:
            del self.open_connections[participant]
            self.board_buckets.pop(participant, None)
        self.present.left(connection.actor.role)

    async def redeem(self, connection: Connection, command: RedeemCode) -> dict[str, Any]:
        """Redeem a ballot code for the phone itself; wrong codes are counted against the
        connection, its address and the forum, so guessing is slow wherever it comes from."""
        if not (
            connection.code_tries.available()
            and self.code_tries.available(connection.address)
            and self.forum_code_tries.available()
        ):
            return error_ack("rate_limited", "too many wrong codes; wait a minute and try again")
        try:
            outcome = await self.engine.execute(connection.actor, command)
        except ForumError as exc:
            if exc.code in WRONG_CODE:
                connection.code_tries.take()
                self.code_tries.take(connection.address)
                self.forum_code_tries.take()
            raise
        return outcome.ack

    def reset_code_tries(self, actor: Actor, data: Any) -> dict[str, Any]:
        """The host gives every phone its wrong-code tries back, on this worker: one guesser
        behind a hall's shared address spends the tries of every phone behind it."""
        if data not in (None, {}):
            raise InvalidPayload("send an empty payload: {}")
        if actor.role is not Role.HOST:
            return refusals.host_only().as_ack()
        self.code_tries = AddressBuckets(*CODE_TRIES_PER_ADDRESS)
        self.forum_code_tries = TokenBucket(*CODE_TRIES_PER_FORUM)
        for connection in self.connections.values():
            connection.code_tries = TokenBucket(*CODE_TRIES_PER_CONNECTION)
        log.info("the host gave every phone its ballot-code tries back")
        return {"ok": True}

    def _board_bucket(self, actor: Actor) -> TokenBucket:
        bucket = self.board_buckets.get(actor.id)
        if bucket is None:
            bucket = self.board_buckets[actor.id] = TokenBucket(*BOARD_RATE)
        return bucket

    def authenticate(self, environ: dict[str, Any], auth: Any) -> Actor:
        """Who is connecting; refuses the connection with a code and a reason."""
        if not isinstance(auth, dict):
            raise _refuse("bad_auth", "send {role, code} when connecting")
        code = auth.get("code")
        if not isinstance(code, str) or code.upper() != self.code:
            raise _refuse("unknown_forum", "no forum with that code")
        try:
            role = Role(str(auth.get("role")))
        except ValueError:
            raise _refuse(
                "bad_auth", "role must be participant, host, screen, committee or moderator"
            ) from None
        if role is Role.PARTICIPANT:
            participant = self.identities.from_cookie_header(environ.get("HTTP_COOKIE", ""))
            if participant is None:
                raise _refuse("no_identity", "open the forum's join page first")
            return Actor(role, participant)
        if role is Role.HOST:
            if not same_secret(auth.get("key"), self.host_key):
                raise _refuse("bad_key", "the host key is wrong")
            return Actor(role, "host")
        if role is Role.COMMITTEE:
            member, key = auth.get("member"), auth.get("key")
            expected = self.committee_keys.get(member) if isinstance(member, str) else None
            if expected is None or not same_secret(key, expected):
                raise _refuse("bad_key", "this committee link is not valid for this forum")
            return Actor(role, str(member))
        if role is Role.MODERATOR:
            if not self.moderator_key or not same_secret(auth.get("key"), self.moderator_key):
                raise _refuse("bad_key", "this moderator link is not valid for this forum")
            return Actor(role, "moderator")
        return Actor(role, "screen")

    async def snapshot(self, actor: Actor) -> dict[str, Any]:
        """Everything a client needs to draw itself from scratch, as `actor` may see it."""
        await self.engine.refresh()
        forum = self.engine.forum
        actor = forum.actor_for(actor)
        # Everything that waits comes first: from the state on, the reply is taken in one step,
        # so no change broadcast meanwhile can reach the page before an older snapshot of it.
        clouds = await self.clouds.clouds(forum.boards.boards)
        presence = await self.engine.presence(self.presence()) if actor.role is Role.HOST else None
        mine = await self.engine.my_ballots(actor.id) if actor.role is Role.PARTICIPANT else {}
        forum = self.engine.forum  # as it stands now, after the waits
        reply: dict[str, Any] = {
            "ok": True,
            "forum": self.forum_info,
            "state": forum.state_view(actor.role),
            "now_ms": self.engine.clock(),
        }
        reply["boards"] = forum.board_views(actor.role)
        for board_id, cloud in clouds.items():
            reply["boards"][board_id]["cloud"] = cloud
        if actor.role is Role.PARTICIPANT:
            reply["mine"] = mine
            reply["my_upvotes"] = forum.boards.my_upvotes(actor.id)
            reply["my_posts"] = forum.boards.my_posts(actor.id)
            reply["eligibility"] = forum.codes.phone_view(actor)
        if actor.role is Role.HOST:
            reply["presence"] = presence
            if self.committee_links is None:
                self.committee_links = member_links(
                    self.forum_info["join_url"],
                    self.code,
                    self.committee_keys,
                    forum.programme.selection,
                )
            reply["committee_links"] = self.committee_links
            if self.moderator_key:
                reply["moderator_link"] = f"/moderate/{self.code}#key={self.moderator_key}"
        if actor.role is Role.COMMITTEE:
            reply["committee"] = forum.committee_view(actor.id)
        return reply


def outcome_of(ack: dict[str, Any]) -> str:
    """ "ok", or the code of the refusal an ack carries."""
    if ack.get("ok") is True:
        return "ok"
    error = ack.get("error")
    return str(error.get("code") if isinstance(error, dict) else "")


def too_large(sent: int, event: str, data: Any, limit: int = MAX_PAYLOAD_BYTES) -> bool:
    """Whether a payload is over the limit, as UTF-8 JSON with no spaces.

    `sent` is the whole message's size as the client sent it, which the transport measured. It
    is never smaller than that: escapes (`\\uXXXX`, which some clients write for every non-ASCII
    character) and spaces only add to it. So only a message over the limit as sent is measured
    again, decoded, and a client that escapes Korean text gets the same limit as a browser.
    """
    framing = len(event.encode("utf-8", "surrogatepass")) + FRAMING_BYTES
    if sent - framing <= limit:
        return False
    try:
        compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return True
    return len(compact.encode("utf-8", "surrogatepass")) > limit


def same_secret(given: Any, expected: str) -> bool:
    """Whether a client's key is the expected one, in constant time; keys are ASCII tokens, so
    anything else (a lone surrogate included) is simply wrong."""
    return isinstance(given, str) and given.isascii() and secrets.compare_digest(given, expected)


def _refuse(code: str, message: str) -> socketio.exceptions.ConnectionRefusedError:
    return socketio.exceptions.ConnectionRefusedError(message, {"code": code})
