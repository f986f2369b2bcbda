"""Decoding Socket.IO payloads into model commands: shape, types and sizes, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from townhall.model import limits
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

MAX_ID = 40
MAX_OP = 64
MAX_CHOICES = 12
MAX_TIMER_SECONDS = 24 * 3600
MAX_TEXT = 2000  # the longest a board may allow; each board checks its own limit
MAX_NAME = 100  # the board refuses names over its limit with a clear code
MAX_RUBRIC = 20  # rubric questions a score message may carry; the rubric checks its own length
MAX_SCORE = 100


class UnknownEvent(ForumError):
    code = "unknown_event"


def _fields(
    data: Any, required: set[str], optional: frozenset[str] = frozenset()
) -> dict[str, Any]:
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidPayload("the payload must be an object")
    missing = required - data.keys()
    if missing:
        raise InvalidPayload(f"missing field {sorted(missing)[0]!r}")
    extra = data.keys() - required - optional
    if extra:
        raise InvalidPayload(f"unexpected field {sorted(map(str, extra))[0]!r}")
    return data


def _unicode(value: str) -> str:
    """`value`, if it is valid Unicode: JSON can carry a lone surrogate (`"\\ud800"`), which no
    reply, broadcast or store could encode."""
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            raise InvalidPayload("text must be valid Unicode (no lone surrogates)") from None
    return value


def _text(data: dict[str, Any], key: str, limit: int = MAX_ID) -> str:
    value = data[key]
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise InvalidPayload(f"{key!r} must be a string of 1 to {limit} characters")
    return _unicode(value)


def _poll(data: Any) -> str:
    return _text(_fields(data, {"poll"}), "poll")


def _vote(data: Any) -> Vote:
    fields = _fields(data, {"poll", "choices", "op"})
    choices = fields["choices"]
    if not isinstance(choices, list) or len(choices) > MAX_CHOICES:
        raise InvalidPayload(f"'choices' must be a list of at most {MAX_CHOICES} option ids")
    for choice in choices:
        if not isinstance(choice, str) or not 0 < len(choice) <= MAX_ID:
            raise InvalidPayload("each choice must be an option id")
        _unicode(choice)
    return Vote(_text(fields, "poll"), tuple(choices), _text(fields, "op", MAX_OP))


def _post_id(data: dict[str, Any], key: str, *, zero: bool = False) -> int:
    value = data[key]
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not (0 if zero else 1) <= value < 2**53
    ):
        raise InvalidPayload(f"{key!r} must be a post id")
    return value


def _post(data: Any) -> int:
    return _post_id(_fields(data, {"post"}), "post")


def _submit(data: Any) -> SubmitPost:
    fields = _fields(data, {"board", "text", "op"}, frozenset({"name"}))
    text, name = fields["text"], fields.get("name", "")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise InvalidPayload(f"'text' must be a string of at most {MAX_TEXT} characters")
    if not isinstance(name, str) or len(name) > MAX_NAME:
        raise InvalidPayload(f"'name' must be a string of at most {MAX_NAME} characters")
    return SubmitPost(
        _text(fields, "board"), _unicode(text), _unicode(name), _text(fields, "op", MAX_OP)
    )


def _upvote(data: Any) -> Upvote:
    fields = _fields(data, {"post", "up", "op"})
    if not isinstance(fields["up"], bool):
        raise InvalidPayload("'up' must be true or false")
    return Upvote(_post_id(fields, "post"), fields["up"], _text(fields, "op", MAX_OP))


def _edit(data: Any) -> EditPost:
    fields = _fields(data, {"post", "text"})
    if not isinstance(fields["text"], str) or len(fields["text"]) > MAX_TEXT:
        raise InvalidPayload(f"'text' must be a string of at most {MAX_TEXT} characters")
    return EditPost(_post_id(fields, "post"), _unicode(fields["text"]))


def _pin(data: Any) -> PinPost:
    fields = _fields(data, {"board", "post"})
    return PinPost(_text(fields, "board"), _post_id(fields, "post", zero=True))


def _merge(data: Any) -> MergePosts:
    fields = _fields(data, {"source", "target"})
    return MergePosts(_post_id(fields, "source"), _post_id(fields, "target"))


def _timer_reset(data: Any) -> ResetTimer:
    seconds = _fields(data, set(), frozenset({"seconds"})).get("seconds")
    if seconds is not None and (
        isinstance(seconds, bool)
        or not isinstance(seconds, int)
        or not 0 <= seconds <= MAX_TIMER_SECONDS
    ):
        raise InvalidPayload(f"'seconds' must be a whole number from 0 to {MAX_TIMER_SECONDS}")
    return ResetTimer(seconds)


def _score(data: Any) -> ScoreCandidate:
    fields = _fields(data, {"candidate", "scores"})
    scores = fields["scores"]
    if not isinstance(scores, list) or not 0 < len(scores) <= MAX_RUBRIC:
        raise InvalidPayload(f"'scores' must be a list of 1 to {MAX_RUBRIC} scores")
    for value in scores:
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SCORE
        ):
            raise InvalidPayload("each score must be a whole number, or null for not scored")
    return ScoreCandidate(_text(fields, "candidate"), tuple(scores))


def _wording(data: dict[str, Any], key: str, limit: int, default: str | None = None) -> str:
    """Text the host writes on the agenda: its type and an outer bound here; emptiness and the
    bound for its field are the model's to refuse, with their own codes."""
    value = data.get(key, default)
    if not isinstance(value, str) or len(value) > limit:
        raise InvalidPayload(f"{key!r} must be a string of at most {limit} characters")
    return _unicode(value)


def _flag(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise InvalidPayload(f"{key!r} must be true or false")
    return value


def _after(data: dict[str, Any]) -> str:
    return _text(data, "after") if "after" in data else ""


def _poll_add(data: Any) -> AddPoll:
    fields = _fields(
        data, {"question", "options"}, frozenset({"max_choices", "title", "live", "after"})
    )
    options = fields["options"]
    if not isinstance(options, list) or len(options) > limits.MAX_OPTIONS:
        raise InvalidPayload(f"'options' must be a list of at most {limits.MAX_OPTIONS} labels")
    labels = tuple(_wording({"label": o}, "label", limits.LABEL) for o in options)
    most = fields.get("max_choices", 1)
    if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= MAX_CHOICES:
        raise InvalidPayload(f"'max_choices' must be a whole number from 1 to {MAX_CHOICES}")
    return AddPoll(
        question=_wording(fields, "question", limits.QUESTION),
        options=labels,
        max_choices=most,
        title=_wording(fields, "title", limits.TITLE, ""),
        live=_flag(fields, "live"),
        after=_after(fields),
    )


def _item_add(data: Any) -> AddItem:
    fields = _fields(data, {"kind", "title"}, frozenset({"notes", "moderated", "after"}))
    if fields["kind"] not in (ItemKind.TALK, ItemKind.QNA):
        raise InvalidPayload('\'kind\' must be "talk" or "qna"; a poll is added with poll_add')
    return AddItem(
        kind=ItemKind(fields["kind"]),
        title=_wording(fields, "title", limits.TITLE),
        notes=_wording(fields, "notes", limits.NOTES, ""),
        moderated=_flag(fields, "moderated"),
        after=_after(fields),
    )


def _item_edit(data: Any) -> EditWording:
    fields = _fields(data, {"item", "field", "text"}, frozenset({"option"}))
    if fields["field"] not in tuple(Wording):
        raise InvalidPayload("'field' must be title, question, notes or label")
    field = Wording(fields["field"])
    if (field is Wording.LABEL) != ("option" in fields):
        raise InvalidPayload("'option' names the option whose label changes, and only then")
    return EditWording(
        item=_text(fields, "item"),
        field=field,
        text=_wording(fields, "text", limits.NOTES),
        option=_text(fields, "option") if "option" in fields else "",
    )


def _option_add(data: Any) -> AddOption:
    fields = _fields(data, {"poll", "label"})
    return AddOption(_text(fields, "poll"), _wording(fields, "label", limits.LABEL))


def _no_fields(make: Callable[[], Command]) -> Callable[[Any], Command]:
    def decode(data: Any) -> Command:
        _fields(data, set())
        return make()

    return decode


DECODERS: dict[str, Callable[[Any], Command]] = {
    "vote": _vote,
    "goto": lambda data: Goto(_text(_fields(data, {"item"}), "item")),
    "next": _no_fields(lambda: Step(1)),
    "prev": _no_fields(lambda: Step(-1)),
    "poll_open": lambda data: OpenPoll(_poll(data)),
    "poll_close": lambda data: ClosePoll(_poll(data)),
    "results_show": lambda data: ShowResults(_poll(data), visible=True),
    "results_hide": lambda data: ShowResults(_poll(data), visible=False),
    "shift_show": lambda data: ShowShift(_poll(data), visible=True),
    "shift_hide": lambda data: ShowShift(_poll(data), visible=False),
    "screen_blank": _no_fields(lambda: BlankScreen(blank=True)),
    "screen_unblank": _no_fields(lambda: BlankScreen(blank=False)),
    "timer_start": _no_fields(StartTimer),
    "timer_pause": _no_fields(PauseTimer),
    "timer_reset": _timer_reset,
    "post": _submit,
    "upvote": _upvote,
    "post_approve": lambda data: ApprovePost(_post(data)),
    "post_hide": lambda data: HidePost(_post(data)),
    "post_hide_author": lambda data: HideAuthor(_post(data)),
    "post_purge_hidden": lambda data: PurgeHidden(_text(_fields(data, {"board"}), "board")),
    "post_answer": lambda data: AnswerPost(_post(data)),
    "post_edit": _edit,
    "post_pin": _pin,
    "post_merge": _merge,
    "ideas_promote": lambda data: PromoteIdeas(_text(_fields(data, {"board"}), "board")),
    "score": _score,
    "scoring_lock": _no_fields(lambda: LockScoring(locked=True)),
    "scoring_unlock": _no_fields(lambda: LockScoring(locked=False)),
    "selection_publish": _no_fields(lambda: PublishSelection(published=True)),
    "selection_withdraw": _no_fields(lambda: PublishSelection(published=False)),
    "redeem": lambda data: RedeemCode(_unicode(_text(_fields(data, {"code"}), "code"))),
    "code_revoke": lambda data: RevokeCode(_unicode(_text(_fields(data, {"card"}), "card"))),
    "poll_add": _poll_add,
    "item_add": _item_add,
    "item_edit": _item_edit,
    "option_add": _option_add,
}


def decode(event: str, data: Any) -> Command:
    """The command an event carries; raises UnknownEvent or InvalidPayload."""
    decoder = DECODERS.get(event)
    if decoder is None:
        raise UnknownEvent(f"unknown event {event[:40]!r}")
    return decoder(data)
