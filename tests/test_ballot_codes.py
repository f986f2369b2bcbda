"""Ballot codes on both engines: one person is one voter where the forum asks for it.

Each test drives an engine as the hub does: a phone acts as the voter of the code it holds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EngineFactory
from tests.jury_room import ROOM, jury_room
from tests.test_engine_contract import HOST, Clock, refusal, start
from tests.test_redis_engine import deafen, two_workers
from townhall.codes import format as code_format
from townhall.codes.book import BookError, CodeBook, Issued
from townhall.engine import Engine
from townhall.model.agenda import Programme
from townhall.model.commands import (
    Actor,
    ClosePoll,
    Command,
    MergePosts,
    OpenPoll,
    RedeemCode,
    RevokeCode,
    Role,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.eligibility import CodeProblem
from townhall.model.forum import Forum
from townhall.model.statement import programme_from, programme_statement
from townhall.programme import ProgrammeError, parse_programme
from townhall.record.chain import Chain, encoded
from townhall.record.verify import verify
from townhall.record.writer import write_record


def phone(n: int) -> Actor:
    return Actor(Role.PARTICIPANT, f"phone-{n}")


async def act(engine: Engine, who: Actor, command: Command) -> dict[str, object]:
    """As the hub does it: a phone redeems as itself and acts as the voter it holds."""
    actor = who if isinstance(command, RedeemCode) else engine.forum.actor_for(who)
    return (await engine.execute(actor, command)).ack


async def refused(engine: Engine, who: Actor, command: Command) -> str:
    actor = who if isinstance(command, RedeemCode) else engine.forum.actor_for(who)
    return await refusal(engine, actor, command)


async def opened(make_engine: EngineFactory, programme: Programme) -> Engine:
    engine = await start(make_engine, programme, Clock())
    for poll in ("pre", "final"):
        await engine.execute(HOST, OpenPoll(poll))
    return engine


async def test_code_mode_refuses_every_phone_without_a_code(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    engine = await opened(make_engine, programme)
    # Thirty fresh cookies, as one laptop's private windows make them: none of them counts.
    for n in range(30):
        assert await refused(engine, phone(n), Vote("pre", ("yes",), "v")) == "not_eligible"
    assert await refused(engine, phone(0), SubmitPost("ideas", "Open at night", "", "p")) == (
        "not_eligible"
    )
    assert engine.forum.polls["pre"].counts == {"yes": 0, "no": 0}

    ack = await act(engine, phone(0), RedeemCode(code_format.shown(codes.audience[0]).lower()))
    assert ack == {"ok": True, "voter": "audience-4", "group": "audience", "duplicate": False}
    assert (await act(engine, phone(0), Vote("pre", ("yes",), "v")))["ok"]
    posted = await act(engine, phone(0), SubmitPost("ideas", "Open at night", "", "p"))
    assert await refused(engine, phone(1), Upvote(int(str(posted["post"])), True, "u")) == (
        "not_eligible"
    )
    assert engine.forum.polls["pre"].counts == {"yes": 1, "no": 0}
    await engine.close()


async def test_guessed_and_mistyped_codes_get_nowhere(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    engine = await opened(make_engine, programme)
    good = codes.jury[0]
    typo = good[:3] + ("A" if good[3] != "A" else "B") + good[4:]  # one character wrong
    swapped = good[1] + good[0] + good[2:]
    guess = code_format.make()  # well formed, its check right, never issued
    assert await refused(engine, phone(1), RedeemCode("hello")) == "code_malformed"
    assert await refused(engine, phone(1), RedeemCode("0OO-1II-OOO")) == "code_malformed"
    assert await refused(engine, phone(1), RedeemCode(typo)) == "code_typo"
    if swapped != good:
        assert await refused(engine, phone(1), RedeemCode(swapped)) == "code_typo"
    assert await refused(engine, phone(1), RedeemCode(guess)) == "unknown_code"
    assert await refused(engine, phone(1), Vote("final", ("yes",), "v")) == "not_eligible"
    assert (await act(engine, phone(1), RedeemCode(f" {good[:3]} {good[3:6]}-{good[6:]} ")))["ok"]
    await engine.close()


async def test_a_code_used_on_two_phones_is_one_voter(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    engine = await opened(make_engine, programme)
    code = codes.jury[1]
    assert (await act(engine, phone(1), RedeemCode(code)))["voter"] == "jury-2"
    await act(engine, phone(1), Vote("final", ("yes",), "v1"))
    # The first phone dies; its owner borrows another and scans the card again.
    assert (await act(engine, phone(2), RedeemCode(code)))["voter"] == "jury-2"
    changed = await act(engine, phone(2), Vote("final", ("no",), "v2"))
    assert changed["choices"] == ["no"]
    poll = engine.forum.polls["final"]
    assert (poll.counts, poll.voters) == ({"yes": 0, "no": 1}, 1), "one voter, one ballot"
    # The code moved: the first phone holds nothing now.
    assert await refused(engine, phone(1), Vote("final", ("yes",), "v3")) == "not_eligible"
    again = await act(engine, phone(2), RedeemCode(code))
    assert again["duplicate"] is True, "scanning the card again on the same phone changes nothing"
    await engine.close()


async def test_a_jury_only_poll_counts_only_jurors_and_a_poll_shows_groups(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    engine = await opened(make_engine, programme)
    for n, code in enumerate(codes.jury + codes.audience):
        await act(engine, phone(n), RedeemCode(code))
    assert await refused(engine, phone(3), Vote("final", ("yes",), "v")) == "not_eligible"
    for n, choice in enumerate(("yes", "yes", "no", "no", "no")):
        await act(engine, phone(n), Vote("pre", (choice,), "pre"))
        if n < 3:
            await act(engine, phone(n), Vote("final", (choice,), "final"))
    final = engine.forum.polls["final"].tally()
    assert (final["counts"], final["voters"]) == ({"yes": 2, "no": 1}, 3)
    assert "groups" not in final
    pre = engine.forum.polls["pre"].tally()
    assert pre["counts"] == {"yes": 2, "no": 3}
    assert pre["groups"] == {"audience": {"yes": 0, "no": 2}, "jury": {"yes": 2, "no": 1}}
    assert pre["group_voters"] == {"audience": 2, "jury": 3}  # each group's shares are of these
    await engine.close()


async def test_a_revoked_code_stops_and_its_ballots_stay_marked(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    engine = await opened(make_engine, programme)
    await act(engine, phone(1), RedeemCode(codes.jury[0]))
    await act(engine, phone(1), Vote("pre", ("yes",), "v"))
    assert await refused(engine, HOST, RevokeCode("jury-99")) == "unknown_card"
    assert await refused(engine, phone(1), RevokeCode("jury-1")) == "forbidden"
    assert (await engine.execute(HOST, RevokeCode("JURY-1"))).ack["ok"]
    assert (await engine.execute(HOST, RevokeCode(codes.jury[0]))).events == [], "already"
    assert await refused(engine, phone(1), Vote("pre", ("no",), "v2")) == "not_eligible"
    assert await refused(engine, phone(2), RedeemCode(codes.jury[0])) == "code_revoked"
    assert engine.forum.polls["pre"].counts == {"yes": 1, "no": 0}, "what it did stands"
    view = engine.forum.state_view(Role.HOST)["codes"]
    assert view["groups"]["jury"] == {
        "issued": 3,
        "redeemed": 1,
        "held": 0,
        "acted": 1,
        "revoked": 1,
    }
    assert "codes" not in engine.forum.state_view(Role.SCREEN)
    await engine.close()


async def test_a_message_decided_as_a_voter_whose_code_is_revoked_meanwhile_is_refused(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    # The hub finds who a phone acts as, then the engine decides: a revocation in between (on
    # another worker, or while the message waits) must not let the voter act after it.
    programme, codes = jury_room(tmp_path)
    engine = await opened(make_engine, programme)
    await act(engine, phone(1), RedeemCode(codes.jury[0]))
    await act(engine, phone(2), RedeemCode(codes.jury[1]))
    post = int(str((await act(engine, phone(2), SubmitPost("ideas", "Benches", "", "p")))["post"]))
    juror = engine.forum.actor_for(phone(1))
    await engine.execute(HOST, RevokeCode("jury-1"))
    for command in (
        Vote("final", ("yes",), "v"),
        SubmitPost("ideas", "Late", "", "q"),
        Upvote(post, True, "u"),
    ):
        assert await refusal(engine, juror, command) == "code_revoked", command
    assert engine.forum.polls["final"].voters == 0
    assert engine.forum.boards.posts[post].upvoters == set()
    assert len(engine.forum.boards.posts) == 1
    await engine.close()


async def test_a_worker_that_has_not_heard_of_a_revocation_stores_nothing_for_the_voter(
    redis_url: str, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    async with two_workers(programme, redis_url) as (a, b):
        await a.execute(HOST, OpenPoll("final"))
        await act(a, phone(1), RedeemCode(codes.jury[0]))
        await act(a, phone(2), RedeemCode(codes.jury[1]))
        post = int(str((await act(a, phone(2), SubmitPost("ideas", "Benches", "", "p")))["post"]))
        await b.catch_up()
        await deafen(b)
        await a.execute(HOST, RevokeCode("jury-1"))
        assert b.forum.actor_for(phone(1)).id == "jury-1", "B has not heard"
        for command in (
            Vote("final", ("yes",), "v"),
            SubmitPost("ideas", "Late", "", "q"),
            Upvote(post, True, "u"),
        ):
            assert await refused(b, phone(1), command) == "code_revoked", command
        await b.catch_up()
        assert b.forum.polls["final"].voters == 0
        assert b.forum.boards.posts[post].upvoters == set()
        assert len(b.forum.boards.posts) == 1


async def test_bindings_and_revocations_survive_a_restart(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    clock = Clock()
    engine = await start(make_engine, programme, clock)
    await engine.execute(HOST, OpenPoll("final"))
    await act(engine, phone(1), RedeemCode(codes.jury[0]))
    await act(engine, phone(2), RedeemCode(codes.jury[1]))
    await engine.execute(HOST, RevokeCode("jury-2"))
    await engine.close()

    restarted = await start(make_engine, programme, clock)
    assert restarted.forum.actor_for(phone(1)) == Actor(Role.PARTICIPANT, "jury-1", "jury")
    assert (await act(restarted, phone(1), Vote("final", ("yes",), "v")))["ok"]
    assert await refused(restarted, phone(3), RedeemCode(codes.jury[1])) == "code_revoked"
    assert await refused(restarted, phone(2), Vote("final", ("yes",), "w")) == "not_eligible"
    await restarted.execute(HOST, ClosePoll("final"))
    await restarted.close()


async def test_no_one_agrees_with_their_own_post_unless_the_programme_allows(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, _ = jury_room(tmp_path, mode="open")
    engine = await start(make_engine, programme, Clock())
    post = int(str((await act(engine, phone(1), SubmitPost("ideas", "Idea", "", "p")))["post"]))
    assert await refused(engine, phone(1), Upvote(post, True, "u")) == "own_post"
    assert (await act(engine, phone(1), Upvote(post, False, "u2")))["ok"], "taking back is fine"
    assert (await act(engine, phone(2), Upvote(post, True, "u")))["upvotes"] == 1
    await engine.close()


@pytest.mark.parametrize("allowed", [False, True])
async def test_a_merge_makes_no_one_agree_with_their_own_post_unless_the_programme_allows(
    make_engine: EngineFactory, tmp_path: Path, allowed: bool
) -> None:
    # Phone 1 agrees with a duplicate of its own idea; the host folds the duplicate into it.
    extra = "self_agreement = true" if allowed else ""
    programme, _ = jury_room(tmp_path, mode="open", extra=extra)
    engine = await start(make_engine, programme, Clock())
    own = int(str((await act(engine, phone(1), SubmitPost("ideas", "Benches", "", "p")))["post"]))
    twin = int(str((await act(engine, phone(2), SubmitPost("ideas", "Seats", "", "p")))["post"]))
    await act(engine, phone(1), Upvote(twin, True, "u"))
    await act(engine, phone(3), Upvote(twin, True, "u"))
    await engine.execute(HOST, MergePosts(twin, own))
    expected = {"phone-1", "phone-3"} if allowed else {"phone-3"}
    assert engine.forum.boards.posts[own].upvoters == expected
    took_back = await act(engine, phone(3), Upvote(own, False, "u2"))
    assert took_back["upvotes"] == len(expected) - 1, "the stored count agrees"
    await engine.close()


async def test_the_programme_may_allow_agreeing_with_ones_own_post(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, _ = jury_room(tmp_path, mode="open", extra="self_agreement = true")
    engine = await start(make_engine, programme, Clock())
    post = int(str((await act(engine, phone(1), SubmitPost("ideas", "Idea", "", "p")))["post"]))
    assert (await act(engine, phone(1), Upvote(post, True, "u")))["upvotes"] == 1
    await engine.close()


async def test_an_open_forum_takes_codes_only_for_a_poll_that_names_its_voters(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path, mode="open")
    engine = await opened(make_engine, programme)
    assert (await act(engine, phone(1), Vote("pre", ("yes",), "v")))["ok"], "open to every phone"
    assert await refused(engine, phone(1), Vote("final", ("yes",), "v")) == "not_eligible"
    await act(engine, phone(1), RedeemCode(codes.jury[2]))
    assert (await act(engine, phone(1), Vote("final", ("yes",), "v")))["ok"]
    # As the juror, the phone is a new voter in the open poll: its cookie's ballot stays apart.
    assert (await act(engine, phone(1), Vote("pre", ("no",), "v2")))["ok"]
    assert engine.forum.polls["pre"].tally()["groups"] == {
        "": {"yes": 1, "no": 0},
        "jury": {"yes": 0, "no": 1},
    }
    await engine.close()


def test_the_code_book_holds_no_code_and_reads_new_codes_at_once(tmp_path: Path) -> None:
    path = tmp_path / "forum.codes.jsonl"
    book = CodeBook(path)
    first = book.issue(2, "jury", "forum")
    text = path.read_text(encoding="utf-8")
    assert all(c.code not in text for c in first)
    key = path.with_name("forum.codes.key")
    assert key.stat().st_mode & 0o777 == 0o600
    reader = CodeBook(path)  # the server's copy
    assert reader.find(first[0].code) == book.find(first[0].code)
    later = book.issue(1, "audience", "forum")  # issued while the forum runs
    found = reader.find(later[0].code)
    assert not isinstance(found, CodeProblem) and found.voter == "audience-3"
    assert reader.issued() == {"jury": 2, "audience": 1}
    assert reader.find(code_format.make()) is CodeProblem.UNKNOWN


@pytest.mark.parametrize("book_made", [True, False])
def test_codes_made_at_once_each_get_a_card_number_of_their_own(
    tmp_path: Path, book_made: bool
) -> None:
    # Two organisers making latecomers' codes at once (or `townhall draw --codes` beside
    # `townhall codes`): no two codes may be one voter.
    path = tmp_path / "forum.codes.jsonl"
    if book_made:
        CodeBook(path).issue(1, "jury", "forum")
    start = threading.Barrier(3)

    def make(_: int) -> list[Issued]:
        start.wait()
        return CodeBook(path).issue(2000, "jury", "forum")

    with ThreadPoolExecutor(3) as pool:
        made = [c for batch in pool.map(make, range(3)) for c in batch]
    assert len({c.voter for c in made}) == len(made) == 6000
    reader = CodeBook(path)
    assert reader.issued() == {"jury": 6000 + book_made}
    assert all(reader.find(c.code) != CodeProblem.UNKNOWN for c in made)


def test_every_single_mistyped_character_is_caught() -> None:
    for _ in range(200):
        code = code_format.make()
        assert code_format.checks(code)
        for position in range(code_format.LENGTH):
            for wrong in code_format.ALPHABET.replace(code[position], ""):
                assert not code_format.checks(code[:position] + wrong + code[position + 1 :])


async def test_the_record_names_voters_not_phones_and_verify_checks_eligibility(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    engine = await opened(make_engine, programme)
    for n, code in enumerate((codes.jury[0], codes.jury[1], codes.audience[0])):
        await act(engine, phone(n), RedeemCode(code))
        await act(engine, phone(n), Vote("pre", (("yes", "no")[n % 2],), "v"))
    await act(engine, phone(9), RedeemCode(codes.jury[0]))  # the first juror's second phone
    await act(engine, phone(9), Vote("final", ("no",), "f"))
    await engine.execute(HOST, RevokeCode("jury-2"))
    await engine.execute(HOST, ClosePoll("pre"))
    await engine.execute(HOST, ClosePoll("final"))
    record = b"".join([chunk async for chunk in write_record(engine.read_log, "a secret")])
    await engine.close()
    text = record.decode()
    assert "phone-" not in text and "jury-1" not in text, "pseudonyms only"
    lines = [json.loads(line) for line in record.splitlines()]
    path = tmp_path / "record.jsonl"
    path.write_bytes(record)
    report = verify(path)
    assert report.ok, report.problems
    closed = next(line for line in lines if line.get("type") == "poll_closed")
    assert closed["groups"] == {"audience": {"yes": 1, "no": 0}, "jury": {"yes": 1, "no": 1}}
    redeemed = [line for line in lines if line.get("type") == "code_redeemed"]
    assert redeemed[0]["actor"] == redeemed[-1]["actor"], "one voter on two phones"
    assert set(redeemed[0]) == {"seq", "at", "type", "actor", "group", "prev", "hash"}

    def problems_after(change: Callable[[list[dict[str, Any]]], None]) -> list[str]:
        edited = [dict(line) for line in lines]
        change(edited)
        chain = Chain()
        relinked = [
            chain.link({k: v for k, v in line.items() if k not in ("prev", "hash")})
            for line in edited
        ]
        path.write_bytes(b"".join(encoded(line) for line in relinked))
        return [p.message for p in verify(path).problems]

    def regroup(edited: list[dict[str, Any]]) -> None:
        ballot = next(line for line in edited if line.get("type") == "ballot")
        ballot["group"] = "audience"

    assert any("redeemed no 'audience' ballot code" in p for p in problems_after(regroup))

    def forge(edited: list[dict[str, Any]]) -> None:
        revoked = next(line for line in edited if line.get("type") == "code_revoked")
        ballot = next(
            line for line in edited if line.get("type") == "ballot" and line["poll"] == "pre"
        )
        at = edited.index(revoked) + 1
        late = {**ballot, "actor": {"role": "participant", "id": revoked["voter"]}, "op": "x"}
        edited.insert(at, late)
        for seq, line in enumerate(edited[1:], start=1):
            line["seq"] = seq

    assert any("whose ballot code was revoked" in p for p in problems_after(forge))


def test_groups_may_have_names_on_screen_and_polls_name_only_known_groups(tmp_path: Path) -> None:
    programme, _ = jury_room(tmp_path, extra='labels = { jury = "배심원단" }')
    assert programme.eligibility.labels == (("jury", "배심원단"),)
    forum = Forum(programme)
    assert forum.state_view(Role.SCREEN)["group_labels"] == {"jury": "배심원단"}
    statement = programme_statement(programme)
    assert statement["eligibility"]["labels"] == {"jury": "배심원단"}
    assert programme_from(statement).eligibility == programme.eligibility
    with pytest.raises(ProgrammeError, match=r"eligibility.labels: 'press' is not one of"):
        jury_room(tmp_path, extra='labels = { press = "기자" }')
    room = ROOM.format(mode="codes", extra="").replace('voters = ["jury"]', 'voters = ["jurry"]')
    with pytest.raises(ProgrammeError, match=r"items\[1\].voters: 'jurry' is not one of"):
        parse_programme(room, source="jury.toml")


async def test_verify_holds_posts_agreements_and_codes_to_the_code_rules(
    make_engine: EngineFactory, tmp_path: Path
) -> None:
    programme, codes = jury_room(tmp_path)
    engine = await opened(make_engine, programme)
    await act(engine, phone(1), RedeemCode(codes.jury[0]))
    await act(engine, phone(2), RedeemCode(codes.audience[0]))
    post = int(str((await act(engine, phone(1), SubmitPost("ideas", "Benches", "", "p")))["post"]))
    await act(engine, phone(2), Upvote(post, True, "u"))
    await act(engine, phone(2), Vote("pre", ("yes",), "v"))
    await engine.execute(HOST, RevokeCode("jury-1"))
    await engine.execute(HOST, ClosePoll("pre"))
    record = b"".join([chunk async for chunk in write_record(engine.read_log, "a secret")])
    await engine.close()
    lines = [json.loads(line) for line in record.splitlines()]
    path = tmp_path / "record.jsonl"
    path.write_bytes(record)
    assert verify(path).ok

    def problems_after(change: Callable[[list[dict[str, Any]]], None]) -> list[str]:
        edited = [json.loads(json.dumps(line)) for line in lines]
        change(edited)
        for seq, line in enumerate(edited[1:], start=1):
            line["seq"] = seq
        chain = Chain()
        path.write_bytes(
            b"".join(
                encoded(chain.link({k: v for k, v in line.items() if k not in ("prev", "hash")}))
                for line in edited
            )
        )
        return [p.message for p in verify(path).problems]

    def first(edited: list[dict[str, Any]], kind: str) -> dict[str, Any]:
        return next(line for line in edited if line.get("type") == kind)

    def revoked_agrees(edited: list[dict[str, Any]]) -> None:
        # The revoked juror's agreement, after the revocation.
        upvote, revoked = first(edited, "upvote"), first(edited, "code_revoked")
        late = {**upvote, "actor": {"role": "participant", "id": revoked["voter"]}, "op": "x"}
        edited.insert(edited.index(revoked) + 1, late)

    assert any("was revoked before it" in p for p in problems_after(revoked_agrees))

    def codeless_agrees(edited: list[dict[str, Any]]) -> None:
        upvote = first(edited, "upvote")
        upvote["actor"] = {"role": "participant", "id": "p-00000000000000aa"}

    assert any("redeemed no ballot code" in p for p in problems_after(codeless_agrees))

    def another_group(edited: list[dict[str, Any]]) -> None:
        redeemed = first(edited, "code_redeemed")
        edited.insert(edited.index(redeemed) + 1, {**redeemed, "group": "audience"})

    assert any("a code of group 'jury' before" in p for p in problems_after(another_group))

    def undeclared_group(edited: list[dict[str, Any]]) -> None:
        first(edited, "code_redeemed")["group"] = "press"

    assert any("not one of the programme's" in p for p in problems_after(undeclared_group))

    def groups_left_out(edited: list[dict[str, Any]]) -> None:
        del first(edited, "poll_closed")["groups"]

    assert any("no groups" in p for p in problems_after(groups_left_out))


def test_a_code_typed_full_width_or_with_other_dashes_reads_as_itself(tmp_path: Path) -> None:
    book = CodeBook(tmp_path / "f.codes.jsonl")
    code = book.issue(1, "jury", "f")[0].code
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in code)  # a Korean keyboard's full width
    for typed in (wide, f"{code[:3]}\u2212{code[3:6]}\u00ad{code[6:]}", code.lower()):
        found = book.find(typed)
        assert not isinstance(found, CodeProblem) and found.voter == "jury-1", typed


def test_a_book_with_one_card_number_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.codes.jsonl"
    CodeBook(path).issue(2, "jury", "f")
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([*lines, lines[1].replace('"jury"', '"audience"')]) + "\n")
    with pytest.raises(BookError, match=r"f.codes.jsonl:4: card No. 1 is in the book twice"):
        CodeBook(path).load()
