"""A forum's join code, host key and cookie secret: generated once, kept by the engine; and the
keys of the committee's and the moderator's links, derived from the secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass

from townhall.config import Settings
from townhall.engine import keep_secrets
from townhall.model.agenda import Programme

# No 0/O, 1/I/L: a code is read off a projector and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


@dataclass(frozen=True, slots=True)
class ForumKeys:
    code: str
    host_key: str
    secret: str


def committee_key(secret: str, member: str) -> str:
    """A committee member's secret link key: derived from the forum's secret, so every worker
    and node agrees on it without storing it, and a key for one member is no use for another."""
    digest = hmac.new(secret.encode(), f"committee:{member}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def moderator_key(secret: str) -> str:
    """The boards' moderator's secret link key: derived from the forum's secret like a committee
    member's, under its own label, so it opens no committee link and no committee link opens it."""
    digest = hmac.new(secret.encode(), b"moderator", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def committee_keys(programme: Programme, secret: str) -> dict[str, str]:
    """Each committee member's link key; none if the programme has no selection."""
    members = programme.selection.committee if programme.selection is not None else ()
    return {member: committee_key(secret, member) for member in members}


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def load_keys(programme: Programme, settings: Settings) -> ForumKeys:
    """The forum's keys: settings first, then the stored ones, else new ones (then stored).

    The engine keeps them where it keeps the forum, so every worker and node agrees on them.
    """
    fixed = {"code": programme.code, "host_key": settings.host_key, "secret": settings.secret}
    fresh = ForumKeys(new_code(), secrets.token_urlsafe(18), secrets.token_urlsafe(32))
    kept = keep_secrets(settings.engine_url, programme.id, settings.data_dir, fixed, asdict(fresh))
    return ForumKeys(**kept)
