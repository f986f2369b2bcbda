"""`townhall codes`: make one-time ballot codes for a forum and the page of cards to print."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from townhall.codes.book import BookError, CodeBook, Issued
from townhall.codes.cards import card_page
from townhall.ids import ID_PATTERN
from townhall.model.agenda import Programme
from townhall.model.eligibility import EligibilityMode
from townhall.programme import ProgrammeError, load_programme

DEFAULT_GROUP = "audience"


class CodesError(Exception):
    """A reason the codes can't be made, worded for the organiser."""


HELP = "make one-time ballot codes and a page of cards to print"


def arguments(codes: argparse.ArgumentParser) -> None:
    codes.add_argument("roomfile", type=Path, help="the forum programme (rooms/*.toml)")
    codes.add_argument("--count", type=int, required=True, help="how many codes to make")
    codes.add_argument("--group", default=DEFAULT_GROUP, help="their group: jury, audience, …")
    codes.add_argument("--public-url", help="the address phones open (or TOWNHALL_PUBLIC_URL)")
    codes.add_argument("-o", "--output", type=Path, help="the cards page (default: by the book)")


def run(args: argparse.Namespace) -> int:
    try:
        issued, page, book = make_codes(
            args.roomfile, args.count, args.group, args.public_url, args.output
        )
    except (CodesError, ProgrammeError, BookError) as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 2
    print(
        f"made {len(issued)} {args.group} codes, cards No. {issued[0].n} to {issued[-1].n}\n"
        f"  cards to print: {page} (the codes in clear: print, then delete it)\n"
        f"  code book: {book} (hashes only; its key beside it, readable by you alone)"
    )
    return 0


def make_codes(
    roomfile: Path,
    count: int,
    group: str,
    public_url: str | None,
    output: Path | None = None,
    labels: Sequence[str] = (),
) -> tuple[list[Issued], Path, Path]:
    """Issue `count` codes in `group` into the programme's code book and write their cards;
    returns the codes, the cards page and the book."""
    programme = load_programme(roomfile)
    url = public_url or os.environ.get("TOWNHALL_PUBLIC_URL", "")
    check(roomfile, programme, group, url)
    book_path = roomfile.parent / programme.eligibility.book
    issued = CodeBook(book_path).issue(count, group, programme.id)
    page = output or book_path.with_name(
        f"{programme.id}-{group}-cards-{issued[0].n}-{issued[-1].n}.html"
    )
    html = card_page(programme.title, url, programme.code, issued, labels)
    # The page holds the codes in clear: readable by its owner only, like the book's key.
    fd = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(html)
    return issued, page, book_path


def check(roomfile: Path, programme: Programme, group: str, url: str) -> None:
    if not ID_PATTERN.match(group):
        raise CodesError(f"--group {group!r}: a group name is a-z, 0-9, _ and - (like jury)")
    declared = programme.eligibility.groups
    if declared and group not in declared:
        raise CodesError(
            f"{roomfile}: eligibility.groups: {group!r} is not one of {', '.join(declared)}"
        )
    if not programme.code:
        raise CodesError(
            f"{roomfile}: forum.code: set the forum's join code; every card's QR code opens it"
        )
    if not url.startswith(("http://", "https://")):
        raise CodesError(
            "--public-url: give the address phones open, like https://forum.example.org;"
            " it goes into every card's QR code"
        )
    if not uses_codes(programme):
        raise CodesError(
            f"{roomfile}: eligibility.mode: the forum is open to every phone, so codes would"
            ' change nothing; set [eligibility] mode = "codes", or name a poll\'s voters'
        )


def summary(roomfile: Path, programme: Programme) -> str | None:
    """What `townhall check` and `serve` say of a programme's ballot codes: the codes issued per
    group, or that none are yet; None for a forum that uses none."""
    if not uses_codes(programme):
        return None
    book = roomfile.parent / programme.eligibility.book
    issued = CodeBook(book).issued()
    if not issued:
        return f"none issued yet (townhall codes {roomfile} --count N --group …)"
    counts = ", ".join(f"{n} {group}" for group, n in sorted(issued.items()))
    return f"{counts} in {book.name}"


def check_book(roomfile: Path, programme: Programme) -> None:
    """Refuse to serve a code forum whose book is there but can't be read (raises BookError);
    a book not made yet is fine: codes may be issued while the forum runs."""
    book = roomfile.parent / programme.eligibility.book
    if uses_codes(programme) and book.exists():
        CodeBook(book).load()


def uses_codes(programme: Programme) -> bool:
    return programme.eligibility.mode is EligibilityMode.CODES or any(
        item.voters for item in programme.items
    )
