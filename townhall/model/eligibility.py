"""Who may vote, post and agree: open to every phone, or only to phones holding a ballot code.

A ballot code is a one-time code printed on a card. Redeemed on a phone, it binds that phone to
the code's voter (`jury-17`): from then on the phone acts as that voter, whatever its cookie. A
code is one voter wherever it is used: redeemed on a second phone, it moves there and the first
phone no longer holds it, and both phones' ballots were always the one voter's ballot.

The codes themselves are not the model's: a `CodeLookup` (townhall/codes/book.py) checks a typed
code and finds its voter, so the model never sees a code's hash or key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from townhall.model import refusals
from townhall.model.commands import Actor, Role
from townhall.model.events import CodeRedeemed, CodeRevoked, Event

NO_GROUP = ""  # a voter without a code: any phone, in an open forum


class EligibilityMode(StrEnum):
    OPEN = "open"  # every phone that opened the join page (today's behaviour)
    CODES = "codes"  # only phones that redeemed a ballot code


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The programme's `[eligibility]` settings."""

    mode: EligibilityMode = EligibilityMode.OPEN
    # Whether a participant may agree (공감) with their own post: off unless the programme says.
    self_agreement: bool = False
    book: str = field(
        default="", compare=False
    )  # the code book's file, as the programme names it (for messages only)
    groups: tuple[str, ...] = ()  # the ballot-code groups polls may name as their voters
    labels: tuple[tuple[str, str], ...] = ()  # (group, its name on screen), where given
    draw: str = field(default="", compare=False)  # the jury draw's report file, if any


@dataclass(frozen=True, slots=True)
class CodeEntry:
    voter: str  # the group and the card's number: "jury-17"
    group: str


class CodeProblem(StrEnum):
    MALFORMED = "malformed"  # not the shape of a code at all
    TYPO = "typo"  # the shape of a code, but its check character does not match
    UNKNOWN = "unknown"  # a well-formed code that was never issued


class CodeLookup(Protocol):
    """The issued codes, as the model may ask about them."""

    def find(self, code: str) -> CodeEntry | CodeProblem:
        """The voter a typed code stands for, or what is wrong with it."""
        ...

    def voter(self, voter: str) -> CodeEntry | None:
        """An issued code's entry by its voter id (`jury-17`), as the host names a card."""
        ...

    def issued(self) -> dict[str, int]:
        """How many codes each group has."""
        ...


class NoCodes:
    """The lookup of a forum that issued no codes."""

    def find(self, code: str) -> CodeEntry | CodeProblem:
        return CodeProblem.UNKNOWN

    def voter(self, voter: str) -> CodeEntry | None:
        return None

    def issued(self) -> dict[str, int]:
        return {}


@dataclass(slots=True)
class Codes:
    """Which phone holds which code, and which codes are revoked: changed only by events."""

    settings: Eligibility
    lookup: CodeLookup
    restricted: bool  # some poll names its voters, so codes are in use even in an open forum
    voter_of: dict[str, str] = field(default_factory=dict)  # phone (cookie id) -> voter
    phone_of: dict[str, str] = field(default_factory=dict)  # voter -> the phone holding it
    group_of: dict[str, str] = field(default_factory=dict)  # every voter ever redeemed
    revoked: dict[str, str] = field(default_factory=dict)  # voter -> group
    acted: set[str] = field(default_factory=set)  # voters who voted, posted or agreed
    # A forum purge made every voter and phone above a pseudonym: a card could no longer be
    # told from the one it was (a revoked one among them), so no code is taken from then on.
    purged: bool = False

    @property
    def in_use(self) -> bool:
        return self.settings.mode is EligibilityMode.CODES or self.restricted

    def actor_for(self, actor: Actor) -> Actor:
        """Who a participant's phone acts as: the voter of the code it holds, or itself."""
        if actor.role is not Role.PARTICIPANT:
            return actor
        voter = self.voter_of.get(actor.id)
        if voter is None:
            return actor
        return Actor(Role.PARTICIPANT, voter, self.group_of[voter])

    def check_member(self, actor: Actor) -> None:
        """Refuse a participant without a code in a forum that needs one, and a voter whose
        code was revoked since the phone was found to hold it."""
        if actor.group != NO_GROUP and actor.id in self.revoked:
            raise refusals.code_revoked()
        if self.settings.mode is EligibilityMode.CODES and actor.group == NO_GROUP:
            raise refusals.not_eligible()

    def check_voter(self, actor: Actor, voters: tuple[str, ...]) -> None:
        """Refuse a ballot from outside a poll's groups (none named: the forum's rule)."""
        self.check_member(actor)
        if voters and actor.group not in voters:
            raise refusals.not_eligible_for_poll(voters)

    # -- deciding -------------------------------------------------------------------------------

    def decide_redeem(self, phone: str, code: str) -> list[Event]:
        if not self.in_use:
            raise refusals.codes_not_used()
        if self.purged:
            raise refusals.codes_purged()
        found = self.lookup.find(code)
        if found is CodeProblem.MALFORMED:
            raise refusals.code_malformed()
        if found is CodeProblem.TYPO:
            raise refusals.code_typo()
        if not isinstance(found, CodeEntry):
            raise refusals.unknown_code()
        if found.voter in self.revoked:
            raise refusals.code_revoked()
        if self.phone_of.get(found.voter) == phone:
            return []  # this phone holds it already: a resend, or the card scanned again
        return [CodeRedeemed(found.voter, found.group, phone)]

    def decide_revoke(self, card: str) -> list[Event]:
        """Revoke the code the host names by its card (`jury-17`) or by the code itself."""
        entry = self.lookup.voter(card.strip().lower())
        if entry is None:
            found = self.lookup.find(card)
            entry = found if isinstance(found, CodeEntry) else None
        if entry is None:
            raise refusals.unknown_card(card)
        return [] if entry.voter in self.revoked else [CodeRevoked(entry.voter, entry.group)]

    # -- applying -------------------------------------------------------------------------------

    def apply(self, event: CodeRedeemed | CodeRevoked) -> None:
        if isinstance(event, CodeRedeemed):
            self._unbind(event.voter)
            earlier = self.voter_of.pop(event.participant, None)
            if earlier is not None:
                self.phone_of.pop(earlier, None)  # a phone holds one code: the last it redeemed
            self.voter_of[event.participant] = event.voter
            self.phone_of[event.voter] = event.participant
            self.group_of[event.voter] = event.group
        else:
            self.revoked[event.voter] = event.group
            self._unbind(event.voter)

    def note_act(self, participant: str) -> None:
        """A ballot, post or agreement by `participant`: a voter's counts as the code used."""
        if participant in self.group_of:
            self.acted.add(participant)

    def _unbind(self, voter: str) -> None:
        phone = self.phone_of.pop(voter, None)
        if phone is not None:
            self.voter_of.pop(phone, None)

    # -- showing --------------------------------------------------------------------------------

    def host_view(self) -> dict[str, Any]:
        """Per group: codes issued, redeemed, held by a phone now, used to act, revoked."""
        counts: dict[str, Counter[str]] = {}
        for group, n in self.lookup.issued().items():
            counts.setdefault(group, Counter())["issued"] = n
        for voter, group in self.group_of.items():
            these = counts.setdefault(group, Counter())
            these["redeemed"] += 1
            these["held"] += voter in self.phone_of
            these["acted"] += voter in self.acted
        for group in self.revoked.values():
            counts.setdefault(group, Counter())["revoked"] += 1
        kinds = ("issued", "redeemed", "held", "acted", "revoked")
        view = {group: {k: counts[group][k] for k in kinds} for group in sorted(counts)}
        return {"mode": self.settings.mode.value, "groups": view}

    def phone_view(self, actor: Actor) -> dict[str, Any]:
        """What a phone is told of its standing: whether it needs a code, and the one it holds."""
        return {
            "mode": self.settings.mode.value,
            "codes": self.in_use,
            "voter": actor.id if actor.group else None,
            "group": actor.group or None,
        }
