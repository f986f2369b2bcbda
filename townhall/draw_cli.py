"""`townhall draw`: the jury draw as a command (docs/draw.md)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from townhall.draw import commitment
from townhall.draw.pool import PERSONAL, DrawError

HELP = "draw a jury by lot, by quotas (docs/draw.md)"
MISSING = "townhall: the draw needs the sortition-algorithms library: pip install 'townhall[draw]'"


def arguments(draw: argparse.ArgumentParser) -> None:
    draw.add_argument("applicants", type=Path, nargs="?", help="the applicants, CSV with an id")
    draw.add_argument("--quotas", type=Path, help="category,value,min,max rows")
    draw.add_argument("--seats", type=int, help="how many to draw")
    draw.add_argument("--seed", help="the seed, whose commitment was published before the draw")
    draw.add_argument("--commitment", metavar="HEX", help="refuse a seed that does not match this")
    draw.add_argument("--commit", metavar="SEED", help="print SEED's commitment, to publish")
    draw.add_argument("--id-column", default="id", help="the applicants' id column (default id)")
    draw.add_argument(
        "--personal",
        metavar="COLUMNS",
        help="columns left out of everything, comma-separated (default: any of "
        + ",".join(PERSONAL)
        + ")",
    )
    draw.add_argument("--out", type=Path, help="write the report here, as JSON")
    draw.add_argument("--panel", type=Path, help="write the selected ids and their values here")
    draw.add_argument(
        "--codes",
        metavar="ROOMFILE",
        type=Path,
        help="make the panel's ballot codes and cards for this forum, and put the report in its"
        " record",
    )
    draw.add_argument("--group", default="jury", help="the panel's code group (default jury)")
    draw.add_argument("--public-url", help="with --codes: the address phones open")


def run(args: argparse.Namespace) -> int:
    if args.commit is not None:
        return _commit(args)
    if args.applicants is None or None in (args.quotas, args.seats, args.seed):
        print(
            "townhall draw: give APPLICANTS --quotas FILE --seats N --seed SEED (or --commit SEED)",
            file=sys.stderr,
        )
        return 2
    try:
        from townhall.draw.run import run_draw
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] != "sortition_algorithms":
            raise
        print(MISSING, file=sys.stderr)
        return 1
    if args.codes is not None and (refusal := _codes_refusal(args)) is not None:
        print(f"townhall: {refusal}", file=sys.stderr)
        return 2
    personal = None if args.personal is None else [c.strip() for c in args.personal.split(",")]
    try:
        result = run_draw(
            args.applicants,
            args.quotas,
            args.seats,
            args.seed,
            published=args.commitment,
            id_column=args.id_column,
            personal=personal,
        )
        if args.out is not None:
            text = json.dumps(result.report, ensure_ascii=False, indent=2) + "\n"
            _write(args.out, text.encode("utf-8"))
        if args.panel is not None:
            _write(args.panel, result.panel_csv.encode("utf-8"))
    except DrawError as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 2
    from townhall.draw.report import render

    print(render(result.report))
    if args.codes is not None:
        return _codes(args, result.report)
    return 0


def _codes_refusal(args: argparse.Namespace) -> str | None:
    """Why `--codes` can't be done, checked before the draw (its lottery takes minutes): the
    forum, its join code, the group and the address the cards need; and a forum drawn for
    already, or whose book holds codes of the group: the codes made before stay valid, so the
    jury would have more cards than seats, and the record would state only the later draw."""
    from townhall.codes.book import BookError, CodeBook
    from townhall.codes.cli import CodesError, check
    from townhall.programme import ProgrammeError, load_programme

    try:
        programme = load_programme(args.codes)
        url = args.public_url or os.environ.get("TOWNHALL_PUBLIC_URL", "")
        check(args.codes, programme, args.group, url)
        book = args.codes.parent / programme.eligibility.book
        kept = args.codes.parent / programme.eligibility.draw
        if kept.exists():
            return (
                f"{kept}: this forum has a draw already, and its jurors' codes stay valid; to draw"
                f" again before the cards are handed out, delete it and the code book ({book.name}"
                " and its key) first"
            )
        held = CodeBook(book).issued().get(args.group, 0)
        if held:
            return (
                f"{book}: it holds {held} {args.group} codes already, which would vote beside the"
                f" panel's; draw into a forum with no {args.group} codes (another --group, or a"
                " new code book)"
            )
    except (CodesError, ProgrammeError, BookError) as exc:
        return str(exc)
    return None


def _codes(args: argparse.Namespace, report: dict[str, Any]) -> int:
    """The panel's ballot codes, one card per juror with their applicant id on it, and the
    report beside the forum's programme, where the server takes it into the record."""
    from townhall.codes.book import BookError
    from townhall.codes.cli import CodesError, make_codes
    from townhall.programme import ProgrammeError, load_programme

    panel = report["panel"]
    try:
        programme = load_programme(args.codes)
        issued, page, book = make_codes(
            args.codes, len(panel), args.group, args.public_url, labels=panel
        )
    except (CodesError, ProgrammeError, BookError) as exc:
        print(f"townhall: {exc}", file=sys.stderr)
        return 2
    kept = args.codes.parent / programme.eligibility.draw
    text = json.dumps(report, ensure_ascii=False, indent=2) + "\n"
    _write(kept, text.encode("utf-8"))
    print(
        f"\nmade {len(issued)} {args.group} codes, cards No. {issued[0].n} to {issued[-1].n},"
        " each with its juror's applicant id\n"
        f"  cards to print: {page} (the codes in clear: print, then delete it)\n"
        f"  code book: {book}\n"
        f"  the draw's report, for the forum's record: {kept}"
    )
    return 0


def _commit(args: argparse.Namespace) -> int:
    if args.applicants is not None or args.seed is not None:
        print("townhall draw: --commit SEED takes nothing else", file=sys.stderr)
        return 2
    if not args.commit:
        print("townhall: --commit: the seed is empty", file=sys.stderr)
        return 2
    if commitment.is_short(args.commit):
        print(
            f"townhall: warning: a seed under {commitment.SHORT_SEED} characters can be guessed"
            " from its commitment; use a long random one",
            file=sys.stderr,
        )
    print(commitment.commitment(args.commit))
    return 0


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise DrawError(str(path), None, f"cannot write it ({exc.strerror})") from exc
