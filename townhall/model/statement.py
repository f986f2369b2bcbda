"""What a `server_started` event states: the programme as loaded and the limits in force, as
plain data (docs/record.md), and the programme rebuilt from that statement."""

from __future__ import annotations

from typing import Any

from townhall.model import ballots, board, board_state, forum
from townhall.model.agenda import (
    ChoiceMode,
    Item,
    ItemKind,
    NameMode,
    PollOption,
    Programme,
    Selection,
)
from townhall.model.eligibility import Eligibility, EligibilityMode
from townhall.model.scorer import Candidate, Conversion, Rule
from townhall.model.shift import DEFAULT_MIN_CELL


def programme_statement(programme: Programme) -> dict[str, Any]:
    """The programme as the record states it: only what decides what is accepted and counted."""
    stated: dict[str, Any] = {
        "id": programme.id,
        "title": programme.title,
        "language": programme.language,
        "items": [_item(item) for item in programme.items],
    }
    rules = programme.eligibility
    if rules != Eligibility():
        stated["eligibility"] = {
            "mode": rules.mode.value,
            "groups": list(rules.groups),
            "self_agreement": rules.self_agreement,
        }
        if rules.labels:  # no map in a statement is empty: Lua's msgpack can't tell one
            stated["eligibility"]["labels"] = dict(rules.labels)
    if programme.draw is not None:
        stated["draw"] = programme.draw
    chosen = programme.selection
    if chosen is not None:
        rule = chosen.rule
        stated["selection"] = {
            "poll": chosen.poll,
            "candidates": [[c.id, c.title, c.agreements] for c in chosen.candidates],
            "committee": list(chosen.committee),
            "rule": {
                "weights": dict(rule.weights),
                "conversion": rule.conversion.value,
                "rubric": list(rule.rubric),
                "lowest": rule.lowest,
                "highest": rule.highest,
                "tie_break": list(rule.tie_break),
            },
        }
    return stated


def _item(item: Item) -> dict[str, Any]:
    stated: dict[str, Any] = {"id": item.id, "kind": item.kind.value, "title": item.title}
    if item.kind is ItemKind.POLL:
        stated |= {
            "question": item.question,
            "options": [[o.id, o.label] for o in item.options],
            "choice": item.choice.value,
            "max_choices": item.max_choices,
        }
        # Stated only when set, so a programme without them states what it always did.
        if item.scale_labels:
            stated["scale_labels"] = list(item.scale_labels)
        if item.voters:
            stated["voters"] = list(item.voters)
        if item.by_group:
            stated["by_group"] = True
        if item.compare_to:
            stated |= {"compare_to": item.compare_to, "shift_min_cell": item.shift_min_cell}
    elif item.kind.is_board:
        stated |= {
            "moderated": item.moderated,
            "names": item.names.value,
            "max_length": item.max_length,
            "promote_to": item.promote_to,
            "promote_count": item.promote_count,
        }
        if item.kind is ItemKind.WORDS:
            # What the cloud is made from besides the answers: its words are recomputed from
            # the record with these (docs/record.md).
            stated |= {
                "question": item.question,
                "answers_per_person": item.answers_per_person,
                "hidden_words": list(item.hidden_words),
            }
    return stated


def rules_in_force() -> dict[str, int]:
    """The limits, beyond the programme's own settings, that decide what is accepted."""
    return {
        "name_max": board.NAME_MAX,
        "post_window_ms": board.POST_WINDOW_MS,
        "posts_per_window": board.POSTS_PER_WINDOW,
        "posts_per_board": board.POSTS_PER_BOARD,
        "pending_per_participant": board.PENDING_PER_PARTICIPANT,
        "max_posts_per_board": board.MAX_POSTS_PER_BOARD,
        "max_stored_posts_per_board": board.MAX_STORED_POSTS_PER_BOARD,
        "ballot_ops_remembered": ballots.RECENT_OPS,
        "board_ops_remembered": board_state.RECENT_OPS,
    }


def programme_from(stated: dict[str, Any]) -> Programme:
    """The programme a statement describes; raises KeyError, TypeError or ValueError if it is
    not one."""
    items = tuple(
        Item(
            id=str(raw["id"]),
            kind=ItemKind(raw["kind"]),
            title=str(raw["title"]),
            question=str(raw.get("question", "")),
            options=tuple(PollOption(str(i), str(label)) for i, label in raw.get("options", ())),
            choice=ChoiceMode(raw.get("choice", "single")),
            max_choices=int(raw.get("max_choices", 1)),
            scale_labels=tuple(str(end) for end in raw.get("scale_labels", ())),
            moderated=bool(raw.get("moderated", False)),
            names=NameMode(raw.get("names", "optional")),
            max_length=int(raw.get("max_length", 280)),
            promote_to=str(raw.get("promote_to", "")),
            promote_count=int(raw.get("promote_count", 3)),
            voters=tuple(str(g) for g in raw.get("voters", ())),
            by_group=bool(raw.get("by_group", False)),
            compare_to=str(raw.get("compare_to", "")),
            shift_min_cell=int(raw.get("shift_min_cell", DEFAULT_MIN_CELL)),
            answers_per_person=int(raw.get("answers_per_person", 3)),
            hidden_words=tuple(str(w) for w in raw.get("hidden_words", ())),
        )
        for raw in stated["items"]
    )
    rules = stated.get("eligibility", {})
    eligibility = Eligibility(
        mode=EligibilityMode(rules.get("mode", "open")),
        self_agreement=bool(rules.get("self_agreement", False)),
        groups=tuple(str(g) for g in rules.get("groups", ())),
        labels=tuple((str(g), str(n)) for g, n in (rules.get("labels") or {}).items()),
    )
    selection = None
    if "selection" in stated:
        raw = stated["selection"]
        rule = raw["rule"]
        selection = Selection(
            poll=str(raw["poll"]),
            rule=Rule(
                weights={str(k): int(v) for k, v in rule["weights"].items()},
                conversion=Conversion(rule["conversion"]),
                rubric=tuple(str(q) for q in rule["rubric"]),
                lowest=int(rule["lowest"]),
                highest=int(rule["highest"]),
                tie_break=tuple(str(p) for p in rule["tie_break"]),
            ),
            candidates=tuple(Candidate(str(i), str(t), int(n)) for i, t, n in raw["candidates"]),
            committee=tuple(str(m) for m in raw["committee"]),
        )
    return Programme(
        id=str(stated["id"]),
        title=str(stated["title"]),
        language=str(stated["language"]),
        items=tuple(items),
        selection=selection,
        eligibility=eligibility,
        draw=stated.get("draw"),
    )


def _counting(stated: dict[str, Any] | None) -> dict[str, Any] | None:
    """What of a stated `[selection]` decides a result: not its wording."""
    if stated is None:
        return None
    rule = dict(stated["rule"])
    rule["rubric"] = len(rule["rubric"])
    return {
        "poll": stated["poll"],
        "candidates": [[c[0], c[2]] for c in stated["candidates"]],
        "committee": stated["committee"],
        "rule": rule,
    }


def published_selection_changed(state: forum.Forum, programme: Programme) -> str | None:
    """Why `programme` may not take over `state`, if it would change a published result: its
    `[selection]` counts differently from the one the last start stated. Wording may change."""
    committee, stated = state.committee, state.stated_programme
    if committee is None or not committee.published or stated is None:
        return None
    before = _counting(stated.get("selection"))
    after = _counting(programme_statement(programme).get("selection"))
    if before == after:
        return None
    return (
        "the [selection] settings (weights, conversion, score range, tie-break, committee or"
        " candidates) differ from those the published result was computed with. Start with the"
        " earlier settings, withdraw the result, then change them and publish again."
    )
