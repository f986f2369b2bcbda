"""The recount half of `townhall verify`: replays a record's events as docs/record.md's
"Recounting" says (every ballot, every tally at a close, each live vote, the committee's scores)
and recomputes each published selection result with Townhall's own scorer.

It reads only the record: the programme comes from the latest `server_started` line.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from townhall.model.scorer import Candidate, Conversion, Rule, RuleError, Scores, result
from townhall.record import recount_agenda
from townhall.record.chain import salted_sha256
from townhall.record.draw_check import draw_problems
from townhall.record.recount_codes import CodeReplay
from townhall.record.recount_polls import ballot_problem, counted
from townhall.record.shift_recount import shift_problems
from townhall.record.values import Bad, _dict, _int, _list, _show, _str, difference
from townhall.record.writer import result_row

SALT = re.compile(r"[0-9a-f]{32}\Z")  # a `plain` member's salt


@dataclass(slots=True)
class PollReplay:
    status: str = "not opened"  # then "open" or "closed"
    ballots: dict[str, tuple[str, ...]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # voter -> the group they voted in
    # Set by a `poll_options` line; until then the programme's options are current.
    options: list[str] | None = None
    labels: list[str] = field(default_factory=list)
    agreements: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Replay:
    """The state a record's events build, and what the replay checked so far."""

    forum: str | None = None
    pseudonym: re.Pattern[str] = re.compile(r"p-[0-9a-f]{16}\Z")  # as the header says
    programme: dict[str, Any] | None = None  # as the agenda's changes since have changed it
    changes: list[dict[str, Any]] = field(default_factory=list)  # each change's line, in order
    rule: Rule | None = None
    polls: dict[str, PollReplay] = field(default_factory=dict)
    live: dict[str, int] | None = None  # the last live vote's counts
    scores: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)
    published: tuple[int, list[dict[str, Any]]] | None = None  # (line, rows) of the last one
    purged: set[int] = field(default_factory=set)  # every post a `posts_purged` line lists
    codes: CodeReplay = field(default_factory=CodeReplay)  # who holds which group's code
    unplain: list[tuple[int, int]] = field(default_factory=list)  # (line, post) with no `plain`
    plain: list[tuple[int, int]] = field(default_factory=list)  # (line, post) with its `plain`
    checked: Counter[str] = field(default_factory=Counter)

    def apply(self, line: int, event: dict[str, Any]) -> list[str]:
        """Replay one event line; what disagrees with the record, one message each."""
        agenda = event["type"] in recount_agenda.AGENDA_LINES
        handler = self._on_agenda if agenda else getattr(self, f"_on_{event['type']}", None)
        if handler is None:
            return []
        try:
            found: list[str] = handler(line, event)
        except Bad as exc:
            return [str(exc)]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            # Only a malformed programme gets here: the line's own members were checked.
            return [f"can't be replayed: the programme is malformed ({exc!r})"]
        return found

    # -- the programme ------------------------------------------------------------------------

    def _on_server_started(self, line: int, event: dict[str, Any]) -> list[str]:
        programme = _dict(event["programme"], "programme")
        if programme.get("id") != self.forum:
            raise Bad(
                f"programme.id: expected {self.forum!r} (the header's forum), found"
                f" {programme.get('id')!r}"
            )
        for item in _list(programme.get("items"), "programme.items"):
            if _dict(item, "programme item").get("kind") == "poll":
                self.polls.setdefault(_str(item.get("id"), "programme item id"), PollReplay())
        self.programme, self.rule = recount_agenda.restated(self, programme), None
        found = draw_problems(programme["draw"]) if "draw" in programme else []
        if "draw" in programme and not found:
            self.checked["draws"] += 1
        selection = programme.get("selection")
        if selection is None:
            return found
        try:
            raw = _dict(_dict(selection, "programme.selection")["rule"], "selection rule")
            self.rule = Rule(
                weights=dict(raw["weights"]),
                conversion=Conversion(raw["conversion"]),
                rubric=tuple(raw["rubric"]),
                lowest=raw["lowest"],
                highest=raw["highest"],
                tie_break=tuple(raw["tie_break"]),
            ).check()
        except (KeyError, TypeError, ValueError) as exc:
            raise Bad(f"programme.selection.rule is not usable: {exc}") from exc
        return found

    def _on_agenda(self, line: int, event: dict[str, Any]) -> list[str]:
        return recount_agenda.change(self, event)

    def poll_state(self, poll: str) -> PollReplay:
        return self._poll({"poll": poll})[1]

    def _item_of(self, poll: str) -> dict[str, Any]:
        if self.programme is None:
            raise Bad(f"poll {poll!r} comes before any server_started line: no programme yet")
        for item in self.programme["items"]:
            if item.get("id") == poll and item.get("kind") == "poll":
                return dict(item)
        raise Bad(f"{poll!r} is not a poll in the programme")

    def _poll(self, event: dict[str, Any]) -> tuple[str, PollReplay]:
        poll = _str(event["poll"], "poll")
        self._item_of(poll)
        return poll, self.polls.setdefault(poll, PollReplay())

    def options(self, poll: str) -> list[str]:
        """The poll's current option ids: the last `poll_options` line's, else the programme's."""
        state = self.polls.get(poll)
        if state is not None and state.options is not None:
            return state.options
        return [str(o[0]) for o in self._item_of(poll).get("options", [])]

    def tally(self, poll: str) -> dict[str, int]:
        """For each current option, its count from the current ballots (recount_polls.py)."""
        return counted(self._item_of(poll), self.options(poll), self.polls[poll].ballots.values())

    # -- polls --------------------------------------------------------------------------------

    def _on_poll_opened(self, line: int, event: dict[str, Any]) -> list[str]:
        self._poll(event)[1].status = "open"
        return []

    def _on_poll_options(self, line: int, event: dict[str, Any]) -> list[str]:
        _, state = self._poll(event)
        pairs = [_list(o, "options entry") for o in _list(event["options"], "options")]
        if any(len(p) != 2 or not all(isinstance(x, str) for x in p) for p in pairs):
            raise Bad("options: each entry is [id, label]")
        agreements = [_int(n, "agreements entry") for n in _list(event["agreements"], "agreements")]
        state.options, state.labels = [p[0] for p in pairs], [p[1] for p in pairs]
        state.agreements = agreements
        return []

    def _on_ballot(self, line: int, event: dict[str, Any]) -> list[str]:
        poll, state = self._poll(event)
        if state.status != "open":
            raise Bad(
                f"a ballot for poll {poll!r}, which is {state.status}: only open polls take ballots"
            )
        choices = [_str(c, "choices entry") for c in _list(event["choices"], "choices")]
        options = self.options(poll)
        unknown = [c for c in choices if c not in options]
        if unknown:
            raise Bad(f"choices: {unknown[0]!r} is not an option of poll {poll!r}")
        if (problem := ballot_problem(self._item_of(poll), options, choices)) is not None:
            raise Bad(problem)
        voter = _str(event["actor"].get("id"), "actor.id")
        group = _str(event.get("group", ""), "group")
        voters = self._item_of(poll).get("voters") or []
        self.codes.ballot(poll, voter, group, self._rules(), voters)
        state.ballots[voter] = tuple(choices)
        state.groups[voter] = event.get("group", "")
        return []

    def group_tally(self, poll: str) -> dict[str, dict[str, int]]:
        """Per group, each current option's count from the group's current ballots."""
        state, options = self.polls[poll], self.options(poll)
        found: dict[str, dict[str, int]] = {}
        for group in sorted(set(state.groups.values())):
            ballots = [b for v, b in state.ballots.items() if state.groups[v] == group]
            found[group] = counted(self._item_of(poll), options, ballots)
        return found

    # -- ballot codes: recount_codes.py ---------------------------------------------------------

    def _rules(self) -> dict[str, Any]:
        return dict(self.programme.get("eligibility") or {}) if self.programme else {}

    def _on_code_redeemed(self, line: int, event: dict[str, Any]) -> list[str]:
        voter = _str(event["actor"].get("id"), "actor.id")
        self.codes.redeemed(voter, _str(event["group"], "group"), self._rules(), self.checked)
        return []

    def _check_member(self, event: dict[str, Any]) -> None:
        actor = _str(event["actor"].get("id"), "actor.id")
        self.codes.member(str(event["type"]), actor, self._rules())

    def _on_upvote(self, line: int, event: dict[str, Any]) -> list[str]:
        self._check_member(event)
        return []

    def _on_code_revoked(self, line: int, event: dict[str, Any]) -> list[str]:
        self.codes.revoked.add(_str(event["voter"], "voter"))
        return []

    def _on_poll_closed(self, line: int, event: dict[str, Any]) -> list[str]:
        poll, state = self._poll(event)
        found = []
        if state.status != "open":
            found.append(f"poll_closed for poll {poll!r}, which is {state.status}")
        state.status = "closed"
        self.checked["polls"] += 1
        expected = self.tally(poll)
        if difference(expected, event["tally"]) is not None:
            found.append(
                f"tally of poll {poll!r}: expected {_show(expected)} from the ballots,"
                f" found {_show(event['tally'])}"
            )
        if "groups" not in event and self._item_of(poll).get("by_group"):
            found.append(f"poll_closed for poll {poll!r}, which is kept by group, has no groups")
        if "groups" in event:
            by_group = self.group_tally(poll)
            if by_group != event["groups"]:
                found.append(
                    f"tally by group of poll {poll!r}: expected {_show(by_group)} from the"
                    f" ballots, found {_show(event['groups'])}"
                )
        return found

    def _on_live_vote(self, line: int, event: dict[str, Any]) -> list[str]:
        poll, state = self._poll(event)
        if poll != self._selection()["poll"]:
            raise Bad(f"a live vote for poll {poll!r}, which is not the selection's poll")
        pairs = [_list(p, "counts entry") for p in _list(event["counts"], "counts")]
        if any(len(p) != 2 or not isinstance(p[0], str) for p in pairs):
            raise Bad("counts: each entry is [option id, ballots]")
        counts = {p[0]: _int(p[1], "counts entry") for p in pairs}
        if len(counts) != len(pairs):
            raise Bad("counts: an option is listed twice")
        self.live = counts
        self.checked["live_votes"] += 1
        found = []
        if state.status != "closed":
            found.append(f"a live vote for poll {poll!r}, which is {state.status}, not closed")
        expected = self.tally(poll)
        if counts != expected:
            found.append(
                f"live vote of poll {poll!r}: expected {_show(expected)} from the"
                f" ballots, found {_show(counts)}"
            )
        return found

    def _on_shift(self, line: int, event: dict[str, Any]) -> list[str]:
        poll, final = self._poll(event)
        stated = self._item_of(poll).get("compare_to")
        if event["compare_to"] != stated:
            raise Bad(f"compare_to: the programme compares {poll!r} with {stated!r}")
        pre = self._poll({"poll": stated})[1]
        self.checked["shifts"] += event["visible"] is True
        return shift_problems(pre, final, event)

    # -- posts ----------------------------------------------------------------------------------

    def _on_post_created(self, line: int, event: dict[str, Any]) -> list[str]:
        if event["post"] != event["seq"]:
            raise Bad(f"post: expected {event['seq']} (this line's seq), found {event['post']!r}")
        found = self._plain(line, event, ("text", "name"))
        try:
            self._check_member(event)
        except Bad as exc:
            found.append(str(exc))
        return found

    def _on_post_edited(self, line: int, event: dict[str, Any]) -> list[str]:
        return self._plain(line, event, ("text",))

    def _on_posts_purged(self, line: int, event: dict[str, Any]) -> list[str]:
        self.purged.update(_int(post, "posts entry") for post in _list(event["posts"], "posts"))
        return []

    _on_forum_purged = _on_posts_purged  # the operator's purge: it takes texts out alike

    def unpurged(self) -> list[tuple[int, str]]:
        """At the end: each post line without `plain` whose post no `posts_purged` line lists,
        for only a purge may leave a post's text out; and each that still has `plain` though its
        post was purged, for a purge takes the text out of every record made after it."""
        missing = [
            (line, f"plain is missing but post {post} is never purged")
            for line, post in self.unplain
            if post not in self.purged
        ]
        kept = [
            (line, f"post {post} was purged, but its plain text is still here")
            for line, post in self.plain
            if post in self.purged
        ]
        return sorted(missing + kept)

    def _plain(self, line: int, event: dict[str, Any], members: tuple[str, ...]) -> list[str]:
        if "plain" not in event:
            self.unplain.append((line, _int(event["post"], "post")))
            return []
        self.plain.append((line, _int(event["post"], "post")))
        plain = _dict(event["plain"], "plain")
        if set(plain) != {"salt", *members}:
            raise Bad(
                f"plain: expected members {sorted({'salt', *members})}, found {sorted(plain)}"
            )
        salt = _str(plain["salt"], "plain.salt")
        if not SALT.match(salt):
            raise Bad(f"plain.salt: expected 32 lowercase hex digits, found {_show(salt)}")
        self.checked["plain"] += 1
        found = []
        for member in members:
            text = _str(plain[member], f"plain.{member}")
            digest = salted_sha256(salt, text)
            if digest != event[f"{member}_sha256"]:
                found.append(
                    f"plain.salt + plain.{member} hashes to {digest}, but {member}_sha256 is"
                    f" {event[f'{member}_sha256']!r}: the text is not the one hashed"
                )
        return found

    # -- the selection --------------------------------------------------------------------------

    def _selection(self) -> dict[str, Any]:
        selection = None if self.programme is None else self.programme.get("selection")
        if selection is None:
            raise Bad("the programme has no selection")
        return dict(selection)

    def candidates(self) -> list[Candidate]:
        """The last `poll_options` line's for the selection poll, else the programme's."""
        selection = self._selection()
        state = self.polls.get(selection["poll"])
        if state is None or state.options is None:
            return [Candidate(str(c[0]), str(c[1]), int(c[2])) for c in selection["candidates"]]
        counts = state.agreements
        if len(counts) != len(state.options):
            counts = [0] * len(state.options)
        return [Candidate(*c) for c in zip(state.options, state.labels, counts, strict=True)]

    def _on_committee_scored(self, line: int, event: dict[str, Any]) -> list[str]:
        member = _str(event["member"], "member")
        if member not in self._selection()["committee"] or event["actor"].get("id") != member:
            raise Bad(f"member {member!r} is not a committee member scoring as themselves")
        candidate = _str(event["candidate"], "candidate")
        if candidate not in [c.id for c in self.candidates()]:
            raise Bad(f"candidate {candidate!r} is not a current candidate")
        if self.rule is None:
            raise Bad("no usable selection rule in the programme to check the scores against")
        given: dict[int, int] = {}
        for pair in _list(event["scores"], "scores"):
            question, value = (_int(n, "scores entry") for n in _list(pair, "scores entry"))
            if not 0 <= question < len(self.rule.rubric) or question in given:
                raise Bad(f"scores: question index {question} is not in the rubric or repeated")
            if not self.rule.lowest <= value <= self.rule.highest:
                raise Bad(f"scores: {value} is outside {self.rule.lowest}-{self.rule.highest}")
            given[question] = value
        self.scores.setdefault(member, {})[candidate] = given
        return []

    def result_rows(self) -> list[dict[str, Any]]:
        """The selection result as the record holds it, recomputed from the record so far."""
        selection = self._selection()
        if self.live is None:
            raise Bad("a result published before any live vote was recorded")
        candidates = self.candidates()
        ids = [c.id for c in candidates]
        votes = {c: n for c, n in self.live.items() if c in ids}
        committee: Scores = {
            m: {c: q for c, q in self.scores.get(m, {}).items() if c in ids and q}
            for m in selection["committee"]
        }
        try:
            rows = result(candidates, votes, committee, self.rule)["rows"]
            return [result_row(row) for row in rows]
        except RuleError as exc:
            raise Bad(f"the selection can't be computed: {exc}") from exc

    def _on_selection_published(self, line: int, event: dict[str, Any]) -> list[str]:
        if event["published"] is not True:
            return ["a withdrawal carries no result"] if "result" in event else []
        self.checked["publications"] += 1
        expected = self.result_rows()
        self.published = (line, expected)
        rows = _list(_dict(event.get("result"), "result").get("rows"), "result.rows")
        if len(rows) != len(expected):
            return [f"result: expected {len(expected)} rows, found {len(rows)}"]
        return [
            f"result row {n}: {wrong}"
            for n, (want, got) in enumerate(zip(expected, rows, strict=True), start=1)
            if (wrong := difference(want, got)) is not None
        ]
