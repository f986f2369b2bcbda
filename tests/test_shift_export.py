"""The opinion shift over a real server on both engines: phones vote in the pre-vote and the
final vote, the host shows the shift, the projector and phones get it, the exports give every
figure behind the host key (and only pseudonymous counts), and the server's record verifies."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Client, Live, serve
from tests.test_shift import ROOM
from townhall.programme import parse_programme
from townhall.record.verify import verify

ENGINES = ["memory", "redis"]
# By hand, 23 phones: p0-p4 a>a, p5 a>b, p6-p8 a>c, p9-p11 b>a, p12-p15 b>b, p16 c>b,
# p17-p20 c>c; p21 only the pre-vote (c), p22 only the final (a). Each poll's tally:
# pre a 9, b 7, c 6; final a 9, b 6, c 7.
MOVES = ["aa"] * 5 + ["ab"] + ["ac"] * 3 + ["ba"] * 3 + ["bb"] * 4 + ["cb"] + ["cc"] * 4
PRE = {n: move[0] for n, move in enumerate([*MOVES, "c"])}
FINAL = {n: move[1] for n, move in enumerate(MOVES)} | {len(MOVES) + 1: "a"}


async def hold_both_votes(live: Live) -> list[Client]:
    host = await live.host()
    phones = [(await live.phone())[0] for _ in range(len(MOVES) + 2)]
    for poll, choices in (("pre", PRE), ("final", FINAL)):
        assert (await host.call("poll_open", {"poll": poll}))["ok"]
        for n, choice in choices.items():
            ack = await phones[n].call("vote", {"poll": poll, "choices": [choice], "op": poll})
            assert ack["ok"], ack
        assert (await host.call("poll_close", {"poll": poll}))["ok"]
    return [host, *phones]


@pytest.mark.parametrize("engine", ENGINES)
async def test_shown_exported_and_on_record(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    more = {} if engine == "memory" else {"redis_url": request.getfixturevalue("redis_url")}
    async with serve(parse_programme(ROOM, source="battle.toml"), tmp_path, **more) as (
        townhall,
        url,
    ):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            await check_the_forum(live, tmp_path)
        finally:
            await live.close_clients()


async def check_the_forum(live: Live, tmp_path: Path) -> None:
    host, *phones = await hold_both_votes(live)
    screen = await live.screen()
    refused = await phones[0].call("shift_show", {"poll": "final"})
    assert refused["error"]["code"] == "forbidden"
    ack = await host.call("shift_show", {"poll": "final"})
    assert ack == {"ok": True, "seq": live.forum.seq}

    def shown(state: dict[str, Any]) -> bool:
        return bool(state.get("shift", {}).get("final", {}).get("visible"))

    for client in (screen, phones[0]):
        state = await client.wait_for("state", shown, "the shift shown")
        everyone = state["shift"]["final"]["figures"]["everyone"]
        # 21 in both, 8 changed their mind; a>b and c>b, each one person, are hidden in the
        # room, and so is c>a (0): with it shown, the tallies would give c>b away.
        assert (everyone["both"], everyone["changed"], everyone["changed_percent"]) == (21, 8, 38.1)
        cells = {c["pre"] + c["final"]: c["people"] for c in everyone["cells"]}
        assert cells == {
            "aa": 5, "ab": None, "ac": 3,
            "ba": 3, "bb": 4, "bc": 0,
            "ca": None, "cb": None, "cc": 4,
        }  # fmt: skip
        assert everyone["net"] is None  # with the tallies, it would give the one who left away
        assert "public" not in state["shift"]["final"]

    async with httpx.AsyncClient(base_url=live.url) as http:
        for path in ("shift.json", "shift.csv"):
            assert (await http.get(f"/export/{live.code}/{path}")).status_code == 401
            wrong = {"Authorization": "Bearer not-the-key"}
            assert (await http.get(f"/export/{live.code}/{path}", headers=wrong)).status_code == 401
        key = {"Authorization": f"Bearer {live.host_key}"}
        assert (await http.get("/export/NOSUCH/shift.json", headers=key)).status_code == 404
        as_json = await http.get(f"/export/{live.code}/shift.json", headers=key)
        as_csv = await http.get(f"/export/{live.code}/shift.csv", headers=key)
        record = await http.get(f"/export/{live.code}/record.jsonl", headers=key)
    assert as_json.status_code == as_csv.status_code == record.status_code == 200
    assert 'filename="' in as_csv.headers["content-disposition"]

    [pair] = as_json.json()["comparisons"]
    assert (pair["poll"], pair["compare_to"], pair["polls_closed"], pair["shown"]) == (
        "final",
        "pre",
        True,
        True,
    )
    everyone = pair["everyone"]  # the whole figures: nothing hidden in the export
    assert {c["pre"] + c["final"]: c["people"] for c in everyone["cells"] if c["people"]} == {
        "aa": 5,
        "ab": 1,
        "ac": 3,
        "ba": 3,
        "bb": 4,
        "cb": 1,
        "cc": 4,
    }
    assert (everyone["only_pre"], everyone["only_final"]) == (1, 1)
    # Pre a9 b7 c5, final a8 b6 c7 among the 21: a -1, b -1, c +2.
    assert [(e["option"], e["net"]) for e in everyone["net"]] == [("a", -1), ("b", -1), ("c", 2)]
    assert pair["cells"] == [
        ["", "", "a", 1],
        ["", "a", "a", 5],
        ["", "a", "b", 1],
        ["", "a", "c", 3],
        ["", "b", "a", 3],
        ["", "b", "b", 4],
        ["", "c", "", 1],
        ["", "c", "b", 1],
        ["", "c", "c", 4],
    ]

    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert list(rows[0]) == [
        "poll",
        "compare_to",
        "group",
        "pre",
        "pre_label",
        "final",
        "final_label",
        "people",
    ]
    assert len(rows) == 4 * 4 - 1  # (3 options + not voted) squared, less not voted twice
    by_cell = {(r["pre"], r["final"]): r for r in rows}
    assert by_cell[("a", "b")]["people"] == "1" and by_cell[("a", "b")]["group"] == "(everyone)"
    assert by_cell[("a", "b")]["pre_label"] == "Agency"
    assert by_cell[("", "a")]["people"] == "1"
    assert by_cell[("", "a")]["pre_label"] == "(did not vote)"
    assert sum(int(r["people"]) for r in rows) == 23

    # Pseudonyms only: no participant's own id is in any export.
    assert live.townhall is not None
    ids = {r["participant"] async for r in live.townhall.engine.read_log() if r["t"] == "ballot"}
    assert len(ids) == 23
    for body in (as_json.text, as_csv.text, record.text):
        assert not any(pid in body for pid in ids)

    saved = tmp_path / "record.jsonl"
    saved.write_bytes(record.content)
    report = verify(saved)
    assert report.problems == [] and report.checked["shifts"] == 1

    assert (await host.call("shift_hide", {"poll": "final"}))["ok"]
    await screen.wait_for(
        "state", lambda s: not s["shift"]["final"]["visible"], "the shift hidden again"
    )
