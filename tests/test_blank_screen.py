"""Blanking the projector: a host command and its event, decided and applied by the model, kept
in the log on both engines (so a reloaded projector and a restarted server stay black), heard
by a second Redis worker, and written to the record."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EngineFactory, Live, forum_programme, wait_until
from tests.test_engine_contract import HOST, voter
from tests.test_shift_record import jsonl
from tests.test_verify import write
from townhall.engine import Engine, open_engine
from townhall.model.commands import BlankScreen, Role, Step
from townhall.model.errors import ForumError
from townhall.model.events import Event, ScreenBlanked, ServerStarted, from_record, to_record
from townhall.model.forum import Forum
from townhall.model.statement import programme_statement, rules_in_force
from townhall.record.verify import verify
from townhall.record.writer import RecordWriter


def test_the_model_decides_blank_and_unblank_and_the_views_carry_it() -> None:
    forum = Forum(forum_programme())
    assert forum.decide(HOST, BlankScreen(blank=False), 0) == []  # already showing
    assert forum.execute(HOST, BlankScreen(blank=True), 0) == [ScreenBlanked(True)]
    assert forum.decide(HOST, BlankScreen(blank=True), 0) == []  # already blank
    assert forum.state_view(Role.SCREEN)["blank"] is True
    assert forum.state_view(Role.HOST)["blank"] is True
    assert "blank" not in forum.state_view(Role.PARTICIPANT)  # phones are not blanked
    # The agenda moves under a blank projector; it stays blank until the host brings it back.
    forum.execute(HOST, Step(1), 0)
    assert forum.blank
    assert forum.execute(HOST, BlankScreen(blank=False), 0) == [ScreenBlanked(False)]
    assert forum.state_view(Role.SCREEN)["blank"] is False
    with pytest.raises(ForumError) as refusal:
        forum.decide(voter(1), BlankScreen(blank=True), 0)
    assert refusal.value.code == "forbidden"


def test_the_event_has_a_flat_record_form_and_verify_reads_its_line(tmp_path: Path) -> None:
    record = to_record(ScreenBlanked(True))
    assert record == {"t": "screen_blanked", "blank": True}
    assert from_record(record) == ScreenBlanked(True)
    programme = forum_programme()
    started = ServerStarted("memory", "0.1.0", programme_statement(programme), rules_in_force())
    writer = RecordWriter(programme, "blank record secret")
    lines = [writer.header()]
    log: list[Event] = [started, ScreenBlanked(True), ScreenBlanked(False)]
    for seq, event in enumerate(log, start=1):
        lines.append(writer.line({**to_record(event), "seq": seq, "at": 1_785_000_000_000 + seq}))
    assert lines[2]["type"] == "screen_blanked" and lines[2]["blank"] is True
    assert lines[2]["actor"] == {"role": "host"}
    assert verify(write(tmp_path, jsonl(lines))).problems == []


async def test_blank_is_stored_acked_and_survives_a_restart(make_engine: EngineFactory) -> None:
    engine = make_engine()
    await engine.start()
    blanked = await engine.execute(HOST, BlankScreen(blank=True))
    assert blanked.events == [ScreenBlanked(True)]
    assert blanked.ack == {"ok": True, "seq": engine.forum.seq}
    again = await engine.execute(HOST, BlankScreen(blank=True))
    assert again.events == [] and again.ack == {"ok": True, "seq": engine.forum.seq}
    with pytest.raises(ForumError) as refusal:
        await engine.execute(voter(2), BlankScreen(blank=False))
    assert refusal.value.code == "forbidden"
    await engine.close()

    restarted = make_engine()
    await restarted.start()
    assert restarted.forum.state_view(Role.SCREEN)["blank"] is True
    shown = await restarted.execute(HOST, BlankScreen(blank=False))
    assert shown.events == [ScreenBlanked(False)]
    await restarted.close()

    third = make_engine()
    await third.start()
    assert third.forum.blank is False
    await third.close()


async def test_a_second_redis_worker_hears_it_and_decides_the_next(
    redis_url: str, tmp_path: Path
) -> None:
    def worker() -> Engine:
        return open_engine(redis_url, forum_programme(), tmp_path)

    first, second = worker(), worker()
    await first.start()
    await second.start()
    await first.execute(HOST, BlankScreen(blank=True))
    await wait_until(lambda: second.forum.blank, "the second worker to hear the blank")
    # Unblanking on the second worker: its replica decides, control.lua stores it, the first hears.
    assert (await second.execute(HOST, BlankScreen(blank=False))).events == [ScreenBlanked(False)]
    await wait_until(lambda: not first.forum.blank, "the first worker to hear it shown again")
    await first.close()
    await second.close()


async def test_blank_goes_to_the_projector_and_host_but_not_to_phones(live: Live) -> None:
    host = await live.host()
    screen = await live.screen()
    phone, _ = await live.phone()
    assert (await host.call("screen_blank"))["ok"]
    await screen.wait_for("state", lambda s: s["blank"] is True, "the projector told to go black")
    await host.wait_for("state", lambda s: s["blank"] is True, "the host told it is black")
    # The next change for everyone reaches the phone; the blank before it never did.
    assert (await host.call("goto", {"item": "vote"}))["ok"]
    await phone.wait_for("state", lambda s: s["current"] == 1, "the phone to hear the move")
    assert all("blank" not in state for state in phone.received["state"])
    snapshot = await screen.call("snapshot")
    assert snapshot["state"]["blank"] is True
    refused = await phone.call("screen_blank")
    assert refused["error"]["code"] == "forbidden"
    assert (await host.call("screen_unblank"))["ok"]
    await screen.wait_for("state", lambda s: s["blank"] is False, "the projector shown again")
