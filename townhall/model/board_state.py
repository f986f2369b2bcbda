"""A board's state: its posts, its pin, the message ids it remembers, and what pages see of it.

The rules that change a board (who may post, the limits, moderation) are in `board`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from townhall.model.agenda import Item, ItemKind

# What phones and the projector are sent of a board: the pinned post and these.
SHOWN_TOP = 50  # the most agreed open posts
SHOWN_NEWEST = 50  # the newest open posts
SHOWN_ANSWERED = 20  # the latest answered
SHOWN_HIDDEN = 50  # the newest hidden posts' ids
RECENT_OPS = 32  # message ids remembered per participant per board, so resends are recognised


class PostState(StrEnum):
    PENDING = "pending"  # waiting for the host's approval
    VISIBLE = "visible"
    HIDDEN = "hidden"
    ANSWERED = "answered"
    MERGED = "merged"  # folded into another post

    @property
    def public(self) -> bool:
        return self in (PostState.VISIBLE, PostState.ANSWERED)

    @property
    def counted(self) -> bool:
        """Whether the post takes a place under the board's cap (`MAX_POSTS_PER_BOARD`)."""
        return self in (PostState.PENDING, PostState.VISIBLE, PostState.ANSWERED)


@dataclass(slots=True)
class Post:
    id: int
    board: str
    author: str  # the participant's id: never shown to anyone
    name: str
    text: str
    state: PostState
    at_ms: int
    original: str = ""  # the text as posted, once the host has edited it
    merged_into: int = 0
    upvoters: set[str] = field(default_factory=set)
    # Its text went in a forum purge, and its upvoters' ids became pseudonyms: a phone that
    # upvoted it would come back as a new participant, so it takes no more upvotes.
    purged: bool = False

    def view(self, *, full: bool) -> dict[str, Any]:
        """The post as a page shows it; `full` adds what only the host and the moderator see."""
        view: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "text": self.text,
            "state": self.state.value,
            "edited": bool(self.original),
            "upvotes": len(self.upvoters),
            "at_ms": self.at_ms,
        }
        if full:
            view["original"] = self.original
            view["merged_into"] = self.merged_into
        return view


@dataclass(slots=True)
class Board:
    item: Item
    posts: dict[int, Post] = field(default_factory=dict)
    pinned: int = 0
    version: int = 0  # the seq of the last change to this board
    ops: dict[str, dict[str, int]] = field(default_factory=dict)  # participant -> op -> post
    # participant -> when each of their purged posts here was made: a purge frees the board's
    # room, never a participant's own, or one id could post, be purged and post again for ever.
    # At most POSTS_PER_BOARD a participant, like the posts themselves.
    purged: dict[str, list[int]] = field(default_factory=dict)

    def remember(self, participant: str, op: str, post: int) -> None:
        recent = self.ops.setdefault(participant, {})
        recent.pop(op, None)  # a reused id counts as the newest, as post.lua and upvote.lua keep it
        recent[op] = post
        while len(recent) > RECENT_OPS:
            del recent[next(iter(recent))]

    def seen(self, participant: str, op: str) -> int | None:
        """The post a message id last acted on (a post made or upvoted), or None."""
        return self.ops.get(participant, {}).get(op)

    def posted(self, participant: str, op: str) -> int | None:
        """The post a message id acted on, if it is one the participant made on this board.

        An id that last acted on an upvote of someone else's post is not a resend of a post:
        acking it would reveal that post's state. (An upvote's id on one's own post does count,
        which reveals nothing; posts and upvotes share one record of ids, as `post.lua` does.)
        """
        post_id = self.seen(participant, op)
        if post_id is None:
            return None
        post = self.posts.get(post_id)
        return post_id if post is not None and post.author == participant else None

    def view(self, *, full: bool) -> dict[str, Any]:
        """The moderators' view has every post; the public view is bounded (see `shown`).

        A word item's answers are shown to the room only as its cloud: the public view names
        each shown answer by id and state alone, so that its author's phone can say it was
        approved, and no one else reads its text (or the hidden words the cloud leaves out)."""
        if not full and self.item.kind is ItemKind.WORDS:
            shown = [p for p in self.posts.values() if p.state.public]
            public = [{"id": p.id, "state": p.state.value} for p in shown]
        else:
            posts = list(self.posts.values()) if full else self.shown()
            public = [p.view(full=full) for p in posts]
        view: dict[str, Any] = {
            "board": self.item.id,
            "version": self.version,
            "pinned": self.pinned,
            "posts": public,
        }
        if not full:
            view["hidden"] = self.recently_hidden()
        return view

    def recently_hidden(self) -> list[int]:
        """The ids of the newest hidden posts, newest first, and nothing else of them: so that an
        author's phone can say its post was hidden (it alone knows the id is its own)."""
        hidden = [p.id for p in self.posts.values() if p.state is PostState.HIDDEN]
        return sorted(hidden, reverse=True)[:SHOWN_HIDDEN]

    def shown(self) -> list[Post]:
        """What phones and the projector get, in posting order: the pinned post, the most
        agreed and the newest open posts, and the latest answered. A full board would otherwise
        send hundreds of posts to every phone on every change."""
        open_posts = [p for p in self.posts.values() if p.state is PostState.VISIBLE]
        answered = [p for p in self.posts.values() if p.state is PostState.ANSWERED]
        chosen = {self.pinned} if self.pinned else set()
        chosen.update(
            p.id for p in sorted(open_posts, key=lambda p: (-len(p.upvoters), p.id))[:SHOWN_TOP]
        )
        chosen.update(p.id for p in sorted(open_posts, key=lambda p: -p.id)[:SHOWN_NEWEST])
        chosen.update(p.id for p in sorted(answered, key=lambda p: -p.id)[:SHOWN_ANSWERED])
        return [self.posts[i] for i in sorted(chosen)]

    def ranked(self) -> list[Post]:
        """Public posts, most upvoted first; the earlier post first on a tie."""
        public = [p for p in self.posts.values() if p.state.public]
        return sorted(public, key=lambda p: (-len(p.upvoters), p.id))
