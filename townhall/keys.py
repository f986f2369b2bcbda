"""A forum's join code, host key and cookie secret: generated once, kept in the data dir."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import asdict, dataclass

from townhall.config import Settings
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


def committee_keys(programme: Programme, secret: str) -> dict[str, str]:
    """Each committee member's link key; none if the programme has no selection."""
    members = programme.selection.committee if programme.selection is not None else ()
    return {member: committee_key(secret, member) for member in members}


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def load_keys(programme: Programme, settings: Settings) -> ForumKeys:
    """The forum's keys: settings first, then the stored ones, else new ones (then stored).

    With Redis they are stored there, so every worker and node agrees; else in the data dir.
    """
    if settings.redis_url:
        return _redis_keys(programme, settings)
    path = settings.data_dir / f"{programme.id}.keys.json"
    stored: dict[str, str] = {}
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
    keys = _choose(programme, settings, stored)
    if asdict(keys) != stored:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(keys), f)
        tmp.replace(path)
    return keys


def _choose(programme: Programme, settings: Settings, stored: dict[str, str]) -> ForumKeys:
    return ForumKeys(
        code=programme.code or stored.get("code") or new_code(),
        host_key=settings.host_key or stored.get("host_key") or secrets.token_urlsafe(18),
        secret=settings.secret or stored.get("secret") or secrets.token_urlsafe(32),
    )


def _redis_keys(programme: Programme, settings: Settings) -> ForumKeys:
    from townhall.engine.redis_connect import sync_connect
    from townhall.engine.redis_keys import RedisKeys

    key = RedisKeys(programme.id).secrets
    connection = sync_connect(settings.redis_url, socket_timeout=5, decode_responses=True)
    client = connection.client
    try:
        proposed = asdict(_choose(programme, settings, {}))
        # The first worker to arrive stores its keys; the others take those.
        for name, value in proposed.items():
            client.hsetnx(key, name, value)
        fixed = {
            "code": programme.code,
            "host_key": settings.host_key,
            "secret": settings.secret,
        }
        for name, value in fixed.items():
            if value:
                client.hset(key, name, value)
        stored = {str(k): str(v) for k, v in client.hgetall(key).items()}
    finally:
        connection.close()
    return ForumKeys(code=stored["code"], host_key=stored["host_key"], secret=stored["secret"])
