"""`townhall verify`: checks a forum's public record (docs/record.md) line by line: that each
line is canonical JSON, the hash chain and the sequence hold, every event has its members, and
that the recount (townhall.record.recount) agrees with every tally and published result. Every
problem names its line, and problems are listed in line order: the first bad line first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rfc8785

from townhall.record.chain import canonical as to_canonical
from townhall.record.chain import line_hash
from townhall.record.recount import Replay
from townhall.record.values import difference

FORMAT = "townhall-record"
VERSION = 1
ZEROS = "0" * 64
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark, as some editors save it
HEADER = ("format", "version", "forum", "pseudonyms", "prev", "hash")
COMMON = ("seq", "at", "type", "actor", "prev", "hash")
# Each event type: who may cause it, its own members, and those it may carry besides.
EVENTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "server_started": ("server", ("engine", "townhall", "programme", "rules"), ()),
    "item": ("host", ("index", "timer_ms"), ()),
    "poll_opened": ("host", ("poll",), ("at_ms",)),
    "poll_closed": ("host", ("poll", "tally"), ("at_ms", "groups")),
    "results": ("host", ("poll", "visible"), ()),
    "ballot": ("participant", ("poll", "choices", "op"), ("group",)),
    "timer_started": ("host", ("at_ms",), ()),
    "timer_paused": ("host", ("at_ms", "remaining_ms"), ()),
    "timer_reset": ("host", ("duration_ms",), ()),
    "post_created": (
        "participant",
        ("board", "post", "state", "op", "at_ms", "text_sha256", "name_sha256"),
        ("plain",),
    ),
    "upvote": ("participant", ("post", "up", "op"), ()),
    "post_state": ("host", ("post", "state"), ()),
    "post_edited": ("host", ("post", "text_sha256"), ("plain",)),
    "post_pinned": ("host", ("board", "post"), ()),
    "posts_merged": ("host", ("source", "target"), ()),
    "posts_purged": ("host", ("board", "posts"), ()),
    "forum_purged": ("server", ("posts",), ()),
    "poll_options": ("host", ("poll", "options", "agreements"), ()),
    "live_vote": ("host", ("poll", "version", "counts"), ()),
    "committee_scored": ("committee", ("member", "candidate", "scores"), ()),
    "scoring_locked": ("host", ("locked",), ()),
    "selection_published": ("host", ("published",), ("result",)),
    "shift": ("host", ("poll", "compare_to", "visible", "cells"), ()),
    "screen_blanked": ("host", ("blank",), ()),
    "code_redeemed": ("participant", ("group",), ()),
    "code_revoked": ("host", ("voter", "group"), ()),
    "item_added": (
        "host",
        (
            *("index", "item", "kind", "title", "question", "options", "choice", "max_choices"),
            *("results", "moderated"),
        ),
        (),
    ),
    "option_added": ("host", ("poll", "option", "label"), ()),
    "wording": ("host", ("item", "field", "option"), ("text",)),
}


class RecordError(Exception):
    """A file that can't be read at all; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 1-based; 0 for the file as a whole
    message: str


@dataclass(slots=True)
class Report:
    lines: int = 0
    digest: str | None = None  # the last line's hash
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> list[str]:
        """What was checked, for a record that passed."""
        n = self.checked.get
        said = [
            f"digest {self.digest}",
            f"{self.lines} lines: the header and {self.lines - 1} events",
            "checked on every line: canonical form, hash chain, seq, members and actor",
            f"recounted: poll tallies at their close: {n('polls', 0)}; live votes:"
            f" {n('live_votes', 0)}; selection results recomputed: {n('publications', 0)};"
            f" opinion shifts recomputed: {n('shifts', 0)};"
            f" plain texts against their hashes: {n('plain', 0)}",
        ]
        if "codes" in self.checked or "draws" in self.checked:
            said.append(
                f"ballot codes: {n('codes', 0)} redeemed, every ballot's group checked;"
                f" jury draws checked against their commitment and quotas: {n('draws', 0)}"
            )
        if "export_rows" in self.checked:
            said.append(
                f"selection export: {n('export_rows')} rows match the last published result"
                + (", its digest is in the record" if n("export_digest") else ", no digest")
            )
        return said


def verify(path: str | Path, selection_json: str | Path | None = None) -> Report:
    """Check the record at `path`, and the selection export if given, as docs/record.md says."""
    data, found = _damage(_read(path))
    export = None if selection_json is None else _export(selection_json)
    report = Report()
    replay = Replay()
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    elif data:
        found.append(Problem(len(lines), "the last line has no line end: the file is cut short"))
    if not lines:
        found.append(Problem(0, "the file is empty: a record starts with its header"))
    expected_prev: str | None = ZEROS
    expected_seq = 1
    hashes: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        line, wrong = _parse(raw)
        if line is None:
            found += [Problem(number, w) for w in wrong]
            expected_prev = None
            continue
        wrong += _chain(line, expected_prev, number)
        stored = line.get("hash")
        expected_prev = stored if isinstance(stored, str) else None
        if isinstance(stored, str):
            hashes.append((number, stored))
        if number == 1:
            wrong += _header(line, replay)
        else:
            seq = line.get("seq")
            if seq != expected_seq:
                wrong.append(f"seq: expected {expected_seq}, found {json.dumps(seq)}")
            expected_seq = (seq if isinstance(seq, int) else expected_seq) + 1
            shape = _event(line, replay)
            wrong += shape or replay.apply(number, line)
        found += [Problem(number, w) for w in wrong]
    found += [Problem(number, message) for number, message in replay.unpurged()]
    report.lines = len(lines)
    report.digest = hashes[-1][1] if hashes and hashes[-1][0] == len(lines) else None
    report.checked = dict(replay.checked)
    if export is not None:
        found += _check_export(export, replay, hashes, report)
    report.problems = sorted(found, key=lambda p: (p.line == 0, p.line))
    return report


def _read(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise RecordError(f"{path}: can't read it: {exc.strerror or exc}") from exc


def _damage(data: bytes) -> tuple[bytes, list[Problem]]:
    """The file without two common kinds of damage, each said once: a byte-order mark and CRLF
    line ends, as an editor may leave them; the rest is checked as if they were not there."""
    found = []
    if data.startswith(BOM):
        data = data[len(BOM) :]
        found.append(
            Problem(
                1,
                "the file starts with a byte-order mark; a record has none"
                " — was it saved by an editor?",
            )
        )
    if b"\r\n" in data:
        first = data[: data.index(b"\r\n")].count(b"\n") + 1
        data = data.replace(b"\r\n", b"\n")
        found.append(
            Problem(first, f"line ends are CRLF; a record uses LF (the first is line {first}'s)")
        )
    return data, found


def _export(path: str | Path) -> dict[str, Any]:
    try:
        export = json.loads(_read(path))
    except ValueError as exc:
        raise RecordError(f"{path}: not a selection export: not JSON ({exc})") from exc
    if not isinstance(export, dict) or not isinstance(export.get("rows"), list):
        raise RecordError(f"{path}: not a selection export: it has no rows")
    return export


def _no_floats(text: str) -> Any:
    raise ValueError(f"{text} is not a whole number: the record holds no floating-point numbers")


def _parse(raw: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """The line's object and what is wrong with its form; None if it is not a JSON object."""
    if not raw:
        return None, ["an empty line"]
    try:
        line = json.loads(raw.decode("utf-8"), parse_float=_no_floats)
    except UnicodeDecodeError as exc:
        return None, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]
    except ValueError as exc:
        return None, [f"not JSON: {exc}"]
    if not isinstance(line, dict):
        return None, [f"not a JSON object but {type(line).__name__}"]
    try:
        canonical = to_canonical(line)
    except rfc8785.CanonicalizationError as exc:
        return None, [f"can't be put in canonical form: {exc}"]
    if canonical != raw:
        at = next((i for i, (a, b) in enumerate(zip(canonical, raw, strict=False)) if a != b), None)
        at = min(len(canonical), len(raw)) if at is None else at
        return line, [f"not in RFC 8785 canonical form (differs from it at byte {at + 1})"]
    return line, []


def _chain(line: dict[str, Any], expected_prev: str | None, number: int) -> list[str]:
    wrong = []
    for member in ("prev", "hash"):
        value = line.get(member)
        if not (isinstance(value, str) and HEX64.match(value)):
            wrong.append(f"{member}: expected 64 lowercase hex digits, found {json.dumps(value)}")
    computed = line_hash(line)
    if not wrong and line["hash"] != computed:
        wrong.append(
            f"hash: expected {computed} (the line's own hash), found {line['hash']}:"
            " the line was changed after it was hashed"
        )
    if not wrong and expected_prev is not None and line["prev"] != expected_prev:
        before = "64 zeros (this is the first line)" if number == 1 else "line {n}'s hash"
        wrong.append(
            f"prev: expected {expected_prev}, {before.format(n=number - 1)}; found"
            f" {line['prev']}: a line before this one was dropped, moved, changed or added"
        )
    return wrong


def _header(line: dict[str, Any], replay: Replay) -> list[str]:
    wrong = []
    if line.get("format") != FORMAT:
        return [
            f"format: expected {FORMAT!r} (line 1 is the header), found"
            f" {json.dumps(line.get('format'))}"
        ]
    if line.get("version") != VERSION:
        wrong.append(f"version: expected {VERSION}, found {json.dumps(line.get('version'))}")
    if sorted(line) != sorted(HEADER):
        wrong.append(f"header members: expected {sorted(HEADER)}, found {sorted(line)}")
    forum = line.get("forum")
    pseudonyms = line.get("pseudonyms")
    if not isinstance(forum, str) or not forum:
        wrong.append(f"forum: expected the forum's id, found {json.dumps(forum)}")
    if not (isinstance(pseudonyms, dict) and pseudonyms.get("scheme") == "hmac-sha256"):
        wrong.append(f"pseudonyms: expected scheme 'hmac-sha256', found {json.dumps(pseudonyms)}")
    elif not (isinstance(length := pseudonyms.get("length"), int) and 1 <= length <= 64):
        wrong.append(f"pseudonyms.length: expected 1 to 64, found {json.dumps(length)}")
    else:
        replay.pseudonym = re.compile(rf"p-[0-9a-f]{{{length}}}\Z")
    replay.forum = forum if isinstance(forum, str) else None
    return wrong


def _event(line: dict[str, Any], replay: Replay) -> list[str]:
    """What is wrong with an event line's members and actor; the replay needs none wrong."""
    kind = line.get("type")
    if not isinstance(kind, str) or kind not in EVENTS:
        return [f"type: {json.dumps(kind)} is not an event type of format {VERSION}"]
    role, own, optional = EVENTS[kind]
    wrong = []
    missing = [m for m in (*COMMON, *own) if m not in line]
    extra = sorted(set(line) - {*COMMON, *own, *optional})
    if missing or extra:
        wrong.append(
            f"{kind} members: expected {sorted({*COMMON, *own})}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else "")
        )
    at = line.get("at")
    if at is not None and not (isinstance(at, int) and not isinstance(at, bool) and at >= 0):
        wrong.append(f"at: expected milliseconds since 1970 or null, found {json.dumps(at)}")
    actor = line.get("actor")
    expected_actor = {"role": role} | ({"id": "…"} if role in ("participant", "committee") else {})
    if not (
        isinstance(actor, dict)
        and actor.get("role") == role
        and set(actor) == set(expected_actor)
        and (role != "committee" or isinstance(actor["id"], str))
        and (role != "participant" or replay.pseudonym.match(str(actor["id"])))
    ):
        wrong.append(
            f"actor: expected {json.dumps(expected_actor, ensure_ascii=False)} for"
            f" {kind}, found {json.dumps(actor, ensure_ascii=False)}"
        )
    return wrong


def _check_export(
    export: dict[str, Any], replay: Replay, hashes: list[tuple[int, str]], report: Report
) -> list[Problem]:
    """The export's rows against the last published result, and its digest against the chain."""
    if replay.published is None:
        return [Problem(0, "selection export: the record has no published result to match")]
    line, expected = replay.published
    rows = export["rows"]
    if len(rows) != len(expected):
        return [
            Problem(
                line,
                f"selection export: expected {len(expected)} rows as published"
                f" here, found {len(rows)}",
            )
        ]
    wrong = []
    for n, (want, row) in enumerate(zip(expected, rows, strict=True), start=1):
        inputs = row.get("inputs", {}) if isinstance(row, dict) else {}
        exact = row.get("exact", {}) if isinstance(row, dict) else {}
        found = {
            "rank": row.get("rank") if isinstance(row, dict) else None,
            "candidate": row.get("candidate") if isinstance(row, dict) else None,
            "agreements": inputs.get("agreements"),
            "live_votes": inputs.get("live_votes"),
            "committee_scores_given": inputs.get("scores_given"),
            "points": exact,
        }
        differs = difference(want, found)
        if differs is not None:
            wrong.append(Problem(line, f"selection export row {n}: {differs}"))
    report.checked["export_rows"] = len(rows)
    digest = export.get("digest")
    if digest is not None:
        at = next((n for n, h in hashes if h == digest), None)
        if at is None or at < line:
            where = "no line's hash" if at is None else f"line {at}'s hash, before the publication"
            wrong.append(
                Problem(
                    line,
                    f"selection export: its digest {digest} is {where}: expected"
                    f" the hash of line {line} or a later line",
                )
            )
        report.checked["export_digest"] = 1
    return wrong
