"""`townhall organiser-key`: a new organiser key for the console, printed once; the old key and
every console session signed in with it stop working."""

from __future__ import annotations

import argparse
import sys

from townhall.console.organiser import KeyStore, new_organiser_key

HELP = "make a new organiser key for the console at /admin (the old one stops working)"


def arguments(parser: argparse.ArgumentParser) -> None:
    """The command's own arguments; where the key is stored (the data directory or Redis) is
    given by the options the server's other commands share."""
    parser.description = __doc__


def run(args: argparse.Namespace, store: KeyStore) -> int:
    """Replaces the stored key and prints the new one; 0 on success."""
    key = new_organiser_key(store)
    print(f"organiser key: {key}")
    print(
        "Sign in at /admin with it. It is shown only now: keep it somewhere safe.",
        file=sys.stderr,
    )
    return 0
