"""Participants' pseudonyms: one per participant per forum, unlinkable without the forum's
secret, so ballots can be followed from poll to poll without naming anyone; and the salts of
posts' texts, from the same secret, so a purged text's hash is no way to guess it."""

from __future__ import annotations

import hashlib
import hmac
import re

LENGTH = 16  # hex digits
PURPOSE = b"townhall record pseudonyms"  # keeps this key apart from others the secret derives
SALT_HEX = 32  # a salt's hex digits: 128 bits
# A pseudonym; a purged log stores these in place of participant ids (townhall/purge.py). No
# participant id is one: a cookie's id is 16 URL-safe characters, a ballot code's voter an id.
PSEUDONYM = re.compile(rf"p-[0-9a-f]{{{LENGTH}}}\Z")


class Pseudonyms:
    """`p-` and the first LENGTH hex digits of HMAC-SHA256(key, participant id), where the key
    is HMAC-SHA256(forum secret, PURPOSE). A pseudonym already (a purged log's) stays as it is.
    """

    def __init__(self, secret: str) -> None:
        self._key = hmac.new(secret.encode(), PURPOSE, hashlib.sha256).digest()
        self._secret = secret.encode()
        self._known: dict[str, str] = {}

    def __call__(self, participant: str) -> str:
        name = self._known.get(participant)
        if name is None and PSEUDONYM.match(participant):
            name = self._known[participant] = participant
        if name is None:
            digest = hmac.new(self._key, participant.encode(), hashlib.sha256).hexdigest()
            name = self._known[participant] = f"p-{digest[:LENGTH]}"
        return name

    def salt(self, seq: int) -> str:
        """The salt of the texts on line `seq`: the first SALT_HEX hex digits of
        HMAC-SHA256(forum secret, "record text salt {seq}"). Published only in the line's
        `plain`; the same in every record of the forum, so every record hashes alike."""
        message = f"record text salt {seq}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:SALT_HEX]
