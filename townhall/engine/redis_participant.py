"""The Redis engine's participant commands besides the ballot: a post, an upvote, and redeeming
a ballot code. Each is checked on the worker's replica as far as the replica may decide, then
stored by its Lua script, which checks what must be atomic, in one step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from townhall.engine.base import Outcome
from townhall.engine.redis_scripts import RESENT, Script, status_of, text, unpack_all
from townhall.model import acks
from townhall.model import board as board_rules
from townhall.model.board import RECENT_OPS as BOARD_RECENT_OPS
from townhall.model.board import PostState, check_name, check_not_own, check_post_text
from townhall.model.commands import Actor, RedeemCode, SubmitPost, Upvote
from townhall.model.errors import ForumError
from townhall.model.events import CodeRedeemed

if TYPE_CHECKING:
    from townhall.engine.redis import RedisEngine


async def submit(engine: RedisEngine, actor: Actor, post: SubmitPost) -> Outcome:
    """A post: its text and name are checked here, the rest by `post.lua` in one step."""
    engine.forum.check_member(actor)
    if post.board not in engine.forum.boards.boards:
        await engine.catch_up()  # a board the host added on another worker a moment ago, perhaps
    board = engine.forum.boards.board(post.board)
    k = engine.keys
    keys = k.post_keys(post.board)
    args: list[str | int] = [
        *engine.publish_args,
        post.board,
        actor.id,
        post.op,
        BOARD_RECENT_OPS,
        engine.clock(),
        # Read from the model at each post, as the model reads them, so both engines
        # always hold a board to the same numbers.
        board_rules.POST_WINDOW_MS,
        board_rules.POSTS_PER_WINDOW,
        board_rules.posts_allowed(board.item),
        board_rules.PENDING_PER_PARTICIPANT,
        board_rules.MAX_POSTS_PER_BOARD,
        board_rules.MAX_STORED_POSTS_PER_BOARD,
    ]
    try:
        written = check_post_text(board, post.text)
        name = check_name(board, post.name)
    except ForumError:
        # The model recognises a resend before it reads the text, so ask Redis first.
        result = await engine.post_script(keys=keys, args=args)
        if status_of(Script.POST, result) == RESENT:
            return Outcome([], acks.post_ack(int(result[1]), text(result[2]), True))
        raise
    state = PostState.PENDING if board.item.moderated else PostState.VISIBLE
    result = await engine.post_script(keys=keys, args=[*args, state.value, name, written])
    if status_of(Script.POST, result) == RESENT:
        return Outcome([], acks.post_ack(int(result[1]), text(result[2]), True))
    events = await engine.apply_own(unpack_all(result[2]))
    return Outcome(events, acks.post_ack(int(result[1]), state.value, False))


async def set_upvote(engine: RedisEngine, actor: Actor, upvote: Upvote) -> Outcome:
    """An upvote or its taking back, checked and stored by `upvote.lua` in one step."""
    engine.forum.check_member(actor)
    if upvote.post not in engine.forum.boards.posts:
        await engine.catch_up()  # made on another worker a moment ago, perhaps
    post = engine.forum.boards.post(upvote.post)  # a post never changes boards or author
    board_rules.check_upvoted(engine.forum.boards.boards[post.board])
    board_rules.check_not_purged(post)
    if upvote.up and not engine.forum.programme.eligibility.self_agreement:
        check_not_own(post, actor.id)
    k = engine.keys
    result = await engine.upvote_script(
        keys=k.upvote_keys(post.board, upvote.post),
        args=[
            *engine.publish_args,
            *(upvote.post, actor.id, int(upvote.up), upvote.op, BOARD_RECENT_OPS),
            engine.clock(),
        ],
    )
    if status_of(Script.UPVOTE, result) == RESENT:
        state, up, upvotes = result[1:4]
        return Outcome([], acks.upvote_ack(post.id, text(state), bool(up), int(upvotes), True))
    events = await engine.apply_own(unpack_all(result[2]))
    state, up, upvotes = result[3:6]
    return Outcome(events, acks.upvote_ack(post.id, text(state), bool(up), int(upvotes), False))


async def redeem(engine: RedisEngine, actor: Actor, command: RedeemCode) -> Outcome:
    """A ballot code: found in the book and checked on the replica, then bound by `redeem.lua`,
    which refuses a code revoked on any worker and moves it from a phone that held it."""
    decided = engine.forum.decide(actor, command, engine.clock())
    if not decided:
        return Outcome([], acks.redeem_ack(engine.forum, actor, True))
    event = decided[0]
    assert isinstance(event, CodeRedeemed)
    k = engine.keys
    result = await engine.redeem_script(
        keys=k.redeem_keys(),
        args=[*engine.publish_args, event.voter, event.group, actor.id, engine.clock()],
    )
    if status_of(Script.REDEEM, result) == RESENT:
        await engine.catch_up()  # the binding is stored; the replica may not have heard yet
        return Outcome([], acks.redeem_ack(engine.forum, actor, True))
    events = await engine.apply_own(unpack_all(result[2]))
    return Outcome(events, acks.redeem_ack(engine.forum, actor, False))
