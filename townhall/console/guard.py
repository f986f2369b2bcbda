"""Who may use the console, and whether a request that changes something was meant: the
organiser's session cookie or bearer key, the session's CSRF token, and the request's origin.

Hand-written rather than a CSRF middleware: the token must be bound to the console's own
session (the maintained Starlette/ASGI packages issue a free-standing double-submit cookie),
the origin must be checked as well, and the check must run inside the console's routes, after
the key and before the body is read, so an oversized upload is refused unread.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from townhall.console.organiser import KeyStore, Organiser, load_organiser
from townhall.identity import read_cookie
from townhall.ratelimit import AddressBuckets, address_key
from townhall.script_strings import N_

SESSION_COOKIE = "townhall_console"
SESSION_MAX_AGE = 12 * 60 * 60
CONSOLE_PATH = "/admin"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# Wrong keys an address may try: ten at once, then one every thirty seconds.
WRONG_KEY_BURST = 10
WRONG_KEY_RATE = 1 / 30


@dataclass(frozen=True, slots=True)
class Session:
    """An organiser's signed-in browser, or a script with the key (`bearer`: no CSRF needed,
    as a browser never sends that header by itself)."""

    nonce: str
    csrf: str
    bearer: bool = False


class Gate:
    """Checks organiser keys (rate-limited per address), issues and reads sessions."""

    def __init__(self, store: KeyStore, public_origin: str | None = None) -> None:
        self.store = store
        self.tries = AddressBuckets(WRONG_KEY_RATE, WRONG_KEY_BURST)
        self.public_origin = public_origin
        # The last key that matched, as its SHA-256 beside the record it matched: a script
        # sending the key on every request pays for scrypt once, not per request.
        self._matched: tuple[bytes, bytes] | None = None
        self._hashing = asyncio.Semaphore(1)

    def organiser(self) -> Organiser:
        return load_organiser(self.store)

    def wait_before_trying(self, request: Request) -> float:
        """Seconds this address must wait before another key is tried (0: it may try now)."""
        address = address_key(request.client.host if request.client else None)
        return 0.0 if self.tries.available(address) else max(1.0, 1 / WRONG_KEY_RATE)

    async def try_key(self, request: Request, key: str) -> bool | None:
        """Whether `key` is the organiser key. Each try spends one of the address's tries
        before the key is hashed, so guesses sent at once can't all slip past the limit; the
        hashing (scrypt, tens of milliseconds) runs off the event loop, one at a time, so a
        flood of guesses never holds up the forums. None: the address has no tries left."""
        organiser = self.organiser()
        record = organiser.digest
        fingerprint = hashlib.sha256(key.encode()).digest()
        if self._matched is not None and hmac.compare_digest(
            self._matched[0] + self._matched[1], record + fingerprint
        ):
            return True
        if self.tries.take(address_key(request.client.host if request.client else None)):
            return None
        if not key:
            return False
        async with self._hashing:
            matched = await asyncio.to_thread(organiser.matches, key)
        if matched:
            self._matched = (record, fingerprint)
        return matched

    def _signer(self, organiser: Organiser) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(organiser.session_secret, salt="townhall.console.session")

    def _csrf(self, organiser: Organiser, nonce: str) -> str:
        mac = hmac.new(organiser.session_secret.encode(), f"csrf:{nonce}".encode(), "sha256")
        return mac.hexdigest()

    async def session(self, request: Request) -> Session | None:
        """The signed-in session the request carries (cookie or bearer key), or None."""
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given.strip():
            if self.wait_before_trying(request):
                return None
            matched = await self.try_key(request, given.strip())
            return Session("", "", bearer=True) if matched else None
        cookie = read_cookie(request.headers.get("cookie", ""), SESSION_COOKIE)
        if not cookie:
            return None
        organiser = self.organiser()
        try:
            nonce = self._signer(organiser).loads(cookie, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if not isinstance(nonce, str):
            return None
        return Session(nonce, self._csrf(organiser, nonce))

    def sign_in(self, request: Request, response: Response) -> None:
        """Gives the browser a new session cookie: HttpOnly, SameSite=Strict, /admin only."""
        nonce = secrets.token_urlsafe(18)
        response.set_cookie(
            SESSION_COOKIE,
            self._signer(self.organiser()).dumps(nonce),
            max_age=SESSION_MAX_AGE,
            path=CONSOLE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def sign_out(request: Request, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE,
            path=CONSOLE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def cross_site(self, request: Request) -> str | None:
        """Why a browser's state-changing request is refused as coming from elsewhere, or None.

        The Origin must be this server's (as the request reached it, or the public address);
        without one, or with "null" (what a browser sends for a form posted from a page with
        Townhall's no-referrer policy), the browser's Sec-Fetch-Site must say same-origin.
        """
        origin = request.headers.get("origin")
        if origin is not None and origin != "null":
            own = {f"{request.url.scheme}://{request.url.netloc}"}
            if self.public_origin:
                own.add(self.public_origin)
            if origin not in own:
                return f"requests from {origin[:100]} are not accepted here"
            return None
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site == "same-origin":
            return None
        if fetch_site is not None:
            return "requests from other sites are not accepted here"
        return "the request does not say where it comes from (no Origin header)"

    @staticmethod
    def bad_token(session: Session, given: str | None) -> str | None:
        """Why the CSRF token is refused, or None; a bearer-key script needs none."""
        if session.bearer:
            return None
        if not given or not hmac.compare_digest(given.encode(), session.csrf.encode()):
            return N_("The form is out of date or from elsewhere: reload the page and try again.")
        return None


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, or None if it has none."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None
