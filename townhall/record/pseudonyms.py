"""Participants' pseudonyms: one per participant per forum, unlinkable without the forum's
secret, so ballots can be followed from poll to poll without naming anyone."""

from __future__ import annotations

import hashlib
import hmac

LENGTH = 16  # hex digits
PURPOSE = b"townhall record pseudonyms"  # keeps this key apart from others the secret derives


class Pseudonyms:
    """`p-` and the first LENGTH hex digits of HMAC-SHA256(key, participant id), where the key
    is HMAC-SHA256(forum secret, PURPOSE)."""

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()
        self._known: dict[str, str] = {}

    def __call__(self, participant: str) -> str:
        name = self._known.get(participant)
        if name is None:
            digest = hmac.new(self._key, participant.encode(), hashlib.sha256).hexdigest()
            name = self._known[participant] = f"p-{digest[:LENGTH]}"
        return name
