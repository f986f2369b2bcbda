"""Commands: what a participant or the host asks the forum to do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PARTICIPANT = "participant"
    HOST = "host"
    SCREEN = "screen"
    COMMITTEE = "committee"  # a member of the selection committee, on their own secret link


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
)
