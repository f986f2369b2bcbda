"""How deliberation moved opinion: the same people's choices in two single-choice polls, a
pre-vote and a final vote, as a transition table, the share who changed their mind and the net
shift per option, for everyone and by ballot-code group; and the room's version of it, with small
cells hidden so that no one can be singled out.

Pure: choices in, figures out. The cells are what the record states (docs/record.md, "The opinion
shift"); every other figure is a sum of them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

NOT_VOTED = ""  # a cell's pre (or final) choice for someone who voted only in the other poll
NO_CODE = ""  # the group of a voter without a ballot code
DEFAULT_MIN_CELL = 3
MAX_CHECKED_CELLS = 200

# A person's choice in one poll: (option id, their ballot-code group, "" without a code).
Choice = tuple[str, str]
# (group, pre-vote option, final option, people); an option is NOT_VOTED for the poll missed.
Cell = tuple[str, str, str, int]


def shift_cells(pre: Mapping[str, Choice], final: Mapping[str, Choice]) -> tuple[Cell, ...]:
    """Everyone who voted in either poll, counted once: by their group (the final ballot's, or
    the pre-vote's if that one has none) and their two choices. Nonzero cells, in ascending order
    of (group, pre, final)."""
    counted: Counter[tuple[str, str, str]] = Counter()
    for person in pre.keys() | final.keys():
        before = pre.get(person, (NOT_VOTED, NO_CODE))
        after = final.get(person, (NOT_VOTED, NO_CODE))
        counted[(after[1] or before[1], before[0], after[0])] += 1
    return tuple((*key, n) for key, n in sorted(counted.items()))


def groups_of(cells: Iterable[Cell]) -> list[str]:
    """The groups to show one by one: none if no voter had a code, else each group by id with
    the voters without a code last."""
    groups = {cell[0] for cell in cells}
    if not any(groups):
        return []
    return sorted(groups, key=lambda group: (group == NO_CODE, group))


def figures(
    cells: Sequence[Cell], pre_options: Sequence[str], final_options: Sequence[str]
) -> dict[str, Any]:
    """The whole comparison, as the host sees it: everyone, then each group."""
    pre = _with_seen(pre_options, (c[1] for c in cells))
    final = _with_seen(final_options, (c[2] for c in cells))
    return {
        "pre_options": pre,
        "final_options": final,
        "everyone": population(cells, pre, final),
        "by_group": [
            {"group": group, **population([c for c in cells if c[0] == group], pre, final)}
            for group in groups_of(cells)
        ],
    }


def _with_seen(options: Sequence[str], seen: Iterable[str]) -> list[str]:
    """The poll's options, and any option a cell names that the poll no longer lists."""
    listed = list(options)
    listed += sorted({o for o in seen if o != NOT_VOTED and o not in listed})
    return listed


def population(
    cells: Iterable[Cell], pre_options: Sequence[str], final_options: Sequence[str]
) -> dict[str, Any]:
    """One population's figures: the people who voted in both polls, their transition table
    (every pre option x final option, zeros too), how many changed their mind, and the net shift
    per option; those who voted in only one poll are counted apart."""
    table = dict.fromkeys(((p, f) for p in pre_options for f in final_options), 0)
    only_pre = only_final = 0
    for _, before, after, people in cells:
        if after == NOT_VOTED:
            only_pre += people
        elif before == NOT_VOTED:
            only_final += people
        else:
            table[(before, after)] += people
    both = sum(table.values())
    changed = sum(n for (before, after), n in table.items() if before != after)
    net = []
    for option in [*pre_options, *(o for o in final_options if o not in pre_options)]:
        was = sum(n for (before, _), n in table.items() if before == option)
        now = sum(n for (_, after), n in table.items() if after == option)
        net.append({"option": option, "pre": was, "final": now, "net": now - was})
    return {
        "both": both,
        "only_pre": only_pre,
        "only_final": only_final,
        "changed": changed,
        "cells": [{"pre": p, "final": f, "people": n} for (p, f), n in table.items()],
        "net": net,
        "hidden": False,
    }


def percent(part: int, whole: int) -> float:
    """`part` as a percentage of `whole`, to one decimal; 0 of nobody is 0."""
    return round(100 * part / whole, 1) if whole else 0.0


# -- what the room sees ---------------------------------------------------------------------------


def public_figures(
    full: dict[str, Any],
    min_cell: int,
    cells: Sequence[Cell],
    *,
    by_group: tuple[bool, bool] = (False, False),
) -> dict[str, Any]:
    """`full` (the figures of `cells`) as phones and the projector may see it: no cell of 1 to
    `min_cell` - 1 people is shown, nor anything it could be worked out from, the two polls'
    tallies included (see `Disclosure`; `by_group`: whether the pre-vote's and the final vote's
    tallies are shown by group too). That is worked out twice, keeping the net shift per option
    and leaving it out; the room gets the way that shows more of the people in everyone's table
    who changed their mind, then more people in it, and on a tie the one with the net shift."""
    pops = [full["everyone"], *full["by_group"]]
    pre, final = full["pre_options"], full["final_options"]
    outside = [
        _one_poll_only(cells, pre, final, None),
        *(_one_poll_only(cells, pre, final, pop["group"]) for pop in full["by_group"]),
    ]
    plans = [
        Disclosure(pops, pre, final, min_cell, net=net, outside=outside, tallied=by_group)
        for net in (True, False)
    ]
    plan = max(
        plans, key=lambda p: (p.visible_people(moved=True), p.visible_people(), p is plans[0])
    )
    shown = [plan.shown(i, pop) for i, pop in enumerate(pops)]
    withdrawn = len(pops) > 1 and not plan.groups
    return {**full, "everyone": shown[0], "by_group": shown[1:], "groups_hidden": withdrawn}


def _one_poll_only(
    cells: Sequence[Cell], pre: Sequence[str], final: Sequence[str], group: str | None
) -> list[int]:
    """A population's people who voted in one poll only, per option: each pre-vote option's,
    then each final option's (`group` None: everyone)."""
    mine = [cell for cell in cells if group is None or cell[0] == group]
    return [sum(n for _, p, f, n in mine if p == o and f == NOT_VOTED) for o in pre] + [
        sum(n for _, p, f, n in mine if p == NOT_VOTED and f == o) for o in final
    ]


class Disclosure:
    """Which figures the room may see. A cell of fewer than `min_cell` people (but not none) is
    hidden; so is every figure that would let someone work it out by adding and subtracting what
    is shown. What the room knows: each visible cell; each population's count of people (in both
    polls, in only one); each poll's tally, everyone's and, for a poll kept by group, each
    group's, which the room may be shown as results at any time (a tally is an option's people
    in both polls plus those who voted in that poll only, who are unknowns here too, never shown
    per option); and, unless withdrawn, each population's net shift per option (the table's row
    and column totals), its count of people who changed their mind (the cells off the diagonal),
    and, with groups, the fact that each everyone-cell is the sum of the groups' cells. Each is
    a linear equation on the unknowns; a small unknown that the equations fix (taking, too, that
    unknowns of one sign adding up to nothing are each nothing) is exposed, unless the tallies
    and counts of people fix it on their own, which the room is shown whatever this decides.
    While one is exposed, the smallest visible cell it shares an equation with is hidden as well
    (one of its own population's first); if there is none, a total goes instead. For a group:
    its net shift, then every group's table (each keeping its count of people and of changes),
    then its count of changes, then the groups altogether; for everyone: its net shift, then the
    groups' tables, then the groups; and last everyone's net shift and count of changes. A
    population of fewer than `min_cell` people shows only its counts of people."""

    def __init__(
        self,
        pops: Sequence[dict[str, Any]],
        pre: Sequence[str],
        final: Sequence[str],
        min_cell: int,
        *,
        net: bool,
        outside: Sequence[Sequence[int]],
        tallied: tuple[bool, bool],
    ) -> None:
        self.pre, self.final = list(pre), list(final)
        self.pairs = [(p, f) for p in pre for f in final]
        self.pops = len(pops)
        self.values = [cell["people"] for pop in pops for cell in pop["cells"]]
        # After the cells: per population, its people who voted in one poll only, per option.
        self.inside = len(self.values)
        for counts in outside:
            self.values += counts
        self.tallied = tallied
        self.whole = [pop["both"] >= min_cell for pop in pops]
        small = {v for v, n in enumerate(self.values) if 0 < n < min_cell}
        self.hidden = small | set(range(self.inside, len(self.values)))
        for i in range(self.pops):
            if not self.whole[i]:
                self.hidden.update(self.cells_of(i))
        self.net = [net and whole for whole in self.whole]
        self.changed = list(self.whole)
        # Checking the groups' cells against everyone's grows fast with their number; past this
        # many cells in all the room sees everyone's table alone, which stays quick to check.
        self.linked = self.pops > 1 and self.inside <= MAX_CHECKED_CELLS
        self.groups = self.linked
        self.tables = self.groups  # each group's cells, or only its counts and changes
        everything = set(range(len(self.values)))
        self.primary = small - solved(self.rows(self.equations(counts_only=True), everything))
        self.protect()

    def visible_people(self, *, moved: bool = False) -> int:
        """The people in everyone's cells that are shown (`moved`: only those off the diagonal)."""
        cells = zip(self.cells_of(0), self.pairs, strict=True)
        return sum(
            self.values[v]
            for v, (pre, final) in cells
            if v not in self.hidden and not (moved and pre == final)
        )

    def cells_of(self, pop: int) -> range:
        return range(pop * len(self.pairs), (pop + 1) * len(self.pairs))

    def one_poll_only(self, pop: int) -> tuple[range, range]:
        """A population's unknowns of people who voted only in the pre-vote (one per pre option),
        and only in the final vote (one per final option)."""
        start = self.inside + pop * (len(self.pre) + len(self.final))
        middle = start + len(self.pre)
        return range(start, middle), range(middle, middle + len(self.final))

    def pop_of(self, v: int) -> int:
        if v < self.inside:
            return v // len(self.pairs)
        return (v - self.inside) // (len(self.pre) + len(self.final))

    def equations(self, *, counts_only: bool = False) -> list[list[tuple[int, int]]]:
        """What the room knows, as equations on the unknowns: (unknown, coefficient) terms.
        `counts_only`: only what it knows whatever is decided here (the counts of people and
        the tallies)."""
        found = []
        for pop in range(self.pops if self.linked else 1):
            cells = list(zip(self.cells_of(pop), self.pairs, strict=True))
            only_pre, only_final = self.one_poll_only(pop)
            found.append([(v, 1) for v, _ in cells])  # the people in both polls
            found += [[(v, 1) for v in only_pre], [(v, 1) for v in only_final]]
            sides = ((0, self.pre, only_pre), (1, self.final, only_final))
            for at, options, only in sides:
                if pop and not self.tallied[at]:
                    continue  # a poll not kept by group tallies everyone only
                for option, alone in zip(options, only, strict=True):
                    found.append([*((v, 1) for v, pair in cells if pair[at] == option), (alone, 1)])
            if counts_only or not (pop == 0 or self.groups):
                continue
            if self.net[pop]:
                lines = {("pre", p) for p, _ in self.pairs} | {("final", f) for _, f in self.pairs}
                for side, option in sorted(lines):
                    at = 0 if side == "pre" else 1
                    found.append([(v, 1) for v, pair in cells if pair[at] == option])
            if self.changed[pop]:
                found.append([(v, 1) for v, (p, f) in cells if p != f])
        if self.linked:  # everyone's cells, and one-poll voters, are the groups' summed
            size, alone = len(self.pairs), len(self.pre) + len(self.final)
            for n in range(size):
                parts = [(pop * size + n, -1) for pop in range(1, self.pops)]
                found.append([(n, 1), *parts])
            for n in range(alone):
                parts = [(self.inside + pop * alone + n, -1) for pop in range(1, self.pops)]
                found.append([(self.inside + n, 1), *parts])
        return [terms for terms in found if terms]

    def rows(
        self, equations: list[list[tuple[int, int]]], hidden: set[int]
    ) -> list[dict[int, int]]:
        """The equations on the `hidden` unknowns, with those that must be nothing as such."""
        rows: list[dict[int, int]] = []
        pinned: set[int] = set()
        settled = False
        while not settled:  # unknowns of one sign that add up to nothing are each nothing
            settled = True
            for terms in equations:
                free = [(v, c) for v, c in terms if v in hidden and v not in pinned]
                if (
                    free
                    and len({c for _, c in free}) == 1
                    and not any(self.values[v] for v, _ in free)
                ):
                    pinned.update(v for v, _ in free)
                    settled = False
        rows += [{v: 1} for v in pinned]
        rows += [{v: c for v, c in terms if v in hidden} for terms in equations]
        return [row for row in rows if row]

    def exposed(self) -> list[int]:
        """The small unknowns the room's figures fix, in order."""
        return sorted(solved(self.rows(self.equations(), self.hidden)) & self.primary)

    def protect(self) -> None:
        """Hide more, as the class says, until no small cell is exposed."""
        # Each turn hides a cell or withdraws a total, so this many turns always suffice.
        for _ in range(len(self.values) + 2 * self.pops + 2):
            exposed = self.exposed()
            if not exposed:
                return
            equations = self.equations()
            touched: set[int] = set()  # equations given a hidden cell this turn
            for cell in exposed:
                mine = [n for n, terms in enumerate(equations) if any(v == cell for v, _ in terms)]
                if touched.intersection(mine):
                    continue  # perhaps covered already: looked at again next turn
                near = {v for n in mine for v, _ in equations[n] if v not in self.hidden}
                if not near:
                    continue
                pop = self.pop_of(cell)
                chosen = min(near, key=lambda v: (self.pop_of(v) != pop, self.values[v], v))
                self.hidden.add(chosen)
                touched.update(
                    n for n, terms in enumerate(equations) if any(v == chosen for v, _ in terms)
                )
            if not touched and not self.withdraw(self.pop_of(exposed[0])):
                break
        self.whole = [False] * self.pops  # not reached: nothing is left to show but counts

    def withdraw(self, pop: int) -> bool:
        """Stop showing the next total that may expose `pop`'s cells; False if none is left."""
        if pop:  # a group: its net shift, the groups' tables, its count of changes, the groups
            order = [("net", pop), ("tables", 0), ("changed", pop), ("groups", 0)]
        else:
            order = [("net", 0), ("tables", 0), ("groups", 0)]
        for what, at in [*order, ("net", 0), ("changed", 0)]:
            if what == "net" and self.net[at]:
                self.net[at] = False
            elif what == "changed" and self.changed[at]:
                self.changed[at] = False
            elif what == "tables" and self.groups and self.tables:
                self.tables = False
                for group in range(1, self.pops):
                    self.hidden.update(self.cells_of(group))
                    self.net[group] = False
            elif what == "groups" and self.groups:
                self.groups = False
                for group in range(1, self.pops):
                    self.hidden.update(self.cells_of(group))
            else:
                continue
            return True
        return False

    def shown(self, pop: int, full: dict[str, Any]) -> dict[str, Any]:
        """One population's figures with what is hidden set to None."""
        visible = self.whole[pop] and (pop == 0 or self.groups)
        cells = [
            {**cell, "people": None if v in self.hidden or not visible else cell["people"]}
            for v, cell in zip(self.cells_of(pop), full["cells"], strict=True)
        ]
        return {
            **full,
            "cells": cells,
            "changed": full["changed"] if visible and self.changed[pop] else None,
            "net": full["net"] if visible and self.net[pop] else None,
            "hidden": not visible,
        }


def solved(rows: Iterable[dict[int, int]]) -> set[int]:
    """The unknowns that a set of linear equations fixes (each row: unknown -> coefficient, the
    right-hand sides being known): those left alone in a row of the reduced echelon form. Exact
    integer arithmetic."""
    pivots: dict[int, dict[int, int]] = {}
    for given in rows:
        row = dict(given)
        for col in [c for c in row if c in pivots]:
            row = _eliminate(row, pivots[col], col)
        if not row:
            continue
        col = min(row)
        for other, pivot_row in list(pivots.items()):
            if col in pivot_row:
                pivots[other] = _eliminate(pivot_row, row, col)
        pivots[col] = row
    return {col for col, row in pivots.items() if len(row) == 1}


def _eliminate(row: dict[int, int], pivot: dict[int, int], col: int) -> dict[int, int]:
    """`row` with `col` taken out by a multiple of `pivot`, divided by its entries' gcd."""
    a, b = pivot[col], row[col]
    mixed = {c: a * row.get(c, 0) - b * pivot.get(c, 0) for c in row.keys() | pivot.keys()}
    mixed = {c: v for c, v in mixed.items() if v}
    divisor = math.gcd(*mixed.values()) if mixed else 1
    return {c: v // divisor for c, v in mixed.items()}
