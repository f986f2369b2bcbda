"""Guards on the public record: one server per forum's data dir, a damaged journal refused with
where it is damaged, and CSV exports that spreadsheet programs read as UTF-8."""

from __future__ import annotations

import codecs
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_ROOM, Live, free_socket
from tests.processes import ServerProcess
from tests.test_live_vote_and_score import ROOM, vote_and_close
from townhall import score_cli
from townhall.candidates import load_candidates
from townhall.engine import open_engine
from townhall.engine.journal import Journal
from townhall.export import to_csv
from townhall.programme import load_programme


def townhall(*args: str) -> subprocess.CompletedProcess[str]:
    """One `python -m townhall …` run to completion, as an organiser would run it."""
    return subprocess.run(
        [sys.executable, "-m", "townhall", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def free_port() -> str:
    with free_socket() as sock:
        return str(sock.getsockname()[1])


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    room = tmp_path / "test-room.toml"
    room.write_text(TEST_ROOM, encoding="utf-8")
    process = ServerProcess(room, tmp_path / "data")
    try:
        yield process
    finally:
        process.stop()


async def test_a_second_server_on_a_data_dir_is_refused_naming_the_process_that_holds_it(
    server: ServerProcess,
) -> None:
    await server.start()
    assert server.process is not None
    first = server.process.pid
    port = free_port()  # were it not refused, it would serve there
    second = townhall(
        "serve", str(server.room), "--host", "127.0.0.1", "--port", port,
        "--data-dir", str(server.data_dir),
    )  # fmt: skip
    assert second.returncode == 1
    assert f"townhall: data dir {server.data_dir} is in use: process {first} " in second.stderr
    assert "is serving forum 'test-forum' from it" in second.stderr
    assert "Traceback" not in second.stderr + second.stdout
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{server.url}/healthz")).json()["pid"] == first

    # kill -9 leaves the lock file naming a dead process; the kernel has dropped the lock.
    server.kill()
    lock = server.data_dir / "test-forum.lock"
    assert json.loads(lock.read_text(encoding="utf-8"))["pid"] == first
    await server.start()
    assert server.process.pid != first
    assert json.loads(lock.read_text(encoding="utf-8"))["pid"] == server.process.pid


def test_several_workers_without_redis_are_refused_before_any_starts(tmp_path: Path) -> None:
    room = tmp_path / "test-room.toml"
    room.write_text(TEST_ROOM, encoding="utf-8")
    result = townhall("serve", str(room), "--workers", "2", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "several workers share a forum only through Redis" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
async def journal(tmp_path: Path) -> tuple[Path, Path, list[tuple[int, bytes]]]:
    """A scored forum's room, its journal after its server_started and six events, and the
    journal's records as (byte offset, bytes): the header, then events 1 to 7."""
    room = tmp_path / "scored.toml"
    room.write_text(ROOM, encoding="utf-8")
    engine = open_engine("memory://", load_programme(room), tmp_path)
    await engine.start()
    await vote_and_close(engine, ["a", "a", "b"], "v")
    await engine.close()
    path = tmp_path / "scored.journal"
    data = path.read_bytes()
    offsets = [offset for offset, _ in Journal(path).entries()]
    ends = [*offsets[1:], len(data)]
    assert len(offsets) == 8
    return room, path, [(o, data[o:end]) for o, end in zip(offsets, ends, strict=True)]


def refusals(room: Path, data_dir: Path) -> tuple[str, str]:
    """What `townhall serve` and `townhall score` say about the forum's journal; both fail."""
    served = townhall("serve", str(room), "--port", free_port(), "--data-dir", str(data_dir))
    scored = townhall("score", str(room), "--data-dir", str(data_dir))
    for result in (served, scored):
        assert result.returncode == 1, result
        assert "Traceback" not in result.stderr + result.stdout
    return served.stderr, scored.stderr


def test_a_journal_with_a_gap_is_refused_naming_file_byte_and_events(
    journal: tuple[Path, Path, list[tuple[int, bytes]]],
) -> None:
    room, path, records = journal
    without_2 = [r for n, (_, r) in enumerate(records) if n != 2]
    path.write_bytes(b"".join(without_2))
    where = records[2][0]  # event 3 now starts where event 2 did
    message = f"townhall: {path}: byte {where}: event 3 follows 1; log has a gap"
    served, scored = refusals(room, path.parent)
    assert message in served
    assert message in scored


def test_two_servers_numbering_alike_are_refused_as_going_back(
    journal: tuple[Path, Path, list[tuple[int, bytes]]],
) -> None:
    room, path, records = journal
    path.write_bytes(b"".join(r for _, r in records) + records[5][1])
    message = f"townhall: {path}: byte {path.stat().st_size - len(records[5][1])}: event 5"
    served, scored = refusals(room, path.parent)
    assert f"{message} follows 7; log goes back" in served
    assert f"{message} follows 7; log goes back" in scored


DAMAGE: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    # 0xc1 is no msgpack type at all.
    "unreadable byte": (lambda record: b"\xc1" + record[1:], "not msgpack"),
    # A record missing its end misreads the records after it.
    "record cut short": (lambda record: record[:-4], "can't decode"),
    # A 64 KiB string, longer than the rest of the file: reading stops at the end of the file,
    # as with a torn last record, but whole records follow the damage.
    "length past the end": (
        lambda record: b"\xdb\x00\x00\xff\xff" + record[5:],
        "with more records after it (from byte",
    ),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_record_in_the_middle_is_refused_and_not_cut_off_as_torn(
    journal: tuple[Path, Path, list[tuple[int, bytes]]], damage: str
) -> None:
    room, path, records = journal
    offset, third = records[3]
    damaged, reason = DAMAGE[damage]
    before = b"".join(r for _, r in records[:3])
    path.write_bytes(before + damaged(third) + b"".join(r for _, r in records[4:]))
    written = path.read_bytes()
    served, scored = refusals(room, path.parent)
    message = f"townhall: {path}: byte {offset}: unreadable record after event 2"
    assert message in served and message in scored
    assert reason in served
    assert path.read_bytes() == written, "nothing after the damage was cut off"


async def test_a_torn_last_record_is_still_cut_off_and_the_forum_served(
    journal: tuple[Path, Path, list[tuple[int, bytes]]],
) -> None:
    room, path, records = journal
    path.write_bytes(b"".join(r for _, r in records[:-1]) + records[-1][1][:-3])
    score = townhall("score", str(room), "--data-dir", str(path.parent), "--json")
    assert score.returncode == 1 and "has not been closed yet" in score.stderr
    assert path.stat().st_size == records[-1][0] + len(records[-1][1]) - 3, "score writes nothing"
    engine = open_engine("memory://", load_programme(room), path.parent)
    await engine.start()
    assert engine.forum.seq == 7  # six kept, and this start's server_started
    await engine.close()
    # The torn record is cut off: this start's server_started begins where it began.
    assert [offset for offset, _ in Journal(path).entries()][-1] == records[-1][0]


def test_to_csv_starts_with_a_byte_order_mark() -> None:
    text = to_csv([{"member": "김", "candidate": "a"}], ["member", "candidate"])
    assert text.encode().startswith(codecs.BOM_UTF8)
    assert text.encode().decode("utf-8-sig") == "member,candidate\r\n김,a\r\n"


async def test_the_posts_export_is_utf8_with_a_byte_order_mark(live: Live) -> None:
    phone, _ = await live.phone()
    assert (await phone.call("post", {"board": "qna", "text": "도서관은 몇 시까지?", "op": "p"}))[
        "ok"
    ]
    async with httpx.AsyncClient(base_url=live.url) as http:
        response = await http.get(
            f"/export/{live.code}/posts.csv", headers={"Authorization": f"Bearer {live.host_key}"}
        )
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(codecs.BOM_UTF8 + b"board,")
    assert "도서관은 몇 시까지?".encode() in response.content


@pytest.mark.parametrize("bom", [b"", codecs.BOM_UTF8], ids=["without BOM", "with BOM"])
async def test_our_readers_take_csv_with_or_without_a_byte_order_mark(
    journal: tuple[Path, Path, list[tuple[int, bytes]]], tmp_path: Path, bom: bytes
) -> None:
    room, path, _ = journal
    sheet = tmp_path / "committee.csv"
    sheet.write_bytes(bom + b"member,candidate,q1,q2\r\nkim,a,5,4\r\nlee,b,3,\r\n")
    table = score_cli.forum_result(room, path.parent, sheet)
    assert table["committee_scores"] == {"kim": {"a": {"1": 5, "2": 4}}, "lee": {"b": {"1": 3}}}
    candidates = tmp_path / "board.csv"
    candidates.write_bytes(bom + "id,title,agreements\r\nnight,밤의 도서관,42\r\n".encode())
    assert [(c.id, c.title, c.agreements) for c in load_candidates(candidates)] == [
        ("night", "밤의 도서관", 42)
    ]
