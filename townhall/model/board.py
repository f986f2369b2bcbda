"""Boards' rules: the Q&A and idea items. Short posts, one upvote per participant, moderated by
the host. The limits are read where they are checked, so a test may lower them here.

A post's id is the seq of the event that created it. A post's upvote count is the size of its set
of upvoters, so the count can never drift from who upvoted, and merging two posts joins the sets.
"""

from __future__ import annotations

from typing import Any

from townhall.model import refusals
from townhall.model.agenda import Item, ItemKind, NameMode
from townhall.model.board_state import RECENT_OPS, Board, Post, PostState
from townhall.model.commands import (
    Actor,
    AnswerPost,
    ApprovePost,
    Command,
    EditPost,
    HideAuthor,
    HidePost,
    MergePosts,
    PinPost,
    PurgeHidden,
    Role,
    SubmitPost,
    Upvote,
)
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
from townhall.model.text import printable

NAME_MAX = 40
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


def check_post_text(board: Board, text: str) -> str:
    text = printable(text).strip()
    if not text:
        raise refusals.empty_post()
    if len(text) > board.item.max_length:
        raise refusals.post_too_long(board.item.max_length)
    return text


def check_name(board: Board, name: str) -> str:
    name = printable(name).strip()
    if board.item.names is NameMode.ANONYMOUS:
        return ""
    if board.item.names is NameMode.REQUIRED and not name:
        raise refusals.name_required()
    if len(name) > NAME_MAX:
        raise refusals.name_too_long(NAME_MAX)
    return name


def check_poster(actor: Actor) -> None:
    """Only participants post and upvote: the first check of either, on every engine."""
    if actor.role is not Role.PARTICIPANT or not actor.id:
        raise refusals.participants_only_post()


def check_not_own(post: Post, participant: str) -> None:
    """One's own post takes no agreement from oneself, unless the programme allows it."""
    if post.author == participant:
        raise refusals.own_post()


def check_board_room(board: Board) -> None:
    """Hidden posts leave room for others; every post stays within the stored bound."""
    if len(board.posts) >= MAX_STORED_POSTS_PER_BOARD:
        raise refusals.board_stored_full(MAX_STORED_POSTS_PER_BOARD)
    if sum(1 for p in board.posts.values() if p.state.counted) >= MAX_POSTS_PER_BOARD:
        raise refusals.board_full(MAX_POSTS_PER_BOARD)


def posts_allowed(item: Item) -> int:
    """The posts one participant may make on a board in all: a word item's answers per person,
    hidden and purged ones too, so a hidden answer is not sent again and again."""
    if item.kind is ItemKind.WORDS:
        return min(item.answers_per_person, POSTS_PER_BOARD)
    return POSTS_PER_BOARD


def check_upvoted(board: Board) -> None:
    """A board whose posts take no agreement refuses an upvote, as its pages offer none."""
    if not board.item.kind.upvoted:
        raise refusals.no_upvotes()


def check_posting_rate(board: Board, participant: str, now_ms: int) -> None:
    own = [p for p in board.posts.values() if p.author == participant]
    made = [p.at_ms for p in own] + board.purged.get(participant, [])
    allowed = posts_allowed(board.item)
    if len(made) >= allowed:
        raise refusals.post_limit(allowed)
    if sum(1 for p in own if p.state is PostState.PENDING) >= PENDING_PER_PARTICIPANT:
        raise refusals.pending_limit(PENDING_PER_PARTICIPANT)
    if sum(1 for at_ms in made if now_ms - at_ms < POST_WINDOW_MS) >= POSTS_PER_WINDOW:
        raise refusals.post_rate()


def purgeable(board: Board) -> tuple[int, ...]:
    """The posts a purge removes: the hidden ones, and every post merged into one of them,
    directly or through another merged post, so no post left names one that is gone."""

    def end(post: Post) -> Post:
        while post.state is PostState.MERGED:
            post = board.posts[post.merged_into]
        return post

    return tuple(p.id for p in board.posts.values() if end(p).state is PostState.HIDDEN)


def upvotable(post: Post) -> None:
    check_not_purged(post)
    if post.state is PostState.MERGED:
        raise refusals.upvoted_post_merged(post.merged_into)
    if not post.state.public:
        raise refusals.upvoted_post_not_shown()


def check_not_purged(post: Post) -> None:
    """No upvote, or taking one back, on a post a forum purge took the text of."""
    if post.purged:
        raise refusals.upvoted_post_not_shown()


def promotable(board: Board) -> list[Post]:
    """The posts an idea board's promotion would make poll options; refuses too few."""
    if board.item.kind is not ItemKind.IDEAS or not board.item.promote_to:
        raise refusals.no_promotion()
    top = board.ranked()[: board.item.promote_count]
    if len(top) < 2:
        raise refusals.not_enough_ideas()
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
            raise refusals.unknown_board(board_id)
        return board

    def post(self, post_id: int) -> Post:
        post = self.posts.get(post_id)
        if post is None:
            raise refusals.unknown_post(post_id)
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

    def decide_upvote(self, participant: str, command: Upvote, *, allow_own: bool) -> list[Event]:
        post = self.post(command.post)
        board = self.boards[post.board]
        if board.seen(participant, command.op) == post.id:
            return []  # a resend: already counted, and a late one must not undo a later change
        # An id reused for another post is a new message: checked like one, so it never reads
        # out the state or count of a post it may not upvote.
        check_upvoted(board)
        upvotable(post)
        if command.up and not allow_own:
            check_not_own(post, participant)
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
                    raise refusals.answer_not_approved()
                return [PostStateSet(post_id, PostState.ANSWERED.value)]
            case EditPost(post=post_id, text=text):
                post = self._not_merged(post_id)
                text = check_post_text(self.boards[post.board], text)
                return [] if text == post.text else [PostEdited(post_id, text)]
            case PinPost(board=board_id, post=post_id):
                board = self.board(board_id)
                if post_id and (self.post(post_id).board != board_id):
                    raise refusals.pin_elsewhere(post_id)
                if post_id and self.posts[post_id].state is not PostState.VISIBLE:
                    raise refusals.pin_not_shown()
                return [] if board.pinned == post_id else [PostPinned(board_id, post_id)]
            case MergePosts(source=source_id, target=target_id):
                source, target = self._not_merged(source_id), self._not_merged(target_id)
                if source.board != target.board or source.id == target.id:
                    raise refusals.bad_merge()
                if not target.state.public:
                    raise refusals.merge_into_hidden()
                return [PostsMerged(source_id, target_id)]
        raise refusals.unknown_command(type(command).__name__)  # pragma: no cover

    def _not_merged(self, post_id: int) -> Post:
        post = self.post(post_id)
        if post.state is PostState.MERGED:
            raise refusals.post_merged(post_id, post.merged_into)
        return post

    # -- applying -------------------------------------------------------------------------------

    def apply(self, event: Event, seq: int, allow_own: bool = False) -> None:
        """Record one board event at `seq`. `allow_own`: whether the programme lets a
        participant agree with their own post (a merge follows it too)."""
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
                joined = source.upvoters if allow_own else source.upvoters - {target.author}
                target.upvoters |= joined
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

    def mark_purged(self, posts: tuple[int, ...]) -> None:
        """The posts a forum purge took the texts of (forum_purged): no more upvotes."""
        for post_id in posts:
            if post_id in self.posts:
                self.posts[post_id].purged = True

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

# What the moderator may do: each one post at a time and none for good. Hiding every post of an
# author at once and removing hidden posts for good stay the host's.
MODERATOR_COMMANDS = (ApprovePost, HidePost, AnswerPost, EditPost, PinPost, MergePosts)


def check_moderates(role: Role, command: object) -> None:
    """Refuse a board command `role` may not give (the host gives every one)."""
    if role is Role.HOST:
        return
    if role is not Role.MODERATOR:
        raise refusals.moderators_only()
    if not isinstance(command, MODERATOR_COMMANDS):
        raise refusals.host_only()


# A post's and a board's state live in `board_state`; these are found here too.
__all__ = ["RECENT_OPS", "Board", "Post", "PostState"]
