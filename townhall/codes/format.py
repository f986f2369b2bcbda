"""What a ballot code looks like: 8 random characters and a check character, written in three
groups of three (`K7Q-M2X-HPR`).

The alphabet leaves out the look-alikes 0/O and 1/I, so a code read off a card is typed right;
the check character is the Luhn mod 32 check (python-stdnum), so any one mistyped character and
any swap of two neighbours is caught on the phone before the code is sent. The same check is
written in static/js/codes.js, and tests/test_codes.py holds both to the same answers.
"""

from __future__ import annotations

import secrets
import unicodedata

from stdnum import luhn

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 symbols: no 0, O, 1 or I
DATA_LENGTH = 8  # random symbols: 32**8 = 2**40 codes
LENGTH = DATA_LENGTH + 1


def make() -> str:
    """A fresh code, with its check character, undashed."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(DATA_LENGTH))
    return body + luhn.calc_check_digit(body, ALPHABET)


def shown(code: str) -> str:
    """A code as printed: three groups of three."""
    return "-".join(code[i : i + 3] for i in range(0, len(code), 3))


# Read as nothing: spaces, and the dashes and hyphens a phone's keyboard may put in.
SEPARATORS = frozenset(" \t-\u00ad\u2010\u2011\u2012\u2013\u2014\u2212")


def compact(typed: str) -> str:
    """A typed code without spaces and dashes, in capitals; full-width letters and digits (a
    Korean keyboard's) read as the plain ones (NFKC)."""
    plain = unicodedata.normalize("NFKC", typed).upper()
    return "".join(ch for ch in plain if ch not in SEPARATORS)


def well_formed(code: str) -> bool:
    """Whether a compacted code has a code's length and only the alphabet's symbols."""
    return len(code) == LENGTH and all(ch in ALPHABET for ch in code)


def checks(code: str) -> bool:
    """Whether a well-formed code's check character matches."""
    return luhn.is_valid(code, ALPHABET)
