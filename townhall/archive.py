"""`townhall archive`: one zip file holding a forum's record, its programme and its exports,
computed offline from its stored log, with a manifest naming each file and its SHA-256
(docs/operations.md, "Backups and retention"). It holds no secret, key or participant id."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from townhall.committee_sheet import committee_rows
from townhall.engine import EngineError, open_registry
from townhall.export import (
    RESULT_COLUMNS,
    post_rows,
    result_rows,
    selection_rows,
    to_csv,
)
from townhall.model.forum import Forum
from townhall.record.log import StoredForum, record_bytes, replayed
from townhall.record.writer import RecordError
from townhall.shift_export import CSV_COLUMNS as SHIFT_COLUMNS
from townhall.shift_export import comparisons
from townhall.shift_export import csv_rows as shift_rows
from townhall.wordcloud import is_words

HELP = "one zip file with a forum's record, programme and exports"
FORMAT = "townhall-archive"
VERSION = 1


def arguments(archive: argparse.ArgumentParser) -> None:
    archive.add_argument(
        "--forum", metavar="ID", help="the forum's id (its programme's [forum] id)"
    )
    archive.add_argument("--data-dir", type=Path, default=Path("data"), help="its data dir")
    archive.add_argument("--redis", metavar="URL", help="the forum is kept in Redis instead")
    archive.add_argument(
        "--programme",
        metavar="ROOMFILE",
        type=Path,
        help="the programme file it ran from, to keep (a forum made in the console has its own)",
    )
    archive.add_argument("-o", "--output", type=Path, help="the zip file to write")


def run(args: argparse.Namespace) -> int:
    if args.forum is None or args.output is None:
        print("townhall archive: give --forum ID and -o FILE.zip", file=sys.stderr)
        return 2
    stored = StoredForum(args.forum, args.data_dir, args.redis or "memory://")
    try:
        programme = args.programme.read_bytes() if args.programme else _kept_programme(stored)
        files, notes = archive_files(stored, programme)
        manifest = write_archive(args.output, stored.forum, files, notes)
    except (EngineError, RecordError) as exc:
        print(f"townhall archive: {stored.where}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"townhall archive: {exc.filename or args.output}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"{args.output}: {len(files)} files, record digest {manifest['digest']}")
    for note in notes:
        print(f"  {note}")
    return 0


def _kept_programme(stored: StoredForum) -> bytes | None:
    """The programme TOML the registry keeps for a forum made in the console, if it is one."""
    entry = open_registry(stored.engine_url, stored.data_dir).entries().get(stored.forum)
    return entry.programme.encode() if entry is not None and entry.programme else None


def archive_files(
    stored: StoredForum, programme: bytes | None
) -> tuple[dict[str, bytes], list[str]]:
    """Each file of the archive by name, and notes on what it leaves out."""
    record = record_bytes(stored)
    forum = replayed(stored)
    lines = [json.loads(line) for line in record.splitlines()]
    files: dict[str, bytes] = {"record.jsonl": record}
    notes = stored.warnings()  # a journal's torn last record, which the record leaves out
    if programme is not None:
        files["programme.toml"] = programme
    else:
        started = [line for line in lines if line.get("type") == "server_started"]
        files["programme.json"] = _json(started[-1]["programme"] if started else {})
        notes.append("programme.json: the programme as the record states it (no TOML kept)")
    polls = forum.poll_results()
    files["results.json"] = _json(_exported(forum, "polls", polls))
    files["results.csv"] = to_csv(result_rows(polls), RESULT_COLUMNS).encode()
    posts = post_rows(forum)
    if posts:
        files["posts.json"] = _json(_exported(forum, "posts", posts))
        files["posts.csv"] = to_csv(posts).encode()
    if forum.committee is not None:
        published = forum.committee.published_seq
        stamp = lines[published] if published else lines[-1]  # line N+1 is seq N; 0: header
        table = {"seq": forum.seq, "exported_at": _now(), "committee_source": "the forum's log"}
        table |= forum.selection_result()
        table["digest"], table["digest_seq"] = stamp["hash"], stamp.get("seq", 0)
        files["selection.json"] = _json(table)
        columns, rows = selection_rows(table)
        files["selection.csv"] = to_csv(rows, columns).encode()
        columns, rows = committee_rows(table)
        files["committee.csv"] = to_csv(rows, columns).encode()
    shifts = comparisons(forum)
    if shifts:
        files["shift.json"] = _json(_exported(forum, "comparisons", shifts))
        files["shift.csv"] = to_csv(shift_rows(shifts), SHIFT_COLUMNS).encode()
    if any(is_words(item) for item in forum.programme.items):
        notes.append(
            "words: no word counts (they need the tokenizer's process); the answers are in"
            " posts, and the clouds can be counted again from record.jsonl (docs/record.md)"
        )
    return files, notes


def write_archive(
    path: Path, forum: str, files: dict[str, bytes], notes: list[str]
) -> dict[str, Any]:
    """Write the zip, `manifest.json` first; returns the manifest."""
    last = json.loads(files["record.jsonl"].splitlines()[-1])
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "forum": forum,
        "created_at": _now(),
        "digest": last["hash"],
        "seq": last.get("seq", 0),
        "files": [
            {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in files.items()
        ],
        "notes": notes,
    }
    tmp = path.with_name(path.name + ".tmp")
    try:
        # Readable by its owner only, as the data dir's files: before a purge it holds posts.
        with (
            os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f,
            zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        ):
            archive.writestr("manifest.json", _json(manifest))
            for name, data in files.items():
                archive.writestr(name, data)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)  # no half-written copy of the posts left beside it
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    return manifest


def _exported(forum: Forum, key: str, value: Any) -> dict[str, Any]:
    """An export's JSON as the server sends it: the forum, its seq and the time, then `value`."""
    head = {"forum": forum.programme.id, "title": forum.programme.title, "seq": forum.seq}
    return head | {"exported_at": _now(), key: value}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=2).encode() + b"\n"


def _now() -> str:
    return datetime.now(UTC).isoformat()
