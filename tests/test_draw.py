"""`townhall draw`: every panel meets every quota, a seed always draws the same panel (in one
process and across two runs of the command), the commitment holds the organiser to the seed, bad
input and impossible quotas are refused in one line naming where, and nothing personal leaks."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from townhall.cli import main
from townhall.draw.pool import PERSONAL, public_sha256, read_pool, read_quotas
from townhall.draw.run import Lottery, prepare

AGES = ("20대", "30대", "40대", "50대", "60대 이상")
GENDERS = ("여성", "남성")
REGIONS = ("동부", "서부", "남부", "북부")
COLUMNS = ("id", "이름", "연령대", "성별", "지역", "전화", "email")
# For 50 seats from 500: 8 to 12 of each age band, 23 to 27 of each gender, 10 to 15 a region.
QUOTAS_50 = [
    *(("연령대", age, 8, 12) for age in AGES),
    *(("성별", gender, 23, 27) for gender in GENDERS),
    *(("지역", region, 10, 15) for region in REGIONS),
]
# For 12 seats from 60.
QUOTAS_12 = [
    *(("연령대", age, 1, 4) for age in AGES),
    *(("성별", gender, 5, 7) for gender in GENDERS),
    *(("지역", region, 2, 4) for region in REGIONS),
]
SEED = "our jury, drawn in public on the 3rd"


def applicant_rows(count: int, seed: int) -> list[dict[str, str]]:
    """`count` applicants with a name, phone and email each, and an age band, gender and region
    drawn with a fixed seed."""
    rng = random.Random(seed)
    return [
        {
            "id": f"A{n:04d}",
            "이름": f"홍길동{n:04d}",
            "연령대": rng.choice(AGES),
            "성별": rng.choice(GENDERS),
            "지역": rng.choice(REGIONS),
            "전화": f"010-5555-{n:04d}",
            "email": f"person{n:04d}@example.org",
        }
        for n in range(count)
    ]


def write_csv(path: Path, rows: Sequence[dict[str, str]], columns: Sequence[str] = COLUMNS) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as file:  # as a spreadsheet saves it
        writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_quotas(path: Path, quotas: Sequence[tuple[str, str, int, int]]) -> Path:
    lines = ["category,value,min,max", *(f"{c},{v},{lo},{hi}" for c, v, lo, hi in quotas)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def counts(lottery: Lottery, panel: Sequence[str]) -> Counter[tuple[str, str]]:
    chosen = set(panel)
    return Counter(
        (category, value)
        for a in lottery.pool.applicants
        if a.id in chosen
        for category, value in a.values.items()
    )


@pytest.fixture(scope="module")
def lottery_500(tmp_path_factory: pytest.TempPathFactory) -> Lottery:
    """50 seats from 500 applicants: the lottery computed once (the slow part, tens of seconds)."""
    where = tmp_path_factory.mktemp("draw500")
    applicants = write_csv(where / "applicants.csv", applicant_rows(500, seed=500))
    return prepare(applicants, write_quotas(where / "quotas.csv", QUOTAS_50), 50)


@pytest.mark.timeout(600)
def test_every_draw_meets_every_quota(lottery_500: Lottery) -> None:
    panels = set()
    for n in range(100):
        result = lottery_500.draw(f"seed {n}")
        assert len(result.panel) == len(set(result.panel)) == 50
        have = counts(lottery_500, result.panel)
        for category, value, low, high in QUOTAS_50:
            assert low <= have[category, value] <= high, (n, category, value)
        panels.add(result.panel)
    # The seed picks among the distribution's panels (maximin may need only a few), and a
    # hundred seeds reach more than one of them; every one of them meets every quota.
    assert panels <= set(lottery_500.distribution.panels)
    assert len(panels) > 1
    for panel in lottery_500.distribution.panels:
        have = counts(lottery_500, panel)
        assert all(low <= have[c, v] <= high for c, v, low, high in QUOTAS_50)

    report = lottery_500.draw(SEED).report
    chances = report["probabilities"]
    assert len(chances) == 500
    assert sum(chances.values()) == pytest.approx(50, abs=1e-3)  # the seats, spread
    assert min(chances.values()) > 0.05  # maximin: nobody is left with no real chance
    have = counts(lottery_500, report["panel"])
    for row in report["quotas"]:
        assert row["selected"] == have[row["category"], row["value"]]
        assert row["min"] <= row["selected"] <= row["max"]
    assert sum(row["pool"] for row in report["quotas"] if row["category"] == "성별") == 500


@pytest.mark.timeout(600)
def test_a_seed_draws_the_same_panel_and_leaves_random_alone(lottery_500: Lottery) -> None:
    random.seed(7)
    expected = random.random()
    random.seed(7)
    first = lottery_500.draw(SEED)
    assert random.random() == expected  # the library seeds `random`'s generator; it is restored
    assert lottery_500.draw(SEED) == first
    assert lottery_500.draw(SEED + ".").panel != first.panel


def townhall_draw(*args: str, hash_seed: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, "-m", "townhall", "draw", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=120,
        check=False,
    )


def test_an_observer_rerunning_the_draw_on_the_public_input_gets_the_same_panel(
    tmp_path: Path,
) -> None:
    """The organiser's run on the full file, then an observer's on the published one (personal
    columns removed, rows in another order), each in a process with its own string hashing:
    the same report, byte for byte."""
    rows = applicant_rows(60, seed=60)
    full = write_csv(tmp_path / "applicants.csv", rows)
    shuffled = random.Random(1).sample(rows, len(rows))
    public = write_csv(tmp_path / "public.csv", shuffled, ("성별", "id", "지역", "연령대"))
    quotas = write_quotas(tmp_path / "quotas.csv", QUOTAS_12)
    commitment = hashlib.sha256(SEED.encode()).hexdigest()
    runs = []
    for n, applicants in enumerate((full, public)):
        out, panel = tmp_path / f"report{n}.json", tmp_path / f"panel{n}.csv"
        done = townhall_draw(
            str(applicants),
            *("--quotas", str(quotas), "--seats", "12", "--seed", SEED),
            *("--commitment", commitment, "--out", str(out), "--panel", str(panel)),
            hash_seed=str(n + 1),
        )
        assert done.returncode == 0, done.stderr
        runs.append((out.read_bytes(), panel.read_bytes(), done.stdout))
    assert runs[0] == runs[1]

    report = json.loads(runs[0][0])
    assert report["commitment"] == commitment
    assert report["seed"] == SEED
    assert report["method"]["algorithm"] == "maximin"
    assert report["method"]["versions"]["sortition-algorithms"].startswith("0.12.")
    assert report["public_input"]["columns"] == ["id", "성별", "연령대", "지역"]
    assert len(report["panel"]) == 12
    assert report["panel"] == sorted(report["panel"])
    panel_rows = list(csv.DictReader(runs[0][1].decode("utf-8-sig").splitlines()))
    assert [row["id"] for row in panel_rows] == report["panel"]
    assert list(panel_rows[0]) == ["id", "성별", "연령대", "지역"]
    # Nothing personal anywhere: not a name, a phone, an email, nor their columns' names.
    everything = b"".join(runs[0][:2]).decode("utf-8") + runs[0][2]
    for row in rows:
        for column in ("이름", "전화", "email"):
            assert row[column] not in everything
    assert not {"이름", "전화", "email"} & set(report["public_input"]["columns"])


def test_the_public_input_hash_ignores_personal_columns_and_row_order(tmp_path: Path) -> None:
    rows = applicant_rows(30, seed=30)
    quotas = read_quotas(write_quotas(tmp_path / "quotas.csv", QUOTAS_12))
    full = read_pool(write_csv(tmp_path / "full.csv", rows), quotas)
    public = read_pool(
        write_csv(tmp_path / "public.csv", rows[::-1], ("id", "연령대", "성별", "지역")), quotas
    )
    assert public_sha256(full) == public_sha256(public)
    rows[3]["성별"] = "남성" if rows[3]["성별"] == "여성" else "여성"
    changed = read_pool(write_csv(tmp_path / "changed.csv", rows), quotas)
    assert public_sha256(changed) != public_sha256(full)


def draw_here(
    capsys: pytest.CaptureFixture[str], applicants: Path, quotas: Path, *more: str
) -> tuple[int, str]:
    status = main(["draw", str(applicants), "--quotas", str(quotas), "--seed", SEED, *more])
    captured = capsys.readouterr()
    assert captured.out == ""
    return status, captured.err


def test_a_seed_that_does_not_match_the_commitment_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = hashlib.sha256(b"another seed entirely").hexdigest()
    applicants = write_csv(tmp_path / "applicants.csv", applicant_rows(60, seed=60))
    quotas = write_quotas(tmp_path / "quotas.csv", QUOTAS_12)
    status, err = draw_here(capsys, applicants, quotas, "--seats", "12", "--commitment", other)
    assert status == 2
    assert err == f"townhall: --seed: does not match the published commitment {other}" + (
        f" (its commitment is {hashlib.sha256(SEED.encode()).hexdigest()})\n"
    )


def test_commit_prints_the_seeds_sha256_and_warns_of_a_short_seed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["draw", "--commit", SEED]) == 0
    captured = capsys.readouterr()
    assert captured.out == hashlib.sha256(SEED.encode()).hexdigest() + "\n"
    assert captured.err == ""
    assert main(["draw", "--commit", "1234"]) == 0
    captured = capsys.readouterr()
    assert captured.out == hashlib.sha256(b"1234").hexdigest() + "\n"
    assert "can be guessed" in captured.err


# Each: the change to the 60 applicants (row index, column, value) or to the quotas, the seats,
# and the one line that refuses it.
REFUSALS = [
    (
        (15, "연령대", "90대"),
        QUOTAS_12,
        12,
        "applicants.csv:17: column 연령대: value '90대' has no quota in quotas.csv",
    ),
    ((4, "id", "A0001"), QUOTAS_12, 12, "applicants.csv:6: id 'A0001' repeats line 3"),
    ((9, "지역", ""), QUOTAS_12, 12, "applicants.csv:11: column 지역: empty"),
    (
        None,
        [*QUOTAS_12, ("직업", "학생", 0, 2)],
        12,
        "quotas.csv:13: category '직업' is not a column of applicants.csv",
    ),
    (
        None,
        [("성별", "여성", 6, 5), ("성별", "남성", 5, 7)],
        12,
        "quotas.csv:2: 성별=여성: min 6 is more than max 5",
    ),
    (
        None,
        [*QUOTAS_12[:-1], ("지역", "동부", 0, 1)],
        12,
        "quotas.csv:12: 지역=동부 repeats line 9",
    ),
    (None, QUOTAS_12, 61, "applicants.csv: 61 seats but only 60 applicants"),
    (None, QUOTAS_12, 30, "quotas.csv: 성별 maximums add up to 14, fewer than 30 seats"),
    (None, QUOTAS_12, 4, "quotas.csv: 성별 minimums add up to 10, more than 4 seats"),
    (
        None,
        [("성별", "여성", 40, 50), ("성별", "남성", 0, 50)],
        45,
        "quotas.csv:2: 성별=여성 needs at least 40 but only 33 applicants have it",
    ),
    (
        None,
        [("성별", "여성", 0, 5), ("성별", "남성", 0, 50)],
        45,
        "quotas.csv: 성별 can fill at most 32 of 45 seats"
        " (its maximums, or its applicants where there are fewer)",
    ),
]


@pytest.mark.parametrize(("change", "quotas", "seats", "message"), REFUSALS)
def test_bad_input_is_refused_in_one_line_naming_where(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: tuple[int, str, str] | None,
    quotas: list[tuple[str, str, int, int]],
    seats: int,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # so the files are named as an organiser would name them
    rows = applicant_rows(60, seed=60)
    if change is not None:
        index, column, value = change
        rows[index][column] = value
    applicants = write_csv(Path("applicants.csv"), rows)
    status, err = draw_here(
        capsys, applicants, write_quotas(Path("quotas.csv"), quotas), "--seats", str(seats)
    )
    assert (status, err) == (2, f"townhall: {message}\n")


def test_quotas_no_panel_meets_together_are_refused_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each quota can be met alone, not together: every woman lives in the north, which has at
    most one seat, and three seats go to women. The solver finds it; the message names them."""
    monkeypatch.chdir(tmp_path)
    rows = [
        {"id": f"P{n}", "성별": "여성" if n < 5 else "남성", "지역": "북부" if n < 5 else "남부"}
        for n in range(10)
    ]
    applicants = write_csv(Path("applicants.csv"), rows, ("id", "성별", "지역"))
    quotas = write_quotas(
        Path("quotas.csv"),
        [
            ("성별", "여성", 3, 3),
            ("성별", "남성", 1, 1),
            ("지역", "북부", 0, 1),
            ("지역", "남부", 3, 4),
        ],
    )
    status, err = draw_here(capsys, applicants, quotas, "--seats", "4")
    assert status == 2
    assert err.startswith("townhall: quotas.csv: no panel of these applicants meets every quota")
    assert "성별=" in err or "지역=" in err
    assert err.count("\n") == 1


def test_without_the_library_the_draw_says_what_to_install(tmp_path: Path) -> None:
    blocked = (
        "import sys; sys.modules['sortition_algorithms'] = None;"
        "from townhall.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    args = ["draw", "a.csv", "--quotas", "q.csv", "--seats", "3", "--seed", SEED]
    done = subprocess.run(
        [sys.executable, "-c", blocked, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr == (
        "townhall: the draw needs the sortition-algorithms library: pip install 'townhall[draw]'\n"
    )


def test_the_default_personal_columns_include_korean_and_english_names() -> None:
    assert {"이름", "name", "전화", "phone", "이메일", "email", "주소", "address"} <= set(PERSONAL)


def test_the_public_input_digest_is_the_one_docs_draw_md_works_out(tmp_path: Path) -> None:
    """The worked example in docs/draw.md, checked against a hash of the canonical text written
    out by hand rather than through the code's own canonicaliser."""
    path = tmp_path / "applicants.csv"
    path.write_text(
        "id,이름,연령대,성별\nA2,박서준,30대,남성\nA1,김민지,20대,여성\n", encoding="utf-8"
    )
    quotas = tmp_path / "quotas.csv"
    quotas.write_text("category,value,min,max\n성별,여성,0,1\n성별,남성,0,1\n", encoding="utf-8")
    pool = read_pool(path, read_quotas(quotas))
    canonical = (
        '[{"id":"A1","성별":"여성","연령대":"20대"},{"id":"A2","성별":"남성","연령대":"30대"}]'
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert public_sha256(pool) == digest
    docs = Path(__file__).resolve().parent.parent / "docs" / "draw.md"
    assert f"`{digest}`" in docs.read_text(encoding="utf-8")


def test_the_library_is_fenced_in_lottery_py_and_the_draw_in_its_command() -> None:
    """Only townhall/draw/lottery.py imports sortition-algorithms, and nothing of the server
    imports the draw: a forum runs without the library."""
    import ast

    package = Path(__file__).resolve().parent.parent / "townhall"
    importers: dict[str, set[str]] = {"sortition_algorithms": set(), "townhall.draw": set()}
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                for fenced, found in importers.items():
                    if name == fenced or name.startswith(fenced + "."):
                        found.add(path.relative_to(package).as_posix())
    assert importers["sortition_algorithms"] == {"draw/lottery.py"}
    assert {p for p in importers["townhall.draw"] if not p.startswith("draw/")} == {"draw_cli.py"}
