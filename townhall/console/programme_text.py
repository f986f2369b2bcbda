"""From what the organiser gave (the agenda form, an uploaded file, a shipped template) to
programme TOML, checked by parse_programme: the same checks as `townhall serve`."""

from __future__ import annotations

import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from townhall import files
from townhall.candidates import CandidateError, load_candidates
from townhall.console.agenda_form import ITEM_FIELDS, WEIGHTS, AgendaForm, Item
from townhall.model.agenda import ItemKind, Programme
from townhall.programme import parse_programme
from townhall.programme_fields import FieldReader, ProgrammeError, read_toml

# The programmes a forum can start from: the seed's open forum and the large-scale variant.
TEMPLATES = {
    "small-library-open-forum": files.DEMO_ROOM,
    "policy-battle": files.ROOMS / "policy-battle.toml",
}
# Fields that name a file beside the programme: a programme made in the console has no "beside".
NAMED_FILES = (
    ("selection", "candidates_csv", "list the candidates in the programme instead"),
    ("eligibility", "codes", "the console keeps a forum's code book itself"),
    ("eligibility", "draw", "the console keeps a forum's draw report itself"),
)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_LIST_SPLIT = re.compile(r"[\n,]")


def template_form(name: str) -> AgendaForm:
    """A shipped template as the form shows it; its candidates CSV written into the form."""
    path = TEMPLATES[name]
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    selection = data.get("selection")
    if isinstance(selection, dict) and "candidates_csv" in selection:
        try:
            listed = load_candidates(path.parent / selection.pop("candidates_csv"))
        except CandidateError as exc:
            raise ProgrammeError(exc.source, exc.line, "", exc.reason) from exc
        selection["candidates"] = [
            {"id": c.id, "title": c.title, "agreements": c.agreements} for c in listed
        ]
    return AgendaForm.of_programme(data)


def form_data(form: AgendaForm) -> dict[str, Any]:
    """The form as programme data: numbers and switches typed, blank optional fields left out.

    A value that should be a number but is not is passed on as typed, so parse_programme's own
    message says what is wrong with it."""
    forum = {k: v.strip() for k, v in form.forum.items() if v.strip()}
    data: dict[str, Any] = {"forum": forum, "items": [_item(item) for item in form.items]}
    if form.selection_on:
        data["selection"] = _selection(form)
    return data


NUMBERS = (
    "minutes",
    "max_choices",
    "shift_min_cell",
    "max_length",
    "promote_count",
    "answers_per_person",
)


def _item(item: Item) -> dict[str, Any]:
    try:
        kind = ItemKind(item.kind)
    except ValueError:
        return {k: v for k, v in item.values.items() if v.strip()}
    out: dict[str, Any] = {}
    for key in ITEM_FIELDS[kind]:
        value = item.values.get(key, "")
        if key == "moderated":
            out[key] = value == "on"
        elif key == "hidden_words":
            out[key] = [line.strip() for line in value.splitlines() if line.strip()]
        elif key in NUMBERS:
            if key == "max_choices" and item.values.get("choice") != "multiple":
                continue
            if key == "shift_min_cell" and not item.values.get("compare_to", "").strip():
                continue
            if value.strip():
                out[key] = _number(value)
        elif key in ("scale", "scale_labels"):
            if item.values.get("choice") == "scale" and value.strip():
                out[key] = _scale_field(key, value)
        elif key == "notes":
            if value.strip():
                out[key] = value.replace("\r\n", "\n")
        elif value.strip():
            out[key] = value.strip()
    if kind is ItemKind.POLL and item.values.get("choice") != "scale":  # a scale's are its points
        out["options"] = [
            {"id": o.get("id", "").strip(), "label": o.get("label", "").strip()}
            for o in item.options
        ]
    return out


def _scale_field(key: str, value: str) -> list[Any]:
    """A scale's ends as typed ("1, 5"), or its ends' words, one a line."""
    if key == "scale":
        return [_number(part) for part in re.split(r"[\s,]+", value.strip()) if part]
    return [line.strip() for line in value.splitlines() if line.strip()]


def _selection(form: AgendaForm) -> dict[str, Any]:
    raw = form.selection
    out: dict[str, Any] = {"poll": raw.get("poll", "").strip()}
    out["weights"] = {part: _number(raw.get(f"weights.{part}", "") or "0") for part in WEIGHTS}
    if raw.get("conversion", "").strip():
        out["conversion"] = raw["conversion"].strip()
    out["rubric"] = [line.strip() for line in raw.get("rubric", "").splitlines() if line.strip()]
    out["score_range"] = [_number(raw.get(f"score_range[{i}]", "") or "0") for i in (0, 1)]
    for key in ("tie_break", "committee", "score_labels"):
        out[key] = [part.strip() for part in _LIST_SPLIT.split(raw.get(key, "")) if part.strip()]
    out["committee"] = [_member(part) for part in out["committee"]]
    if not out["score_labels"]:
        del out["score_labels"]
    out["candidates"] = [
        {
            "id": c.get("id", "").strip(),
            "title": c.get("title", "").strip(),
            "agreements": _number(c.get("agreements", "") or "0"),
        }
        for c in form.candidates
    ]
    return out


def _member(text: str) -> Any:
    """A committee member as the form writes one: `member-1`, or `member-1: 김지현` with a name."""
    member, colon, name = text.partition(":")
    return {"id": member.strip(), "name": name.strip()} if colon else member.strip()


def _number(text: str) -> Any:
    text = text.strip()
    if not _NUMBER.match(text):
        return text
    return float(text) if "." in text else int(text)


def form_toml(form: AgendaForm) -> str:
    return tomli_w.dumps(form_data(form))


def check_programme(text: str, source: str) -> Programme:
    """The programme in `text`, checked as `townhall serve` checks a file, and refused if it
    names a file beside itself; raises ProgrammeError."""
    data = read_toml(text, source)
    reader = FieldReader(text, source)
    for section, key, instead in NAMED_FILES:
        table = data.get(section)
        if isinstance(table, dict) and key in table:
            raise reader.fail(
                f"{section}.{key}",
                f"a programme made in the console cannot name other files; {instead}",
            )
    with tempfile.TemporaryDirectory(prefix="townhall-console-") as empty:
        # Nothing lies beside a programme made here: an empty folder stands in for one.
        return parse_programme(text, source=source, base=Path(empty))


def form_errors(form: AgendaForm, source: str) -> list[ProgrammeError]:
    """Every error parse_programme finds in the form: the whole programme's first, then each
    other item's on its own (parse_programme stops at the first), so the organiser sees them
    all at once. An empty list: the form makes a valid programme."""
    try:
        check_programme(form_toml(form), source)
    except ProgrammeError as exc:
        first = exc
    else:
        return []
    errors = [first]
    data = form_data(form)
    with tempfile.TemporaryDirectory(prefix="townhall-console-") as empty:
        for i, item in enumerate(data["items"]):
            if first.field == f"items[{i}]" or first.field.startswith(f"items[{i}]."):
                continue
            error = _item_error(data["items"], item, source, Path(empty))
            if error is not None:
                field = f"items[{i}]" + error.field[len("items[0]") :]
                errors.append(ProgrammeError(error.path, None, field, error.reason))
    return errors


def _item_error(
    items: list[dict[str, Any]], item: dict[str, Any], source: str, base: Path
) -> ProgrammeError | None:
    """The first error in one item checked on its own (what links it to others left out)."""
    alone = {k: v for k, v in item.items() if k not in ("compare_to", "shift_min_cell")}
    if alone.get("kind") == "ideas":
        alone.pop("promote_to", None)
    # A poll the idea board fills may be left without options: check it with its board.
    feeders = [
        other
        for other in items
        if other.get("kind") == "ideas" and other.get("promote_to") == item.get("id")
    ]
    trial = {
        "forum": {"id": "check", "title": "check", "language": "ko"},
        "items": [alone, *feeders],
    }
    try:
        parse_programme(tomli_w.dumps(trial), source=source, base=base)
    except ProgrammeError as exc:
        return exc if exc.field.startswith("items[0]") else None
    return None


def upload_text(raw: bytes, source: str) -> str:
    """An uploaded file as text; ProgrammeError if it is not UTF-8."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ProgrammeError(
            source, None, "", f"the file is not UTF-8 text (byte {exc.start} cannot be read)"
        ) from exc


def posted_fields(form: Mapping[str, Any]) -> dict[str, str]:
    """A posted form's text fields (an upload's file parts left out)."""
    return {k: v for k, v in form.items() if isinstance(v, str)}
