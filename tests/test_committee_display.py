"""What the committee's pages show besides the scores: members' display names and the meaning of
each score from the programme, and progress counted in questions scored; in the programme
reader, the model, and over a real server on both engines."""

from __future__ import annotations

import base64
import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ENGINES, Live, serve
from tests.test_committee import KIM, LEE, ROOM, member_auth, programme
from townhall.console.agenda_form import AgendaForm
from townhall.console.programme_text import form_toml
from townhall.model.commands import Role, ScoreCandidate
from townhall.model.forum import Forum
from townhall.programme import parse_programme
from townhall.programme_fields import ProgrammeError

LABELS = '["전혀", "조금", "보통", "꽤", "매우"]'


def with_selection(committee: str, extra: str = "") -> str:
    """The test room with its `committee` line replaced, and `extra` lines in [selection]."""
    room = re.sub(r"^committee = .*$", f"committee = {committee}", ROOM, flags=re.M)
    return room.replace(
        'rubric = ["Impact?", "Feasible?"]\n', f'rubric = ["Impact?", "Feasible?"]\n{extra}'
    )


# -- the programme ----------------------------------------------------------------------------


def test_members_are_ids_or_tables_with_a_name_in_the_programmes_order() -> None:
    chosen = programme().selection
    assert chosen is not None
    assert chosen.committee == ("kim", "lee")
    assert chosen.member_names() == {"kim": "김지현", "lee": "lee"}
    assert chosen.score_labels == ()
    plain = parse_programme(with_selection('["lee", "kim"]'), source="c.toml").selection
    assert plain is not None and plain.member_names() == {"lee": "lee", "kim": "kim"}


def test_the_programme_may_say_what_each_score_means() -> None:
    room = with_selection('["kim", "lee"]', f"score_labels = {LABELS}\n")
    chosen = parse_programme(room, source="c.toml").selection
    assert chosen is not None
    assert chosen.score_labels == ("전혀", "조금", "보통", "꽤", "매우")
    ten = with_selection('["kim"]', 'score_range = [0, 10]\nscore_labels = ["x"]\n')
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(ten, source="c.toml")
    assert caught.value.field == "selection.score_labels"
    assert "11 labels, one for each score from 0 to 10" in caught.value.reason


@pytest.mark.parametrize(
    ("committee", "reason"),
    [
        ('[{ id = "kim" }]', "member 1: a list of up to 50 unique member ids"),
        ('[{ id = "Kim", name = "김" }]', "member 1: a list of up to 50"),
        ('[{ id = "kim", name = "김", phone = "010" }]', "member 1:"),
        ('["kim", { id = "kim", name = "김" }]', "member 2: 'kim' is listed twice"),
        ('[{ id = "kim", name = " " }]', "member 1: a name of 1 to 60 characters"),
        ("[1]", "member 1:"),
    ],
)
def test_a_bad_member_is_refused_naming_it_on_the_committee_line(
    committee: str, reason: str
) -> None:
    room = with_selection(committee)
    with pytest.raises(ProgrammeError) as caught:
        parse_programme(room, source="c.toml")
    line = room.splitlines().index(f"committee = {committee}") + 1
    assert (caught.value.line, caught.value.field) == (line, "selection.committee")
    assert reason in caught.value.reason


# -- the model --------------------------------------------------------------------------------


def test_progress_counts_questions_scored_per_member_and_per_candidate() -> None:
    forum = Forum(programme())
    # Kim touches both candidates but leaves a question of `a` blank: 3 of 4, not "2 of 2".
    forum.execute(KIM, ScoreCandidate("a", (5, None)), 0)
    forum.execute(KIM, ScoreCandidate("b", (3, 4)), 0)
    forum.execute(LEE, ScoreCandidate("b", (None, 2)), 0)
    view = forum.selection_view(Role.HOST)
    assert view["members"] == {"kim": "김지현", "lee": "lee"}
    assert view["progress"] == {"kim": 3, "lee": 1}
    assert view["scores_expected"] == 4  # 2 candidates x 2 questions, for each member
    assert view["progress_by_candidate"] == {"a": 1, "b": 3}
    assert view["scores_expected_by_candidate"] == 4  # 2 members x 2 questions
    # Clearing a candidate's scores takes them off the count.
    forum.execute(KIM, ScoreCandidate("b", (None, None)), 0)
    view = forum.selection_view(Role.HOST)
    assert view["progress"]["kim"] == 1 and view["progress_by_candidate"]["b"] == 1


def test_a_member_sees_their_name_and_the_score_labels_and_no_one_else_the_names() -> None:
    room = with_selection('[{ id = "kim", name = "김지현" }, "lee"]', f"score_labels = {LABELS}\n")
    forum = Forum(parse_programme(room, source="c.toml"))
    sheet = forum.committee_view("kim")
    assert (sheet["name"], sheet["score_labels"]) == (
        "김지현",
        ["전혀", "조금", "보통", "꽤", "매우"],
    )
    assert forum.committee_view("lee")["name"] == "lee"
    default = Forum(programme()).committee_view("kim")
    assert default["score_labels"] == []  # the page's own wording for 1-5
    for role in (Role.PARTICIPANT, Role.SCREEN, Role.COMMITTEE):
        assert "members" not in forum.selection_view(role)
    # The exported table names the members (the host's); the record and the sheet use ids.
    assert forum.selection_result()["committee_names"] == {"kim": "김지현", "lee": "lee"}
    assert forum.selection_result()["committee_members"] == ["kim", "lee"]


# -- over a real server -----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_host_gets_each_members_link_with_its_name_and_qr_code(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    more = {"redis_url": request.getfixturevalue("redis_url")} if engine == "redis" else {}
    async with serve(programme(), tmp_path, **more) as (townhall, url):
        live = Live(url, townhall.keys.code, townhall.keys.host_key, townhall=townhall)
        try:
            host = await live.host()
            kim = await live.connect(member_auth(live, "kim"))
            assert (await kim.call("score", {"candidate": "a", "scores": [5, None]}))["ok"]
            snapshot = await host.call("snapshot")
            links = snapshot["committee_links"]
            assert [(link["member"], link["name"]) for link in links] == [
                ("kim", "김지현"),
                ("lee", "lee"),
            ]
            for link in links:
                key = member_auth(live, link["member"])["key"]
                assert link["url"] == (
                    f"{url}/committee/{live.code}#member={link['member']}&key={key}"
                )
                prefix = "data:image/svg+xml;base64,"
                assert link["qr"].startswith(prefix)
                svg = base64.b64decode(link["qr"][len(prefix) :])
                assert svg.startswith(b"<svg") and b"<script" not in svg
            assert links[0]["qr"] != links[1]["qr"]
            # Progress in questions, named: the host's state.
            selection = snapshot["state"]["selection"]
            assert selection["members"] == {"kim": "김지현", "lee": "lee"}
            assert selection["progress"] == {"kim": 1, "lee": 0}
            assert selection["progress_by_candidate"] == {"a": 1, "b": 0}
            # A member's own sheet carries their name; nobody else's snapshot has the links.
            sheet = (await kim.call("snapshot"))["committee"]
            assert sheet["name"] == "김지현" and sheet["score_labels"] == []
            assert "committee_links" not in await kim.call("snapshot")
            phone, _ = await live.phone()
            seen = await phone.call("snapshot")
            assert "committee_links" not in seen and "members" not in seen["state"]["selection"]
        finally:
            await live.close_clients()


def test_the_consoles_agenda_form_keeps_names_and_score_labels() -> None:
    # The form writes every setting out, so the room states each (as the shipped ones do).
    labels = (
        "weights = { agreement = 25, live_vote = 25, committee = 50 }\n"
        'tie_break = ["committee", "live_vote", "agreement"]\n'
        f"score_range = [1, 5]\nscore_labels = {LABELS}\n"
    )
    room = with_selection('[{ id = "kim", name = "김지현" }, "lee"]', labels)
    form = AgendaForm.of_programme(tomllib.loads(room))
    assert form.selection["committee"] == "kim: 김지현\nlee"
    again = parse_programme(form_toml(form), source="form.toml").selection
    assert again is not None
    assert again.member_names() == {"kim": "김지현", "lee": "lee"}
    assert again.score_labels == ("전혀", "조금", "보통", "꽤", "매우")
    # Left empty, the labels are the pages' own.
    form.selection["score_labels"] = ""
    plain = parse_programme(form_toml(form), source="form.toml").selection
    assert plain is not None and plain.score_labels == ()
