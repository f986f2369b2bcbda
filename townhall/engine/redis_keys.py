"""Every Redis key and channel Townhall uses, in one place.

A forum's keys all carry the hash tag `{forum-id}`, so in Redis Cluster they live in one slot
and one Lua script may touch them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from townhall.model.board_state import Post
from townhall.model.events import (
    CodeRevoked,
    Event,
    ItemAdded,
    LiveVoteRecorded,
    OptionAdded,
    PollOptionsSet,
    PostEdited,
    PostsMerged,
    PostsPurged,
    PostStateSet,
    WordingChanged,
)

PREFIX = "townhall"
BALLOT = "ballot"  # a ballot's record type: the one event that is never published


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """One forum's keys in Redis, and the keys each Lua script is called with."""

    forum_id: str

    def _key(self, name: str) -> str:
        return f"{PREFIX}:{{{self.forum_id}}}:{name}"

    @property
    def seq(self) -> str:
        """String: the number of events in the log."""
        return self._key("seq")

    @property
    def log(self) -> str:
        """Stream: the event log, one entry `{seq}-0` per event, field `e` = msgpack record."""
        return self._key("log")

    @property
    def purging_log(self) -> str:
        """Stream: a purged log being written (townhall/engine/redis_purge.py), then renamed to
        `log` in the transaction that rewrites the rest."""
        return self._key("log-purging")

    @property
    def purging(self) -> str:
        """String, with an expiry: set while `townhall purge` works on the forum. A worker that
        finds it once subscribed will not serve: it may have read the log the purge replaces."""
        return self._key("purging")

    def pattern(self, name: str) -> str:
        """A SCAN pattern for one kind of key, as `posts:*` (ids never hold glob characters)."""
        return self._key(name)

    @property
    def published(self) -> str:
        """String: the seq of the last event published on `channel` (every event but a ballot),
        which each published message carries forward as its `prev`."""
        return self._key("published")

    @property
    def tallied(self) -> str:
        """Hash: poll id -> the seq of its last ballot, which its tally read is as of."""
        return self._key("tallied")

    @property
    def code_voters(self) -> str:
        """Set: the voters (`jury-17`) of ballot codes who have cast a ballot: the replicas,
        which are not sent the ballots, read it to count the codes used."""
        return self._key("code_voters")

    def group_counts(self, poll: str) -> str:
        """Hash, for a poll kept by group: `group` -> its voters, `group NUL option` -> the
        option's count in the group (a ballot without a code: group "")."""
        return self._key(f"group_counts:{poll}")

    @property
    def control(self) -> str:
        """Hash: `version` (seq of the last host event), `current`, `timer_*`."""
        return self._key("control")

    @property
    def poll_status(self) -> str:
        """Hash: poll id -> pending | open | closed."""
        return self._key("poll_status")

    @property
    def results(self) -> str:
        """Hash: poll id -> 1 if phones and projector see the tally, else 0."""
        return self._key("results")

    def ballots(self, poll: str) -> str:
        """Hash: participant id -> msgpack {c: choices, v: version, o: recent message ids,
        w: what each choice added to its option's count}."""
        return self._key(f"ballots:{poll}")

    def counts(self, poll: str) -> str:
        """Hash: option id -> number of ballots choosing it (a ranking's: its Borda points)."""
        return self._key(f"counts:{poll}")

    def options(self, poll: str) -> str:
        """Set: the poll's option ids: the programme's, promoted from an idea board, or added
        on the day (a quick poll's, or one more)."""
        return self._key(f"options:{poll}")

    def posts(self, board: str) -> str:
        """Hash: post id -> msgpack {b: board, a: author, n: name, x: text, s: state, t: at_ms,
        o: the text as posted once the host edited it, else "", m: post merged into, else 0}."""
        return self._key(f"posts:{board}")

    def post_ops(self, board: str) -> str:
        """Hash: participant id -> msgpack {o: [[message id, post], ...] oldest first, the most
        recent message ids of their posts and upvotes on this board; t: [at_ms of each of their
        posts here, purged ones too]; p: [the id of each of their posts still stored here],
        absent in records written before it was kept}."""
        return self._key(f"post_ops:{board}")

    def upvoters(self, post: int) -> str:
        """Set: the participant ids upvoting the post; its upvote count is the set's size."""
        return self._key(f"upvoters:{post}")

    @property
    def counted_posts(self) -> str:
        """Hash: board id -> its posts that take a place under its cap (waiting, shown or
        answered); absent for a board stored before it was kept, and then counted once."""
        return self._key("counted_posts")

    @property
    def pinned(self) -> str:
        """Hash: board id -> the post shown as being answered now, 0 for none."""
        return self._key("pinned")

    @property
    def codes_revoked(self) -> str:
        """Set: the voters (`jury-17`) of the ballot codes the host revoked."""
        return self._key("codes_revoked")

    @property
    def code_phones(self) -> str:
        """Hash: voter -> the phone (participant id) that holds the voter's code now."""
        return self._key("code_phones")

    @property
    def phone_codes(self) -> str:
        """Hash: phone (participant id) -> the voter whose code it holds now."""
        return self._key("phone_codes")

    @property
    def shape(self) -> str:
        """String: the agenda's shape (item ids, kinds, option ids) the stored state belongs to."""
        return self._key("shape")

    @property
    def secrets(self) -> str:
        """Hash: join `code`, `host_key`, cookie `secret`, shared by every worker and node."""
        return self._key("secrets")

    @property
    def presence(self) -> str:
        """Hash: worker id -> msgpack [seen_ms, participants, hosts, screens]."""
        return self._key("presence")

    @property
    def channel(self) -> str:
        """Pub/sub channel: each accepted event's record but a ballot's, as soon as it is in the
        log, after the msgpack seq of the last event published before it."""
        return self._key("events")

    # -- what each script is called with (its KEYS, as its header lists them) -----------------

    def vote_keys(self, poll: str) -> list[str]:
        return [
            self.seq,
            self.log,
            self.poll_status,
            self.ballots(poll),
            self.counts(poll),
            self.options(poll),
            self.codes_revoked,
            self.tallied,
            self.group_counts(poll),
            self.published,
            self.code_voters,
        ]

    def tally_keys(self, polls: Sequence[str]) -> list[str]:
        keys = [self.seq, self.published, self.tallied, self.code_voters]
        for poll in polls:
            keys += [self.counts(poll), self.ballots(poll), self.group_counts(poll)]
        return keys

    def redeem_keys(self) -> list[str]:
        return [
            *(self.seq, self.log, self.codes_revoked, self.code_phones, self.phone_codes),
            self.published,
        ]

    def post_keys(self, board: str) -> list[str]:
        return [
            *(self.seq, self.log, self.posts(board), self.post_ops(board), self.counted_posts),
            *(self.codes_revoked, self.published),
        ]

    def upvote_keys(self, board: str, post: int) -> list[str]:
        return [
            *(self.seq, self.log, self.posts(board), self.post_ops(board), self.upvoters(post)),
            *(self.codes_revoked, self.published),
        ]

    def control_keys(self, events: Sequence[Event], posts: Mapping[int, Post]) -> list[str]:
        """The keys every control.lua call gets, then those each of `events` names; `posts`
        holds every post the events name."""
        keys = [
            self.seq,
            self.log,
            self.control,
            self.poll_status,
            self.results,
            self.pinned,
            self.counted_posts,
            self.published,
        ]
        for event in events:
            if isinstance(event, PostStateSet | PostEdited):
                keys.append(self.posts(posts[event.post].board))
            elif isinstance(event, PostsMerged):
                board = posts[event.source].board
                keys += [
                    self.posts(board),
                    self.upvoters(event.source),
                    self.upvoters(event.target),
                ]
            elif isinstance(event, PostsPurged):
                keys += [self.posts(event.board), self.post_ops(event.board)]
                keys += [self.upvoters(post) for post in event.posts]
            elif isinstance(event, PollOptionsSet):
                keys += [self.options(event.poll), self.counts(event.poll)]
            elif isinstance(event, CodeRevoked):
                keys += [self.codes_revoked, self.code_phones, self.phone_codes]
            elif isinstance(event, ItemAdded):
                keys.append(self.options(event.item))
            elif isinstance(event, OptionAdded):
                keys.append(self.options(event.poll))
            elif isinstance(event, WordingChanged):
                keys.append(self.ballots(event.item))
            elif isinstance(event, LiveVoteRecorded):
                keys += [self.counts(event.poll), self.tallied]
        return keys


@dataclass(frozen=True, slots=True)
class RegistryKeys:
    """The server's own keys: the registry of forums and the server's secrets. One hash tag,
    so a change and its version move together in one transaction, in Redis Cluster too."""

    # `_server` can be no forum's id (an id starts with a letter or digit), so no forum's keys
    # are these.
    forums: str = f"{PREFIX}:{{_server}}:forums"  # Hash: forum id -> its entry as JSON
    version: str = f"{PREFIX}:{{_server}}:forums_version"  # String: moves with every change
    secrets: str = f"{PREFIX}:{{_server}}:secrets"  # Hash: name -> the organiser key's record

    @staticmethod
    def forum_pattern(forum_id: str) -> str:
        """A SCAN pattern for every key of one forum (ids never hold glob characters)."""
        return f"{PREFIX}:{{{forum_id}}}:*"
