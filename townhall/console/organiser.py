"""The organiser key that opens the console: made once, shown once, kept only as a slow hash.

The record also holds the secret the console signs its sessions with, so a new key ends every
session signed under the old one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Protocol

RECORD_NAME = "organiser"
# scrypt at 16 MiB and about 50 ms a try: a stolen record costs a guesser dearly per guess.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
KEY_BYTES = 24


class KeyStore(Protocol):
    """Where the server keeps small secrets: the data directory (mode 0600) or Redis."""

    def get(self, name: str) -> bytes | None: ...

    def put(self, name: str, value: bytes) -> None: ...


class OrganiserKeyError(Exception):
    """The stored record is missing or unreadable."""


@dataclass(frozen=True, slots=True)
class Organiser:
    """The stored record: the key's salt and scrypt hash, and the session-signing secret."""

    salt: bytes
    digest: bytes
    session_secret: str

    def matches(self, key: str) -> bool:
        """Whether `key` is the organiser key (constant time in the hash)."""
        return hmac.compare_digest(_hash(key, self.salt), self.digest)

    def encode(self) -> bytes:
        return json.dumps(
            {
                "scrypt": {"n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
                "salt": _b64(self.salt),
                "hash": _b64(self.digest),
                "session_secret": self.session_secret,
            }
        ).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Organiser:
        try:
            data = json.loads(raw)
            cost = data["scrypt"]
            if (cost["n"], cost["r"], cost["p"]) != (SCRYPT_N, SCRYPT_R, SCRYPT_P):
                raise OrganiserKeyError("the organiser key was hashed with other settings")
            return cls(
                base64.b64decode(data["salt"]),
                base64.b64decode(data["hash"]),
                str(data["session_secret"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise OrganiserKeyError(f"the stored organiser key is unreadable ({exc})") from exc


def _hash(key: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        key.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 1024 * 1024
    )


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def new_organiser_key(store: KeyStore) -> str:
    """A fresh organiser key, stored (as its hash) in place of any old one; returned once."""
    key = secrets.token_urlsafe(KEY_BYTES)
    salt = secrets.token_bytes(16)
    store.put(RECORD_NAME, Organiser(salt, _hash(key, salt), secrets.token_urlsafe(32)).encode())
    return key


def ensure_organiser_key(store: KeyStore) -> str | None:
    """At start: the new key to print if none was stored, else None (the stored one stands)."""
    if store.get(RECORD_NAME) is not None:
        return None
    return new_organiser_key(store)


def load_organiser(store: KeyStore) -> Organiser:
    """The stored record; OrganiserKeyError if there is none or it is unreadable."""
    raw = store.get(RECORD_NAME)
    if raw is None:
        raise OrganiserKeyError("no organiser key is stored: run `townhall organiser-key`")
    return Organiser.decode(raw)
