"""The model is the only rulebook: the Redis engine and its Lua scripts report, the model words.

Every refusal and every ack shape is written once, in townhall/model/; each status a Lua script
can return is in the one table that turns it into the model's refusal or lets the engine carry on.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from townhall.engine.redis_scripts import STATUSES, Script, status_of
from townhall.model import refusals
from townhall.model.errors import ForumError

ROOT = Path(__file__).resolve().parent.parent / "townhall"
ENGINE = ROOT / "engine"
LUA = ENGINE / "lua"
REDIS_MODULES = sorted(ENGINE.glob("redis*.py"))


def lua_statuses(script: Script) -> set[str]:
    source = (LUA / script.value).read_text(encoding="utf-8")
    return set(re.findall(r"return \{'(\w+)'", source))


def every_refusal() -> list[ForumError]:
    """Each constructor in `refusals`, called with stand-in values for what it words."""
    made = []
    for _, make in inspect.getmembers(refusals, inspect.isfunction):
        if make.__module__ != refusals.__name__:
            continue
        params = inspect.signature(make).parameters.values()
        made.append(make(*(7 if p.annotation == "int" else "xyz" for p in params)))
    return made


@pytest.mark.parametrize("script", list(Script), ids=str)
def test_the_table_has_every_status_each_script_returns_and_no_other(script: Script) -> None:
    assert lua_statuses(script) == set(STATUSES.get(script, {}))


def test_the_lua_scripts_hold_no_words_only_codes() -> None:
    for path in LUA.glob("*.lua"):
        source = path.read_text(encoding="utf-8")
        for reply in re.findall(r"error_reply\(([^\n]*)\)", source):
            assert re.match(r"'[a-z_]+( '|')", reply), f"{path.name}: {reply}"
        for status in re.findall(r"return \{'([^']*)'", source):
            assert re.fullmatch(r"[a-z_]+", status), f"{path.name}: {status}"


def test_no_refusal_is_worded_outside_the_model() -> None:
    made = every_refusal()
    assert len({(e.code, e.message) for e in made}) == len(made), "each refusal once"
    fragments = {
        piece.strip(" :;,.")
        for error in made
        for piece in re.split(r"xyz|'xyz'|7", error.message)
        if len(piece.strip(" :;,.")) >= 12
    }
    sources = {p.name: p.read_text(encoding="utf-8") for p in [*REDIS_MODULES, *LUA.glob("*")]}
    found = [(name, f) for name, text in sources.items() for f in fragments if f in text]
    assert not found


def test_the_redis_engine_builds_no_refusal_and_no_ack_of_its_own() -> None:
    for path in REDIS_MODULES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in {
                    "ForumError",
                    "Forbidden",
                    "NotFound",
                    "InvalidPayload",
                    "Conflict",
                }, f"{path.name}:{node.lineno}"
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                assert "ok" not in keys, f"{path.name}:{node.lineno}: an ack's shape"


def test_a_status_becomes_the_models_refusal() -> None:
    with pytest.raises(ForumError) as refused:
        status_of(Script.VOTE, [b"unknown", b"zebra"])
    assert refused.value.as_ack() == refusals.unknown_option("zebra").as_ack()
    with pytest.raises(ForumError) as refused:
        status_of(Script.UPVOTE, [b"merged", 4])
    assert refused.value.as_ack() == refusals.upvoted_post_merged(4).as_ack()
    assert status_of(Script.VOTE, [b"dup", 3, b"\x91\xa1a"]) == "dup"
    assert status_of(Script.CONTROL, [b"stale", 9]) == "stale"


@pytest.mark.parametrize("status", sorted(STATUSES[Script.POST]))
def test_post_refusals_carry_the_code_the_script_names(status: str) -> None:
    refusal = STATUSES[Script.POST][status]
    if refusal is not None:
        expected = "board_full" if status == "board_stored_full" else status
        # (post_limit names the board's limit too: a word item's is its answers per person.)
        assert refusal([status.encode(), 20]).code == expected


def test_the_modules_this_rulebook_split_stay_small() -> None:
    for path in [*sorted((ROOT / "model").glob("*.py")), *REDIS_MODULES]:
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 400, f"{path.name} has {lines} lines"
