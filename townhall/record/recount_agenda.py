"""The recount's replay of the agenda's changes on the day (docs/record.md, "The agenda changed
on the day"): each `item_added`, `option_added` and `wording` line checked as a change the host
could make, and the programme as it changes it. A `server_started` line states the programme
file; the changes so far are made again on top of it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from townhall.record.values import Bad, _int, _list, _show, _str

if TYPE_CHECKING:
    from townhall.record.recount import PollReplay, Replay

AGENDA_LINES = ("item_added", "option_added", "wording")
KINDS = ("poll", "talk", "qna")
FIELDS = ("title", "question", "notes", "label")
MAX_OPTIONS = 12

PollAt = Callable[[str], "PollReplay"]  # a poll's state in the replay so far


def change(replay: Replay, line: dict[str, Any]) -> list[str]:
    """Replay one change's line: the programme as changed, and the poll states it names."""
    if replay.programme is None:
        raise Bad("an agenda change before any server_started line: no programme yet")
    poll_at = replay.poll_state
    replay.programme = amend(replay.programme, line, poll_at)
    replay.changes.append(line)
    if line["type"] == "item_added" and line["kind"] == "poll":
        poll_at(line["item"])
        return []
    target = str(line.get("poll", line.get("item")))
    if {i.get("id"): i.get("kind") for i in replay.programme["items"]}.get(target) != "poll":
        return []
    state = poll_at(target)
    if state.options is not None and line["type"] == "option_added":  # promoted from ideas
        state.options.append(line["option"])
        state.labels.append(line["label"])
    elif state.options is not None and line.get("field") == "label":
        state.labels = [
            line["text"] if o == line["option"] else label
            for o, label in zip(state.options, state.labels, strict=True)
        ]
    return []


def restated(replay: Replay, programme: dict[str, Any]) -> dict[str, Any]:
    """The programme a `server_started` line states, with the changes so far made again."""
    for line in replay.changes:
        programme = amend(programme, line, None)  # checked when first replayed
    return programme


def amend(
    programme: dict[str, Any], line: dict[str, Any], poll_at: PollAt | None
) -> dict[str, Any]:
    """The programme as the change on `line` leaves it; raises Bad if the line is not a change
    the host could make to it, and, given the polls' states, not one it could make then."""
    changed = copy.deepcopy(programme)
    items: list[dict[str, Any]] = _list(changed.get("items"), "programme.items")
    ids = [item.get("id") for item in items]
    kind = line["type"]
    if kind == "item_added":
        index, item = _int(line["index"], "index"), _str(line["item"], "item")
        if not 0 < index <= len(items):
            raise Bad(f"index: expected 1 to {len(items)}, found {index}")
        if item in ids:
            raise Bad(f"item: {item!r} is already an item of the agenda")
        items.insert(index, _added(line))
        return changed
    target = _str(line["poll" if kind == "option_added" else "item"], "item")
    if target not in ids:
        raise Bad(f"{target!r} is not an item of the agenda")
    found = items[ids.index(target)]
    field = "label" if kind == "option_added" else _str(line["field"], "field")
    if field not in FIELDS:
        raise Bad(f"field: expected one of {list(FIELDS)}, found {_show(field)}")
    if field in ("question", "label") and found.get("kind") != "poll":
        raise Bad(f"{target!r} is not a poll")
    polled = poll_at(target) if poll_at is not None and found.get("kind") == "poll" else None
    status, ballots = (polled.status, len(polled.ballots)) if polled else ("", 0)
    options: list[list[str]] = found.setdefault("options", [])
    if kind == "option_added":
        option = _str(line["option"], "option")
        if polled is not None and (status != "not opened" or ballots):
            raise Bad(f"an option added to poll {target!r}, which is {status}")
        if found.get("choice") in ("scale", "ranking"):
            raise Bad(f"an option added to poll {target!r}, a {found['choice']} poll")
        if option in [o[0] for o in options] or len(options) >= MAX_OPTIONS:
            raise Bad(f"option: {option!r} is in the poll already, or it has {MAX_OPTIONS}")
        options.append([option, _str(line["label"], "label")])
    elif field == "label":
        option = _str(line["option"], "option")
        if ballots:
            raise Bad(f"the label of option {option!r} changed after poll {target!r} had ballots")
        for entry in options:
            if entry[0] == option:
                entry[1] = _str(line.get("text"), "text")
    elif field != "notes":  # the facilitator's notes are not in the record
        found[field] = _str(line.get("text"), "text")
    return changed


def _added(line: dict[str, Any]) -> dict[str, Any]:
    """An added item as a `server_started` line would state it."""
    kind = _str(line["kind"], "kind")
    if kind not in KINDS:
        raise Bad(f"kind: expected one of {list(KINDS)}, found {_show(kind)}")
    item: dict[str, Any] = {"id": line["item"], "kind": kind, "title": _str(line["title"], "title")}
    if kind == "poll":
        options = [_list(o, "options entry") for o in _list(line["options"], "options")]
        option_ids = [o[0] if len(o) == 2 else None for o in options]
        if not 2 <= len(options) <= MAX_OPTIONS or len(set(option_ids)) != len(options):
            raise Bad(f"options: expected 2 to {MAX_OPTIONS} entries [id, label], ids unique")
        most = _int(line["max_choices"], "max_choices")
        single = line["choice"] == "single" and most == 1
        if not single and not (line["choice"] == "multiple" and 2 <= most <= len(options)):
            raise Bad(f"choice {_show(line['choice'])} with max_choices {most}")
        item |= {"question": _str(line["question"], "question"), "options": options}
        item |= {"choice": line["choice"], "max_choices": most}
    elif kind == "qna":
        item["moderated"] = line["moderated"] is True
    return item
