"""Word items: the cloud's words (Korean stems, hidden words, which answers count) and the
board rules a word item changes (answers per person, no upvotes). No server."""

from __future__ import annotations

import pytest

from tests.conftest import wait_until
from townhall import wordcloud
from townhall.model.commands import (
    Actor,
    ApprovePost,
    EditPost,
    HidePost,
    MergePosts,
    Role,
    SubmitPost,
    Upvote,
)
from townhall.model.errors import ForumError
from townhall.model.forum import Forum
from townhall.model.statement import programme_from, programme_statement
from townhall.programme import ProgrammeError, parse_programme
from townhall.wordcloud import (
    WordClouds,
    count_words,
    cut_answers,
    in_tokenizer,
    tokenizer,
    words_of,
)

ROOM = """
[forum]
title = "Words"

[[items]]
id = "words"
kind = "words"
title = "Three keywords"
question = "Introduce yourself in three keywords"
answers_per_person = 2
hidden_words = ["바보", "싫어요", "Spam"]

[[items]]
id = "moderated"
kind = "words"
title = "Moderated"
moderated = true
answers_per_person = 5
"""
HOST = Actor(Role.HOST, "host")


def person(name: str) -> Actor:
    return Actor(Role.PARTICIPANT, name)


@pytest.fixture(autouse=True)
async def tokenizer_loaded() -> None:
    """The tokenizer's process, started and loaded: clouds are counted at once from then on."""
    assert await in_tokenizer(cut_answers, ["도서관"]) == [("도서관",)]
    assert wordcloud.tokenizer_ready()


@pytest.fixture
def forum() -> Forum:
    return Forum(parse_programme(ROOM, source="words.toml"))


def answer(forum: Forum, who: str, text: str, board: str = "words") -> int:
    forum.execute(person(who), SubmitPost(board, text, "", f"{who}-{text}"), 0)
    return forum.seq


async def cloud(forum: Forum, board: str = "words") -> dict[str, int]:
    counted = await WordClouds(forum.programme.items).cloud(forum.boards.boards[board])
    return {word: n for word, n in counted}


def test_particle_forms_are_counted_by_their_stem() -> None:
    kiwi = tokenizer()
    assert [words_of(kiwi, text) for text in ("도서관이", "도서관에서", "도서관은")] == [
        ("도서관",),
        ("도서관",),
        ("도서관",),
    ]
    assert words_of(kiwi, "책을 읽어요") == ("책", "읽다")
    assert words_of(kiwi, "조용한 공간") == ("조용하다", "공간")
    assert words_of(kiwi, "The Coffee and the books") == ("coffee", "books")
    assert words_of(kiwi, "<b>x</b> tea") == ("tea",), "lone letters are no words"


async def test_the_cloud_counts_stems_once_per_answer(forum: Forum) -> None:
    answer(forum, "ann", "도서관이")
    answer(forum, "bob", "도서관에서 책, 도서관")  # 도서관 twice in one answer: counted once
    answer(forum, "cat", "도서관은")
    answer(forum, "dan", "책을 좋아해요")
    assert await cloud(forum) == {"도서관": 3, "책": 2, "좋아하다": 1}


async def test_hidden_words_are_never_shown_in_any_form(forum: Forum) -> None:
    answer(forum, "ann", "바보 도서관")
    answer(forum, "bob", "정말 싫다")  # the programme hides "싫어요": its stem 싫다 too
    answer(forum, "cat", "spam SPAM coffee")
    counted = await cloud(forum)
    assert counted == {"도서관": 1, "coffee": 1}


async def test_only_shown_answers_count(forum: Forum) -> None:
    waiting = answer(forum, "ann", "고양이", board="moderated")
    assert await cloud(forum, "moderated") == {}, "a waiting answer is not in the cloud"
    forum.execute(HOST, ApprovePost(waiting), 0)
    assert await cloud(forum, "moderated") == {"고양이": 1}
    forum.execute(HOST, HidePost(waiting), 0)
    assert await cloud(forum, "moderated") == {}


async def test_an_edit_and_a_merge_change_the_cloud_once() -> None:
    forum = Forum(parse_programme(ROOM, source="words.toml"))
    clouds = WordClouds(forum.programme.items)
    board = forum.boards.boards["words"]
    first = answer(forum, "ann", "고양이")
    second = answer(forum, "bob", "고양이들")
    assert await clouds.cloud(board) == [["고양이", 2]]
    forum.execute(HOST, EditPost(first, "강아지"), 0)
    assert await clouds.cloud(board) == [["강아지", 1], ["고양이", 1]]
    forum.execute(HOST, MergePosts(second, first), 0)
    assert await clouds.cloud(board) == [["강아지", 1]], "a merged answer counts in its target"


def test_count_words_keeps_the_most_frequent() -> None:
    answers = [("a1",), ("a1", "b2"), ("c3",), ("b2",), ("a1",)]
    assert count_words(answers, frozenset(), size=2) == [["a1", 3], ["b2", 2]]
    assert count_words(answers, frozenset({"a1"})) == [["b2", 2], ["c3", 1]]


def test_answers_per_person_bounds_each_participant(forum: Forum) -> None:
    answer(forum, "ann", "하나")
    hidden = answer(forum, "ann", "둘")
    forum.execute(HOST, HidePost(hidden), 0)
    with pytest.raises(ForumError) as error:
        answer(forum, "ann", "셋")
    assert error.value.code == "post_limit"
    assert "2 times" in error.value.message, "a hidden answer still counts"
    answer(forum, "bob", "셋")  # another participant is not held back


def test_answers_take_no_upvotes(forum: Forum) -> None:
    mine = answer(forum, "ann", "고양이")
    with pytest.raises(ForumError) as error:
        forum.execute(person("bob"), Upvote(mine, True, "u1"), 0)
    assert error.value.code == "no_upvotes"


def test_answers_are_short_and_anonymous(forum: Forum) -> None:
    with pytest.raises(ForumError) as error:
        forum.execute(person("ann"), SubmitPost("words", "가" * 41, "", "long"), 0)
    assert error.value.code == "post_too_long"
    forum.execute(person("ann"), SubmitPost("words", "고양이", "Ann", "named"), 0)
    assert forum.boards.posts[forum.seq].name == "", "no name is kept beside an answer"


def test_the_statement_keeps_what_the_cloud_is_made_from() -> None:
    programme = parse_programme(ROOM, source="words.toml")
    stated = programme_statement(programme)
    words = stated["items"][0]
    assert words["hidden_words"] == ["바보", "싫어요", "Spam"]
    assert words["question"] == "Introduce yourself in three keywords"
    assert programme_from(stated).items[0] == programme.items[0]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("names = 'required'", "unknown field"),
        ("hidden_words = 'spam'", "must be a list"),
        ("hidden_words = ['']", "each word is a string"),
        ("answers_per_person = 11", "from 1 to 10"),
        ("max_length = 500", "from 10 to 100"),
    ],
)
def test_bad_word_settings_are_refused(setting: str, message: str) -> None:
    text = ROOM.replace(
        'answers_per_person = 2\nhidden_words = ["바보", "싫어요", "Spam"]', setting
    )
    assert text != ROOM
    with pytest.raises(ProgrammeError) as error:
        parse_programme(text, source="words.toml")
    assert message in str(error.value)


async def test_while_kiwi_loads_the_cloud_is_counted_in_the_background(
    forum: Forum, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds = WordClouds(forum.programme.items)
    told: list[str] = []
    clouds.subscribe(told.append)
    board = forum.boards.boards["words"]
    answer(forum, "ann", "고양이")
    monkeypatch.setattr(wordcloud, "tokenizer_ready", lambda: False)
    assert await clouds.cloud(board) == [], "no wait: nothing counted yet"
    await wait_until(lambda: told == ["words"], "the broadcaster to be told the cloud is ready")
    answer(forum, "bob", "강아지")
    assert await clouds.cloud(board) == [["고양이", 1]], "the last cloud counted, at once"
    monkeypatch.undo()
    assert await clouds.cloud(board) == [["강아지", 1], ["고양이", 1]]


def test_invisible_characters_make_no_word_and_hide_no_word() -> None:
    kiwi = tokenizer()
    assert words_of(kiwi, "\u200b\u200b") == ()
    assert words_of(kiwi, "\u115f\u1160 \u3164") == ()
    assert words_of(kiwi, "se\u200bcret 도서관이") == ("secret", "도서관")


async def test_an_answer_hidden_in_invisible_characters_is_still_hidden(forum: Forum) -> None:
    answer(forum, "ann", "sp\u200bam 바\u2060보 coffee")
    assert await cloud(forum) == {"coffee": 1}


def test_the_room_sees_a_word_item_only_as_its_cloud(forum: Forum) -> None:
    """Phones and the projector get each shown answer's id and state, never its text: the
    author's phone keeps its own text, and the hidden words the cloud leaves out stay unread."""
    shown = answer(forum, "ann", "바보 도서관")
    waiting = answer(forum, "bob", "고양이", board="moderated")
    public = forum.board_views(Role.SCREEN)
    assert public["words"]["posts"] == [{"id": shown, "state": "visible"}]
    assert public["moderated"]["posts"] == []
    assert "바보" not in str(public) and "고양이" not in str(public)
    forum.execute(HOST, HidePost(shown), 0)
    assert forum.board_views(Role.PARTICIPANT)["words"] == {
        "board": "words",
        "version": forum.seq,
        "pinned": 0,
        "posts": [],
        "hidden": [shown],
    }
    # The host and the moderator moderate the answers: they read them whole.
    full = forum.board_views(Role.HOST)
    assert [p["text"] for p in full["words"]["posts"]] == ["바보 도서관"]
    assert [p["id"] for p in full["moderated"]["posts"]] == [waiting]
