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
# By hand: p0-p2 a>a, p3 a>b, p4 b>b, p5 c>b; p6 only the pre-vote (c), p7 only the final (a).
PRE = ["a", "a", "a", "a", "b", "c", "c"]
FINAL = {0: "a", 1: "a", 2: "a", 3: "b", 4: "b", 5: "b", 7: "a"}


async def hold_both_votes(live: Live) -> list[Client]:
    host = await live.host()
    phones = [(await live.phone())[0] for _ in range(8)]
    for poll, choices in (("pre", dict(enumerate(PRE))), ("final", FINAL)):
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
        # 6 in both, 2 changed their mind (a>b, c>b), each alone in a cell: hidden in the room.
        assert (everyone["both"], everyone["changed"], everyone["changed_percent"]) == (6, 2, 33.3)
        cells = {c["pre"] + c["final"]: c["people"] for c in everyone["cells"]}
        assert cells["aa"] == 3 and cells["ab"] is None and cells["cb"] is None
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
        "aa": 3,
        "ab": 1,
        "bb": 1,
        "cb": 1,
    }
    assert (everyone["only_pre"], everyone["only_final"]) == (1, 1)
    # Pre a4 b1 c1, final a3 b3 c0 among the 6: a -1, b +2, c -1.
    assert [(e["option"], e["net"]) for e in everyone["net"]] == [("a", -1), ("b", 2), ("c", -1)]
    assert pair["cells"] == [
        ["", "", "a", 1],
        ["", "a", "a", 3],
        ["", "a", "b", 1],
        ["", "b", "b", 1],
        ["", "c", "", 1],
        ["", "c", "b", 1],
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
    assert sum(int(r["people"]) for r in rows) == 8

    # Pseudonyms only: no participant's own id is in any export.
    ids = set(live.forum.polls["pre"].ballots) | set(live.forum.polls["final"].ballots)
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
