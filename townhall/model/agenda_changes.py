"""The agenda changed on the day: the host adds a quick poll, a talk or a Q&A board, adds an
option to a poll that has not opened, or corrects wording. Each change is an event in the log;
the forum's programme is the programme file as the events so far have changed it, while the
file the forum started from stays as it was (`Forum.origin`), for the checks a restart makes.

Every text is held to the bounds a programme file is (`model/limits.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from townhall.model import limits, refusals
from townhall.model.agenda import (
    ChoiceMode,
    Item,
    ItemKind,
    PollOption,
    Programme,
    ResultsMode,
)
from townhall.model.board_state import Board
from townhall.model.commands import AddItem, AddOption, AddPoll, EditWording, Wording
from townhall.model.events import ItemAdded, OptionAdded, WordingChanged
from townhall.model.state import PollState, PollStatus

if TYPE_CHECKING:
    from townhall.model.forum import Forum

AGENDA_COMMANDS = (AddPoll, AddItem, EditWording, AddOption)
AGENDA_EVENTS = (ItemAdded, OptionAdded, WordingChanged)
AgendaEvent = ItemAdded | OptionAdded | WordingChanged
AgendaCommand = AddPoll | AddItem | EditWording | AddOption

ADDED_PREFIX = "quick-"  # an added item's id: quick-1, quick-2, ... whichever is free
OPTION_PREFIX = "o"  # an added option's id: o1, o2, ... whichever is free in its poll
ADDABLE = (ItemKind.TALK, ItemKind.QNA)  # besides polls, which AddPoll adds
ELLIPSIS = "…"


# -- deciding -------------------------------------------------------------------------------------


def decide(forum: Forum, command: AgendaCommand) -> list[AgendaEvent]:
    """The event a host's change to the agenda makes, or a refusal; nothing is changed."""
    programme = forum.programme
    match command:
        case AddPoll():
            return [_add_poll(forum, command)]
        case AddItem():
            if command.kind not in ADDABLE:
                raise refusals.item_kind_not_added(command.kind.value)
            is_board = command.kind is ItemKind.QNA
            return [
                ItemAdded(
                    index=_place(forum, command.after),
                    item=_fresh_id(programme),
                    kind=command.kind.value,
                    title=_text("title", command.title, limits.TITLE),
                    notes=_text("notes", command.notes, limits.NOTES, required=False),
                    moderated=command.moderated and is_board,
                )
            ]
        case AddOption():
            poll = forum.polls.get(command.poll)
            if poll is None:
                raise refusals.unknown_poll(command.poll)
            selection = programme.selection
            if selection is not None and selection.poll == command.poll:
                raise refusals.selection_options()
            if poll.item.choice.fixed_options:
                raise refusals.fixed_options()
            if poll.status is not PollStatus.PENDING or poll.voters:
                raise refusals.poll_started()
            if len(poll.options) >= limits.MAX_OPTIONS:
                raise refusals.option_count(2, limits.MAX_OPTIONS)
            label = _text("label", command.label, limits.LABEL)
            _distinct([*(o.label for o in poll.options), label])
            taken = {o.id for o in poll.options}
            return [OptionAdded(command.poll, _free(OPTION_PREFIX, taken, len(taken) + 1), label)]
        case EditWording():
            return _edit(forum, command)
    raise refusals.unknown_command(type(command).__name__)  # pragma: no cover


def _add_poll(forum: Forum, command: AddPoll) -> ItemAdded:
    question = _text("question", command.question, limits.QUESTION)
    if not 2 <= len(command.options) <= limits.MAX_OPTIONS:
        raise refusals.option_count(2, limits.MAX_OPTIONS)
    labels = [_text("label", label, limits.LABEL) for label in command.options]
    _distinct(labels)
    max_choices = command.max_choices
    if max_choices != 1 and not 2 <= max_choices <= len(labels):
        raise refusals.bad_max_choices(2, len(labels))
    choice = ChoiceMode.SINGLE if max_choices == 1 else ChoiceMode.MULTIPLE
    title = _text("title", command.title, limits.TITLE) if command.title.strip() else question
    if len(title) > limits.TITLE:
        title = title[: limits.TITLE - 1] + ELLIPSIS
    return ItemAdded(
        index=_place(forum, command.after),
        item=_fresh_id(forum.programme),
        kind=ItemKind.POLL.value,
        title=title,
        question=question,
        options=tuple((f"{OPTION_PREFIX}{n}", label) for n, label in enumerate(labels, 1)),
        choice=choice.value,
        max_choices=max_choices,
        results=(ResultsMode.LIVE if command.live else ResultsMode.ON_REVEAL).value,
    )


def _edit(forum: Forum, command: EditWording) -> list[AgendaEvent]:
    item = forum.programme.item(command.item)
    if item is None:
        raise refusals.unknown_item(command.item)
    field = command.field
    if field is Wording.TITLE:
        text, now = _text("title", command.text, limits.TITLE), item.title
    elif field is Wording.NOTES:
        text, now = _text("notes", command.text, limits.NOTES, required=False), item.notes
    else:
        poll = forum.polls.get(item.id)
        if poll is None:
            raise refusals.not_a_poll(item.id)
        if field is Wording.QUESTION:
            text, now = _text("question", command.text, limits.QUESTION), item.question
        else:
            labels = {o.id: o.label for o in poll.options}
            if command.option not in labels:
                raise refusals.unknown_option(command.option)
            if poll.voters:
                raise refusals.option_voted()
            text, now = _text("label", command.text, limits.LABEL), labels[command.option]
            _distinct([*(v for k, v in labels.items() if k != command.option), text])
            changed = WordingChanged(item.id, field.value, text, command.option)
            return [] if text == now else [changed]
    return [] if text == now else [WordingChanged(item.id, field.value, text)]


def _place(forum: Forum, after: str) -> int:
    """Where an added item goes: after `after`, or after the current item."""
    if len(forum.programme.items) >= limits.MAX_ITEMS:
        raise refusals.agenda_full(limits.MAX_ITEMS)
    if len(forum.programme.items) - len(forum.origin.items) >= limits.MAX_ADDED_ITEMS:
        raise refusals.agenda_full_today(limits.MAX_ADDED_ITEMS)
    if not after:
        return forum.current + 1
    index = forum.programme.index_of(after)
    if index is None:
        raise refusals.unknown_item(after)
    return index + 1


def _fresh_id(programme: Programme) -> str:
    return _free(ADDED_PREFIX, {item.id for item in programme.items}, 1)


def _free(prefix: str, taken: set[str], n: int) -> str:
    while f"{prefix}{n}" in taken:
        n += 1
    return f"{prefix}{n}"


def _text(field: str, text: str, limit: int, *, required: bool = True) -> str:
    text = text.strip()
    if required and not text:
        raise refusals.text_empty(field)
    if len(text) > limit:
        raise refusals.text_too_long(field, limit)
    return text


def _distinct(labels: list[str]) -> None:
    seen: set[str] = set()
    for label in labels:
        if label.casefold() in seen:
            raise refusals.duplicate_option(label)
        seen.add(label.casefold())


# -- applying -------------------------------------------------------------------------------------


def amended(programme: Programme, events: Iterable[AgendaEvent]) -> Programme:
    """`programme` as `events` change it, in order."""
    for event in events:
        programme = _amend(programme, event)
    return programme


def _amend(programme: Programme, event: AgendaEvent) -> Programme:
    items = list(programme.items)
    if isinstance(event, ItemAdded):
        items.insert(event.index, added_item(event))
    else:
        at = programme.index_of(event.item if isinstance(event, WordingChanged) else event.poll)
        assert at is not None, "decided against this agenda"
        items[at] = _changed(items[at], event)
    # A fresh index: `replace` would otherwise share the old programme's.
    return replace(programme, items=tuple(items), _index={})


def added_item(event: ItemAdded) -> Item:
    return Item(
        id=event.item,
        kind=ItemKind(event.kind),
        title=event.title,
        notes=event.notes,
        question=event.question,
        options=tuple(PollOption(i, label) for i, label in event.options),
        choice=ChoiceMode(event.choice),
        max_choices=event.max_choices,
        results=ResultsMode(event.results),
        moderated=event.moderated,
    )


def _changed(item: Item, event: OptionAdded | WordingChanged) -> Item:
    if isinstance(event, OptionAdded):
        return replace(item, options=(*item.options, PollOption(event.option, event.label)))
    field = Wording(event.field)  # a record naming another field is not one this reads
    if field is Wording.LABEL:
        return replace(item, options=_relabelled(item.options, event))
    if field is Wording.TITLE:
        return replace(item, title=event.text)
    if field is Wording.QUESTION:
        return replace(item, question=event.text)
    return replace(item, notes=event.text)


def _relabelled(options: tuple[PollOption, ...], event: WordingChanged) -> tuple[PollOption, ...]:
    return tuple(PollOption(o.id, event.text if o.id == event.option else o.label) for o in options)


def apply(forum: Forum, event: AgendaEvent) -> None:
    """Record an agenda change: the programme as changed, and the state of what it names."""
    forum.programme = _amend(forum.programme, event)
    forum.agenda_changes.append(event)
    if isinstance(event, ItemAdded):
        item = added_item(event)
        if item.kind is ItemKind.POLL:
            forum.polls[item.id] = PollState(
                item=item,
                options=item.options,
                results_visible=item.results is ResultsMode.LIVE,
                version=forum.seq,
                counts=dict.fromkeys(item.option_ids, 0),
            )
        elif item.kind.is_board:
            forum.boards.boards[item.id] = Board(item)
        if event.index <= forum.current:
            forum.current += 1  # the item on screen moved down; it is still on screen
        return
    if isinstance(event, OptionAdded):
        poll = forum.polls[event.poll]
        poll.version = forum.seq
        poll.options = (*poll.options, PollOption(event.option, event.label))
        poll.counts[event.option] = 0  # the poll has no ballots: the change was refused else
    elif event.field == Wording.LABEL:
        forum.polls[event.item].options = _relabelled(forum.polls[event.item].options, event)
    follow(forum)


def follow(forum: Forum) -> None:
    """Point each poll's and board's state at its item in the programme as it stands."""
    item = forum.programme.item
    for poll in forum.polls.values():
        poll.item = item(poll.item.id) or poll.item
    for board in forum.boards.boards.values():
        board.item = item(board.item.id) or board.item
