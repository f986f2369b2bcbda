"""The forum programme: its agenda items and their settings, as immutable records."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ItemKind(StrEnum):
    TALK = "talk"
    POLL = "poll"
    QNA = "qna"


class ChoiceMode(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"


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
    results: ResultsMode = ResultsMode.ON_REVEAL
    # Q&A settings; the Q&A board itself comes with the Q&A capability.
    moderated: bool = False
    max_length: int = 280

    @property
    def option_ids(self) -> tuple[str, ...]:
        return tuple(o.id for o in self.options)


@dataclass(frozen=True, slots=True)
class Programme:
    """A whole forum programme as read from a `rooms/*.toml` file."""

    id: str
    title: str
    language: str
    items: tuple[Item, ...]
    subtitle: str = ""
    code: str = ""
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
