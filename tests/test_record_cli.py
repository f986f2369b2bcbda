"""`townhall record` and `townhall verify` as commands: a closed standard output ends them
quietly, and a journal's torn last record is named rather than silently left out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import msgpack

from tests import record_builder as build
from tests.conftest import serve
from tests.test_record import FORUM, ROOM, hold_a_forum
from townhall.programme import parse_programme
from townhall.record.verify import verify


def townhall(*args: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "townhall", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
    )


def with_stdout_closed(*args: str) -> subprocess.CompletedProcess[str]:
    """The command with its standard output a pipe no one reads any more, as `| head -2`
    leaves it once head has its lines: every write to it fails."""
    read, write = os.pipe()
    os.close(read)
    try:
        return townhall(*args, stdout=write)
    finally:
        os.close(write)


async def held_forum(data_dir: Path) -> Path:
    """A whole forum held on the embedded engine in `data_dir`; its journal."""
    async with serve(parse_programme(ROOM, source="record.toml"), data_dir) as (held, _):
        await hold_a_forum(held)
    return data_dir / f"{FORUM}.journal"


def test_verify_ends_quietly_when_its_output_is_closed(tmp_path: Path) -> None:
    lines = build.forum()
    for line in lines[2:]:
        line["at"] = -1  # a problem on every line: far more output than a pipe's buffer
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(build.jsonl(lines))
    good = tmp_path / "good.jsonl"
    good.write_bytes(build.jsonl(build.forum()))
    assert townhall("verify", str(bad)).stdout.count("\n") == len(lines) - 2
    for path, status in ((bad, 1), (good, 1)):
        done = with_stdout_closed("verify", str(path))
        assert (done.returncode, done.stderr) == (status, "")


async def test_record_ends_quietly_when_its_output_is_closed(tmp_path: Path) -> None:
    await held_forum(tmp_path)
    whole = townhall("record", "--data-dir", str(tmp_path), "--forum", FORUM)
    assert whole.returncode == 0 and whole.stderr == ""
    done = with_stdout_closed("record", "--data-dir", str(tmp_path), "--forum", FORUM)
    assert (done.returncode, done.stderr) == (1, "")


async def test_record_warns_of_a_torn_last_record_in_the_journal(tmp_path: Path) -> None:
    journal = await held_forum(tmp_path)
    out = tmp_path / "record.jsonl"
    where = ("record", "--data-dir", str(tmp_path), "--forum", FORUM, "-o", str(out))
    done = townhall(*where)
    assert (done.returncode, done.stderr) == (0, "")
    whole = out.read_bytes()
    events = whole.count(b"\n") - 1
    torn_at = journal.stat().st_size
    record = msgpack.packb({"t": "poll_opened", "poll": "vote", "seq": events + 1, "at": 1})
    with journal.open("ab") as f:
        f.write(record[: len(record) // 2])  # a crash halfway through writing it
    done = townhall(*where)
    assert done.returncode == 0
    [warning] = done.stderr.splitlines()
    assert warning.startswith(f"townhall: warning: {journal}: the last record is torn")
    assert f"from byte {torn_at} on" in warning
    assert out.read_bytes() == whole  # the record up to the torn one, all the same
    assert verify(out).ok
    assert json.loads(whole.splitlines()[-1])["seq"] == events
