"""The engine owns its backend: only the engine and the settings know which one runs, and what
the backends share (replaying a journal, keeping a forum's secrets) is written once."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ENGINES, engine_url
from tests.test_live_vote_and_score import ROOM
from townhall import score_cli
from townhall.engine import EngineError, keep_secrets, open_engine
from townhall.engine import journal as journal_module
from townhall.engine import memory as memory_module
from townhall.engine.journal import Journal, header
from townhall.engine.redis import RedisEngine
from townhall.model.agenda import Programme
from townhall.programme import load_programme

PACKAGE = Path(__file__).resolve().parent.parent / "townhall"
# cli.py passes --redis into Settings and Settings into the workers' environment: plumbing.
PLUMBING = {"cli.py"}


def outside_the_engine() -> list[tuple[str, ast.Module]]:
    """Every module of Townhall's outside townhall/engine/ and config.py, parsed."""
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name.startswith("engine/") or name == "config.py":
            continue
        modules.append((name, ast.parse(path.read_text(encoding="utf-8"))))
    return modules


def test_only_the_engine_and_the_settings_read_the_redis_url() -> None:
    readers = {
        name
        for name, tree in outside_the_engine()
        for node in ast.walk(tree)
        if (isinstance(node, ast.Attribute) and node.attr == "redis_url")
        or (isinstance(node, ast.keyword) and node.arg == "redis_url")
    }
    assert readers <= PLUMBING


def test_nothing_outside_the_engine_imports_redis() -> None:
    importers = []
    for name, tree in outside_the_engine():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            importers += [
                f"{name}: {module}"
                for module in modules
                if module.split(".")[0] == "redis" or module.startswith("townhall.engine.redis")
            ]
    assert not importers


def test_engines_say_which_backend_they_are_and_whether_it_is_shared(tmp_path: Path) -> None:
    engine = open_engine("memory://", load_programme_at(tmp_path), tmp_path)
    assert (engine.name, engine.shared) == ("memory", False)
    assert (RedisEngine.name, RedisEngine.shared) == ("redis", True)


def load_programme_at(tmp_path: Path) -> Programme:
    room = tmp_path / "scored.toml"
    room.write_text(ROOM, encoding="utf-8")
    return load_programme(room)


def test_the_score_command_and_the_memory_engine_replay_through_one_function() -> None:
    assert vars(score_cli)["replay"] is vars(memory_module)["replay"] is journal_module.replay


OTHER_AGENDA = {"t": "journal", "v": 1, "forum": "scored", "shape": "another"}


@pytest.mark.parametrize(
    ("first", "then", "refusal"),
    [
        (OTHER_AGENDA, [], "different agenda"),
        ({"t": "journal", "v": 99}, [], "not a Townhall journal"),
        (None, [{"t": "poll_opened", "seq": 2}], "event 2 follows 0; log has a gap"),
        (None, [{"t": "no_such_event", "seq": 1}], "bad record after event 0"),
    ],
)
async def test_the_score_command_refuses_a_journal_as_the_engine_does(
    tmp_path: Path, first: dict[str, Any] | None, then: list[dict[str, Any]], refusal: str
) -> None:
    """`first` is the journal's header record; None is the programme's own."""
    programme = load_programme_at(tmp_path)
    journal = Journal(tmp_path / "scored.journal")
    journal.open()
    journal.append([header(programme) if first is None else first, *then])
    journal.close()
    with pytest.raises(EngineError, match=refusal) as by_engine:
        await open_engine("memory://", programme, tmp_path).start()
    with pytest.raises(score_cli.ScoreError, match=refusal) as by_score:
        score_cli.forum_result(tmp_path / "scored.toml", tmp_path, None)
    assert str(by_score.value) == str(by_engine.value)


@pytest.mark.parametrize("kind", ENGINES)
def test_secrets_are_kept_where_the_engine_keeps_the_forum(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    url = engine_url(request, kind)
    none = {"code": "", "host_key": "", "secret": ""}

    def keep(fixed: dict[str, str], fresh: str) -> dict[str, str]:
        return keep_secrets(url, "kept", tmp_path, fixed, dict.fromkeys(none, fresh))

    first = keep(none, "one")
    assert first == dict.fromkeys(none, "one")
    assert keep(none, "two") == first  # the stored ones win over fresh ones
    assert keep({**none, "code": "FIXED"}, "three") == {**first, "code": "FIXED"}
    assert keep(none, "four") == {**first, "code": "FIXED"}  # a fixed one is stored too
