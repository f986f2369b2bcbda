"""The agenda form: a programme as the fields an organiser edits, named by the programme's own
field paths (`items[2].options[0].label`), so a ProgrammeError's field names its input.

The form holds text exactly as typed; turning it into programme data (townhall/console/
programme_text.py) is where numbers and switches get their types. Editing actions (add, remove,
move an item or option) work on the posted form and draw it again, so nothing typed is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from townhall.model.agenda import ItemKind

MAX_ITEMS = 200
MAX_OPTIONS = 12
MAX_CANDIDATES = 12

FORUM_FIELDS = ("id", "title", "subtitle", "language")
ITEM_FIELDS = {
    ItemKind.TALK: ("id", "kind", "title", "notes", "minutes"),
    ItemKind.POLL: (
        "id",
        "kind",
        "title",
        "notes",
        "minutes",
        "question",
        "choice",
        "max_choices",
        "scale",
        "scale_labels",
        "results",
        "compare_to",
        "shift_min_cell",
    ),
    ItemKind.QNA: ("id", "kind", "title", "notes", "minutes", "moderated", "names", "max_length"),
    ItemKind.IDEAS: (
        "id",
        "kind",
        "title",
        "notes",
        "minutes",
        "moderated",
        "names",
        "max_length",
        "promote_to",
        "promote_count",
    ),
    ItemKind.WORDS: (
        "id",
        "kind",
        "title",
        "notes",
        "minutes",
        "question",
        "moderated",
        "max_length",
        "answers_per_person",
        "hidden_words",
    ),
}
ALL_ITEM_FIELDS = tuple(dict.fromkeys(f for fields in ITEM_FIELDS.values() for f in fields))
WEIGHTS = ("agreement", "live_vote", "committee")
SELECTION_FIELDS = ("poll", "conversion", "rubric", "tie_break", "committee", "score_labels")

_ITEM = re.compile(r"^items\[(\d{1,3})\]\.(\w+)$")
_OPTION = re.compile(r"^items\[(\d{1,3})\]\.options\[(\d{1,2})\]\.(id|label)$")
_CANDIDATE = re.compile(r"^selection\.candidates\[(\d{1,2})\]\.(id|title|agreements)$")


@dataclass
class Item:
    values: dict[str, str]
    options: list[dict[str, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.values.get("kind", "")


@dataclass
class AgendaForm:
    """Everything the form shows, as text."""

    forum: dict[str, str] = field(default_factory=lambda: {"language": "ko"})
    items: list[Item] = field(default_factory=list)
    selection: dict[str, str] = field(default_factory=dict)
    candidates: list[dict[str, str]] = field(default_factory=list)

    @property
    def selection_on(self) -> bool:
        return self.selection.get("enabled") == "on"

    @classmethod
    def posted(cls, form: Mapping[str, str]) -> AgendaForm:
        """The form as a browser posted it (indexes as they were drawn, kept in order)."""
        items: dict[int, Item] = {}
        options: dict[tuple[int, int], dict[str, str]] = {}
        candidates: dict[int, dict[str, str]] = {}
        made = cls(forum={}, selection={})
        for name, value in form.items():
            if name.startswith("forum.") and name[6:] in FORUM_FIELDS:
                made.forum[name[6:]] = value
            elif match := _OPTION.match(name):
                at = (int(match[1]), int(match[2]))
                options.setdefault(at, {})[match[3]] = value
            elif match := _ITEM.match(name):
                if match[2] in ALL_ITEM_FIELDS:
                    items.setdefault(int(match[1]), Item({})).values[match[2]] = value
            elif match := _CANDIDATE.match(name):
                candidates.setdefault(int(match[1]), {})[match[2]] = value
            elif name.startswith("selection."):
                made.selection[name[10:]] = value
        for (i, _), option in sorted(options.items()):
            if i in items:
                items[i].options.append(option)
        made.items = [items[i] for i in sorted(items)][:MAX_ITEMS]
        made.candidates = [candidates[k] for k in sorted(candidates)][:MAX_CANDIDATES]
        return made

    @classmethod
    def of_programme(cls, data: Mapping[str, Any]) -> AgendaForm:
        """A programme's parsed TOML as the form shows it (a template to start from)."""
        made = cls(forum={k: _text(v) for k, v in data.get("forum", {}).items()}, selection={})
        for raw in data.get("items", []):
            values = {k: _text(v) for k, v in raw.items() if k != "options"}
            if isinstance(raw.get("scale"), list):  # one line of the form: "1, 5"
                values["scale"] = ", ".join(_text(v) for v in raw["scale"])
            if raw.get("moderated") is True:
                values["moderated"] = "on"
            else:
                values.pop("moderated", None)
            options = [{k: _text(v) for k, v in o.items()} for o in raw.get("options", [])]
            made.items.append(Item(values, options))
        selection = data.get("selection")
        if isinstance(selection, dict):
            made.selection["enabled"] = "on"
            for key in SELECTION_FIELDS:
                if key in selection:
                    made.selection[key] = _text(selection[key])
            if isinstance(selection.get("committee"), list):
                made.selection["committee"] = "\n".join(
                    f"{m.get('id', '')}: {m.get('name', '')}" if isinstance(m, dict) else _text(m)
                    for m in selection["committee"]
                )
            for part, weight in selection.get("weights", {}).items():
                made.selection[f"weights.{part}"] = _text(weight)
            for i, bound in enumerate(selection.get("score_range", [])[:2]):
                made.selection[f"score_range[{i}]"] = _text(bound)
            made.candidates = [
                {k: _text(v) for k, v in c.items()} for c in selection.get("candidates", [])
            ]
        return made

    # -- editing ----------------------------------------------------------------------------------

    def apply(self, action: str) -> None:
        """One editing step named by the button pressed: `add-item:poll`, `up:3`, `down:3`,
        `remove-item:3`, `add-option:3`, `remove-option:3:1`, `add-candidate`,
        `remove-candidate:2`. Anything else changes nothing."""
        name, _, rest = action.partition(":")
        args = [int(a) for a in rest.split(":") if a.isdigit()]
        if name == "add-item" and len(self.items) < MAX_ITEMS and rest in ITEM_FIELDS:
            self.items.append(self.new_item(ItemKind(rest)))
        elif name == "remove-item" and self._has(args, 1):
            del self.items[args[0]]
        elif name in ("up", "down") and self._has(args, 1):
            i = args[0]
            j = i - 1 if name == "up" else i + 1
            if 0 <= j < len(self.items):
                self.items[i], self.items[j] = self.items[j], self.items[i]
        elif name == "add-option" and self._has(args, 1):
            options = self.items[args[0]].options
            if len(options) < MAX_OPTIONS:
                options.append({"id": "", "label": ""})
        elif name == "remove-option" and self._has(args, 2):
            options = self.items[args[0]].options
            if args[1] < len(options):
                del options[args[1]]
        elif name == "add-candidate" and len(self.candidates) < MAX_CANDIDATES:
            self.candidates.append({"id": "", "title": "", "agreements": "0"})
        elif name == "remove-candidate" and args and args[0] < len(self.candidates):
            del self.candidates[args[0]]

    def _has(self, args: list[int], count: int) -> bool:
        return len(args) >= count and args[0] < len(self.items)

    def new_item(self, kind: ItemKind) -> Item:
        taken = {item.values.get("id", "") for item in self.items}
        n = len(self.items) + 1
        while f"{kind.value}-{n}" in taken:
            n += 1
        item = Item({"kind": kind.value, "id": f"{kind.value}-{n}", "title": "", "minutes": ""})
        if kind is ItemKind.POLL:
            item.values.update(choice="single", results="on_reveal")
            item.options = [{"id": "option-1", "label": ""}, {"id": "option-2", "label": ""}]
        elif kind is ItemKind.WORDS:
            item.values.update(max_length="40", answers_per_person="3")
        elif kind.is_board:
            item.values.update(names="optional", max_length="280")
            if kind is ItemKind.IDEAS:
                item.values["promote_count"] = "3"
        return item

    def fill_ids(self) -> None:
        """Gives an item or option left without an id one (`poll-3`, `option-2`), so the other
        fields can name it; the organiser sees it and may change it."""
        taken = {item.values.get("id", "") for item in self.items}
        for n, item in enumerate(self.items, start=1):
            if not item.values.get("id", "").strip():
                made = f"{item.kind or 'item'}-{n}"
                while made in taken:
                    made += "-x"
                item.values["id"] = made
                taken.add(made)
            used = {o.get("id", "") for o in item.options}
            for m, option in enumerate(item.options, start=1):
                if not option.get("id", "").strip():
                    made = f"option-{m}"
                    while made in used:
                        made += "-x"
                    option["id"] = made
                    used.add(made)

    def polls(self, before: int | None = None) -> list[tuple[str, str]]:
        """Each poll's id and how a menu names it, for the fields that name a poll (only those
        before item `before`, if given)."""
        return [
            (
                item.values.get("id", ""),
                f"{item.values.get('title', '')} ({item.values.get('id', '')})",
            )
            for item in self.items[:before]
            if item.kind == ItemKind.POLL.value
        ]

    def anchors(self) -> set[str]:
        """Every field path the form draws an input or a group for."""
        found = {"forum", "items", "selection", "selection.weights", "selection.score_range"}
        found |= {f"forum.{f}" for f in FORUM_FIELDS}
        found |= {f"selection.{f}" for f in SELECTION_FIELDS}
        found |= {"selection.candidates"}
        for i, item in enumerate(self.items):
            found |= {f"items[{i}]", f"items[{i}].options"}
            found |= {f"items[{i}].{f}" for f in ALL_ITEM_FIELDS}
            for j in range(len(item.options)):
                found |= {f"items[{i}].options[{j}]" + f for f in ("", ".id", ".label")}
        for k in range(len(self.candidates)):
            found |= {f"selection.candidates[{k}].{f}" for f in ("id", "title", "agreements")}
        return found

    def anchor(self, field_path: str) -> str:
        """The input (or group) an error on `field_path` is shown beside: the field itself, or
        the nearest enclosing one the form draws."""
        known = self.anchors()
        path = field_path
        while path:
            if path in known:
                return path
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return "forum"


def _text(value: Any) -> str:
    """A TOML value as the form's text: lists one per line, numbers as written."""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value)
    return str(value)
