"""What a purge does to a forum's stored log (docs/operations.md, "Backups and retention"):
every post's text and nickname replaced by a fixed placeholder, with the salted hashes the
record states kept in their place so that every line of the record hashes as before; every
participant id replaced by the pseudonym the record names them by, so that ballots, agreements
and results stay the same; and a `forum_purged` event that lists the posts, so that records made
after it leave those posts' `plain` out, and the forum knows who voted and upvoted is now only
pseudonyms (model/ballots.py apply_purge). Pure: the engines read and write (townhall/engine/)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from townhall.model.events import ForumPurged, PostCreated, PostEdited, ServerStarted
from townhall.model.forum import Forum
from townhall.model.state import PollStatus
from townhall.record.chain import salted_sha256
from townhall.record.pseudonyms import PSEUDONYM, Pseudonyms
from townhall.record.writer import apply_record, stated_programme

# A purged post's text, in the forum's state and every export: the same in every language, and
# with no letter or digit, so no word cloud counts it.
PLACEHOLDER = "[…]"
# The fields of stored events that hold a participant id (a phone's cookie id, or a ballot
# code's voter): model/events.py.
ID_FIELDS = ("participant", "voter")


class PurgeRefused(Exception):
    """The forum is in no state to be purged; nothing was changed."""


def check_purgeable(records: list[dict[str, Any]]) -> None:
    """Refuse a log whose forum has a poll open: a phone that voted in it would come back as a
    new participant (its id is now a pseudonym) and could vote in it a second time.
    Raises RecordError if the log does not replay."""
    started = [r for r in records if r.get("t") == ServerStarted.type]
    forum = Forum(stated_programme(started[-1] if started else None))
    for record in records:
        apply_record(forum, record)
    open_polls = [poll for poll, state in forum.polls.items() if state.status is PollStatus.OPEN]
    if open_polls:
        raise PurgeRefused(
            f"poll {', '.join(open_polls)} is open: close it on the host screen first (a phone"
            " that voted would come back as a new participant and could vote again)"
        )


@dataclass(slots=True)
class Purge:
    """A purge worked out on one log: its records as they are to be stored, and what went."""

    records: list[dict[str, Any]]
    ids: dict[str, str] = field(default_factory=dict)  # participant id -> its pseudonym
    texts: int = 0  # post and edit texts replaced
    names: int = 0  # nicknames replaced
    posts: list[int] = field(default_factory=list)  # the posts whose text went

    @property
    def changed(self) -> bool:
        """Whether anything was left to purge: purging a purged forum again changes nothing."""
        return bool(self.texts or self.names or self.ids)

    def summary(self) -> str:
        return (
            f"{self.texts} post texts, {self.names} names, {len(self.ids)} participant ids"
            f" (replaced by their pseudonyms), in {len(self.posts)} posts"
        )


def purge_log(records: Iterable[dict[str, Any]], secret: str, at_ms: int) -> Purge:
    """`records` (the stored log, every event in order) as a purge leaves them; with a
    `forum_purged` event stored `at_ms` appended when anything went."""
    pseudonym = Pseudonyms(secret)
    purge = Purge([])
    last = 0
    for stored in records:
        record = dict(stored)
        last = int(record.get("seq", last))
        kind = record.get("t")
        if kind in (PostCreated.type, PostEdited.type) and "text_sha256" not in record:
            _replace_texts(purge, record, pseudonym.salt(last))
        for name in ID_FIELDS:
            value = record.get(name)
            if isinstance(value, str) and value and not PSEUDONYM.match(value):
                record[name] = purge.ids.setdefault(value, pseudonym(value))
        purge.records.append(record)
    if purge.changed:  # ids alone too: the forum must know its ballots' ids are pseudonyms
        event = {"t": ForumPurged.type, "posts": sorted(set(purge.posts)), "at": at_ms}
        purge.records.append(event | {"seq": last + 1})  # `seq` last, as engines store it
    return purge


def _replace_texts(purge: Purge, record: dict[str, Any], salt: str) -> None:
    """The record's text (and a post's name) replaced, with the hashes the record states."""
    record["text_sha256"] = salted_sha256(salt, str(record.get("text", "")))
    record["text"] = PLACEHOLDER
    purge.texts += 1
    if record["t"] == PostCreated.type:
        record["name_sha256"] = salted_sha256(salt, str(record.get("name", "")))
        purge.names += bool(record.get("name"))
        record["name"] = ""
        purge.posts.append(int(record["seq"]))
    else:
        purge.posts.append(int(record["post"]))
    seq = record.pop("seq")
    record["seq"] = seq  # kept last, as the journal reads damage by it
