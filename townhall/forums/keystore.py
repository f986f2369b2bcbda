"""The organiser key's record kept with the registry (the data dir, or Redis), as the console's
`KeyStore`. The console reads it on every request, so a read is kept for a few seconds: a key
changed by `townhall organiser-key` is in force everywhere within that time."""

from __future__ import annotations

import time

from townhall.engine.registry import Registry

CACHE_S = 5.0


class RegistryKeyStore:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._read: dict[str, tuple[float, bytes | None]] = {}

    def get(self, name: str) -> bytes | None:
        now = time.monotonic()
        cached = self._read.get(name)
        if cached is not None and now - cached[0] < CACHE_S:
            return cached[1]
        value = self.registry.get_secret(name)
        self._read[name] = (now, value)
        return value

    def put(self, name: str, value: bytes) -> None:
        self.registry.put_secret(name, value)
        self._read[name] = (time.monotonic(), value)
