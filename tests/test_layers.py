"""The model is closed: nothing in townhall/model/ imports anything of Townhall's outside it."""

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
