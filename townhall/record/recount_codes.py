"""The ballot-code half of the recount (docs/record.md, "Ballot codes"): each voter's code group
from their `code_redeemed` lines, the revoked voters, and what a ballot, post or agreement from
a voter must meet."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from townhall.record.values import Bad


@dataclass(slots=True)
class CodeReplay:
    groups: dict[str, str] = field(default_factory=dict)  # voter -> their code's group
    revoked: set[str] = field(default_factory=set)  # voters whose codes were revoked

    def redeemed(
        self, voter: str, group: str, rules: dict[str, Any], checked: Counter[str]
    ) -> None:
        if voter in self.revoked:
            raise Bad(f"{voter} redeemed a ballot code that was revoked")
        if self.groups.get(voter, group) != group:
            # A voter is one card, and a card is in one group.
            raise Bad(f"group: {voter} redeemed a code of group {self.groups[voter]!r} before")
        declared = rules.get("groups") or []
        if declared and group not in declared:
            raise Bad(f"group: {group!r} is not one of the programme's eligibility.groups")
        self.groups[voter] = group
        checked["codes"] += 1

    def ballot(self, poll: str, voter: str, group: str, rules: dict[str, Any], voters: Any) -> None:
        """A ballot's group is its voter's code's, and one the forum and the poll let vote."""
        if voter in self.revoked:
            raise Bad(f"a ballot from {voter}, whose ballot code was revoked before it")
        if group and self.groups.get(voter) != group:
            raise Bad(f"group: {voter} redeemed no {group!r} ballot code before voting")
        if not group and rules.get("mode") == "codes":
            raise Bad("a ballot with no group, in a forum that takes part by ballot code")
        if voters and group not in voters:
            raise Bad(f"group: poll {poll!r} is for {voters} only, found {group!r}")

    def member(self, kind: str, actor: str, rules: dict[str, Any]) -> None:
        """A post or an agreement comes from no revoked voter and, in a forum that takes part by
        ballot code, from a voter who redeemed one."""
        if actor in self.revoked:
            raise Bad(f"{kind} from {actor}, whose ballot code was revoked before it")
        if rules.get("mode") == "codes" and actor not in self.groups:
            raise Bad(
                f"{kind} from {actor}, who redeemed no ballot code, in a forum that takes part by"
                " ballot code"
            )
