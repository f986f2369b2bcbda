"""Events: the facts the forum's log is made of. Each has a flat record form for the journal."""

from __future__ import annotations

from dataclasses import MISSING, Field, asdict, dataclass, fields
from typing import Any, ClassVar, get_args


@dataclass(frozen=True, slots=True)
class ItemChanged:
    type: ClassVar[str] = "item"
    index: int
    timer_ms: int


@dataclass(frozen=True, slots=True)
class PollOpened:
    type: ClassVar[str] = "poll_opened"
    poll: str
    at_ms: int = 0  # 0 in logs written before times were recorded


@dataclass(frozen=True, slots=True)
class PollClosed:
    type: ClassVar[str] = "poll_closed"
    poll: str
    at_ms: int = 0  # 0 in logs written before times were recorded


@dataclass(frozen=True, slots=True)
class ResultsShown:
    type: ClassVar[str] = "results"
    poll: str
    visible: bool


@dataclass(frozen=True, slots=True)
class BallotCast:
    type: ClassVar[str] = "ballot"
    poll: str
    participant: str
    choices: tuple[str, ...]
    op: str
    # The voter's ballot-code group ("jury", "audience", ...); empty for a voter with no code,
    # and in logs written before groups existed.
    group: str = ""


@dataclass(frozen=True, slots=True)
class TimerStarted:
    type: ClassVar[str] = "timer_started"
    at_ms: int


@dataclass(frozen=True, slots=True)
class TimerPaused:
    type: ClassVar[str] = "timer_paused"
    at_ms: int
    remaining_ms: int


@dataclass(frozen=True, slots=True)
class TimerReset:
    type: ClassVar[str] = "timer_reset"
    duration_ms: int


@dataclass(frozen=True, slots=True)
class PostCreated:
    """A new post; its id is this event's seq."""

    type: ClassVar[str] = "post_created"
    board: str
    participant: str
    name: str
    text: str
    state: str
    op: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class UpvoteSet:
    type: ClassVar[str] = "upvote"
    post: int
    participant: str
    up: bool
    op: str


@dataclass(frozen=True, slots=True)
class PostStateSet:
    type: ClassVar[str] = "post_state"
    post: int
    state: str


@dataclass(frozen=True, slots=True)
class PostEdited:
    type: ClassVar[str] = "post_edited"
    post: int
    text: str


@dataclass(frozen=True, slots=True)
class PostPinned:
    type: ClassVar[str] = "post_pinned"
    board: str
    post: int  # 0: nothing pinned


@dataclass(frozen=True, slots=True)
class PostsMerged:
    type: ClassVar[str] = "posts_merged"
    source: int
    target: int


@dataclass(frozen=True, slots=True)
class PostsPurged:
    """Posts removed from a board for good: its hidden posts and those merged into them."""

    type: ClassVar[str] = "posts_purged"
    board: str
    posts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ForumPurged:
    """The operator purged the forum's personal data (`townhall purge`): the stored texts and
    names of these posts were replaced, their salted hashes kept, so the record's lines hash as
    before but leave the posts' `plain` out. The forum's state is otherwise unchanged."""

    type: ClassVar[str] = "forum_purged"
    posts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PollOptionsSet:
    """A poll's options, set from an idea board's most agreed posts."""

    type: ClassVar[str] = "poll_options"
    poll: str
    options: tuple[tuple[str, str], ...]  # (option id, label)
    # Each promoted post's upvotes when promoted: its agreement count if the poll is the
    # selection's live vote. Empty in logs written before agreements were recorded.
    agreements: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LiveVoteRecorded:
    """The selection poll closed: its tally, at `version`, is the live-vote input."""

    type: ClassVar[str] = "live_vote"
    poll: str
    version: int
    counts: tuple[tuple[str, int], ...]  # (option id, ballots)


@dataclass(frozen=True, slots=True)
class CommitteeScored:
    """A member's scores for a candidate as (rubric question index, score) pairs; unlisted
    questions are not scored. Replaces the member's earlier scores for that candidate."""

    type: ClassVar[str] = "committee_scored"
    member: str
    candidate: str
    scores: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class ScoringLocked:
    type: ClassVar[str] = "scoring_locked"
    locked: bool


@dataclass(frozen=True, slots=True)
class SelectionPublished:
    type: ClassVar[str] = "selection_published"
    published: bool


@dataclass(frozen=True, slots=True)
class ShiftShown:
    """How opinion moved between `compare_to` and `poll` shown (or hidden) in the room; when
    shown, with the figures as computed then: model/shift.py's cells."""

    type: ClassVar[str] = "shift"
    poll: str
    compare_to: str
    visible: bool
    cells: tuple[tuple[str, str, str, int], ...] = ()  # (group, pre, final, people)


@dataclass(frozen=True, slots=True)
class ScreenBlanked:
    """The projector went black, or came back, at the host's word: forum state, so a reloaded
    projector and every worker's projectors show the same."""

    type: ClassVar[str] = "screen_blanked"
    blank: bool


@dataclass(frozen=True, slots=True)
class ServerStarted:
    """A server (or a worker) started serving the forum: what it ran and the rules in force."""

    type: ClassVar[str] = "server_started"
    engine: str
    townhall: str
    programme: dict[str, Any]  # model/statement.py: programme_statement
    rules: dict[str, int]


@dataclass(frozen=True, slots=True)
class CodeRedeemed:
    """A phone redeemed a ballot code: it acts as the code's voter from now on, and any phone
    that held the code before no longer does."""

    type: ClassVar[str] = "code_redeemed"
    voter: str
    group: str
    participant: str  # the phone; never in the record, which names the voter


@dataclass(frozen=True, slots=True)
class CodeRevoked:
    """The host revoked a ballot code: it can no longer act; what it did stays on record."""

    type: ClassVar[str] = "code_revoked"
    voter: str
    group: str


@dataclass(frozen=True, slots=True)
class ItemAdded:
    """The host added an item to the agenda on the day: it takes place `index`, and the item
    there and those after it move one down. Poll fields are set only on a poll, board fields
    only on a Q&A board."""

    type: ClassVar[str] = "item_added"
    index: int
    item: str  # its id, new to the forum
    kind: str  # "poll", "talk" or "qna"
    title: str
    notes: str = ""
    question: str = ""
    options: tuple[tuple[str, str], ...] = ()  # (option id, label)
    choice: str = "single"
    max_choices: int = 1
    results: str = "on_reveal"
    moderated: bool = False


@dataclass(frozen=True, slots=True)
class OptionAdded:
    """An option added to a poll that had not opened and had no ballots."""

    type: ClassVar[str] = "option_added"
    poll: str
    option: str  # its id, new to the poll
    label: str


@dataclass(frozen=True, slots=True)
class WordingChanged:
    """An item's title, question or notes, or (`field` "label") an option's label, corrected."""

    type: ClassVar[str] = "wording"
    item: str
    field: str  # "title", "question", "notes" or "label"
    text: str
    option: str = ""  # the option, for a label


Event = (
    ItemChanged
    | PollOpened
    | PollClosed
    | ResultsShown
    | BallotCast
    | TimerStarted
    | TimerPaused
    | TimerReset
    | PostCreated
    | UpvoteSet
    | PostStateSet
    | PostEdited
    | PostPinned
    | PostsMerged
    | PostsPurged
    | ForumPurged
    | PollOptionsSet
    | LiveVoteRecorded
    | CommitteeScored
    | ScoringLocked
    | SelectionPublished
    | ServerStarted
    | ShiftShown
    | ScreenBlanked
    | CodeRedeemed
    | CodeRevoked
    | ItemAdded
    | OptionAdded
    | WordingChanged
)

# Every event type, registered once: the union above is the list.
EVENT_TYPES: tuple[type[Event], ...] = get_args(Event)
_BY_TYPE: dict[str, type[Event]] = {cls.type: cls for cls in EVENT_TYPES}


def _optional(f: Field[Any]) -> bool:
    return f.default is not MISSING


def _flat(cls: type[Event]) -> bool:
    """Whether every field of `cls` holds a str, a number or a tuple of them: a record of such
    an event may share its values, which nothing can change."""
    return not any("dict" in str(f.type) or "Any" in str(f.type) for f in fields(cls))


# The field names of the events whose records need no deep copy (every event but the server's
# start); `asdict` copying every ballot's values was a fifth of a vote's time in the engine.
_FLAT_FIELDS: dict[type[Event], tuple[str, ...]] = {
    cls: tuple(f.name for f in fields(cls)) for cls in EVENT_TYPES if _flat(cls)
}


def to_record(event: Event) -> dict[str, Any]:
    """A plain dict (msgpack- and JSON-safe) with the event's type under `t`."""
    names = _FLAT_FIELDS.get(type(event))
    record = asdict(event) if names is None else {name: getattr(event, name) for name in names}
    record["t"] = event.type
    if isinstance(event, BallotCast) and not event.group:
        del record["group"]  # a ballot without a code reads as it did before groups existed
    return record


def from_record(record: dict[str, Any]) -> Event:
    """Rebuild an event from `to_record`'s output; raises ValueError on an unknown type."""
    cls = _BY_TYPE.get(record.get("t", ""))
    if cls is None:
        raise ValueError(f"unknown event type {record.get('t')!r}")
    values = {f.name: record[f.name] for f in fields(cls) if f.name in record or not _optional(f)}
    if cls is BallotCast:
        values["choices"] = tuple(values["choices"])
    if cls is LiveVoteRecorded:
        values["counts"] = tuple((str(c[0]), int(c[1])) for c in values["counts"])
    if cls is ItemAdded:
        values["options"] = tuple((str(o[0]), str(o[1])) for o in values.get("options") or ())
    if cls is PollOptionsSet:
        values["options"] = tuple((str(o[0]), str(o[1])) for o in values["options"])
        values["agreements"] = tuple(int(a) for a in values.get("agreements", ()))
    if cls is PostsPurged or cls is ForumPurged:
        values["posts"] = tuple(int(p) for p in values["posts"] or ())
    if cls is CommitteeScored:
        # An empty list may come back from Lua's msgpack as an empty map.
        values["scores"] = tuple((int(q), int(v)) for q, v in values["scores"] or ())
    if cls is ServerStarted:
        values["programme"] = _lists(values["programme"])
    if cls is ShiftShown:
        values["cells"] = tuple(
            (str(g), str(p), str(f), int(n)) for g, p, f, n in values["cells"] or ()
        )
    return cls(**values)


def _lists(value: Any) -> Any:
    """A statement back from Lua's msgpack, where an empty list is an empty map: no map in a
    programme statement is ever empty, so every empty one was a list."""
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()} if value else []
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value
