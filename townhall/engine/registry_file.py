"""The registry in the data dir: `forums/ID.json` for each forum, and the server's secrets in
files readable by their owner only. One process serves a data dir, so no one else writes here."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from townhall.engine.base import EngineError
from townhall.engine.registry import Entry

# Files a forum keeps in the data dir, beside its entry.
FORUM_FILES = (".journal", ".keys.json", ".lock")


class FileRegistry:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.dir = data_dir / "forums"
        self._version = 0

    def entries(self) -> dict[str, Entry]:
        found: dict[str, Entry] = {}
        if not self.dir.is_dir():
            return found
        for path in sorted(self.dir.glob("*.json")):
            try:
                entry = Entry.from_json(path.read_text(encoding="utf-8"))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise EngineError(f"{path}: not a forum entry ({exc})") from exc
            found[entry.id] = entry
        return found

    def put(self, entry: Entry) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / f"{entry.id}.json"
        partial = path.with_suffix(".json.partial")
        partial.write_text(entry.to_json(), encoding="utf-8")
        os.replace(partial, path)  # a crash leaves the old entry or the new one, never half
        self._version += 1

    def remove(self, forum_id: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.dir / f"{forum_id}.json").unlink()
        self._version += 1

    def version(self) -> int:
        return self._version

    def get_secret(self, name: str) -> bytes | None:
        try:
            return (self.data_dir / f"{name}.secret").read_bytes()
        except FileNotFoundError:
            return None

    def put_secret(self, name: str, value: bytes) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path = self.data_dir / f"{name}.secret"
        partial = path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(value)
        os.replace(partial, path)

    def has_forum_data(self, forum_id: str) -> bool:
        return any((self.data_dir / f"{forum_id}{suffix}").exists() for suffix in FORUM_FILES)

    def remove_forum_data(self, forum_id: str) -> list[str]:
        removed = []
        for suffix in FORUM_FILES:
            path = self.data_dir / f"{forum_id}{suffix}"
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(str(path))
        return removed
