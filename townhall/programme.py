"""Reading forum programmes (`rooms/*.toml`): strict checks; errors name file, line and field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from townhall.candidates import MAX_AGREEMENTS, CandidateError, load_candidates
from townhall.codes.book import CodeBook
from townhall.ids import ID_PATTERN, slug
from townhall.model.agenda import (
    Item,
    ItemKind,
    Programme,
    ResultsMode,
    Selection,
)
from townhall.model.limits import MAX_ITEMS, MAX_OPTIONS, NOTES, QUESTION, TITLE
from townhall.model.scorer import Candidate, Conversion, Rule, RuleError
from townhall.programme_boards import BOARD_KEYS, read_board
from townhall.programme_committee import read_committee, read_score_labels
from townhall.programme_comparison import COMPARISON_KEYS, check_comparisons, read_comparison
from townhall.programme_eligibility import read_draw_report, read_eligibility
from townhall.programme_fields import FieldReader, ProgrammeError, read_toml
from townhall.programme_polls import CHOICE_KEYS, read_choice, selection_poll

__all__ = ["ProgrammeError", "load_programme", "parse_programme"]

LANGUAGES = ("ko", "en")
CODE_PATTERN = re.compile(r"^[A-Z0-9]{4,12}\Z")

_FORUM_KEYS = {"id", "title", "subtitle", "language", "code"}
SELECTION_KEYS = {
    "poll",
    "weights",
    "conversion",
    "rubric",
    "score_range",
    "tie_break",
    "committee",
    "score_labels",
    "candidates",
    "candidates_csv",
}
_ITEM_KEYS = {
    ItemKind.TALK: {"id", "kind", "title", "notes", "minutes"},
    ItemKind.POLL: {
        "id",
        "kind",
        "title",
        "notes",
        "minutes",
        "question",
        *CHOICE_KEYS,
        "results",
        "voters",
        "by_group",
        *COMPARISON_KEYS,
    },
    **BOARD_KEYS,
}


def load_programme(path: str | Path) -> Programme:
    """Read and validate a programme file; raises ProgrammeError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProgrammeError(str(path), None, "", f"cannot read the file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ProgrammeError(str(path), None, "", "the file is not UTF-8 text") from exc
    return parse_programme(text, source=str(path), default_id=_slug(path.stem), base=path.parent)


def parse_programme(
    text: str, *, source: str, default_id: str = "forum", base: Path | None = None
) -> Programme:
    """Validate a programme given as TOML text; `source` names it in errors."""
    data = read_toml(text, source)
    return _Reader(text, source, base or Path.cwd()).programme(data, default_id)


class _Reader(FieldReader):
    """The schema: each section of a programme checked, and built into the model's records."""

    def __init__(self, text: str, source: str, base: Path) -> None:
        super().__init__(text, source)
        self.base = base

    def programme(self, data: dict[str, Any], default_id: str) -> Programme:
        unknown = set(data) - {"forum", "items", "selection", "eligibility"}
        if unknown:
            key = sorted(unknown)[0]
            raise self.fail(
                key, "unknown section (expected [forum], [[items]], [selection], [eligibility])"
            )
        forum = data.get("forum")
        if not isinstance(forum, dict):
            raise self.fail("forum", "missing [forum] table with the forum's title and language")
        self.no_unknown_keys(forum, _FORUM_KEYS, "forum")
        forum_id = self.string(forum, "id", "forum", default=default_id, pattern=ID_PATTERN)
        language = self.string(forum, "language", "forum", default="ko")
        if language not in LANGUAGES:
            raise self.fail("forum.language", f"must be one of {', '.join(LANGUAGES)}")
        code = self.string(forum, "code", "forum", default="", pattern=CODE_PATTERN)
        items_data = data.get("items")
        if not isinstance(items_data, list) or not items_data:
            raise self.fail("items", "the agenda needs at least one [[items]] entry")
        if len(items_data) > MAX_ITEMS:
            raise self.fail("items", f"at most {MAX_ITEMS} agenda items")
        promoted = {
            raw.get("promote_to")
            for raw in items_data
            if isinstance(raw, dict) and raw.get("kind") == ItemKind.IDEAS.value
        }
        items = tuple(self.item(raw, f"items[{i}]", promoted) for i, raw in enumerate(items_data))
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.id in seen:
                raise self.fail(f"items[{i}].id", f"duplicate item id {item.id!r}")
            seen.add(item.id)
        kinds = {item.id: item.kind for item in items}
        for i, item in enumerate(items):
            if item.promote_to and kinds.get(item.promote_to) is not ItemKind.POLL:
                raise self.fail(
                    f"items[{i}].promote_to", f"{item.promote_to!r} is not a poll in this programme"
                )
        check_comparisons(self, items)
        selection = None
        if "selection" in data:
            selection = self.selection(data["selection"], items)
        eligibility, groups = read_eligibility(self, data.get("eligibility", {}), forum_id)
        for i, item in enumerate(items):
            unknown_group = sorted(set(item.voters) - set(groups))
            if unknown_group:
                raise self.fail(
                    f"items[{i}].voters",
                    f"{unknown_group[0]!r} is not one of [eligibility] groups",
                )
        return Programme(
            eligibility=eligibility,
            codes=CodeBook(self.base / eligibility.book),
            draw=read_draw_report(self.base / eligibility.draw),
            selection=selection,
            id=forum_id,
            title=self.string(forum, "title", "forum", max_length=200),
            subtitle=self.string(forum, "subtitle", "forum", default="", max_length=300),
            language=language,
            code=code,
            items=items,
        )

    def selection(self, raw: Any, items: tuple[Item, ...]) -> Selection:
        where = "selection"
        if not isinstance(raw, dict):
            raise self.fail(where, "must be a table")
        self.no_unknown_keys(raw, SELECTION_KEYS, where)
        poll_id = self.string(raw, "poll", where, pattern=ID_PATTERN)
        poll = selection_poll(self, items, poll_id)
        defaults = Rule()
        weights = raw.get("weights", dict(defaults.weights))
        if not isinstance(weights, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in weights.values()
        ):
            raise self.fail(f"{where}.weights", "a table of whole numbers")
        try:
            conversion = Conversion(self.string(raw, "conversion", where, default="top"))
        except ValueError:
            raise self.fail(f"{where}.conversion", "must be top or share") from None
        rubric = raw.get("rubric", list(defaults.rubric))
        if (
            not isinstance(rubric, list)
            or not 1 <= len(rubric) <= 10
            or not all(isinstance(q, str) and 0 < len(q.strip()) <= 200 for q in rubric)
        ):
            raise self.fail(f"{where}.rubric", "1 to 10 questions, each 1 to 200 characters")
        score_range = raw.get("score_range", [defaults.lowest, defaults.highest])
        if not (
            isinstance(score_range, list)
            and len(score_range) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in score_range)
            and 0 <= score_range[0] < score_range[1] <= 10
        ):
            raise self.fail(f"{where}.score_range", "[lowest, highest], whole numbers from 0 to 10")
        tie_break = raw.get("tie_break", list(defaults.tie_break))
        if not isinstance(tie_break, list) or not all(isinstance(p, str) for p in tie_break):
            raise self.fail(f"{where}.tie_break", "a list of the rule's parts")
        rule = Rule(
            weights=weights,
            conversion=conversion,
            rubric=tuple(q.strip() for q in rubric),
            lowest=score_range[0],
            highest=score_range[1],
            tie_break=tuple(tie_break),
        )
        try:
            rule.check()
        except RuleError as exc:
            field = "tie_break" if "tie-break" in str(exc) else "weights"
            raise self.fail(f"{where}.{field}", str(exc)) from None
        committee, names = read_committee(self, raw, where)
        labels = read_score_labels(self, raw, where, rule)
        candidates = self.candidates(raw, where)
        options = set(poll.option_ids)
        ids = {c.id for c in candidates}
        if options and ids != options:
            raise self.fail(f"{where}.candidates", _not_the_options(candidates, options))
        return Selection(poll_id, rule, tuple(candidates), committee, names, labels)

    def candidates(self, raw: dict[str, Any], where: str) -> list[Candidate]:
        if ("candidates" in raw) == ("candidates_csv" in raw):
            raise self.fail(where, "give either [[selection.candidates]] or candidates_csv")
        if "candidates_csv" in raw:
            name = self.string(raw, "candidates_csv", where, max_length=300)
            try:
                return load_candidates(self.base / name)
            except CandidateError as exc:
                raise ProgrammeError(exc.source, exc.line, "", exc.reason) from exc
        listed = raw["candidates"]
        if not isinstance(listed, list) or not 1 <= len(listed) <= MAX_OPTIONS:
            raise self.fail(f"{where}.candidates", f"1 to {MAX_OPTIONS} candidates")
        found: list[Candidate] = []
        for i, entry in enumerate(listed):
            at = f"{where}.candidates[{i}]"
            if not isinstance(entry, dict):
                raise self.fail(at, "each candidate is a table with id, title and agreements")
            self.no_unknown_keys(entry, {"id", "title", "agreements"}, at)
            found.append(
                Candidate(
                    self.string(entry, "id", at, pattern=ID_PATTERN),
                    self.string(entry, "title", at, max_length=200),
                    self.integer(entry, "agreements", at, default=0, low=0, high=MAX_AGREEMENTS),
                )
            )
        if len({c.id for c in found}) != len(found):
            raise self.fail(f"{where}.candidates", "candidate ids must be unique")
        return found

    def item(self, raw: Any, where: str, promoted: set[Any]) -> Item:
        if not isinstance(raw, dict):
            raise self.fail(where, "must be a table")
        kind_name = self.string(raw, "kind", where)
        try:
            kind = ItemKind(kind_name)
        except ValueError:
            kinds = ", ".join(k.value for k in ItemKind)
            raise self.fail(f"{where}.kind", f"must be one of {kinds}") from None
        self.no_unknown_keys(raw, _ITEM_KEYS[kind], where)
        minutes = raw.get("minutes", 0)
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int | float)
            or not 0 <= minutes <= 600
        ):
            raise self.fail(f"{where}.minutes", "must be a number of minutes from 0 to 600")
        common: dict[str, Any] = {
            "id": self.string(raw, "id", where, pattern=ID_PATTERN),
            "kind": kind,
            "title": self.string(raw, "title", where, max_length=TITLE),
            "notes": self.string(raw, "notes", where, default="", max_length=NOTES),
            "minutes": minutes,
        }
        if kind is ItemKind.POLL:
            return Item(**common, **self.poll(raw, where, from_ideas=common["id"] in promoted))
        if kind.is_board:
            return Item(**common, **read_board(self, raw, where, kind))
        return Item(**common)

    def poll(self, raw: dict[str, Any], where: str, *, from_ideas: bool) -> dict[str, Any]:
        try:
            results = ResultsMode(self.string(raw, "results", where, default="on_reveal"))
        except ValueError:
            raise self.fail(f"{where}.results", "must be live or on_reveal") from None
        voters = raw.get("voters", [])
        if (
            not isinstance(voters, list)
            or not all(isinstance(g, str) for g in voters)
            or len(set(voters)) != len(voters)
        ):
            raise self.fail(f"{where}.voters", "a list of ballot-code groups, each once")
        by_group = raw.get("by_group", False)
        if not isinstance(by_group, bool):
            raise self.fail(f"{where}.by_group", "must be true or false")
        return {
            "voters": tuple(voters),
            "by_group": by_group,
            "question": self.string(raw, "question", where, default="", max_length=QUESTION),
            **read_choice(self, raw, where, from_ideas=from_ideas),
            "results": results,
            **read_comparison(self, raw, where),
        }


def _slug(name: str) -> str:
    return slug(name) or "forum"


def _not_the_options(candidates: list[Candidate], options: set[str]) -> str:
    """What differs between the candidates and the poll's options; each candidate with its title,
    as its id may have been made from the title (`candidates.made_id`)."""
    ids = {c.id for c in candidates}
    parts = []
    if only_options := sorted(options - ids):
        parts.append(f"not among the candidates: {_listed([repr(o) for o in only_options])}")
    if only_candidates := [c for c in candidates if c.id not in options]:
        shown = [
            f"{c.id!r} ({c.title[:30]}{'…' if len(c.title) > 30 else ''})" for c in only_candidates
        ]
        parts.append(f"not among the poll's options: {_listed(shown)}")
    return "the candidates must be the poll's options; " + "; ".join(parts)


def _listed(names: list[str]) -> str:
    more = len(names) - MAX_OPTIONS
    return ", ".join(names[:MAX_OPTIONS]) + (f" and {more} more" if more > 0 else "")
