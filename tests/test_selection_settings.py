"""The selection rule's settings in a programme, and candidates from a proposal board's CSV."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from tests.test_guards import townhall
from townhall.candidates import CandidateError, made_id, parse_candidates
from townhall.cli import main
from townhall.ids import ID_PATTERN
from townhall.model.scorer import Candidate, Conversion
from townhall.programme import ProgrammeError, load_programme, parse_programme

ROOMS = Path(__file__).resolve().parent.parent / "rooms"

HEAD = """\
[forum]
title = "Selection"

[[items]]
id = "vote"
kind = "poll"
title = "Candidates"
options = [{ id = "a", label = "A" }, { id = "b", label = "B" }]

[selection]
poll = "vote"
"""


def test_the_shipped_room_states_the_seeds_rule() -> None:
    selection = load_programme(ROOMS / "small-library-open-forum.toml").selection
    assert selection is not None
    assert selection.poll == "candidate-vote"
    assert dict(selection.rule.weights) == {"agreement": 25, "live_vote": 25, "committee": 50}
    assert selection.rule.conversion is Conversion.TOP
    assert selection.rule.rubric[4] == "실현가능성이 높은가?"
    assert [c.agreements for c in selection.candidates] == [42, 35, 28]
    assert len(selection.committee) == 5


def test_candidates_inline() -> None:
    text = (
        HEAD
        + """committee = ["kim"]
[[selection.candidates]]
id = "a"
title = "Proposal A"
agreements = 7

[[selection.candidates]]
id = "b"
title = "Proposal B"
"""
    )
    selection = parse_programme(text, source="s.toml").selection
    assert selection is not None
    assert selection.candidates == (
        Candidate("a", "Proposal A", 7),
        Candidate("b", "Proposal B", 0),
    )
    assert selection.committee == ("kim",)


@pytest.mark.parametrize(
    ("extra", "line", "field", "reason"),
    [
        (
            "weights = { agreement = 30, live_vote = 30, committee = 50 }\n"
            'candidates_csv = "c.csv"\n',
            12,
            "selection.weights",
            "weights must add up to 100, not 110",
        ),
        (
            'conversion = "most"\ncandidates_csv = "c.csv"\n',
            12,
            "selection.conversion",
            "must be top or share",
        ),
        (
            'committee = ["Kim Lee"]\ncandidates_csv = "c.csv"\n',
            12,
            "selection.committee",
            "unique member ids",
        ),
        ("", 10, "selection", "give either [[selection.candidates]] or candidates_csv"),
    ],
)
def test_bad_settings_name_line_and_field(
    tmp_path: Path, extra: str, line: int, field: str, reason: str
) -> None:
    (tmp_path / "c.csv").write_text("id,title,agreements\na,A,1\nb,B,2\n", encoding="utf-8")
    with pytest.raises(ProgrammeError) as error:
        parse_programme(HEAD + extra, source="s.toml", base=tmp_path)
    assert (error.value.line, error.value.field) == (line, field)
    assert reason in error.value.reason


def test_candidates_must_be_the_polls_options(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,title,agreements\na,A,1\nc,C,2\n", encoding="utf-8")
    with pytest.raises(ProgrammeError) as error:
        parse_programme(HEAD + 'candidates_csv = "c.csv"\n', source="s.toml", base=tmp_path)
    assert error.value.reason == (
        "the candidates must be the poll's options; not among the candidates: 'b';"
        " not among the poll's options: 'c' (C)"
    )


def test_a_bad_csv_row_is_named_by_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("id,title,agreements\na,A,1\nb,B,lots\n", encoding="utf-8")
    with pytest.raises(ProgrammeError) as error:
        parse_programme(HEAD + 'candidates_csv = "c.csv"\n', source="s.toml", base=tmp_path)
    assert (
        str(error.value)
        == f"{tmp_path / 'c.csv'}:3: agreements 'lots' is not a whole number from 0 to 10000000"
    )


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", None, "empty"),
        ("id,title\na,A\n", 1, "missing agreements"),
        ("id,title,agreements\nA B,x,1\n", 2, "must be a-z"),
        ("id,title,agreements\na,x,1\n\na,y,2\n", 4, "appears twice"),
        ("id,title,agreements\na,,1\n", 2, "title must be"),
        ("id,title,agreements\na,x,-3\n", 2, "not a whole number"),
        ("id,title,agreements\na,x\n", 2, "2 columns where the header has 3"),
        ("id,title,agreements\na,x,10000001\n", 2, "not a whole number from 0 to 10000000"),
        (
            "title,agreements,동의 수\nx,1,2\n",
            1,
            "two agreements columns: 'agreements' and '동의 수'",
        ),
        ("제목,Title,공감\nx,y,1\n", 1, "two title columns: '제목' and 'Title'"),
        ("아이디,번호,공감 수\nkim,1,3\n", 1, "missing title"),
        ("id,title,agreements\n", None, "no candidates"),
    ],
)
def test_csv_rows_are_checked(text: str, line: int | None, reason: str) -> None:
    with pytest.raises(CandidateError) as error:
        parse_candidates(text, source="board.csv")
    assert error.value.line == line
    assert reason in error.value.reason


def test_csv_columns_in_any_order_and_quoted_cells() -> None:
    text = 'Agreements,ID,Title\n12,night,"Night, with a comma"\n'
    assert parse_candidates(text, source="x.csv") == [Candidate("night", "Night, with a comma", 12)]


def test_check_reports_the_selection(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOMS / "small-library-open-forum.toml")]) == 0
    assert "selection: 3 candidates, 5 committee members" in capsys.readouterr().out


@pytest.mark.parametrize(
    "header",
    [
        "제목,공감 수",
        "제목,공감수",
        "제목,동의 수",
        "제목,동의수",
        "제목,공감",
        "\ufeff제목 , 공 감 수 ",
        "작성자 아이디,번호,TITLE,Agreements",
    ],
)
def test_a_proposal_boards_korean_headers_are_read_and_ids_made_from_titles(header: str) -> None:
    pad = "kim,7," if "아이디" in header else ""
    rows = ["주 1회 밤의 도서관,42", "Book swap: 골목 책 교환,35", "Kids' readers!,28"]
    text = "\n".join([header, *(pad + row for row in rows)]) + "\n"
    assert parse_candidates(text, source="mix.csv") == [
        Candidate("c-31412201", "주 1회 밤의 도서관", 42),
        Candidate("c-9fd5b876", "Book swap: 골목 책 교환", 35),  # not all ASCII: hashed
        Candidate("kids-readers", "Kids' readers!", 28),
    ]


def test_made_ids_stay_with_their_titles_and_are_unique_in_the_file() -> None:
    rows = ["주 1회 밤의 도서관,42", "골목 책 교환 선반,35", "Night library,3", "night library?,2"]
    text = "제목,공감 수\n" + "\n".join(rows) + "\n"
    ids = {c.title: c.id for c in parse_candidates(text, source="mix.csv")}
    assert ids == {
        "주 1회 밤의 도서관": "c-31412201",
        "골목 책 교환 선반": "c-e40778d0",
        "Night library": "night-library",
        "night library?": "night-library-2",
    }
    assert all(ID_PATTERN.match(cid) for cid in ids.values())
    # A title saved decomposed (NFD, as macOS may) is the same title.
    assert made_id(unicodedata.normalize("NFD", "주 1회 밤의 도서관")) == "c-31412201"
    # Exported again in another order: each title keeps its id.
    shuffled = "제목,공감 수\n" + "\n".join([rows[1], rows[0]]) + "\n"
    assert {c.title: c.id for c in parse_candidates(shuffled, source="mix.csv")} == {
        t: ids[t] for t in ("주 1회 밤의 도서관", "골목 책 교환 선반")
    }
    # The same title twice, and an id cut to 40 characters still unique.
    long = "a" * 45
    text = f"title,agreements\n{long},1\n{long},2\n밤,1\n밤,2\n"
    assert [c.id for c in parse_candidates(text, source="x.csv")] == [
        "a" * 40,
        "a" * 38 + "-2",
        "c-da9e5304",
        "c-da9e5304-2",
    ]


def test_made_ids_are_the_poll_options_and_a_mismatch_names_each_with_its_title(
    tmp_path: Path,
) -> None:
    (tmp_path / "c.csv").write_text(
        "제목,공감 수\n주 1회 밤의 도서관,42\nBook swap,3\n", encoding="utf-8"
    )
    with pytest.raises(ProgrammeError) as error:
        parse_programme(HEAD + 'candidates_csv = "c.csv"\n', source="s.toml", base=tmp_path)
    assert error.value.reason == (
        "the candidates must be the poll's options; not among the candidates: 'a', 'b';"
        " not among the poll's options: 'c-31412201' (주 1회 밤의 도서관), 'book-swap' (Book swap)"
    )
    options = '[{ id = "c-31412201", label = "밤" }, { id = "book-swap", label = "책" }]'
    text = HEAD.replace(HEAD[HEAD.index("[{") : HEAD.index("}]") + 2], options)
    selection = parse_programme(
        text + 'candidates_csv = "c.csv"\n', source="s.toml", base=tmp_path
    ).selection
    assert selection is not None
    assert [c.id for c in selection.candidates] == ["c-31412201", "book-swap"]


@pytest.mark.parametrize("count", ["²", "٣", "３", "4２", "五"])
def test_counts_in_other_digits_are_refused_with_their_line(count: str) -> None:
    with pytest.raises(CandidateError) as error:
        parse_candidates(f"제목,공감 수\nA,1\n\nB,{count}\n", source="mix.csv")
    assert str(error.value) == (
        f"mix.csv:4: agreements {count!r} is not a whole number from 0 to 10000000;"
        " write it with the digits 0-9"
    )


def test_a_count_too_long_for_int_is_refused_not_a_traceback() -> None:
    with pytest.raises(CandidateError) as error:
        parse_candidates("title,agreements\nA," + "1" * 5000 + "\n", source="x.csv")
    assert str(error.value) == (
        "x.csv:2: agreements '11111111111111111111…' is not a whole number from 0 to 10000000"
    )


def test_check_says_a_count_in_other_digits_on_one_line(tmp_path: Path) -> None:
    room = tmp_path / "room.toml"
    room.write_text(HEAD + 'candidates_csv = "c.csv"\n', encoding="utf-8")
    (tmp_path / "c.csv").write_text("id,title,agreements\na,A,1\nb,B,²\n", encoding="utf-8")
    result = townhall("check", str(room))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"{tmp_path / 'c.csv'}:3: agreements '²' is not a whole number from 0 to 10000000;"
        " write it with the digits 0-9\n"
    )
