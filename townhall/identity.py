"""Participant identity: a random id in a signed, HttpOnly cookie. No account, no app."""

from __future__ import annotations

import secrets
from http.cookies import CookieError, SimpleCookie

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
        try:
            jar = SimpleCookie(header)
        except CookieError:
            return None
        morsel = jar.get(COOKIE_NAME)
        return self.verify(morsel.value if morsel else None)
