"""The soak, short: every fault kind on both engines, and not one acked vote lost or doubled.

`loadtest/soak.py` runs a thousand faults; here each scenario runs two rounds of its fault kinds
(each kind twice, in random order) with a dozen phones, then the same final check: the phones'
last acked ballots against their snapshots, the tallies, the replayed log, and the snapshots
again after every process was killed -9 and started afresh.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from loadtest import soak


async def check(scenario: str, kinds: tuple[str, ...], workdir: Path) -> None:
    options = soak.Options(
        faults=2 * len(kinds),
        seed=11,
        scenario=scenario,
        phones=12,
        check_every=len(kinds),
        workdir=workdir,
        quiet=True,
    )
    report = await soak.soak(options)
    (result,) = report["scenarios"]
    summary = soak.render(report)
    assert result["gave_up"] == "", summary
    assert {kind: k["count"] for kind, k in result["kinds"].items()} == dict.fromkeys(kinds, 2)
    assert all(k["not_recovered"] == 0 for k in result["kinds"].values()), summary
    assert report["lost"] == 0, summary
    assert report["double_counted"] == 0, summary
    assert result["anomalies"] == {}, summary
    # The end-of-run checks all ran: live, the log replayed on its own, after a full restart.
    ats = [c["at"] for c in result["checks"]]
    assert ats[-3:] == ["end, live", "end, log replayed", "end, after restarting everything"]
    assert all(c["lost"] == c["double"] == c["tally_short"] == 0 for c in result["checks"])
    # The faults bit: votes were refused or cut off and resent, and storms resent acked votes.
    assert result["acked_new"] > 0 and result["acked_duplicate"] >= result["storm_resends"] > 0
    assert result["links_lost"] > 0 and result["links_cut"] > 0
    assert report["passed"], summary


@pytest.mark.timeout(90)
async def test_redis_workers_redis_and_the_link_between_fail_and_nothing_acked_is_lost(
    tmp_path: Path,
) -> None:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server")
    await check("redis", soak.REDIS_FAULTS, tmp_path)


async def test_the_embedded_server_killed_and_stormed_loses_nothing_acked(tmp_path: Path) -> None:
    await check("embedded", soak.EMBEDDED_FAULTS, tmp_path)
