"""From the draw to the forum: `townhall draw --codes` makes the panel's ballot codes, a card
per juror with their applicant id, and puts the draw's report into the forum's public record,
where `townhall verify` checks it against its commitment and quotas."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.jury_room import ROOM
from tests.test_draw import QUOTAS_12, SEED, applicant_rows, write_csv, write_quotas
from townhall.cli import main
from townhall.codes.book import CodeBook
from townhall.engine import open_engine
from townhall.programme import ProgrammeError, load_programme
from townhall.record.verify import verify
from townhall.record.writer import write_record


async def record_of(room: Path, data: Path) -> Path:
    """The record of a forum started once on `room`'s programme."""
    engine = open_engine("memory://", load_programme(room), data)
    await engine.start()
    record = b"".join([chunk async for chunk in write_record(engine.read_log, "a secret")])
    await engine.close()
    path = data / "record.jsonl"
    path.write_bytes(record)
    return path


async def test_the_panel_becomes_jury_codes_and_the_draw_goes_into_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = tmp_path / "jury.toml"
    room.write_text(ROOM.format(mode="codes", extra=""), encoding="utf-8")
    applicants = write_csv(tmp_path / "applicants.csv", applicant_rows(60, seed=60))
    quotas = write_quotas(tmp_path / "quotas.csv", QUOTAS_12)
    status = main(
        [
            *("draw", str(applicants), "--quotas", str(quotas), "--seats", "12"),
            *("--seed", SEED, "--commitment", hashlib.sha256(SEED.encode()).hexdigest()),
            *("--codes", str(room), "--public-url", "https://forum.example.org"),
        ]
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "made 12 jury codes, cards No. 1 to 12" in out
    report_text = (tmp_path / "jury-forum.draw.json").read_text(encoding="utf-8")
    report = json.loads(report_text)
    assert len(report["panel"]) == 12
    assert CodeBook(tmp_path / "jury-forum.codes.jsonl").issued() == {"jury": 12}
    cards = (tmp_path / "jury-forum-jury-cards-1-12.html").read_text(encoding="utf-8")
    assert re.findall(r'<p class="for">(A\d{4})</p>', cards) == report["panel"]

    programme = load_programme(room)
    assert programme.draw is not None and programme.draw["panel"] == report["panel"]
    data = tmp_path / "data"
    data.mkdir()
    path = await record_of(room, data)
    started = json.loads(path.read_text(encoding="utf-8").splitlines()[1])
    stated = started["programme"]["draw"]
    assert (stated["seed"], stated["panel"]) == (SEED, report["panel"])
    assert all(isinstance(p, str) for p in stated["probabilities"].values()), "no floats"
    checked = verify(path)
    assert checked.ok, checked.problems
    assert any(
        "jury draws checked against their commitment and quotas: 1" in s for s in checked.summary()
    )

    # A report changed after the draw (a quota's count, the seed) is stated as it is, and caught.
    report["quotas"][0]["selected"] = report["quotas"][0]["max"] + 1
    report["seed"] = "another seed"
    (tmp_path / "jury-forum.draw.json").write_text(json.dumps(report), encoding="utf-8")
    (data / "jury-forum.journal").unlink()
    problems = [p.message for p in verify(await record_of(room, data)).problems]
    assert any("is not the published commitment" in p for p in problems)
    assert any("outside its quota" in p for p in problems)

    # A juror swapped for someone who did not apply, within the seats and quotas, and a chance
    # raised: the report's own chances show both.
    report = json.loads(report_text)
    report["panel"] = sorted([*report["panel"][1:], "Z9999"])
    first = min(report["probabilities"])
    report["probabilities"][first] = 1.0
    (tmp_path / "jury-forum.draw.json").write_text(json.dumps(report), encoding="utf-8")
    (data / "jury-forum.journal").unlink()
    problems = [p.message for p in verify(await record_of(room, data)).problems]
    assert any("on the panel but not an applicant: Z9999" in p for p in problems)
    assert any("the chances add up to" in p for p in problems)


def test_a_draw_report_that_is_not_one_is_refused_with_the_programme(tmp_path: Path) -> None:
    room = tmp_path / "jury.toml"
    room.write_text(ROOM.format(mode="codes", extra=""), encoding="utf-8")
    (tmp_path / "jury-forum.draw.json").write_text('{"format": "something else"}')
    with pytest.raises(ProgrammeError, match="not a draw report"):
        load_programme(room)


URL = ["--public-url", "https://forum.example.org"]


@pytest.mark.parametrize(
    ("room_text", "extra", "reason"),
    [
        (ROOM.format(mode="codes", extra=""), [], "--public-url: give the address"),
        (
            ROOM.format(mode="open", extra="").replace('voters = ["jury"]\n', ""),
            URL,
            "eligibility.mode: the forum is open",
        ),
        (ROOM.format(mode="codes", extra="").replace('code = "JURY"', ""), URL, "forum.code"),
        (ROOM.format(mode="codes", extra=""), [*URL, "--group", "press"], "eligibility.groups"),
    ],
)
def test_codes_that_cannot_be_made_are_refused_before_the_draw(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    room_text: str,
    extra: list[str],
    reason: str,
) -> None:
    """The lottery takes minutes with hundreds of applicants: a room or address that can't take
    the codes is refused first, not after the organiser has waited for the draw."""
    import townhall.draw.run

    def no_draw(*args: object, **kwargs: object) -> None:
        raise AssertionError("drew before checking --codes")

    monkeypatch.setattr(townhall.draw.run, "run_draw", no_draw)
    monkeypatch.delenv("TOWNHALL_PUBLIC_URL", raising=False)
    room = tmp_path / "jury.toml"
    room.write_text(room_text, encoding="utf-8")
    applicants = write_csv(tmp_path / "applicants.csv", applicant_rows(60, seed=60))
    quotas = write_quotas(tmp_path / "quotas.csv", QUOTAS_12)
    status = main(
        [
            *("draw", str(applicants), "--quotas", str(quotas), "--seats", "12"),
            *("--seed", SEED, "--codes", str(room), *extra),
        ]
    )
    captured = capsys.readouterr()
    assert status == 2 and captured.out == ""
    [line] = captured.err.splitlines()
    assert reason in line


def test_a_second_draw_into_the_same_forum_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run twice, `--codes` made a second set of jury codes beside the first (both valid: 24
    jury cards for 12 seats) and replaced the report the record states with the second draw's."""
    room = tmp_path / "jury.toml"
    room.write_text(ROOM.format(mode="codes", extra=""), encoding="utf-8")
    applicants = write_csv(tmp_path / "applicants.csv", applicant_rows(60, seed=60))
    quotas = write_quotas(tmp_path / "quotas.csv", QUOTAS_12)

    def draw(seed: str, group: str = "jury") -> int:
        return main(
            [
                *("draw", str(applicants), "--quotas", str(quotas), "--seats", "12"),
                *("--seed", seed, "--codes", str(room), *URL, "--group", group),
            ]
        )

    assert draw(SEED) == 0
    report = (tmp_path / "jury-forum.draw.json").read_text(encoding="utf-8")
    capsys.readouterr()
    assert draw("another seed, drawn again") == 2
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert "jury-forum.draw.json: this forum has a draw already" in line
    assert captured.out == ""
    assert CodeBook(tmp_path / "jury-forum.codes.jsonl").issued() == {"jury": 12}
    assert (tmp_path / "jury-forum.draw.json").read_text(encoding="utf-8") == report

    # Jury codes made by hand first, then a draw: the panel's would come beside them.
    (tmp_path / "jury-forum.draw.json").unlink()
    assert draw(SEED) == 2
    assert "holds 12 jury codes already" in capsys.readouterr().err
