"""Participant identity: a random id in a signed, HttpOnly cookie. No account, no app."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "townhall_pid"
COOKIE_MAX_AGE = 60 * 60 * 24 * 30  # a month: a forum, its follow-up, and a rerun


class Identities:
    """Issues and checks participant ids, signed with the forum's secret."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="townhall.participant")

    def new(self) -> tuple[str, str]:
        """A fresh participant id and its signed cookie value."""
        participant = secrets.token_urlsafe(12)
        return participant, self._serializer.dumps(participant)

    def verify(self, cookie_value: str | None) -> str | None:
        """The participant id in a signed cookie value, or None if absent or forged."""
        if not cookie_value:
            return None
        try:
            participant = self._serializer.loads(cookie_value)
        except BadSignature:
            return None
        return participant if isinstance(participant, str) and participant else None

    def from_cookie_header(self, header: str) -> str | None:
        """The participant id in a raw `Cookie:` header, as a Socket.IO handshake carries it."""
        return self.verify(read_cookie(header, COOKIE_NAME))


def read_cookie(header: str, name: str) -> str | None:
    """One cookie's value from a `Cookie:` header, in linear time.

    Townhall's own cookies are plain URL-safe tokens, so no unquoting is needed; the standard
    library's parser takes quadratic time on crafted quoted values (CVE-2024-7592).
    """
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == name:
            return value.strip()
    return None
