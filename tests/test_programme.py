"""Programme files: the shipped rooms load, malformed ones say file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from townhall.cli import main
from townhall.model.agenda import ChoiceMode, ItemKind, NameMode, ResultsMode
from townhall.model.forum import Forum
from townhall.programme import ProgrammeError, load_programme, parse_programme

ROOMS = Path(__file__).resolve().parent.parent / "rooms"
SHIPPED = sorted(ROOMS.glob("*.toml"))

GOOD = """\
# A small, valid programme.
[forum]
title = "Test forum"
language = "en"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"
minutes = 5

[[items]]
id = "vote"
kind = "poll"
title = "Vote"
options = [
  { id = "yes", label = "Yes" },
  { id = "no", label = "No" },
]
"""


def error_for(text: str) -> ProgrammeError:
    with pytest.raises(ProgrammeError) as info:
        parse_programme(text, source="test.toml")
    return info.value


def line_of(text: str, number: int) -> str:
    """Line `number` (1-based) of `text`, to show a test's line numbers are the right ones."""
    return text.splitlines()[number - 1]


# -- the shipped rooms ----------------------------------------------------------------------


def test_both_shipped_rooms_are_there() -> None:
    names = {path.name for path in SHIPPED}
    assert {"policy-battle.toml", "small-library-open-forum.toml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_room_loads(path: Path) -> None:
    programme = load_programme(path)
    assert programme.title
    assert programme.language in ("ko", "en")
    assert programme.items
    assert len({item.id for item in programme.items}) == len(programme.items)
    forum = Forum(programme)
    assert set(forum.polls) == {i.id for i in programme.items if i.kind is ItemKind.POLL}


def test_small_library_room_contents() -> None:
    programme = load_programme(ROOMS / "small-library-open-forum.toml")
    assert programme.id == "small-library"
    assert programme.title == "작은도서관 열린토론회"
    assert len(programme.items) == 12
    keywords = programme.item("keywords")
    assert keywords is not None
    assert keywords.kind is ItemKind.WORDS
    assert (keywords.moderated, keywords.answers_per_person) == (True, 3)
    assert keywords.names is NameMode.ANONYMOUS
    ideas = programme.item("idea-sharing")
    assert ideas is not None
    assert ideas.kind is ItemKind.IDEAS
    assert (ideas.promote_to, ideas.promote_count) == ("candidate-vote", 3)
    warm_up = programme.item("warm-up")
    assert warm_up is not None
    assert warm_up.kind is ItemKind.POLL
    assert warm_up.choice is ChoiceMode.MULTIPLE
    assert warm_up.max_choices == 3
    assert warm_up.results is ResultsMode.LIVE
    assert warm_up.option_ids == ("operator", "volunteer", "citizen", "other")
    candidates = programme.item("candidate-vote")
    assert candidates is not None
    assert candidates.choice is ChoiceMode.SINGLE
    assert candidates.results is ResultsMode.ON_REVEAL
    assert len(candidates.options) == 3
    ranking, scale = programme.item("next-topics"), programme.item("satisfaction")
    assert ranking is not None and ranking.choice is ChoiceMode.RANKING
    assert len(ranking.options) == 4
    assert scale is not None and scale.choice is ChoiceMode.SCALE
    assert scale.option_ids == ("1", "2", "3", "4", "5")
    assert scale.scale_labels == ("전혀 만족하지 않는다", "매우 만족한다")


def test_policy_battle_room_contents() -> None:
    programme = load_programme(ROOMS / "policy-battle.toml")
    assert programme.id == "policy-battle"
    assert len(programme.items) == 9
    pre, final = programme.item("pre-vote"), programme.item("final-vote")
    assert pre is not None
    assert final is not None
    assert pre.option_ids == final.option_ids
    qna = programme.item("panel-qna")
    assert qna is not None
    assert qna.kind is ItemKind.QNA
    assert qna.moderated is True
    assert qna.max_length == 200


def test_good_programme_parses() -> None:
    programme = parse_programme(GOOD, source="test.toml")
    assert programme.id == "forum"  # the default when [forum] has no id
    assert programme.title == "Test forum"
    assert programme.language == "en"
    assert programme.fingerprint() == [["intro", "talk"], ["vote", "poll", "yes", "no"]]
    vote = programme.item("vote")
    assert vote is not None
    assert vote.choice is ChoiceMode.SINGLE
    assert vote.max_choices == 1
    assert vote.results is ResultsMode.ON_REVEAL
    assert programme.index_of("vote") == 1
    assert programme.index_of("nope") is None


def test_programme_id_defaults_to_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "My Room 2024.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_programme(path).id == "my-room-2024"


# -- malformed programmes -------------------------------------------------------------------


def test_toml_syntax_error_names_the_line() -> None:
    text = """\
[forum]
title = "Test forum"

[[items]]
id = "intro"
kind = "talk"
title = Welcome
minutes = 5
"""
    assert line_of(text, 7) == "title = Welcome"
    error = error_for(text)
    assert error.path == "test.toml"
    assert error.line == 7
    assert str(error).startswith("test.toml:7: not valid TOML: ")


def test_toml_duplicate_key_names_the_line() -> None:
    text = """\
[forum]
title = "Test forum"
title = "Again"
"""
    error = error_for(text)
    assert error.line == 3
    assert str(error).startswith("test.toml:3: not valid TOML: ")


def test_unknown_field_in_an_item() -> None:
    text = """\
# comment line
[forum]
title = "Test forum"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"

[[items]]
id = "second"
kind = "talk"
titel = "Typo"
title = "Second"
"""
    assert line_of(text, 13) == 'titel = "Typo"'
    error = error_for(text)
    assert (error.line, error.field) == (13, "items[1].titel")
    assert str(error) == (
        "test.toml:13: items[1].titel: unknown field (allowed: id, kind, minutes, notes, title)"
    )


def test_poll_with_one_option() -> None:
    text = """\
# comment line
[forum]
title = "Test forum"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"

[[items]]
id = "vote"
kind = "poll"
title = "Vote"
options = [
  { id = "yes", label = "Yes" },
]
"""
    assert line_of(text, 14) == "options = ["
    assert str(error_for(text)) == "test.toml:14: items[1].options: a poll needs 2 to 12 options"


def test_duplicate_item_id() -> None:
    text = """\
# comment line
[forum]
title = "Test forum"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"

[[items]]
id = "middle"
kind = "talk"
title = "Middle"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome again"
"""
    assert line_of(text, 16) == 'id = "intro"'
    assert str(error_for(text)) == "test.toml:16: items[2].id: duplicate item id 'intro'"


def test_bad_kind() -> None:
    text = """\
# comment line
[forum]
title = "Test forum"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"

[[items]]
id = "panel"
title = "Panel"
kind = "panel"
"""
    assert line_of(text, 13) == 'kind = "panel"'
    assert (
        str(error_for(text))
        == "test.toml:13: items[1].kind: must be one of talk, poll, qna, ideas, words"
    )


def test_missing_kind_points_at_the_item() -> None:
    text = """\
# comment line
[forum]
title = "Test forum"

[[items]]
id = "intro"
title = "Welcome"
"""
    assert line_of(text, 5) == "[[items]]"
    assert str(error_for(text)) == "test.toml:5: items[0].kind: is required"


@pytest.mark.parametrize("minutes", ["-5", "601", '"ten"', "true", "[5]"])
def test_bad_minutes(minutes: str) -> None:
    text = f"""\
# comment line
[forum]
title = "Test forum"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"
minutes = 5

[[items]]
id = "middle"
kind = "talk"
title = "Middle"
minutes = 10

[[items]]
id = "last"
kind = "talk"
title = "Last"
minutes = {minutes}
"""
    assert line_of(text, 21) == f"minutes = {minutes}"
    assert str(error_for(text)) == (
        "test.toml:21: items[2].minutes: must be a number of minutes from 0 to 600"
    )


def test_missing_forum_title() -> None:
    text = """\
# comment line
[forum]
language = "en"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"
"""
    assert line_of(text, 2) == "[forum]"
    error = error_for(text)
    assert (error.line, error.field) == (2, "forum.title")
    assert str(error) == "test.toml:2: forum.title: is required"


def test_missing_forum_title_with_forum_on_the_first_line() -> None:
    text = """\
[forum]
language = "en"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"
"""
    assert line_of(text, 1) == "[forum]"
    assert str(error_for(text)) == "test.toml:1: forum.title: is required"


def test_missing_forum_table() -> None:
    text = """\
[[items]]
id = "intro"
kind = "talk"
title = "Welcome"
"""
    error = error_for(text)
    assert error.field == "forum"
    assert str(error).startswith("test.toml")
    assert "missing [forum] table" in str(error)


def test_unknown_field_in_an_option_table() -> None:
    text = """\
# comment line
[forum]
title = "Test forum"

[[items]]
id = "vote"
kind = "poll"
title = "Vote"

[[items.options]]
id = "yes"
label = "Yes"

[[items.options]]
id = "no"
lable = "No"
"""
    assert line_of(text, 16) == 'lable = "No"'
    assert str(error_for(text)) == (
        "test.toml:16: items[0].options[1].lable: unknown field (allowed: id, label)"
    )


def test_bad_forum_language() -> None:
    text = """\
# comment line
[forum]
title = "Test forum"
language = "fr"

[[items]]
id = "intro"
kind = "talk"
title = "Welcome"
"""
    assert str(error_for(text)) == "test.toml:4: forum.language: must be one of ko, en"


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", "room\\n"), ("code", "ROOM\\n")],
)
def test_an_id_or_code_ending_in_a_newline_is_refused(field: str, value: str) -> None:
    # A newline would go into file names, Redis keys, log lines and response headers.
    text = GOOD.replace("[forum]\n", f'[forum]\n{field} = "{value}"\n', 1)
    error = error_for(text)
    assert error.field == f"forum.{field}"
    assert "does not match" in error.reason


def test_an_item_id_ending_in_a_newline_is_refused() -> None:
    error = error_for(GOOD.replace('id = "intro"', 'id = "intro\\n"', 1))
    assert error.field == "items[0].id"


@pytest.mark.parametrize("nested", ["[" * 2000 + "]" * 2000, "{a=" * 2000 + "1" + "}" * 2000])
def test_toml_nested_too_deeply_is_refused_not_a_crash(nested: str) -> None:
    assert str(error_for(f"x = {nested}\n")) == "test.toml: not valid TOML: nested too deeply"


# -- the check command ----------------------------------------------------------------------


def test_cli_check_accepts_a_good_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert main(["check", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{path}: ok: 'Test forum', 2 items, 1 polls"
    assert err == ""


def test_cli_check_accepts_the_shipped_rooms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *map(str, SHIPPED)]) == 0
    out, err = capsys.readouterr()
    assert out.count(": ok: ") == len(SHIPPED)
    assert err == ""


def test_cli_check_refuses_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD, encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('kind = "talk"', 'kind = "speech"'), encoding="utf-8")
    assert line_of(bad.read_text(encoding="utf-8"), 8) == 'kind = "speech"'
    assert main(["check", str(bad)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip() == f"{bad}:8: items[0].kind: must be one of talk, poll, qna, ideas, words"

    assert main(["check", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"{good}: ok:" in out
    assert f"{bad}:8: items[0].kind" in err


def test_cli_check_refuses_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.toml"
    assert main(["check", str(missing)]) == 1
    _, err = capsys.readouterr()
    assert err.startswith(f"{missing}: cannot read the file")
