"""Participant identity: a random id in a signed, HttpOnly cookie. No account, no app."""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE_NAME = "townhall_pid"  # with the forum's code: each forum on a server has its own
COOKIE_MAX_AGE = 60 * 60 * 24 * 30  # a month: a forum, its follow-up, and a rerun


class Identities:
    """Issues and checks participant ids, signed with the forum's secret, in the forum's own
    cookie (`cookie`)."""

    def __init__(self, secret: str, cookie: str = COOKIE_NAME) -> None:
        self._serializer = URLSafeSerializer(secret, salt="townhall.participant")
        self.cookie = cookie

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
        """The participant id in a raw `Cookie:` header, as a page request or a Socket.IO
        handshake carries it: the forum's own cookie, else the one a single-forum server set
        (`townhall_pid`), if this forum's secret signed it."""
        return self.verify(read_cookie(header, self.cookie)) or self.verify(
            read_cookie(header, COOKIE_NAME)
        )


def cookie_name(code: str) -> str:
    """The participant cookie of the forum with join code `code`: a phone in two forums on one
    server holds one id in each, and neither forum's cookie overwrites the other's."""
    return f"{COOKIE_NAME}_{code}"


def participant_cookies(header: str) -> str:
    """Every participant cookie in a `Cookie:` header, in a canonical form to compare."""
    found = []
    for part in header.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip().startswith(COOKIE_NAME):
            found.append(f"{key.strip()}={value.strip()}")
    return ";".join(sorted(found))


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
