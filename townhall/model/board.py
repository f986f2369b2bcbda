"""Boards: the Q&A and idea items. Short posts, one upvote per participant, moderated by the host.

A post's id is the seq of the event that created it. A post's upvote count is the size of its set
of upvoters, so the count can never drift from who upvoted, and merging two posts joins the sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from townhall.model.agenda import Item, ItemKind, NameMode
from townhall.model.commands import (
    AnswerPost,
    ApprovePost,
    Command,
    EditPost,
    HideAuthor,
    HidePost,
    MergePosts,
    PinPost,
    PurgeHidden,
    SubmitPost,
    Upvote,
)
from townhall.model.errors import Conflict, InvalidPayload, NotFound
from townhall.model.events import (
    Event,
    PostCreated,
    PostEdited,
    PostPinned,
    PostsMerged,
    PostsPurged,
    PostStateSet,
    UpvoteSet,
)

NAME_MAX = 40
# What phones and the projector are sent of a board: the pinned post and these.
SHOWN_TOP = 50  # the most agreed open posts
SHOWN_NEWEST = 50  # the newest open posts
SHOWN_ANSWERED = 20  # the latest answered
POST_WINDOW_MS = 60_000
POSTS_PER_WINDOW = 3  # a participant's posts on one board within a minute
POSTS_PER_BOARD = 20  # a participant's posts on one board in all, hidden and purged ones too
# A participant's posts waiting for approval on one board at a time: one person's queue stays
# short enough for the host to read, whatever the host's pace.
PENDING_PER_PARTICIPANT = 5
# Posts waiting, shown or answered on one board, whoever made them: participant ids are cookies
# anyone can mint, so the per-participant limits alone do not bound a board. Hidden and merged
# posts do not count, so the host frees room by hiding spam.
MAX_POSTS_PER_BOARD = 500
# Every post a board stores, hidden and merged ones too, so memory stays bounded however much
# the host hides. Purging the hidden posts (`PurgeHidden`) frees this room for good.
MAX_STORED_POSTS_PER_BOARD = 2000
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


COUNTED_STATES = tuple(state.value for state in PostState if state.counted)


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

    def view(self, *, full: bool) -> dict[str, Any]:
        """The post as a page shows it; `full` adds what only the host sees."""
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
        """The host's view has every post; the public view is bounded (see `shown`)."""
        posts = list(self.posts.values()) if full else self.shown()
        return {
            "board": self.item.id,
            "version": self.version,
            "pinned": self.pinned,
            "posts": [p.view(full=full) for p in posts],
        }

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


def check_post_text(board: Board, text: str) -> str:
    text = text.strip()
    if not text:
        raise InvalidPayload("write something first", code="empty_post")
    if len(text) > board.item.max_length:
        raise InvalidPayload(
            f"a post is at most {board.item.max_length} characters", code="post_too_long"
        )
    return text


def check_name(board: Board, name: str) -> str:
    name = name.strip()
    if board.item.names is NameMode.ANONYMOUS:
        return ""
    if board.item.names is NameMode.REQUIRED and not name:
        raise InvalidPayload("give a nickname to post here", code="name_required")
    if len(name) > NAME_MAX:
        raise InvalidPayload(f"a nickname is at most {NAME_MAX} characters", code="name_too_long")
    return name


# The refusals a post can get, made here so that every engine words them the same.


def board_full(*, stored: bool = False) -> Conflict:
    if stored:
        return Conflict(
            f"this board is full: it has stored {MAX_STORED_POSTS_PER_BOARD} posts, hidden ones"
            " too",
            code="board_full",
        )
    return Conflict(f"this board is full: it holds {MAX_POSTS_PER_BOARD} posts", code="board_full")


def post_limit() -> Conflict:
    return Conflict(f"you have posted {POSTS_PER_BOARD} times here already", code="post_limit")


def pending_limit() -> Conflict:
    return Conflict(
        f"you have {PENDING_PER_PARTICIPANT} posts waiting for approval here; wait until the"
        " host has seen them",
        code="pending_limit",
    )


def post_rate() -> Conflict:
    return Conflict("you are posting quickly; wait a minute and try again", code="post_rate")


def check_board_room(board: Board) -> None:
    """Hidden posts leave room for others; every post stays within the stored bound."""
    if len(board.posts) >= MAX_STORED_POSTS_PER_BOARD:
        raise board_full(stored=True)
    if sum(1 for p in board.posts.values() if p.state.counted) >= MAX_POSTS_PER_BOARD:
        raise board_full()


def check_posting_rate(board: Board, participant: str, now_ms: int) -> None:
    own = [p for p in board.posts.values() if p.author == participant]
    made = [p.at_ms for p in own] + board.purged.get(participant, [])
    if len(made) >= POSTS_PER_BOARD:
        raise post_limit()
    if sum(1 for p in own if p.state is PostState.PENDING) >= PENDING_PER_PARTICIPANT:
        raise pending_limit()
    if sum(1 for at_ms in made if now_ms - at_ms < POST_WINDOW_MS) >= POSTS_PER_WINDOW:
        raise post_rate()


def purgeable(board: Board) -> tuple[int, ...]:
    """The posts a purge removes: the hidden ones, and every post merged into one of them,
    directly or through another merged post, so no post left names one that is gone."""

    def end(post: Post) -> Post:
        while post.state is PostState.MERGED:
            post = board.posts[post.merged_into]
        return post

    return tuple(p.id for p in board.posts.values() if end(p).state is PostState.HIDDEN)


def upvotable(post: Post) -> None:
    if post.state is PostState.MERGED:
        raise Conflict(f"this post was merged into post {post.merged_into}", code="post_merged")
    if not post.state.public:
        raise Conflict("this post is not shown, so it can't be upvoted", code="post_not_open")


def promotable(board: Board) -> list[Post]:
    """The posts an idea board's promotion would make poll options; refuses too few."""
    if board.item.kind is not ItemKind.IDEAS or not board.item.promote_to:
        raise Conflict("this board has no poll to promote ideas to", code="no_promotion")
    top = board.ranked()[: board.item.promote_count]
    if len(top) < 2:
        raise Conflict("a poll needs at least two ideas to choose from", code="not_enough_ideas")
    return top


def option_for(post: Post) -> tuple[str, str]:
    return (f"idea-{post.id}", post.text[:200])


class Boards:
    """Every board of a forum, and every post by id. Decides and applies the board commands."""

    def __init__(self, items: tuple[Item, ...]) -> None:
        self.boards = {item.id: Board(item) for item in items if item.kind.is_board}
        self.posts: dict[int, Post] = {}

    def board(self, board_id: str) -> Board:
        board = self.boards.get(board_id)
        if board is None:
            raise NotFound(f"no Q&A or idea board {board_id!r}", code="unknown_board")
        return board

    def post(self, post_id: int) -> Post:
        post = self.posts.get(post_id)
        if post is None:
            raise NotFound(f"no post {post_id}", code="unknown_post")
        return post

    # -- participants ---------------------------------------------------------------------------

    def decide_post(self, participant: str, command: SubmitPost, now_ms: int) -> list[Event]:
        board = self.board(command.board)
        if board.posted(participant, command.op) is not None:
            return []  # a resend of a post already made: acked whatever the limits say
        text = check_post_text(board, command.text)
        name = check_name(board, command.name)
        check_board_room(board)
        check_posting_rate(board, participant, now_ms)
        state = PostState.PENDING if board.item.moderated else PostState.VISIBLE
        return [
            PostCreated(board.item.id, participant, name, text, state.value, command.op, now_ms)
        ]

    def decide_upvote(self, participant: str, command: Upvote) -> list[Event]:
        post = self.post(command.post)
        board = self.boards[post.board]
        if board.seen(participant, command.op) == post.id:
            return []  # a resend: already counted, and a late one must not undo a later change
        # An id reused for another post is a new message: checked like one, so it never reads
        # out the state or count of a post it may not upvote.
        upvotable(post)
        # Recorded even when it changes nothing, so its late resend is recognised.
        return [UpvoteSet(post.id, participant, command.up, command.op)]

    # -- the host -------------------------------------------------------------------------------

    def decide_host(self, command: Command) -> list[Event]:
        match command:
            case ApprovePost(post=post_id):
                post = self._not_merged(post_id)
                return [] if post.state.public else [PostStateSet(post_id, PostState.VISIBLE.value)]
            case HidePost(post=post_id):
                post = self._not_merged(post_id)
                hidden = post.state is PostState.HIDDEN
                return [] if hidden else [PostStateSet(post_id, PostState.HIDDEN.value)]
            case HideAuthor(post=post_id):
                # The host never sees participant ids, so the author is named by a post of
                # theirs; any of their posts will do, merged or hidden too.
                named = self.post(post_id)
                return [
                    PostStateSet(p.id, PostState.HIDDEN.value)
                    for p in self.boards[named.board].posts.values()
                    if p.author == named.author
                    and p.state not in (PostState.HIDDEN, PostState.MERGED)
                ]
            case PurgeHidden(board=board_id):
                purged = purgeable(self.board(board_id))
                return [PostsPurged(board_id, purged)] if purged else []
            case AnswerPost(post=post_id):
                post = self._not_merged(post_id)
                if post.state is PostState.ANSWERED:
                    return []
                if post.state is not PostState.VISIBLE:
                    raise Conflict(
                        "approve the post before marking it answered", code="post_not_open"
                    )
                return [PostStateSet(post_id, PostState.ANSWERED.value)]
            case EditPost(post=post_id, text=text):
                post = self._not_merged(post_id)
                text = check_post_text(self.boards[post.board], text)
                return [] if text == post.text else [PostEdited(post_id, text)]
            case PinPost(board=board_id, post=post_id):
                board = self.board(board_id)
                if post_id and (self.post(post_id).board != board_id):
                    raise NotFound(f"post {post_id} is not on this board", code="unknown_post")
                if post_id and self.posts[post_id].state is not PostState.VISIBLE:
                    raise Conflict(
                        "only a shown, unanswered post can be pinned", code="post_not_open"
                    )
                return [] if board.pinned == post_id else [PostPinned(board_id, post_id)]
            case MergePosts(source=source_id, target=target_id):
                source, target = self._not_merged(source_id), self._not_merged(target_id)
                if source.board != target.board or source.id == target.id:
                    raise Conflict("merge two different posts of one board", code="bad_merge")
                if not target.state.public:
                    raise Conflict("merge into a post that is shown", code="post_not_open")
                return [PostsMerged(source_id, target_id)]
        raise InvalidPayload(f"unknown command {type(command).__name__}")  # pragma: no cover

    def _not_merged(self, post_id: int) -> Post:
        post = self.post(post_id)
        if post.state is PostState.MERGED:
            raise Conflict(
                f"post {post_id} was merged into post {post.merged_into}", code="post_merged"
            )
        return post

    # -- applying -------------------------------------------------------------------------------

    def apply(self, event: Event, seq: int) -> str:
        """Record one board event at `seq`; returns the board it changed."""
        match event:
            case PostCreated():
                board = self.boards[event.board]
                post = Post(
                    seq,
                    event.board,
                    event.participant,
                    event.name,
                    event.text,
                    PostState(event.state),
                    event.at_ms,
                )
                board.posts[seq] = post
                self.posts[seq] = post
                board.remember(event.participant, event.op, seq)
            case UpvoteSet(post=post_id, participant=participant, up=up, op=op):
                post = self.posts[post_id]
                if up:
                    post.upvoters.add(participant)
                else:
                    post.upvoters.discard(participant)
                board = self.boards[post.board]
                board.remember(participant, op, post_id)
            case PostStateSet(post=post_id, state=state):
                post = self.posts[post_id]
                post.state = PostState(state)
                board = self.boards[post.board]
                if board.pinned == post_id and post.state is not PostState.VISIBLE:
                    board.pinned = 0  # answered or hidden: no longer being answered
            case PostEdited(post=post_id, text=text):
                post = self.posts[post_id]
                post.original = post.original or post.text
                post.text = text
                board = self.boards[post.board]
            case PostPinned(board=board_id, post=post_id):
                board = self.boards[board_id]
                board.pinned = post_id
            case PostsMerged(source=source_id, target=target_id):
                source, target = self.posts[source_id], self.posts[target_id]
                target.upvoters |= source.upvoters
                source.upvoters = set()
                source.state = PostState.MERGED
                source.merged_into = target_id
                board = self.boards[source.board]
                if board.pinned == source_id:
                    board.pinned = 0
            case PostsPurged(board=board_id, posts=post_ids):
                # Hidden and merged posts are never pinned, so the pin stays. Their message ids
                # stay remembered: a resend of one finds no post and is a new message.
                board = self.boards[board_id]
                for post_id in post_ids:
                    post = board.posts.pop(post_id)
                    del self.posts[post_id]
                    board.purged.setdefault(post.author, []).append(post.at_ms)
            case _:  # pragma: no cover - the forum routes only board events here
                raise ValueError(f"not a board event: {event!r}")
        board.version = seq
        return board.item.id

    # -- views ----------------------------------------------------------------------------------

    def my_upvotes(self, participant: str) -> dict[str, list[int]]:
        mine: dict[str, list[int]] = {}
        for board_id, board in self.boards.items():
            ids = [p.id for p in board.posts.values() if participant in p.upvoters]
            if ids:
                mine[board_id] = ids
        return mine

    def my_posts(self, participant: str) -> list[dict[str, Any]]:
        """The participant's own posts, pending ones too, so the author sees them waiting."""
        return [
            {**post.view(full=False), "board": post.board}
            for post in self.posts.values()
            if post.author == participant
        ]


BOARD_EVENTS = (
    PostCreated,
    UpvoteSet,
    PostStateSet,
    PostEdited,
    PostPinned,
    PostsMerged,
    PostsPurged,
)
BOARD_HOST_COMMANDS = (
    ApprovePost,
    HidePost,
    HideAuthor,
    PurgeHidden,
    AnswerPost,
    EditPost,
    PinPost,
    MergePosts,
)
