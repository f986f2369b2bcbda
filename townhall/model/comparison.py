"""Polls compared with an earlier one (`compare_to`: the pre-vote): the host's showing and hiding
of how opinion moved between them, and what each role sees of it. The figures are
model/shift.py's; this decides when they may be shown and to whom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from townhall.model import refusals, shift
from townhall.model.agenda import ChoiceMode, Item, ItemKind
from townhall.model.commands import Role, ShowShift
from townhall.model.events import Event, ShiftShown
from townhall.model.state import PollState, PollStatus

if TYPE_CHECKING:
    from townhall.model.forum import Forum


def comparison_problem(items: Sequence[Item]) -> tuple[int, str] | None:
    """The first item whose `compare_to` does not name an earlier single-choice poll, with
    why, if a single-choice poll itself; None if every comparison can be made."""
    for i, item in enumerate(items):
        target = item.compare_to
        if not target:
            continue
        earlier = next((n for n, other in enumerate(items) if other.id == target), None)
        if earlier is None:
            return i, f"{target!r} is not an item in this programme"
        if items[earlier].kind is not ItemKind.POLL:
            return i, f"{target!r} is not a poll: only ballots can be compared"
        if earlier == i:
            return i, "a poll can't be compared with itself"
        if earlier > i:
            return i, f"{target!r} comes later in the agenda: compare with an earlier poll"
        for poll in (items[earlier], item):
            if poll.choice is not ChoiceMode.SINGLE:
                return i, (
                    f"poll {poll.id!r} allows several choices: a change of mind is read from one"
                    " choice in each poll, so both must be single choice"
                )
    return None


def compared(poll: PollState) -> dict[str, shift.Choice]:
    """Each voter's choice in a single-choice poll, with their group."""
    return {person: (b.choices[0], b.group) for person, b in poll.ballots.items() if b.choices}


class Shifts:
    """Which comparisons are on screen, with the figures each was shown with."""

    def __init__(self) -> None:
        self.shown: dict[str, ShiftShown] = {}  # by the later poll's id
        # Figures are worked out once per state of the ballots, not once per role and message.
        self._figures: dict[str, tuple[Any, dict[str, Any], dict[str, Any]]] = {}

    def decide(self, forum: Forum, command: ShowShift) -> list[Event]:
        final = forum.polls.get(command.poll)
        if final is None:
            raise refusals.unknown_poll(command.poll)
        pre_id = final.item.compare_to
        if not pre_id:
            raise refusals.no_comparison(command.poll)
        if (command.poll in self.shown) == command.visible:
            return []
        if not command.visible:
            return [ShiftShown(command.poll, pre_id, False)]
        pre = forum.polls[pre_id]
        for poll in (pre, final):
            if poll.status is not PollStatus.CLOSED:
                raise refusals.shift_polls_open(poll.item.id, poll.status.value)
        cells = shift.shift_cells(compared(pre), compared(final))
        return [ShiftShown(command.poll, pre_id, True, cells)]

    def check_reopen(self, poll_id: str) -> None:
        """A comparison on screen holds still: neither of its polls reopens until it is hidden."""
        for final, shown in self.shown.items():
            if poll_id in (final, shown.compare_to):
                raise refusals.shift_shown(final)

    def apply(self, event: ShiftShown) -> None:
        if event.visible:
            self.shown[event.poll] = event
        else:
            self.shown.pop(event.poll, None)

    # -- what each role sees ----------------------------------------------------------------------

    def view(self, forum: Forum, role: Role) -> dict[str, Any]:
        """Each compared poll, by id: whether its comparison can be shown (both polls closed)
        and is; the host sees the whole figures once it can be, with what the room would see;
        everyone else sees the room's figures while they are shown."""
        views = {}
        for item in forum.programme.items:
            if not item.compare_to or item.id not in forum.polls:
                continue
            pre, final = forum.polls[item.compare_to], forum.polls[item.id]
            ready = pre.status is PollStatus.CLOSED and final.status is PollStatus.CLOSED
            view: dict[str, Any] = {
                "poll": item.id,
                "compare_to": item.compare_to,
                "min_cell": item.shift_min_cell,
                "ready": ready,
                "visible": item.id in self.shown,
                "figures": None,
            }
            shown = self.shown.get(item.id)
            if role is Role.HOST and ready:
                cells = shift.shift_cells(compared(pre), compared(final))
                full, public = self.figures(item.id, cells, pre, final, item.shift_min_cell)
                view["figures"] = labelled(full, pre, final)
                view["public"] = labelled(public, pre, final)
            elif shown is not None and shown.compare_to == item.compare_to:
                _, public = self.figures(item.id, shown.cells, pre, final, item.shift_min_cell)
                view["figures"] = labelled(public, pre, final)
            views[item.id] = view
        return views

    def figures(
        self,
        poll_id: str,
        cells: tuple[shift.Cell, ...],
        pre: PollState,
        final: PollState,
        min_cell: int,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The whole figures and the room's, for these cells, worked out once."""
        # The room may be shown each poll's tally, by group where the poll is kept so.
        by_group = (pre.item.by_group, final.item.by_group)
        options = ([o.id for o in pre.options], [o.id for o in final.options])
        key = (cells, *options, min_cell, by_group)
        cached = self._figures.get(poll_id)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        full = shift.figures(cells, *options)
        public = shift.public_figures(full, min_cell, cells, by_group=by_group)
        self._figures[poll_id] = (key, full, public)
        return full, public


def labelled(figures: dict[str, Any], pre: PollState, final: PollState) -> dict[str, Any]:
    """The figures with each option's label (a promoted idea's is a participant's words), and
    each share as a percentage, so that every page shows the same rounding."""
    # Each side by its own poll's wording: one option id may be worded apart in the two polls.
    pre_labels = {o.id: o.label for o in (*final.options, *pre.options)}
    final_labels = {o.id: o.label for o in (*pre.options, *final.options)}
    pops = [figures["everyone"], *figures["by_group"]]
    return {
        **figures,
        "pre_options": [{"id": o, "label": pre_labels.get(o, o)} for o in figures["pre_options"]],
        "final_options": [
            {"id": o, "label": final_labels.get(o, o)} for o in figures["final_options"]
        ],
        "everyone": _with_shares(pops[0]),
        "by_group": [_with_shares(pop) for pop in pops[1:]],
    }


def _with_shares(pop: dict[str, Any]) -> dict[str, Any]:
    both, changed, net = pop["both"], pop["changed"], pop["net"]
    return {
        **pop,
        "changed_percent": None if changed is None else shift.percent(changed, both),
        "net": None
        if net is None
        else [{**entry, "points": shift.percent(entry["net"], both)} for entry in net],
    }
