"""The forum's state and its rules: `decide` turns a command into events, `apply` records them."""

from __future__ import annotations

from typing import Any

from townhall.model import (
    acks,
    agenda_changes,
    ballots,
    comparison,
    refusals,
    results,
    selection,
    views,
)
from townhall.model.agenda import ItemKind, PollOption, Programme, ResultsMode
from townhall.model.board import (
    BOARD_EVENTS,
    BOARD_HOST_COMMANDS,
    Boards,
    check_moderates,
    check_poster,
    option_for,
    promotable,
)
from townhall.model.commands import (
    HOST_COMMANDS,
    Actor,
    BlankScreen,
    ClosePoll,
    Command,
    Goto,
    LockScoring,
    OpenPoll,
    PauseTimer,
    PromoteIdeas,
    PublishSelection,
    RedeemCode,
    ResetTimer,
    RevokeCode,
    Role,
    ScoreCandidate,
    ShowResults,
    ShowShift,
    StartTimer,
    Step,
    SubmitPost,
    Upvote,
    Vote,
)
from townhall.model.committee import Committee
from townhall.model.eligibility import Codes
from townhall.model.errors import ForumError
from townhall.model.events import (
    BallotCast,
    CodeRedeemed,
    CodeRevoked,
    CommitteeScored,
    Event,
    ForumPurged,
    ItemChanged,
    LiveVoteRecorded,
    PollClosed,
    PollOpened,
    PollOptionsSet,
    PostCreated,
    ResultsShown,
    ScoringLocked,
    ScreenBlanked,
    SelectionPublished,
    ServerStarted,
    ShiftShown,
    TimerPaused,
    TimerReset,
    TimerStarted,
    UpvoteSet,
)
from townhall.model.scorer import Candidate, Scores
from townhall.model.state import Ballot, PollState, PollStatus, TimerState

# Events participants cause; everything else is the host's and moves the control version.
PARTICIPANT_EVENTS = (BallotCast, PostCreated, UpvoteSet, CodeRedeemed)


class Forum:
    """One live forum: where the agenda stands, every poll's ballots, and the timer."""

    def __init__(self, programme: Programme) -> None:
        # The programme as the host's changes on the day left it, and the file it started from.
        self.programme = self.origin = programme
        self.agenda_changes: list[agenda_changes.AgendaEvent] = []
        self.seq = 0
        self.control_seq = 0  # the seq of the last change other than a ballot
        # The programme the last start stated (a `server_started` event's), if any.
        self.stated_programme: dict[str, Any] | None = None
        self.current = 0
        self.polls: dict[str, PollState] = {
            item.id: PollState(
                item=item,
                options=item.options,
                results_visible=item.results is ResultsMode.LIVE,
                counts=dict.fromkeys(item.option_ids, 0),
            )
            for item in programme.items
            if item.kind is ItemKind.POLL
        }
        self.boards = Boards(programme.items)
        self.codes = Codes(
            programme.eligibility, programme.codes, any(item.voters for item in programme.items)
        )
        # Each recording of the selection poll's result, with its seq; the last one counts.
        self.live_votes: list[tuple[int, LiveVoteRecorded]] = []
        # Per poll whose options were promoted from ideas: each option's upvotes when promoted.
        self.promoted_agreements: dict[str, tuple[int, ...]] = {}
        selection = programme.selection
        self.committee = Committee(selection) if selection is not None else None
        self.shifts = comparison.Shifts()
        self.blank = False  # the projector blacked out by the host
        first_ms = programme.items[0].planned_ms
        self.timer = TimerState(duration_ms=first_ms, remaining_ms=first_ms)

    # -- deciding ---------------------------------------------------------------------------

    def decide(self, actor: Actor, command: Command, now_ms: int) -> list[Event]:
        """The events `command` produces, or a ForumError; the state is not touched."""
        if isinstance(command, Vote):
            return ballots.decide_vote(self, actor, command)
        if isinstance(command, SubmitPost | Upvote):
            self.check_member(actor)
            if isinstance(command, SubmitPost):
                return self.boards.decide_post(actor.id, command, now_ms)
            own = self.programme.eligibility.self_agreement
            return self.boards.decide_upvote(actor.id, command, allow_own=own)
        if isinstance(command, RedeemCode):
            if actor.role is not Role.PARTICIPANT or not actor.id:
                raise refusals.participants_only_redeem()
            return self.codes.decide_redeem(actor.id, command.code)
        if isinstance(command, ScoreCandidate):
            if actor.role is not Role.COMMITTEE:
                raise refusals.committee_only()
            return self.require_committee().decide_score(
                actor.id, command, [c.id for c in self.selection_candidates()]
            )
        if not isinstance(command, HOST_COMMANDS):
            raise refusals.unknown_command(type(command).__name__)
        if isinstance(command, BOARD_HOST_COMMANDS):
            check_moderates(actor.role, command)
            return self.boards.decide_host(command)
        # Everything else moves the room (agenda, polls, timer, selection, codes): the host's.
        if actor.role is not Role.HOST:
            raise refusals.host_only()
        if isinstance(command, ShowShift):
            return self.shifts.decide(self, command)
        if isinstance(command, RevokeCode):
            return self.codes.decide_revoke(command.card)
        if isinstance(command, agenda_changes.AGENDA_COMMANDS):
            return list(agenda_changes.decide(self, command))
        match command:
            case Goto(item=item_id):
                index = self.programme.index_of(item_id)
                if index is None:
                    raise refusals.unknown_item(item_id)
                return self._move_to(index)
            case Step(delta=delta):
                index = self.current + delta
                if not 0 <= index < len(self.programme.items):
                    raise refusals.agenda_end()
                return self._move_to(index)
            case OpenPoll(poll=poll_id):
                poll = self._poll(poll_id)
                if not poll.options:
                    raise refusals.poll_has_no_options()
                if poll.status is PollStatus.OPEN:
                    return []
                ballots.check_reopen(self, poll_id)
                return [PollOpened(poll_id, now_ms)]
            case PromoteIdeas(board=board_id):
                top = promotable(self.boards.board(board_id))
                poll = self._poll(self.boards.boards[board_id].item.promote_to)
                if poll.status is not PollStatus.PENDING or poll.voters:
                    raise refusals.poll_started()
                return [
                    PollOptionsSet(
                        poll.item.id,
                        tuple(option_for(post) for post in top),
                        tuple(len(post.upvoters) for post in top),
                    )
                ]
            case LockScoring() | PublishSelection():
                committee = self.require_committee()
                # A result published while its poll is open would change when the poll closed.
                voting = self.polls[committee.selection.poll].status is PollStatus.OPEN
                return committee.decide_host(command, bool(self.live_votes) and not voting)
            case ClosePoll(poll=poll_id):
                poll = self._poll(poll_id)
                if poll.status is not PollStatus.OPEN:
                    return []
                closed: list[Event] = [PollClosed(poll_id, now_ms)]
                selection = self.programme.selection
                if selection is not None and selection.poll == poll_id:
                    # The live vote's input is the tally as it stood when the poll closed.
                    counts = tuple(poll.counts.items())
                    closed.append(LiveVoteRecorded(poll_id, poll.version, counts))
                return closed
            case ShowResults(poll=poll_id, visible=visible):
                poll = self._poll(poll_id)
                return [] if poll.results_visible == visible else [ResultsShown(poll_id, visible)]
            case BlankScreen(blank=blank):
                return [] if self.blank == blank else [ScreenBlanked(blank)]
            case StartTimer():
                if self.timer.running:
                    return []
                if self.timer.remaining_ms <= 0:
                    raise refusals.timer_finished()
                return [TimerStarted(now_ms)]
            case PauseTimer():
                if not self.timer.running:
                    return []
                return [TimerPaused(now_ms, self.timer.remaining_at(now_ms))]
            case ResetTimer(seconds=seconds):
                if seconds is None:
                    duration = self.programme.items[self.current].planned_ms
                else:
                    duration = seconds * 1000
                return [TimerReset(duration)]
        raise refusals.unknown_command(type(command).__name__)  # pragma: no cover

    def check_vote(self, actor: Actor, vote: Vote) -> tuple[str, ...]:
        """The vote's choices in option order, if the vote is well formed for its poll and
        `actor` may cast it; reads only the programme and who holds which ballot code."""
        return ballots.check_vote(self, actor, vote)

    def check_member(self, actor: Actor) -> None:
        """Only a participant posts and agrees, and only with a code where the forum asks."""
        check_poster(actor)
        self.codes.check_member(actor)

    def actor_for(self, actor: Actor) -> Actor:
        """Who a participant's phone acts as now: the voter of the ballot code it holds."""
        return self.codes.actor_for(actor)

    def _move_to(self, index: int) -> list[Event]:
        if index == self.current:
            return []
        return [ItemChanged(index, self.programme.items[index].planned_ms)]

    def _poll(self, poll_id: str) -> PollState:
        poll = self.polls.get(poll_id)
        if poll is None:
            raise refusals.unknown_poll(poll_id)
        return poll

    # -- applying ---------------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Record one event: the only way the state changes."""
        self.seq += 1
        if not isinstance(event, PARTICIPANT_EVENTS):
            self.control_seq = self.seq
        if isinstance(event, BallotCast | PostCreated | UpvoteSet):
            self.codes.note_act(event.participant)
        if isinstance(event, BOARD_EVENTS):
            self.boards.apply(event, self.seq, self.programme.eligibility.self_agreement)
            return
        if isinstance(event, agenda_changes.AGENDA_EVENTS):
            agenda_changes.apply(self, event)
            return
        match event:
            case BallotCast():
                ballots.apply_ballot(self, event)
            case CodeRedeemed() | CodeRevoked():
                self.codes.apply(event)
            case ItemChanged(index=index, timer_ms=timer_ms):
                self.current = index
                self.timer = TimerState(duration_ms=timer_ms, remaining_ms=timer_ms)
            case PollOpened(poll=poll_id, at_ms=at_ms):
                self._touch(poll_id).open(at_ms)
            case PollClosed(poll=poll_id, at_ms=at_ms):
                self._touch(poll_id).close(at_ms)
            case ResultsShown(poll=poll_id, visible=visible):
                self._touch(poll_id).results_visible = visible
            case TimerStarted(at_ms=at_ms):
                self.timer.running = True
                self.timer.started_at_ms = at_ms
            case TimerPaused(remaining_ms=remaining_ms):
                self.timer.remaining_ms = remaining_ms
                self.timer.running = False
            case TimerReset(duration_ms=duration_ms):
                self.timer = TimerState(duration_ms=duration_ms, remaining_ms=duration_ms)
            case LiveVoteRecorded():
                self.live_votes.append((self.seq, event))
            case SelectionPublished(published=published):
                committee = self.require_committee()
                committee.apply(event)
                committee.published_seq = self.seq if published else 0
            case CommitteeScored() | ScoringLocked():
                self.require_committee().apply(event)
            case ShiftShown():
                self.shifts.apply(event)
            case ScreenBlanked(blank=blank):
                self.blank = blank
            case ForumPurged():
                ballots.apply_purge(self, event)
            case ServerStarted(programme=stated):
                self.stated_programme = stated
            case PollOptionsSet(poll=poll_id, options=options, agreements=agreements):
                self.promoted_agreements[poll_id] = agreements
                poll = self._touch(poll_id)
                poll.options = tuple(PollOption(option_id, label) for option_id, label in options)
                poll.counts = dict.fromkeys((o.id for o in poll.options), 0)
                poll.group_counts, poll.group_voters = {}, {}

    def restate(self, programme: Programme) -> None:
        """Carry on under `programme`, as a restart with it did: the same agenda (a log for
        another is refused before this), with its wording and selection settings, and the
        changes the host made on the day on top."""
        self.origin = programme
        self.programme = agenda_changes.amended(programme, self.agenda_changes)
        agenda_changes.follow(self)
        self.codes.settings, self.codes.lookup = programme.eligibility, programme.codes
        if self.committee is not None and programme.selection is not None:
            self.committee.selection = programme.selection

    def require_committee(self) -> Committee:
        """The selection committee, or the refusal a forum without one gives."""
        if self.committee is None:
            raise refusals.no_selection()
        return self.committee

    def _touch(self, poll_id: str) -> PollState:
        poll = self.polls[poll_id]
        poll.version = self.seq
        return poll

    def execute(self, actor: Actor, command: Command, now_ms: int) -> list[Event]:
        """Decide and apply in one step; returns the events applied."""
        events = self.decide(actor, command, now_ms)
        for event in events:
            self.apply(event)
        return events

    # -- what it shows: delegated to the modules that hold each ---------------------------------

    def vote_ack(self, actor: Actor, poll_id: str, duplicate: bool) -> dict[str, Any]:
        """The ack for an accepted vote: the ballot as stored and the version that includes it."""
        return acks.vote_ack_from(self, actor, poll_id, duplicate)

    def post_ack(
        self, actor: Actor, command: SubmitPost | Upvote, duplicate: bool
    ) -> dict[str, Any]:
        """The ack for an accepted post or upvote: the post as it stands now."""
        return acks.post_ack_from(self, actor, command, duplicate)

    def score_ack(self, actor: Actor, candidate: str, duplicate: bool) -> dict[str, Any]:
        """The ack for a committee member's scores: the candidate's scores as stored."""
        return acks.score_ack_from(self, actor, candidate, duplicate)

    def state_view(self, role: Role) -> dict[str, Any]:
        """The forum as `role` may see it: agenda, where it stands, polls, visible tallies."""
        return views.state_view(self, role)

    def board_views(self, role: Role) -> dict[str, dict[str, Any]]:
        """Every board as `role` sees it: the host sees pending and hidden posts too."""
        return views.board_views(self, role)

    def my_ballots(self, participant: str) -> dict[str, dict[str, Any]]:
        """This participant's ballots, so a reloaded phone shows its own choice."""
        return views.my_ballots(self, participant)

    def tally_visible_to(self, poll_id: str, role: Role) -> bool:
        return views.tally_visible_to(self, poll_id, role)

    def committee_view(self, member: str) -> dict[str, Any]:
        """What a committee member's phone draws: the rubric, the candidates, their own scores."""
        return views.committee_view(self, member)

    def poll_results(self) -> list[dict[str, Any]]:
        """Every poll's results in agenda order: options, counts, and each close's tally."""
        return results.poll_results(self)

    def selection_candidates(self) -> list[Candidate]:
        """The candidates as they stand: the programme's, or the ideas promoted (selection.py)."""
        return selection.selection_candidates(self)

    def live_vote_view(self) -> dict[str, Any] | None:
        """The live vote as recorded when its poll last closed, or None before it has."""
        return selection.live_vote_view(self)

    def selection_result(self, sheet: Scores | None = None) -> dict[str, Any]:
        """The whole selection as exported; `sheet` replaces the scores given on phones."""
        return selection.selection_result(self, sheet)

    def selection_view(self, role: Role) -> dict[str, Any]:
        """What `role` may see of the selection: the host sees progress and a preview; everyone
        else sees the result only once it is published, and no one sees individual scores."""
        return selection.selection_view(self, role)


__all__ = ["Ballot", "Forum", "ForumError", "PollState", "PollStatus", "TimerState"]
