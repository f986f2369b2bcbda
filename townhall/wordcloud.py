"""Word items' clouds: each shown answer cut into its words by the Korean tokenizer kiwipiepy,
each word counted once per answer, the programme's hidden words left out.

A Korean word is counted by its stem, not by each particle-suffixed form: "도서관이",
"도서관에서" and "도서관은" are all 도서관. Kept: nouns (NNG, NNP), verb and adjective stems as
their dictionary form (읽어요 → 읽다), roots made adjectives by 하다 (조용한 → 조용하다), and
words in Latin letters, lowercased (two letters or more). Particles, endings, pronouns and punctuation are dropped by
their tags. The model loads once per process, in a thread, and only for a forum with a word item
(docs/operations.md gives its load time and memory).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from townhall.model.agenda import Item, ItemKind
from townhall.model.board_state import Board

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

CLOUD_SIZE = 60  # the most words a cloud holds, the most frequent first
NOUNS = frozenset({"NNG", "NNP"})
STEMS = frozenset({"VV", "VA", "VV-I", "VA-I", "VV-R", "VA-R"})  # read as their lemma
FOREIGN = "SL"
ROOT = "XR"  # a root that 하다 makes an adjective (조용-하다)
# Words every answer might hold and that say nothing of it: light verbs, and English
# function words, which kiwipiepy tags SL like every other word in Latin letters.
FUNCTION_WORDS = frozenset(
    {
        "하다",
        "되다",
        "있다",
        "없다",
        "이다",
        "아니다",
        "같다",
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "i",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
    }
)

_kiwi: Kiwi | None = None
_loading = threading.Lock()


def tokenizer() -> Kiwi:
    """The process's one Kiwi, loaded on first use: seconds and hundreds of MB, so call it in a
    thread. The typo and multi-word dictionaries are left out: answers are a few words."""
    global _kiwi
    with _loading:
        if _kiwi is None:
            from kiwipiepy import Kiwi

            _kiwi = Kiwi(load_typo_dict=False, load_multi_dict=False)
        return _kiwi


def words_of(kiwi: Kiwi, text: str) -> tuple[str, ...]:
    """The words one answer holds, each once, in the order written."""
    tokens = kiwi.tokenize(text)
    found: dict[str, None] = {}
    for i, token in enumerate(tokens):
        tag = token.tag
        if tag in NOUNS:
            word = token.form
        elif tag in STEMS:
            word = token.lemma
        elif tag == FOREIGN and len(token.form) > 1:  # a lone letter says nothing
            word = token.form.lower()
        elif tag == ROOT:
            follows = tokens[i + 1] if i + 1 < len(tokens) else None
            word = (
                token.form + "하다" if follows is not None and follows.tag == "XSA" else token.form
            )
        else:
            continue
        if word not in FUNCTION_WORDS:
            found[word] = None
    return tuple(found)


def hidden_set(kiwi: Kiwi, hidden_words: Iterable[str]) -> frozenset[str]:
    """The words never shown: each as written (lowercased) and as the cloud would count it, so
    "싫어요" in the programme hides 싫다."""
    hidden: set[str] = set()
    for written in hidden_words:
        hidden.add(written.strip().lower())
        hidden.update(words_of(kiwi, written))
    return frozenset(hidden)


def count_words(
    answers: Iterable[tuple[str, ...]], hidden: frozenset[str], size: int | None = CLOUD_SIZE
) -> list[list[Any]]:
    """`[[word, count], …]`, the most frequent first, ties in the words' order; at most `size`
    (None: every word)."""
    counts = Counter(word for words in answers for word in words if word not in hidden)
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    return [[word, n] for word, n in ranked[:size]]


class WordClouds:
    """One forum's clouds: each answer cut once (again when the host edits it), each cloud
    counted once per change of its board, however many roles it goes to."""

    def __init__(self, items: Iterable[Item]) -> None:
        self.hidden_words = {item.id: item.hidden_words for item in items if is_words(item)}
        self._hidden: dict[str, frozenset[str]] = {}
        # board -> post -> (the text, its words)
        self._answers: dict[str, dict[int, tuple[str, tuple[str, ...]]]] = {}
        self._clouds: dict[str, tuple[int, list[list[Any]]]] = {}  # board -> (version, cloud)
        self._warming: asyncio.Task[Kiwi] | None = None

    def warm(self) -> None:
        """Start loading the tokenizer off the event loop, if this forum has a word item."""
        if self.hidden_words and self._warming is None:
            self._warming = asyncio.create_task(asyncio.to_thread(tokenizer))

    async def _kiwi(self) -> Kiwi:
        if _kiwi is not None:
            return _kiwi
        if self._warming is None:
            self._warming = asyncio.create_task(asyncio.to_thread(tokenizer))
        return await asyncio.shield(self._warming)

    async def cloud(self, board: Board) -> list[list[Any]]:
        """The board's cloud from its shown answers (approved or answered; not waiting, hidden
        or merged into another): its CLOUD_SIZE most frequent words."""
        cached = self._clouds.get(board.item.id)
        if cached is not None and cached[0] == board.version:
            return cached[1]
        counted = await self.counts(board, CLOUD_SIZE)
        self._clouds[board.item.id] = (board.version, counted)
        return counted

    async def counts(self, board: Board, size: int | None = None) -> list[list[Any]]:
        """Every word of the board's shown answers with its count (the first `size`)."""
        kiwi = await self._kiwi()
        hidden = self._hidden.get(board.item.id)
        if hidden is None:
            hidden = self._hidden[board.item.id] = hidden_set(
                kiwi, self.hidden_words.get(board.item.id, ())
            )
        # Only the shown answers are kept, so a hidden or purged one's words are let go.
        before = self._answers.get(board.item.id, {})
        cut: dict[int, tuple[str, tuple[str, ...]]] = {}
        for post in board.posts.values():
            if post.state.public:
                known = before.get(post.id)
                if known is None or known[0] != post.text:
                    known = (post.text, words_of(kiwi, post.text))
                cut[post.id] = known
        self._answers[board.item.id] = cut
        return count_words((words for _, words in cut.values()), hidden, size)

    async def add_to(self, views: dict[str, dict[str, Any]], boards: dict[str, Board]) -> None:
        """Put each word board's cloud in its view, as `board` messages carry it."""
        for board_id, view in views.items():
            board = boards[board_id]
            if is_words(board.item):
                view["cloud"] = await self.cloud(board)


def is_words(item: Item) -> bool:
    return item.kind is ItemKind.WORDS
