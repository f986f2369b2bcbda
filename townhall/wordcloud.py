"""Word items' clouds: each shown answer cut into its words by the Korean tokenizer kiwipiepy,
each word counted once per answer, the programme's hidden words left out.

A Korean word is counted by its stem, not by each particle-suffixed form: "도서관이",
"도서관에서" and "도서관은" are all 도서관. Kept: nouns (NNG, NNP), verb and adjective stems as
their dictionary form (읽어요 → 읽다), roots made adjectives by 하다 (조용한 → 조용하다), and
words in Latin letters, lowercased (two letters or more). Particles, endings, pronouns and
punctuation are dropped by their tags. The model loads once, in a process of its own beside the
server's, and only for a forum with a word item (docs/operations.md: its load time and memory).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, TypeVar

from townhall.model.agenda import Item, ItemKind
from townhall.model.board_state import Board
from townhall.model.text import printable

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

PARENT_CHECK_S = 1.0  # how often the tokenizer's process looks for the server's
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
_pool: ProcessPoolExecutor | None = None
_loaded: Future[None] | None = None  # the new process's load of Kiwi
_starting = threading.Lock()


def tokenizer() -> Kiwi:
    """This process's one Kiwi, loaded on first use (seconds, and hundreds of MB). The typo and
    multi-word dictionaries are left out: answers are a few words."""
    global _kiwi
    with _loading:
        if _kiwi is None:
            from kiwipiepy import Kiwi

            _kiwi = Kiwi(load_typo_dict=False, load_multi_dict=False)
        return _kiwi


def cut_answers(texts: list[str]) -> list[tuple[str, ...]]:
    """Each text's words: run in the tokenizer's process."""
    kiwi = tokenizer()
    return [words_of(kiwi, text) for text in texts]


def cut_hidden(hidden_words: tuple[str, ...]) -> frozenset[str]:
    """`hidden_set` of the programme's words: run in the tokenizer's process."""
    return hidden_set(tokenizer(), hidden_words)


def _load() -> None:
    tokenizer()  # in the tokenizer's process, first thing


def _follow_parent(parent: int) -> None:
    """In the tokenizer's process: end it when the server's process has gone, however the server
    ended (a signal re-raised after uvicorn's shutdown skips every exit hook), so no stopped
    server leaves hundreds of MB behind."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="follow-parent", daemon=True).start()


def _tokenizer_process() -> ProcessPoolExecutor:
    """The server's one process that loads Kiwi and cuts every forum's answers. Kiwi holds the
    interpreter lock while it loads and cuts, so in a thread it would stall the event loop for
    seconds; in its own process the server's memory and loop are untouched. Started on first
    use, with nothing inherited (spawned, not forked from a process running threads)."""
    global _pool, _loaded
    with _starting:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_follow_parent,
                initargs=(os.getpid(),),
            )
            _loaded = _pool.submit(_load)
        return _pool


async def stop_tokenizer() -> None:
    """End the tokenizer's process with the server, its queues' semaphores released: ended by
    the signal uvicorn re-raises, it would leave them to the resource tracker's warning."""
    global _pool, _loaded
    with _starting:
        pool, _pool, _loaded = _pool, None, None
    if pool is not None:
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def tokenizer_ready() -> bool:
    """Whether the tokenizer's process has loaded Kiwi, so a trip to it takes a millisecond."""
    return _loaded is not None and _loaded.done() and _loaded.exception() is None


async def in_tokenizer(function: Callable[[T], R], argument: T) -> R:
    """`function(argument)` in the tokenizer's process; a process that died is started again."""
    global _pool
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_tokenizer_process(), function, argument)
    except BrokenProcessPool:
        with _starting:
            _pool = None
        return await loop.run_in_executor(_tokenizer_process(), function, argument)


def words_of(kiwi: Kiwi, text: str) -> tuple[str, ...]:
    """The words one answer holds, each once, in the order written."""
    tokens = kiwi.tokenize(printable(text))
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
        # A "word" of nothing readable (a filler or format character the tokenizer kept) is none.
        if word not in FUNCTION_WORDS and any(c.isalnum() for c in word):
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
        self._told: list[Callable[[str], None]] = []
        self._counting: dict[str, asyncio.Task[None]] = {}  # boards counted while Kiwi loads
        self._hidden: dict[str, frozenset[str]] = {}
        # board -> post -> (the text, its words)
        self._answers: dict[str, dict[int, tuple[str, tuple[str, ...]]]] = {}
        self._clouds: dict[str, tuple[int, list[list[Any]]]] = {}  # board -> (version, cloud)

    def warm(self) -> None:
        """Start the tokenizer's process loading, if this forum has a word item."""
        if self.hidden_words:
            _tokenizer_process()

    def subscribe(self, told: Callable[[str], None]) -> None:
        """`told(board)` is called when a cloud counted in the background is ready."""
        self._told.append(told)

    async def cloud(self, board: Board) -> list[list[Any]]:
        """The board's cloud from its shown answers (approved or answered; not waiting, hidden
        or merged into another): its CLOUD_SIZE most frequent words.

        While Kiwi is still loading, the last cloud counted (or none) at once, and the count is
        made in the background: a snapshot or a broadcast never waits seconds for it."""
        cached = self._clouds.get(board.item.id)
        if cached is not None and cached[0] == board.version:
            return cached[1]
        if tokenizer_ready():
            return await self._count(board)
        if board.item.id not in self._counting:
            self._counting[board.item.id] = asyncio.create_task(self._count_and_tell(board))
        return [] if cached is None else cached[1]

    async def _count(self, board: Board) -> list[list[Any]]:
        version = board.version
        counted = await self.counts(board, CLOUD_SIZE)
        self._clouds[board.item.id] = (version, counted)
        return counted

    async def _count_and_tell(self, board: Board) -> None:
        try:
            await self._count(board)
        except Exception:
            log.exception("the word cloud of %s could not be counted", board.item.id)
            return
        finally:
            del self._counting[board.item.id]
        for told in self._told:
            told(board.item.id)

    async def counts(self, board: Board, size: int | None = None) -> list[list[Any]]:
        """Every word of the board's shown answers with its count (the first `size`)."""
        hidden = self._hidden.get(board.item.id)
        if hidden is None:
            written = self.hidden_words.get(board.item.id, ())
            hidden = self._hidden[board.item.id] = await in_tokenizer(cut_hidden, written)
        # Only the shown answers are kept, so a hidden or purged one's words are let go; the
        # new and edited ones are cut together, in one trip to the tokenizer.
        before = self._answers.get(board.item.id, {})
        shown = {p.id: p.text for p in board.posts.values() if p.state.public}
        new = [i for i, text in shown.items() if i not in before or before[i][0] != text]
        fresh = await in_tokenizer(cut_answers, [shown[i] for i in new])
        cut = {i: before[i] for i in shown if i not in new}
        cut.update({i: (shown[i], words) for i, words in zip(new, fresh, strict=True)})
        self._answers[board.item.id] = cut
        return count_words((words for _, words in cut.values()), hidden, size)

    async def clouds(self, boards: dict[str, Board]) -> dict[str, list[list[Any]]]:
        """Every word board's cloud, by board id, as `board` messages carry it."""
        return {
            board_id: await self.cloud(board)
            for board_id, board in boards.items()
            if is_words(board.item)
        }


def is_words(item: Item) -> bool:
    return item.kind is ItemKind.WORDS
