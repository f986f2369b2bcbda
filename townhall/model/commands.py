"""Commands: what a participant or the host asks the forum to do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the agenda's records import the roles from here
    from townhall.model.agenda import ItemKind


class Role(StrEnum):
    PARTICIPANT = "participant"
    HOST = "host"
    SCREEN = "screen"
    COMMITTEE = "committee"  # a member of the selection committee, on their own secret link
    # Moderates the boards on their own secret link, so a big forum's Q&A can be kept by someone
    # other than the facilitator; follows the agenda as the room does and changes nothing else.
    MODERATOR = "moderator"


# Who moderates the boards, and so sees them whole: pending and hidden posts, edits' originals.
BOARD_MODERATORS = frozenset({Role.HOST, Role.MODERATOR})


@dataclass(frozen=True, slots=True)
class Actor:
    role: Role
    id: str = ""
    # A participant's ballot-code group ("jury"); empty for a phone that holds no code.
    group: str = ""


@dataclass(frozen=True, slots=True)
class Vote:
    """Cast or replace this participant's ballot; `op` is the client's id for this message."""

    poll: str
    choices: tuple[str, ...]
    op: str


@dataclass(frozen=True, slots=True)
class Goto:
    item: str


@dataclass(frozen=True, slots=True)
class Step:
    """Move through the agenda: +1 is next, -1 is previous."""

    delta: int


@dataclass(frozen=True, slots=True)
class OpenPoll:
    poll: str


@dataclass(frozen=True, slots=True)
class ClosePoll:
    poll: str


@dataclass(frozen=True, slots=True)
class ShowResults:
    poll: str
    visible: bool


@dataclass(frozen=True, slots=True)
class ShowShift:
    """Show (or hide) on phones and the projector how opinion moved between a poll and the
    earlier poll it is compared with."""

    poll: str
    visible: bool


@dataclass(frozen=True, slots=True)
class BlankScreen:
    """Black out the projector, or bring it back, as presentation software's "B" key does."""

    blank: bool


@dataclass(frozen=True, slots=True)
class StartTimer:
    pass


@dataclass(frozen=True, slots=True)
class PauseTimer:
    pass


@dataclass(frozen=True, slots=True)
class ResetTimer:
    """Stop the timer and set it to `seconds`, or to the current item's planned time."""

    seconds: int | None = None


@dataclass(frozen=True, slots=True)
class SubmitPost:
    """A question or an idea on a board; `name` is the nickname, or empty."""

    board: str
    text: str
    name: str
    op: str


@dataclass(frozen=True, slots=True)
class Upvote:
    """Agree with a post (`up`), or take the agreement back."""

    post: int
    up: bool
    op: str


@dataclass(frozen=True, slots=True)
class ApprovePost:
    post: int


@dataclass(frozen=True, slots=True)
class HidePost:
    post: int


@dataclass(frozen=True, slots=True)
class HideAuthor:
    """Hide every post on a board by the author of `post`: one participant's spam at once."""

    post: int


@dataclass(frozen=True, slots=True)
class PurgeHidden:
    """Remove a board's hidden posts for good, so their room under the stored bound is free
    again: hiding alone keeps every post on record."""

    board: str


@dataclass(frozen=True, slots=True)
class AnswerPost:
    post: int


@dataclass(frozen=True, slots=True)
class EditPost:
    """Correct a typo; the original stays on record and the post shows it was edited."""

    post: int
    text: str


@dataclass(frozen=True, slots=True)
class PinPost:
    """Show a post as being answered now; post 0 unpins."""

    board: str
    post: int


@dataclass(frozen=True, slots=True)
class MergePosts:
    """Fold a duplicate into another post: their upvoters are joined, nobody counted twice."""

    source: int
    target: int


@dataclass(frozen=True, slots=True)
class PromoteIdeas:
    """Make the board's most agreed posts the options of its poll."""

    board: str


@dataclass(frozen=True, slots=True)
class ScoreCandidate:
    """A committee member's scores for one candidate, one per rubric question (None: not yet).

    Replaces the member's earlier scores for that candidate, so a resend changes nothing.
    """

    candidate: str
    scores: tuple[int | None, ...]


@dataclass(frozen=True, slots=True)
class LockScoring:
    """Close (or reopen) committee scoring: locked scores can't change."""

    locked: bool


@dataclass(frozen=True, slots=True)
class PublishSelection:
    """Show (or withdraw) the selection result to the room; publishing locks scoring."""

    published: bool


@dataclass(frozen=True, slots=True)
class RedeemCode:
    """Bind this phone to the voter of a ballot code, as typed or scanned from its card."""

    code: str


@dataclass(frozen=True, slots=True)
class RevokeCode:
    """Stop a ballot code, named by its card (`jury-17`) or the code: what it did stays."""

    card: str


@dataclass(frozen=True, slots=True)
class AddPoll:
    """Add a quick poll to the agenda: a question and 2 to 12 option labels, placed after the
    item `after` (empty: after the current item). Its id and its options' ids are made fresh."""

    question: str
    options: tuple[str, ...]
    max_choices: int = 1  # 1: single choice; else multiple, up to this many (2 to the options)
    title: str = ""  # empty: the question, cut to a title's length
    live: bool = False  # phones and the projector see the bars as votes come in
    after: str = ""


@dataclass(frozen=True, slots=True)
class AddItem:
    """Add a talk item (a title and the host's notes) or a Q&A board to the agenda, after the
    item `after` (empty: after the current item)."""

    kind: ItemKind
    title: str
    notes: str = ""
    moderated: bool = False  # a Q&A board's posts wait for the host's approval
    after: str = ""


class Wording(StrEnum):
    """What of an item `EditWording` corrects."""

    TITLE = "title"
    QUESTION = "question"  # a poll's
    NOTES = "notes"
    LABEL = "label"  # a poll option's, named by `option`


@dataclass(frozen=True, slots=True)
class EditWording:
    """Correct an item's title, question or notes, or a poll option's label. An option's label
    is what a ballot chose, so it is not changed once the poll has a ballot."""

    item: str
    field: Wording
    text: str
    option: str = ""


@dataclass(frozen=True, slots=True)
class AddOption:
    """Add an option to a poll that has not opened and has no ballots, up to 12."""

    poll: str
    label: str


Command = (
    Vote
    | Goto
    | Step
    | OpenPoll
    | ClosePoll
    | ShowResults
    | StartTimer
    | PauseTimer
    | ResetTimer
    | SubmitPost
    | Upvote
    | ApprovePost
    | HidePost
    | HideAuthor
    | PurgeHidden
    | AnswerPost
    | EditPost
    | PinPost
    | MergePosts
    | PromoteIdeas
    | ScoreCandidate
    | LockScoring
    | PublishSelection
    | ShowShift
    | BlankScreen
    | RedeemCode
    | RevokeCode
    | AddPoll
    | AddItem
    | EditWording
    | AddOption
)
HOST_COMMANDS = (
    Goto,
    Step,
    OpenPoll,
    ClosePoll,
    ShowResults,
    StartTimer,
    PauseTimer,
    ResetTimer,
    ApprovePost,
    HidePost,
    HideAuthor,
    PurgeHidden,
    AnswerPost,
    EditPost,
    PinPost,
    MergePosts,
    PromoteIdeas,
    LockScoring,
    PublishSelection,
    ShowShift,
    BlankScreen,
    RevokeCode,
    AddPoll,
    AddItem,
    EditWording,
    AddOption,
)
