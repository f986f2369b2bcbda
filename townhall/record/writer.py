"""Stored log records to the record's lines (docs/record.md), replaying them into a forum
alongside, so that each tally and result is the one the server computed at that point."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable, Set
from typing import Any

from townhall.model.agenda import Programme
from townhall.model.events import (
    CodeRedeemed,
    CodeRevoked,
    CommitteeScored,
    Event,
    ForumPurged,
    ItemAdded,
    PollClosed,
    PostCreated,
    PostEdited,
    PostsPurged,
    SelectionPublished,
    ServerStarted,
    WordingChanged,
    from_record,
    to_record,
)
from townhall.model.forum import PARTICIPANT_EVENTS, Forum
from townhall.model.statement import programme_from
from townhall.record.chain import Chain, encoded, salted_sha256
from townhall.record.pseudonyms import LENGTH, Pseudonyms

FORMAT = "townhall-record"
# Lines written between two turns of the event loop, so an export never stalls the forum.
YIELD_EVERY = 200
VERSION = 1


class RecordError(ValueError):
    """The log cannot be written as a record: the message says where and why."""


def purged_posts(records: Iterable[dict[str, Any]]) -> set[int]:
    """Every post a `posts_purged` or `forum_purged` record lists; their text is left out of
    the record."""
    return {
        int(post)
        for record in records
        if record.get("t") in (PostsPurged.type, ForumPurged.type)
        for post in record.get("posts") or ()
    }


def apply_record(forum: Forum, record: dict[str, Any]) -> Event:
    """Apply the log's next stored record to `forum`; raises RecordError if it is not that."""
    seq = record.get("seq")
    if seq != forum.seq + 1:
        raise RecordError(f"event {seq} follows {forum.seq} in the log")
    try:
        event = from_record(record)
        forum.apply(event)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"event {seq}: not an event this version reads: {exc}") from exc
    return event


ReadLog = Callable[[], AsyncIterator[dict[str, Any]]]


async def write_record(
    read_log: ReadLog, secret: str, programme: Programme | None = None
) -> AsyncIterator[bytes]:
    """The whole record, line by line, from a log read twice: first for what the lines depend
    on later in it (the posts purged, and the programme the first `server_started` states, under
    which any earlier lines are written: else `programme`), then to write them. From each
    `server_started` line on, the lines are written under the programme it states."""
    purged: set[int] = set()
    started: dict[str, Any] | None = None
    async for record in read_log():
        purged |= purged_posts([record])
        if started is None and record.get("t") == ServerStarted.type:
            started = record
    first = stated_programme(started) if started is not None or programme is None else programme
    writer = RecordWriter(first, secret, purged)
    yield encoded(writer.header())
    written = 0
    async for record in read_log():
        yield encoded(writer.line(record))
        written += 1
        if written % YIELD_EVERY == 0:
            await asyncio.sleep(0)  # a long record must not hold up the votes meanwhile


def stated_programme(started: dict[str, Any] | None) -> Programme:
    """The programme a `server_started` record states."""
    if started is None:
        raise RecordError("the log has no server_started event stating the programme")
    try:
        event = from_record(started)
        assert isinstance(event, ServerStarted)
        return programme_from(event.programme)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"event {started.get('seq')}: not a programme: {exc}") from exc


class RecordWriter:
    """The header, then one line per stored record, fed in log order."""

    def __init__(self, programme: Programme, secret: str, purged: Set[int] = frozenset()) -> None:
        self.forum = Forum(programme)
        self.pseudonym = Pseudonyms(secret)
        self.purged = purged
        self.chain = Chain()

    def header(self) -> dict[str, Any]:
        return self.chain.link(
            {
                "format": FORMAT,
                "version": VERSION,
                "forum": self.forum.programme.id,
                "pseudonyms": {
                    "scheme": "hmac-sha256",
                    "length": LENGTH,
                    "key": "per-forum secret, not published",
                },
            }
        )

    def line(self, record: dict[str, Any]) -> dict[str, Any]:
        """The next line, from the next stored record; raises RecordError if it is not that."""
        event = apply_record(self.forum, record)
        if isinstance(event, ServerStarted):
            # What follows was counted under the programme this start stated.
            self.forum.restate(stated_programme(record))
        seq, at = self.forum.seq, record.get("at")
        fields = _json(to_record(event))
        del fields["t"]
        fields.pop("participant", None)  # named by the actor's pseudonym instead
        if isinstance(event, CodeRedeemed):
            del fields["voter"]  # the actor: the phone is never named, only the code's voter
        elif isinstance(event, CodeRevoked):
            fields["voter"] = self.pseudonym(event.voter)
        extra = self._extra(event, seq, fields, record)
        line = {"seq": seq, "at": at, "type": event.type, "actor": self._actor(event)}
        return self.chain.link(line | fields | extra)

    def _actor(self, event: Event) -> dict[str, str]:
        if isinstance(event, CodeRedeemed):
            return {"role": "participant", "id": self.pseudonym(event.voter)}
        if isinstance(event, PARTICIPANT_EVENTS):
            return {"role": "participant", "id": self.pseudonym(event.participant)}
        if isinstance(event, CommitteeScored):
            return {"role": "committee", "id": event.member}
        if isinstance(event, ServerStarted | ForumPurged):
            return {"role": "server"}  # the server, or its operator's `townhall purge`
        return {"role": "host"}

    def _extra(
        self, event: Event, seq: int, fields: dict[str, Any], record: dict[str, Any]
    ) -> dict[str, Any]:
        """What a line holds beyond the event's own `fields`, from which it takes the text that
        the line holds only as hashes. A purged post's stored record keeps those hashes in
        place of its text and name (townhall/purge.py)."""
        if isinstance(event, PostCreated):
            del fields["text"], fields["name"]
            salt = self.pseudonym.salt(seq)
            extra: dict[str, Any] = {
                "post": seq,
                "text_sha256": record.get("text_sha256") or salted_sha256(salt, event.text),
                "name_sha256": record.get("name_sha256") or salted_sha256(salt, event.name),
            }
            if seq not in self.purged:
                extra["plain"] = {"salt": salt, "text": event.text, "name": event.name}
            return extra
        if isinstance(event, PostEdited):
            del fields["text"]
            salt = self.pseudonym.salt(seq)
            extra = {"text_sha256": record.get("text_sha256") or salted_sha256(salt, event.text)}
            if event.post not in self.purged:
                extra["plain"] = {"salt": salt, "text": event.text}
            return extra
        if isinstance(event, ItemAdded):
            del fields["notes"]  # the facilitator's own, as a programme statement leaves them out
        if isinstance(event, WordingChanged) and event.field == "notes":
            del fields["text"]
        if isinstance(event, PollClosed):
            poll = self.forum.polls[event.poll]
            closed: dict[str, Any] = {
                "tally": {o.id: poll.counts.get(o.id, 0) for o in poll.options}
            }
            if poll.item.by_group:
                closed["groups"] = {
                    group: {o.id: counts.get(o.id, 0) for o in poll.options}
                    for group, counts in sorted(poll.group_counts.items())
                }
            return closed
        if isinstance(event, SelectionPublished) and event.published:
            return {
                "result": {"rows": [result_row(r) for r in self.forum.selection_result()["rows"]]}
            }
        return {}


def result_row(row: dict[str, Any]) -> dict[str, Any]:
    """A result row as the record states it: exact points, as fractions in strings."""
    inputs = row["inputs"]
    return {
        "rank": row["rank"],
        "candidate": row["candidate"],
        "agreements": inputs["agreements"],
        "live_votes": inputs["live_votes"],
        "committee_scores_given": inputs["scores_given"],
        "points": dict(row["exact"]),
    }


def _json(value: Any) -> Any:
    """Tuples as lists, as JSON has them."""
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value
