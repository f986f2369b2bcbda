"""The organiser key: made once, kept only as a salted scrypt hash, replaced by
`townhall organiser-key`, which ends the sessions signed in with the old one."""

from __future__ import annotations

import argparse
import json

import pytest

from tests.console_support import ORIGIN, Console
from townhall.console import cli
from townhall.console.organiser import RECORD_NAME, ensure_organiser_key, load_organiser


def test_the_key_is_made_once_and_only_its_hash_is_kept() -> None:
    console = Console()
    assert ensure_organiser_key(console.store) is None, "a stored key stands"
    raw = console.store.values[RECORD_NAME]
    assert console.key.encode() not in raw
    record = json.loads(raw)
    assert record["scrypt"]["n"] >= 2**14 and record["salt"] and record["hash"]
    organiser = load_organiser(console.store)
    assert organiser.matches(console.key) and not organiser.matches(console.key + "x")


async def test_a_new_key_from_the_command_ends_the_old_sessions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    console = Console()
    async with console.client() as http:
        await console.signed_in(http)
        assert (await http.get("/admin")).status_code == 200
        parser = argparse.ArgumentParser()
        cli.arguments(parser)
        assert cli.run(parser.parse_args([]), console.store) == 0
        new_key = capsys.readouterr().out.strip().removeprefix("organiser key: ")
        assert new_key and new_key != console.key
        assert (await http.get("/admin")).status_code == 401
        old = await http.post("/admin/login", data={"key": console.key}, headers=ORIGIN)
        assert old.status_code == 401
        new = await http.post("/admin/login", data={"key": new_key}, headers=ORIGIN)
        assert new.status_code == 303
