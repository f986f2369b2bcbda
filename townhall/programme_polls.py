"""A poll's options and how it is answered, as a programme writes them: `options`, `choice`,
`max_choices`, and for a scale `scale` and `scale_labels` (its options are generated)."""

from __future__ import annotations

from typing import Any

from townhall.ids import ID_PATTERN
from townhall.model.agenda import ChoiceMode, Item, ItemKind, PollOption
from townhall.model.limits import LABEL, MAX_OPTIONS
from townhall.model.poll_kinds import RANKING_OPTIONS, SCALE_HIGHEST, SCALE_LOWEST, scale_options
from townhall.programme_fields import FieldReader

CHOICE_KEYS = ("options", "choice", "max_choices", "scale", "scale_labels")
_SCALE_KEYS = ("scale", "scale_labels")


def read_choice(
    reader: FieldReader, raw: dict[str, Any], where: str, *, from_ideas: bool
) -> dict[str, Any]:
    """A poll's `options`, `choice`, `max_choices` and `scale_labels`, as Item fields."""
    try:
        choice = ChoiceMode(reader.string(raw, "choice", where, default="single"))
    except ValueError:
        modes = ", ".join(m.value for m in ChoiceMode)
        raise reader.fail(f"{where}.choice", f"must be one of {modes}") from None
    for key in _SCALE_KEYS:
        if key in raw and choice is not ChoiceMode.SCALE:
            raise reader.fail(f"{where}.{key}", 'only for a poll with choice = "scale"')
    if choice.fixed_options and from_ideas:
        raise reader.fail(
            f"{where}.choice",
            f"an idea board's posts become this poll's options: it can't be a {choice.value} poll",
        )
    if "max_choices" in raw and choice.fixed_options:
        raise reader.fail(f"{where}.max_choices", 'only for a poll with choice = "multiple"')
    if choice is ChoiceMode.SCALE:
        return _scale(reader, raw, where)
    options = _options(reader, raw, where, from_ideas=from_ideas)
    fewest, most = RANKING_OPTIONS
    if choice is ChoiceMode.RANKING and not fewest <= len(options) <= most:
        raise reader.fail(f"{where}.options", f"a ranking needs {fewest} to {most} options")
    max_choices = 1
    if choice is ChoiceMode.MULTIPLE:
        most = len(options) or MAX_OPTIONS
        max_choices = reader.integer(raw, "max_choices", where, default=most, low=2, high=most)
    return {"options": options, "choice": choice, "max_choices": max_choices}


def _scale(reader: FieldReader, raw: dict[str, Any], where: str) -> dict[str, Any]:
    if "options" in raw:
        raise reader.fail(
            f"{where}.options", "a scale's options are its points: give scale = [lowest, highest]"
        )
    ends = raw.get("scale")
    if not (
        isinstance(ends, list)
        and len(ends) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in ends)
        and ends[0] in SCALE_LOWEST
        and ends[0] < ends[1] <= SCALE_HIGHEST
    ):
        raise reader.fail(
            f"{where}.scale",
            f"[lowest, highest]: whole numbers, lowest 0 or 1, highest up to {SCALE_HIGHEST}",
        )
    labels = raw.get("scale_labels", [])
    if not (
        isinstance(labels, list)
        and len(labels) in (0, 2)
        and all(isinstance(w, str) and 0 < len(w.strip()) <= LABEL for w in labels)
    ):
        raise reader.fail(
            f"{where}.scale_labels",
            f"the words for the two ends, [lowest, highest], each 1 to {LABEL} characters",
        )
    return {
        "options": scale_options(ends[0], ends[1]),
        "choice": ChoiceMode.SCALE,
        "scale_labels": tuple(w.strip() for w in labels),
    }


def _options(
    reader: FieldReader, raw: dict[str, Any], where: str, *, from_ideas: bool
) -> tuple[PollOption, ...]:
    options_raw = raw.get("options", [] if from_ideas else None)
    fewest = 0 if from_ideas and not options_raw else 2
    if not isinstance(options_raw, list) or not fewest <= len(options_raw) <= MAX_OPTIONS:
        raise reader.fail(f"{where}.options", f"a poll needs 2 to {MAX_OPTIONS} options")
    options = []
    for i, option in enumerate(options_raw):
        at = f"{where}.options[{i}]"
        if not isinstance(option, dict):
            raise reader.fail(at, "each option is a table with an id and a label")
        reader.no_unknown_keys(option, {"id", "label"}, at)
        options.append(
            PollOption(
                id=reader.string(option, "id", at, pattern=ID_PATTERN),
                label=reader.string(option, "label", at, max_length=LABEL),
            )
        )
    ids = [o.id for o in options]
    if len(set(ids)) != len(ids):
        raise reader.fail(f"{where}.options", "option ids must be unique within a poll")
    return tuple(options)


def selection_poll(reader: FieldReader, items: tuple[Item, ...], poll_id: str) -> Item:
    """The poll `[selection] poll` names: one of the programme's, and one that is counted in
    ballots (single or multiple choice), since its tally is the live vote."""
    poll = next((i for i in items if i.id == poll_id), None)
    if poll is None or poll.kind is not ItemKind.POLL:
        raise reader.fail("selection.poll", f"{poll_id!r} is not a poll in this programme")
    if poll.choice.fixed_options:
        raise reader.fail(
            "selection.poll",
            f"{poll_id!r} is a {poll.choice.value} poll: the live vote is a single or"
            " multiple-choice poll",
        )
    return poll
