"""`townhall score`: the selection result for a forum, from its log, offline, on either engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from townhall.candidates import CandidateError, parse_committee_scores, read_sheet
from townhall.engine import EngineError
from townhall.engine.journal import Journal, JournalError, replay
from townhall.model.agenda import Programme
from townhall.model.errors import ForumError
from townhall.model.forum import Forum
from townhall.programme import load_programme
from townhall.record.log import StoredForum, replayed
from townhall.record.writer import RecordError


class ScoreError(ValueError):
    """The result can't be computed: the message says from what."""


def forum_result(
    roomfile: Path | None,
    data_dir: Path,
    committee_csv: Path | None,
    engine_url: str = "memory://",
    forum_id: str | None = None,
) -> dict[str, Any]:
    """Replay the forum's log and score it with the programme's selection rule: the room file's,
    or else the one the log last states."""
    programme = None if roomfile is None else load_programme(roomfile)
    if programme is not None and engine_url == "memory://" and forum_id in (None, programme.id):
        forum = _from_journal(programme, data_dir)
    else:
        name = forum_id or (programme.id if programme is not None else None)
        if name is None:
            raise ScoreError("name the forum: a ROOMFILE or --forum ID")
        try:
            forum = replayed(StoredForum(name, data_dir, engine_url), programme)
        except (EngineError, RecordError) as exc:
            raise ScoreError(str(exc)) from exc
    selection = forum.programme.selection
    if selection is None:
        where = roomfile or f"forum {forum.programme.id!r}"
        raise ScoreError(f"{where}: no [selection] section: nothing to score")
    if not forum.live_votes:
        raise ScoreError(f"the live vote ({selection.poll!r}) has not been closed yet")
    sheet = None
    if committee_csv is not None:
        try:
            sheet = parse_committee_scores(
                read_sheet(committee_csv),
                source=str(committee_csv),
                candidates={c.id for c in forum.selection_candidates()},
                members=set(selection.committee),
                questions=len(selection.rule.rubric),
            )
        except CandidateError as exc:
            raise ScoreError(str(exc)) from exc
    try:
        table = forum.selection_result(sheet)
    except ForumError as exc:
        raise ScoreError(str(exc)) from exc
    table["committee_source"] = str(committee_csv) if sheet is not None else "the forum's log"
    return table


def _from_journal(programme: Programme, data_dir: Path) -> Forum:
    forum = Forum(programme)
    journal = Journal(data_dir / f"{programme.id}.journal")
    if not journal.path.exists():
        raise ScoreError(f"{journal.path}: no journal; is --data-dir the forum's data dir?")
    try:
        replay(journal, forum)
    except JournalError as exc:
        raise ScoreError(str(exc)) from exc
    return forum


def render(table: dict[str, Any]) -> str:
    """The result as text an organiser can read out and check by hand."""
    rule, live = table["rule"], table["live_vote"]
    weights = rule["weights"]
    lines = [
        f"Forum {table['forum']}: the live vote is poll {live['poll']} at version"
        f" {live['version']} (event {live['recorded_at_event']}"
        + (
            f", replacing {live['replaced_earlier_recordings']} earlier"
            if live["replaced_earlier_recordings"]
            else ""
        )
        + ")",
        f"Weights: agreement {weights['agreement']}, live vote {weights['live_vote']},"
        f" committee {weights['committee']}; counts convert as: {rule['conversion_rule']}.",
        f"Committee: {rule['committee_rule']}; {rule['missing_rule']}. Scores from"
        f" {table['committee_source']}"
        + ("; the result is published." if table["published"] else "; not yet published."),
        f"Ties: broken by {', then '.join(rule['tie_break'])}; {rule['tie_rule']}.",
        "",
        f"{'rank':>4}  {'candidate':<20} {'agree':>6} {'votes':>6} {'mean':>5} {'miss':>4}"
        f" {'agree pts':>9} {'vote pts':>8} {'cttee pts':>9} {'total':>7}",
    ]
    for row in table["rows"]:
        i, p = row["inputs"], row["points"]
        mean = "-" if i["committee_mean"] is None else f"{i['committee_mean']:.2f}"
        lines.append(
            f"{row['rank']:>4}  {row['candidate']:<20} {i['agreements']:>6} {i['live_votes']:>6}"
            f" {mean:>5} {i['scores_missing']:>4} {p['agreement']:>9.2f} {p['live_vote']:>8.2f}"
            f" {p['committee']:>9.2f} {row['total']:>7.2f}"
        )
    return "\n".join(lines)


def as_json(table: dict[str, Any]) -> str:
    return json.dumps(table, ensure_ascii=False, indent=2)
