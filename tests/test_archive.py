"""`townhall archive` on each engine: one zip with a manifest, the record (which verifies),
the programme and the exports, each file's SHA-256 in the manifest, and no secret, key or
participant id in any of it."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from tests.retention_forum import (
    FORUM,
    PHONE_TEXT,
    engine_settings,
    forum_of,
    hold,
    participant_ids,
    results,
    townhall,
    where,
)
from tests.test_record import ROOM
from townhall.engine import stored_secret

ENGINES = ["memory", "redis"]


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_archive_holds_the_record_programme_and_exports(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    more = engine_settings(engine, request)
    data = tmp_path / "data"
    await hold(data, more)
    room = tmp_path / "room.toml"
    room.write_text(ROOM, encoding="utf-8")
    out = tmp_path / "forum.zip"
    done = townhall("archive", *where(engine, data, more), "--forum", FORUM, "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.stat().st_mode & 0o077 == 0, "it holds posts: its owner's only, as the data dir"
    with zipfile.ZipFile(out) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    assert (manifest["format"], manifest["forum"]) == ("townhall-archive", FORUM)
    assert {f["name"]: f["sha256"] for f in manifest["files"]} == {
        name: hashlib.sha256(data).hexdigest() for name, data in files.items()
    }
    assert set(files) == {
        *("record.jsonl", "programme.json", "results.json", "results.csv"),
        *("posts.json", "posts.csv", "selection.json", "selection.csv", "committee.csv"),
    }
    (tmp_path / "record.jsonl").write_bytes(files["record.jsonl"])
    checked = townhall(
        "verify", str(tmp_path / "record.jsonl"), "--selection", str(tmp_path / "s.json")
    )
    assert checked.returncode == 2  # no such selection file: the record alone next
    checked = townhall("verify", str(tmp_path / "record.jsonl"))
    assert checked.returncode == 0, checked.stdout
    assert manifest["digest"] in checked.stdout
    (tmp_path / "selection.json").write_bytes(files["selection.json"])
    matched = townhall(
        "verify", str(tmp_path / "record.jsonl"), "--selection", str(tmp_path / "selection.json")
    )
    assert matched.returncode == 0, matched.stdout
    forum = await forum_of(data, more)
    counted = results(forum)
    polls = {
        p["poll"]: {o["id"]: o["count"] for o in p["options"]}
        for p in json.loads(files["results.json"])["polls"]
    }
    assert polls == counted["polls"]
    rows = list(csv.DictReader(io.StringIO(files["posts.csv"].decode("utf-8-sig"))))
    assert PHONE_TEXT in {row["text"] for row in rows}
    secrets_kept = [stored_secret(more.get("redis_url") or "memory://", FORUM, data)]
    everything = b"".join(files.values())
    for secret in (*secrets_kept, *await participant_ids(data, more)):
        assert secret.encode() not in everything, "a secret or a participant id in the archive"

    # With the programme file it ran from, that file is kept as it is.
    kept = tmp_path / "kept.zip"
    done = townhall(
        "archive",
        *where(engine, data, more),
        "--forum",
        FORUM,
        "--programme",
        str(room),
        "-o",
        str(kept),
    )
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(kept) as archive:
        assert archive.read("programme.toml") == ROOM.encode()
        assert "programme.json" not in archive.namelist()


def test_archive_names_what_is_wrong(tmp_path: Path) -> None:
    out = tmp_path / "a.zip"
    unknown = townhall("archive", "--data-dir", str(tmp_path), "--forum", "nowhere", "-o", str(out))
    assert unknown.returncode == 1 and "nowhere.keys.json" in unknown.stderr
    assert "Traceback" not in unknown.stderr and not out.exists()
    missing = townhall("archive", "--data-dir", str(tmp_path), "--forum", "nowhere")
    assert missing.returncode == 2 and "-o FILE.zip" in missing.stderr


async def test_an_archive_leaves_no_copy_behind_and_names_a_torn_journal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await hold(data, {})
    taken = tmp_path / "taken"
    taken.mkdir()  # -o names a directory: the zip is made, then cannot take its place
    refused = townhall("archive", "--data-dir", str(data), "--forum", FORUM, "-o", str(taken))
    assert refused.returncode == 1 and f"{taken}: Is a directory" in refused.stderr
    assert "Traceback" not in refused.stderr
    left = sorted(await asyncio.to_thread(os.listdir, tmp_path))
    assert left == ["data", "taken"], "a copy of the posts was left behind"
    nowhere = tmp_path / "no-such-dir" / "forum.zip"
    refused = townhall("archive", "--data-dir", str(data), "--forum", FORUM, "-o", str(nowhere))
    assert refused.returncode == 1 and f"{nowhere}: No such file" in refused.stderr
    # A journal cut off mid-write (a crash): the archive says what its record leaves out.
    journal = data / f"{FORUM}.journal"
    await asyncio.to_thread(journal.write_bytes, journal.read_bytes() + b"\x87\xa1t\xa4post")
    out = tmp_path / "torn.zip"
    done = townhall("archive", "--data-dir", str(data), "--forum", FORUM, "-o", str(out))
    assert done.returncode == 0 and "the last record is torn" in done.stdout, done.stderr
    with zipfile.ZipFile(out) as archive:
        notes = json.loads(archive.read("manifest.json"))["notes"]
    assert any("the last record is torn" in note for note in notes)
