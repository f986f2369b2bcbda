"""The forum programme: its agenda items and their settings, as immutable records."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from townhall.model.eligibility import CodeLookup, Eligibility, NoCodes
from townhall.model.scorer import Candidate, Rule
from townhall.model.shift import DEFAULT_MIN_CELL


class ItemKind(StrEnum):
    TALK = "talk"
    POLL = "poll"
    QNA = "qna"  # questions for the speakers or the expert panel
    IDEAS = "ideas"  # everyone posts a proposal and agrees (공감) with others'
    WORDS = "words"  # short answers of a few words each, shown as a word cloud

    @property
    def is_board(self) -> bool:
        """Q&A, idea and word items are the same mechanism: short posts, moderated alike."""
        return self in (ItemKind.QNA, ItemKind.IDEAS, ItemKind.WORDS)

    @property
    def upvoted(self) -> bool:
        """Whether participants agree with posts here: a word item's answers take no upvotes,
        the cloud counts them instead."""
        return self in (ItemKind.QNA, ItemKind.IDEAS)


class NameMode(StrEnum):
    ANONYMOUS = "anonymous"  # no name is asked or shown
    OPTIONAL = "optional"  # a nickname may be given
    REQUIRED = "required"  # a nickname must be given


class ChoiceMode(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    SCALE = "scale"  # one point of a numbered scale; the options are the points
    RANKING = "ranking"  # every option once, in the voter's order; counted by the Borda count

    @property
    def fixed_options(self) -> bool:
        """A scale's options are its points and a ranking's ballot holds every option: neither
        takes an option added on the day, nor one promoted from an idea board."""
        return self in (ChoiceMode.SCALE, ChoiceMode.RANKING)


class ResultsMode(StrEnum):
    LIVE = "live"  # phones and projector see the bars as votes come in
    ON_REVEAL = "on_reveal"  # only the host sees them until the host reveals


@dataclass(frozen=True, slots=True)
class PollOption:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Item:
    """One agenda item. `minutes` is the planned time; poll fields are set only on polls."""

    id: str
    kind: ItemKind
    title: str
    notes: str = ""
    minutes: float = 0
    question: str = ""
    options: tuple[PollOption, ...] = ()
    choice: ChoiceMode = ChoiceMode.SINGLE
    max_choices: int = 1
    scale_labels: tuple[str, ...] = ()  # a scale's words for its two ends, or none
    results: ResultsMode = ResultsMode.ON_REVEAL
    # The earlier poll this one is compared with (the pre-vote), and the fewest people a cell
    # of that comparison must hold for phones and the projector to show it (model/shift.py).
    compare_to: str = ""
    shift_min_cell: int = DEFAULT_MIN_CELL
    # Board (Q&A and ideas) settings.
    moderated: bool = False  # posts wait for the host's approval
    names: NameMode = NameMode.OPTIONAL
    max_length: int = 280
    promote_to: str = ""  # ideas: the poll whose options the top posts become
    promote_count: int = 3
    # Word items: the answers one participant may send, and the words the cloud never shows
    # (as written in the programme; townhall/wordcloud.py reduces them to the cloud's words).
    answers_per_person: int = 3
    hidden_words: tuple[str, ...] = ()
    # Poll eligibility: the ballot-code groups that may vote (none named: the forum's rule),
    # and whether the results are shown by group side by side.
    voters: tuple[str, ...] = ()
    by_group: bool = False

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)

    @property
    def planned_ms(self) -> int:
        """The planned time in milliseconds, as the timer counts it."""
        return round(self.minutes * 60_000)


@dataclass(frozen=True, slots=True)
class Selection:
    """The experiment selection rule's settings: which poll is the live vote, the candidates
    with their agreement counts, the committee's members and the rule itself."""

    poll: str
    rule: Rule
    candidates: tuple[Candidate, ...]
    committee: tuple[str, ...]
    # (member id, display name) for the members the programme names; the others show their id.
    # Display only: the record and the exports name members by their ids.
    names: tuple[tuple[str, str], ...] = ()
    # What each score from `rule.lowest` to `rule.highest` means, if the programme says; empty:
    # the pages' own wording for a 1-5 range, the bare numbers for any other.
    score_labels: tuple[str, ...] = ()

    def member_names(self) -> dict[str, str]:
        """Every member's display name, in the programme's order: their id where none is given."""
        named = dict(self.names)
        return {member: named.get(member, member) for member in self.committee}


@dataclass(frozen=True, slots=True)
class Programme:
    """A whole forum programme as read from a `rooms/*.toml` file."""

    id: str
    title: str
    language: str
    items: tuple[Item, ...]
    subtitle: str = ""
    code: str = ""
    selection: Selection | None = None
    eligibility: Eligibility = field(default_factory=Eligibility)
    # The issued ballot codes (townhall/codes/book.py): data beside the programme, not in it.
    codes: CodeLookup = field(default_factory=NoCodes, compare=False, repr=False)
    # The jury draw's report (docs/draw.md), stated in the record; None without a draw.
    draw: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({item.id: i for i, item in enumerate(self.items)})

    def index_of(self, item_id: str) -> int | None:
        return self._index.get(item_id)

    def item(self, item_id: str) -> Item | None:
        i = self._index.get(item_id)
        return None if i is None else self.items[i]

    def fingerprint(self) -> list[list[str]]:
        """The shape a journal depends on: item ids and kinds, and poll option ids.

        Titles and wording may be corrected between restarts; the shape may not.
        """
        return [[item.id, item.kind.value, *item.option_ids] for item in self.items]
