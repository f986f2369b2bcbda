"""Socket.IO payloads: shape, types and sizes are checked before any command reaches the forum."""

from __future__ import annotations

from typing import Any

import pytest

from townhall.model.agenda import ItemKind
from townhall.model.commands import (
    AddItem,
    AddOption,
    AddPoll,
    AnswerPost,
    ApprovePost,
    BlankScreen,
    ClosePoll,
    Command,
    EditPost,
    EditWording,
    Goto,
    HideAuthor,
    HidePost,
    LockScoring,
    MergePosts,
    OpenPoll,
    PauseTimer,
    PinPost,
    PromoteIdeas,
    PublishSelection,
    PurgeHidden,
    RedeemCode,
    ResetTimer,
    RevokeCode,
    ScoreCandidate,
    ShowResults,
    ShowShift,
    StartTimer,
    Step,
    SubmitPost,
    Upvote,
    Vote,
    Wording,
)
from townhall.model.errors import ForumError, InvalidPayload
from townhall.payloads import DECODERS, MAX_TIMER_SECONDS, UnknownEvent, decode

GOOD: list[tuple[str, Any, Command]] = [
    ("post", {"board": "q", "text": "왜?", "op": "o"}, SubmitPost("q", "왜?", "", "o")),
    (
        "post",
        {"board": "q", "text": "x", "name": "민지", "op": "o"},
        SubmitPost("q", "x", "민지", "o"),
    ),
    ("upvote", {"post": 7, "up": False, "op": "o"}, Upvote(7, False, "o")),
    ("post_approve", {"post": 7}, ApprovePost(7)),
    ("post_hide", {"post": 7}, HidePost(7)),
    ("post_hide_author", {"post": 7}, HideAuthor(7)),
    ("post_purge_hidden", {"board": "q"}, PurgeHidden("q")),
    ("post_answer", {"post": 7}, AnswerPost(7)),
    ("post_edit", {"post": 7, "text": "fixed"}, EditPost(7, "fixed")),
    ("post_pin", {"board": "q", "post": 0}, PinPost("q", 0)),
    ("post_merge", {"source": 8, "target": 7}, MergePosts(8, 7)),
    ("ideas_promote", {"board": "ideas"}, PromoteIdeas("ideas")),
    ("score", {"candidate": "c", "scores": [5, None, 1]}, ScoreCandidate("c", (5, None, 1))),
    ("score", {"candidate": "c", "scores": [None]}, ScoreCandidate("c", (None,))),
    ("scoring_lock", {}, LockScoring(locked=True)),
    ("scoring_unlock", None, LockScoring(locked=False)),
    ("selection_publish", {}, PublishSelection(published=True)),
    ("selection_withdraw", {}, PublishSelection(published=False)),
    ("redeem", {"code": "ABC-DEF-GHJ"}, RedeemCode("ABC-DEF-GHJ")),
    ("code_revoke", {"card": "jury-17"}, RevokeCode("jury-17")),
    (
        "poll_add",
        {"question": "차?", "options": ["예", "아니오"]},
        AddPoll("차?", ("예", "아니오")),
    ),
    (
        "poll_add",
        {"question": "q", "options": ["a", "b", "c"], "max_choices": 2, "title": "T"}
        | {"live": True, "after": "intro"},
        AddPoll("q", ("a", "b", "c"), 2, "T", live=True, after="intro"),
    ),
    ("item_add", {"kind": "talk", "title": "쉬는 시간"}, AddItem(ItemKind.TALK, "쉬는 시간")),
    (
        "item_add",
        {"kind": "qna", "title": "Q", "notes": "n", "moderated": True, "after": "x"},
        AddItem(ItemKind.QNA, "Q", "n", moderated=True, after="x"),
    ),
    ("item_edit", {"item": "i", "field": "title", "text": ""}, EditWording("i", Wording.TITLE, "")),
    (
        "item_edit",
        {"item": "p", "field": "label", "text": "A", "option": "a"},
        EditWording("p", Wording.LABEL, "A", "a"),
    ),
    ("option_add", {"poll": "p", "label": "D"}, AddOption("p", "D")),
    ("vote", {"poll": "p", "choices": ["a", "b"], "op": "op-1"}, Vote("p", ("a", "b"), "op-1")),
    ("vote", {"poll": "p", "choices": [], "op": "o"}, Vote("p", (), "o")),
    ("goto", {"item": "intro"}, Goto("intro")),
    ("next", {}, Step(1)),
    ("next", None, Step(1)),
    ("prev", {}, Step(-1)),
    ("poll_open", {"poll": "p"}, OpenPoll("p")),
    ("poll_close", {"poll": "p"}, ClosePoll("p")),
    ("results_show", {"poll": "p"}, ShowResults("p", visible=True)),
    ("results_hide", {"poll": "p"}, ShowResults("p", visible=False)),
    ("shift_show", {"poll": "p"}, ShowShift("p", visible=True)),
    ("shift_hide", {"poll": "p"}, ShowShift("p", visible=False)),
    ("screen_blank", {}, BlankScreen(blank=True)),
    ("screen_unblank", None, BlankScreen(blank=False)),
    ("timer_start", {}, StartTimer()),
    ("timer_start", None, StartTimer()),
    ("timer_pause", {}, PauseTimer()),
    ("timer_reset", {}, ResetTimer(None)),
    ("timer_reset", None, ResetTimer(None)),
    ("timer_reset", {"seconds": None}, ResetTimer(None)),
    ("timer_reset", {"seconds": 90}, ResetTimer(90)),
    ("timer_reset", {"seconds": 0}, ResetTimer(0)),
    ("timer_reset", {"seconds": MAX_TIMER_SECONDS}, ResetTimer(MAX_TIMER_SECONDS)),
]


def test_every_decoder_has_a_good_payload_case() -> None:
    assert {event for event, _, _ in GOOD} == set(DECODERS)


@pytest.mark.parametrize(("event", "payload", "expected"), GOOD)
def test_good_payload_decodes(event: str, payload: Any, expected: Command) -> None:
    command = decode(event, payload)
    assert command == expected
    assert type(command) is type(expected)


def test_size_limits_are_inclusive() -> None:
    vote = decode("vote", {"poll": "p" * 40, "choices": ["c" * 40] * 12, "op": "o" * 64})
    assert isinstance(vote, Vote)
    assert vote.poll == "p" * 40
    assert len(vote.choices) == 12
    assert vote.op == "o" * 64
    assert decode("goto", {"item": "i" * 40}) == Goto("i" * 40)


BAD: list[tuple[str, Any]] = [
    ("poll_add", {"question": "q"}),
    ("poll_add", {"question": "q", "options": "a,b"}),
    ("poll_add", {"question": "q", "options": ["a"] * 13}),
    ("poll_add", {"question": "q", "options": ["a", 2]}),
    ("poll_add", {"question": "q", "options": ["a", "b"], "max_choices": True}),
    ("poll_add", {"question": "q", "options": ["a", "b"], "live": "yes"}),
    ("poll_add", {"question": "q" * 301, "options": ["a", "b"]}),
    ("poll_add", {"question": "q", "options": ["a", "b"], "kind": "poll"}),
    ("item_add", {"kind": "poll", "title": "t"}),
    ("item_add", {"kind": "talk", "title": "t", "notes": "n" * 4001}),
    ("item_edit", {"item": "i", "field": "kind", "text": "poll"}),
    ("item_edit", {"item": "i", "field": "label", "text": "x"}),
    ("item_edit", {"item": "i", "field": "title", "text": "x", "option": "a"}),
    ("option_add", {"poll": "p"}),
    ("option_add", {"poll": "p", "label": ["x"]}),
    # committee scores: a list of whole numbers or nulls, within bounds
    ("score", {"candidate": "c"}),
    ("score", {"candidate": "c", "scores": []}),
    ("score", {"candidate": "c", "scores": [1] * 21}),
    ("score", {"candidate": "c", "scores": "55555"}),
    ("score", {"candidate": "c", "scores": [True]}),
    ("score", {"candidate": "c", "scores": [4.5]}),
    ("score", {"candidate": "c", "scores": ["5"]}),
    ("score", {"candidate": "c", "scores": [-1]}),
    ("score", {"candidate": "c", "scores": [101]}),
    ("score", {"candidate": "", "scores": [1]}),
    ("score", {"candidate": "c", "scores": [1], "member": "member-2"}),
    ("scoring_lock", {"locked": False}),
    ("selection_publish", {"published": True}),
    ("screen_blank", {"blank": False}),
    # a purge names a board, nothing else
    ("post_purge_hidden", {}),
    ("post_purge_hidden", {"post": 7}),
    ("post_purge_hidden", {"board": 7}),
    ("post_purge_hidden", {"board": "q", "posts": [7]}),
    # not an object
    ("vote", ["p", ["a"], "op-1"]),
    ("vote", "p"),
    ("goto", "intro"),
    ("next", []),
    ("next", 1),
    ("poll_open", ["p"]),
    ("timer_reset", 90),
    ("timer_start", "now"),
    # a missing field
    ("vote", None),
    ("vote", {"poll": "p", "choices": ["a"]}),
    ("vote", {"poll": "p", "op": "o"}),
    ("vote", {"choices": ["a"], "op": "o"}),
    ("goto", {}),
    ("poll_open", {}),
    ("poll_close", None),
    ("results_show", {}),
    ("results_hide", {"visible": False}),
    ("shift_show", {"poll": "p", "visible": True}),
    # an extra field
    ("vote", {"poll": "p", "choices": ["a"], "op": "o", "participant": "bob"}),
    ("goto", {"item": "x", "index": 2}),
    ("next", {"delta": 5}),
    ("prev", {"x": 1}),
    ("poll_open", {"poll": "p", "extra": True}),
    ("results_show", {"poll": "p", "visible": False}),
    ("timer_start", {"at": 0}),
    ("timer_pause", {"at": 0}),
    ("timer_reset", {"seconds": 5, "minutes": 1}),
    # wrong types
    ("vote", {"poll": 5, "choices": ["a"], "op": "o"}),
    ("vote", {"poll": "p", "choices": "a", "op": "o"}),
    ("vote", {"poll": "p", "choices": ("a",), "op": "o"}),
    ("vote", {"poll": "p", "choices": {"a": 1}, "op": "o"}),
    ("vote", {"poll": "p", "choices": [1], "op": "o"}),
    ("vote", {"poll": "p", "choices": [None], "op": "o"}),
    ("vote", {"poll": "p", "choices": [["a"]], "op": "o"}),
    ("vote", {"poll": "p", "choices": ["a"], "op": 7}),
    ("vote", {"poll": "p", "choices": ["a"], "op": None}),
    ("goto", {"item": None}),
    ("goto", {"item": 3}),
    ("poll_open", {"poll": ["p"]}),
    ("poll_close", {"poll": True}),
    # empty strings
    ("vote", {"poll": "", "choices": ["a"], "op": "o"}),
    ("vote", {"poll": "p", "choices": [""], "op": "o"}),
    ("vote", {"poll": "p", "choices": ["a"], "op": ""}),
    ("goto", {"item": ""}),
    ("poll_open", {"poll": ""}),
    # too long
    ("vote", {"poll": "p" * 41, "choices": ["a"], "op": "o"}),
    ("vote", {"poll": "p", "choices": ["c" * 41], "op": "o"}),
    ("vote", {"poll": "p", "choices": ["a"], "op": "o" * 65}),
    ("goto", {"item": "i" * 41}),
    ("results_hide", {"poll": "p" * 41}),
    # too many choices
    ("vote", {"poll": "p", "choices": [f"c{i}" for i in range(13)], "op": "o"}),
    # bad seconds
    ("timer_reset", {"seconds": True}),
    ("timer_reset", {"seconds": False}),
    ("timer_reset", {"seconds": -1}),
    ("timer_reset", {"seconds": MAX_TIMER_SECONDS + 1}),
    ("timer_reset", {"seconds": 1.5}),
    ("timer_reset", {"seconds": 60.0}),
    ("timer_reset", {"seconds": "60"}),
]


@pytest.mark.parametrize(("event", "payload"), BAD)
def test_bad_payload_is_refused(event: str, payload: Any) -> None:
    with pytest.raises(InvalidPayload) as info:
        decode(event, payload)
    assert info.value.code == "invalid_payload"
    ack = info.value.as_ack()
    assert ack["ok"] is False
    assert ack["error"] == {"code": "invalid_payload", "message": info.value.message}
    assert info.value.message


def test_bad_payload_messages_name_the_field() -> None:
    with pytest.raises(InvalidPayload, match="'op'"):
        decode("vote", {"poll": "p", "choices": ["a"]})
    with pytest.raises(InvalidPayload, match="'participant'"):
        decode("vote", {"poll": "p", "choices": ["a"], "op": "o", "participant": "x"})
    with pytest.raises(InvalidPayload, match="'seconds'"):
        decode("timer_reset", {"seconds": True})


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("vote", {"poll": "p\ud800", "choices": ["a"], "op": "o"}),
        ("vote", {"poll": "p", "choices": ["\udfff"], "op": "o"}),
        ("vote", {"poll": "p", "choices": ["a"], "op": "\ud83d"}),
        ("post", {"board": "qna", "text": "가\ud800", "op": "o"}),
        ("post", {"board": "qna", "text": "x", "name": "\ud800", "op": "o"}),
        ("post_edit", {"post": 1, "text": "\udc00"}),
        ("goto", {"item": "\ud800"}),
    ],
)
def test_text_with_a_lone_surrogate_is_refused(event: str, payload: Any) -> None:
    with pytest.raises(InvalidPayload, match="valid Unicode"):
        decode(event, payload)


def test_text_with_a_surrogate_pair_decoded_is_accepted() -> None:
    post = decode("post", {"board": "qna", "text": "가 😀", "op": "o"})
    assert isinstance(post, SubmitPost) and post.text == "가 😀"


@pytest.mark.parametrize("event", ["", "Vote", "snapshot", "connect", "vote ", "x" * 500])
def test_unknown_event_is_refused(event: str) -> None:
    with pytest.raises(UnknownEvent) as info:
        decode(event, {})
    error = info.value
    assert isinstance(error, ForumError)
    assert not isinstance(error, InvalidPayload)
    assert error.code == "unknown_event"
    assert error.as_ack() == {
        "ok": False,
        "error": {"code": "unknown_event", "message": error.message},
    }
    assert len(error.message) < 100  # a long event name is cut short in the message
