"""Every refusal the forum gives, each with its code and its words, written once.

The model's checks raise these, and the Redis engine raises the same ones for what its scripts
find, so a refusal reads the same whichever engine serves the forum. A limit in a message is
passed in by the rule that checks it, so the words always state the limit in force.
"""

from __future__ import annotations

from townhall.model.errors import Conflict, Forbidden, InvalidPayload, NotFound

# -- who may do what ----------------------------------------------------------------------------


def host_only() -> Forbidden:
    return Forbidden("only the host may do that")


def moderators_only() -> Forbidden:
    return Forbidden("only the host or the moderator may moderate a board")


def participants_only_vote() -> Forbidden:
    return Forbidden("only participants vote")


def participants_only_post() -> Forbidden:
    return Forbidden("only participants post and upvote")


def participants_only_redeem() -> Forbidden:
    return Forbidden("only a participant's phone redeems a ballot code")


def committee_only() -> Forbidden:
    return Forbidden("only the selection committee's members score candidates")


def unknown_command(name: str) -> InvalidPayload:
    return InvalidPayload(f"unknown command {name}")


# -- the agenda and the timer -------------------------------------------------------------------


def unknown_item(item: str) -> NotFound:
    return NotFound(f"no agenda item {item!r}", code="unknown_item")


def agenda_end() -> Conflict:
    return Conflict("there is no agenda item that way", code="agenda_end")


def timer_finished() -> Conflict:
    return Conflict("the timer has run out; reset it first", code="timer_finished")


# -- changing the agenda on the day -------------------------------------------------------------


def agenda_full(limit: int) -> Conflict:
    return Conflict(f"the agenda holds at most {limit} items", code="agenda_full")


def agenda_full_today(limit: int) -> Conflict:
    return Conflict(f"at most {limit} items are added on the day", code="agenda_full")


def item_kind_not_added(kind: str) -> InvalidPayload:
    return InvalidPayload(
        f"an item of kind {kind!r} can't be added on the day: add a poll, a talk or a Q&A board",
        code="item_kind_not_added",
    )


def text_empty(field: str) -> InvalidPayload:
    return InvalidPayload(f"the {field} must not be empty", code="text_empty")


def text_too_long(field: str, limit: int) -> InvalidPayload:
    return InvalidPayload(f"the {field} is at most {limit} characters", code="text_too_long")


def option_count(low: int, high: int) -> InvalidPayload:
    return InvalidPayload(f"a poll needs {low} to {high} options", code="option_count")


def duplicate_option(label: str) -> InvalidPayload:
    return InvalidPayload(f"the option {label!r} is listed twice", code="duplicate_option")


def bad_max_choices(low: int, high: int) -> InvalidPayload:
    return InvalidPayload(
        f"a multiple-choice poll lets a ballot choose {low} to {high} options",
        code="bad_max_choices",
    )


def not_a_poll(item: str) -> InvalidPayload:
    return InvalidPayload(f"agenda item {item!r} is not a poll", code="not_a_poll")


def option_voted() -> Conflict:
    return Conflict(
        "the poll has ballots: an option's label is what they chose, so it can't change",
        code="option_voted",
    )


def selection_options() -> Conflict:
    return Conflict(
        "the selection's poll has the candidates as its options; they can't be added to",
        code="selection_options",
    )


# -- polls and ballots --------------------------------------------------------------------------


def unknown_poll(poll: str) -> NotFound:
    return NotFound(f"no poll {poll!r}", code="unknown_poll")


def unknown_option(option: str) -> NotFound:
    return NotFound(f"no option {option!r} in this poll", code="unknown_option")


def invalid_choice() -> InvalidPayload:
    return InvalidPayload("choose at least one option, each once", code="invalid_choice")


def too_many_choices(limit: int) -> InvalidPayload:
    return InvalidPayload(f"choose at most {limit}", code="too_many_choices")


def incomplete_ranking(options: int) -> InvalidPayload:
    return InvalidPayload(
        f"a ranking lists every one of the {options} options once, in your order",
        code="incomplete_ranking",
    )


def fixed_options() -> Conflict:
    return Conflict(
        "a scale's options are its points and a ranking's ballot holds every option:"
        " this poll's options can't be added to",
        code="fixed_options",
    )


def poll_not_open() -> Conflict:
    return Conflict("this poll is not open for voting", code="poll_not_open")


def poll_has_no_options() -> Conflict:
    return Conflict(
        "this poll has no options yet: promote ideas to it first", code="poll_has_no_options"
    )


def poll_purged() -> Conflict:
    return Conflict(
        "the forum was purged: who voted in this poll is no longer known, so it can't reopen",
        code="poll_purged",
    )


def poll_started() -> Conflict:
    return Conflict(
        "the poll has been opened already; its options can't change", code="poll_started"
    )


# -- the opinion shift between two polls ---------------------------------------------------------


def no_comparison(poll: str) -> NotFound:
    return NotFound(
        f"poll {poll!r} is not compared with an earlier one (compare_to in the programme)",
        code="no_comparison",
    )


def shift_polls_open(poll: str, status: str) -> Conflict:
    return Conflict(
        f"close both polls before showing how opinion moved: {poll!r} is {status}",
        code="shift_polls_open",
    )


def shift_shown(poll: str) -> Conflict:
    return Conflict(
        f"how opinion moved is on screen for {poll!r}; hide it before reopening the poll",
        code="shift_shown",
    )


# -- boards: posting ----------------------------------------------------------------------------


def unknown_board(board: str) -> NotFound:
    return NotFound(f"no Q&A or idea board {board!r}", code="unknown_board")


def unknown_post(post: int) -> NotFound:
    return NotFound(f"no post {post}", code="unknown_post")


def empty_post() -> InvalidPayload:
    return InvalidPayload("write something first", code="empty_post")


def post_too_long(limit: int) -> InvalidPayload:
    return InvalidPayload(f"a post is at most {limit} characters", code="post_too_long")


def name_required() -> InvalidPayload:
    return InvalidPayload("give a nickname to post here", code="name_required")


def name_too_long(limit: int) -> InvalidPayload:
    return InvalidPayload(f"a nickname is at most {limit} characters", code="name_too_long")


def board_full(held: int) -> Conflict:
    return Conflict(f"this board is full: it holds {held} posts", code="board_full")


def board_stored_full(stored: int) -> Conflict:
    return Conflict(
        f"this board is full: it has stored {stored} posts, hidden ones too", code="board_full"
    )


def post_limit(posts: int) -> Conflict:
    return Conflict(f"you have posted {posts} times here already", code="post_limit")


def pending_limit(pending: int) -> Conflict:
    return Conflict(
        f"you have {pending} posts waiting for approval here; wait until the host has seen them",
        code="pending_limit",
    )


def post_rate() -> Conflict:
    return Conflict("you are posting quickly; wait a minute and try again", code="post_rate")


# -- boards: upvotes and moderation -------------------------------------------------------------


def upvoted_post_merged(into: int) -> Conflict:
    return Conflict(f"this post was merged into post {into}", code="post_merged")


def no_upvotes() -> Conflict:
    return Conflict("answers here are counted in the word cloud, not upvoted", code="no_upvotes")


def upvoted_post_not_shown() -> Conflict:
    return Conflict("this post is not shown, so it can't be upvoted", code="post_not_open")


def post_merged(post: int, into: int) -> Conflict:
    return Conflict(f"post {post} was merged into post {into}", code="post_merged")


def answer_not_approved() -> Conflict:
    return Conflict("approve the post before marking it answered", code="post_not_open")


def pin_elsewhere(post: int) -> NotFound:
    return NotFound(f"post {post} is not on this board", code="unknown_post")


def pin_not_shown() -> Conflict:
    return Conflict("only a shown, unanswered post can be pinned", code="post_not_open")


def bad_merge() -> Conflict:
    return Conflict("merge two different posts of one board", code="bad_merge")


def merge_into_hidden() -> Conflict:
    return Conflict("merge into a post that is shown", code="post_not_open")


def no_promotion() -> Conflict:
    return Conflict("this board has no poll to promote ideas to", code="no_promotion")


def not_enough_ideas() -> Conflict:
    return Conflict("a poll needs at least two ideas to choose from", code="not_enough_ideas")


# -- the selection ------------------------------------------------------------------------------


def no_selection() -> NotFound:
    return NotFound("this forum has no selection committee", code="no_selection")


def unknown_candidate(candidate: str) -> NotFound:
    return NotFound(f"no candidate {candidate!r}", code="unknown_candidate")


def invalid_scores(questions: int) -> InvalidPayload:
    return InvalidPayload(
        f"give {questions} scores, one per rubric question (null: not scored)",
        code="invalid_scores",
    )


def score_out_of_range(question: int, lowest: int, highest: int) -> InvalidPayload:
    return InvalidPayload(
        f"question {question}: scores go from {lowest} to {highest}", code="score_out_of_range"
    )


def scoring_locked() -> Conflict:
    return Conflict("scoring is locked; the host can reopen it", code="scoring_locked")


def selection_published() -> Conflict:
    return Conflict(
        "the result is published; withdraw it before reopening scoring",
        code="selection_published",
    )


def live_vote_published() -> Conflict:
    return Conflict(
        "the result is published; withdraw first, then reopen the live vote",
        code="selection_published",
    )


def no_live_vote() -> Conflict:
    return Conflict(
        "close the live vote first: its result is a part of the selection", code="no_live_vote"
    )


def selection_invalid(reason: str) -> Conflict:
    return Conflict(reason, code="selection_invalid")


# -- ballot codes and who may take part ---------------------------------------------------------


def not_eligible() -> Forbidden:
    return Forbidden(
        "this forum takes part by ballot code: enter the code on your card", code="not_eligible"
    )


def not_eligible_for_poll(groups: tuple[str, ...]) -> Forbidden:
    return Forbidden(f"this vote is for {', '.join(groups)} only", code="not_eligible")


def codes_not_used() -> Conflict:
    return Conflict("this forum does not use ballot codes", code="codes_not_used")


def code_malformed() -> InvalidPayload:
    return InvalidPayload(
        "a ballot code is 9 letters and digits, like ABC-DEF-GHJ", code="code_malformed"
    )


def code_typo() -> InvalidPayload:
    return InvalidPayload(
        "this code has a typo: check each character against the card", code="code_typo"
    )


def unknown_code() -> NotFound:
    return NotFound("there is no such ballot code", code="unknown_code")


def codes_purged() -> Forbidden:
    return Forbidden(
        "this forum's personal data was removed, and with it who holds which code: no code is"
        " taken now",
        code="codes_purged",
    )


def code_revoked() -> Forbidden:
    return Forbidden("this ballot code was revoked; ask the organisers", code="code_revoked")


def unknown_card(card: str) -> NotFound:
    return NotFound(f"no card {card!r}: give its number (jury-17) or its code", code="unknown_card")


def own_post() -> Conflict:
    return Conflict("you can't agree with your own post", code="own_post")
