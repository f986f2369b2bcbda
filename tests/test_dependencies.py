"""Townhall depends on what it uses: uvicorn with its event loop and HTTP parser, not the
`standard` bundle's websockets, watchfiles, python-dotenv and PyYAML, which nothing imports."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pinned(lock: str) -> set[str]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", text, re.M)}


def test_the_runtime_lock_holds_what_is_used_and_no_more_of_uvicorn_s_bundle() -> None:
    runtime = pinned("requirements.lock")
    assert {"uvicorn", "uvloop", "httptools", "wsproto"} <= runtime
    assert not runtime & {"websockets", "watchfiles", "python-dotenv", "pyyaml"}


def test_every_pin_is_hash_checked() -> None:
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        pins = re.findall(r"^[A-Za-z0-9_.-]+==\S+", text, re.M)
        blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text)
        assert pins and all("--hash=sha256:" in block for block in blocks if "==" in block), lock
