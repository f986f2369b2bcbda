"""The layers hold: the model imports only itself, event types are registered once, no module
is over 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

MODEL = Path(__file__).resolve().parent.parent / "townhall" / "model"


def test_the_model_imports_only_the_model() -> None:
    outside = []
    for path in sorted(MODEL.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            outside += [
                f"{path.name}: {name}"
                for name in names
                if name.split(".")[0] == "townhall" and not name.startswith("townhall.model")
            ]
    assert not outside


def test_every_event_type_is_registered_once_and_control_lua_agrees() -> None:
    """The `Event` union is the registry: the journal reads every type in it, and control.lua
    stores exactly the ones that are not a participant's (those have scripts of their own)."""
    import re

    from townhall.model.events import _BY_TYPE, EVENT_TYPES
    from townhall.model.forum import PARTICIPANT_EVENTS

    assert set(_BY_TYPE.values()) == set(EVENT_TYPES)
    assert len(_BY_TYPE) == len(EVENT_TYPES)  # no two types share a name
    lua = (MODEL.parent / "engine" / "lua" / "control.lua").read_text(encoding="utf-8")
    table = re.search(r"local known = \{(.*?)\n\}", lua, re.S)
    assert table is not None
    known = set(re.findall(r"(\w+) = \d+", table.group(1)))
    control = {cls.type for cls in EVENT_TYPES if cls not in PARTICIPANT_EVENTS}
    assert known == control


def test_no_module_is_over_400_lines() -> None:
    """Small files named for what they hold: past 400 lines a module is holding two things."""
    package = MODEL.parent
    long = {
        path.relative_to(package).as_posix(): lines
        for path in sorted(package.rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert not long
