"""The catalogue of strings the pages' scripts draw, in English, marked for translation."""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks a string for the catalogue; it is translated when a page is drawn."""
    return message


# The strings the pages' scripts draw, handed to them translated as JSON.
SCRIPT_STRINGS = {
    "connecting": N_("Connecting…"),
    "reconnecting": N_("Connection lost. Reconnecting…"),
    "connected": N_("Connected"),
    "refused": N_("Not connected"),
    "sending": N_("Sending…"),
    "voted": N_("Your vote is counted"),
    "change_hint": N_("You can change your vote while the poll is open."),
    "choose_up_to": N_("Choose up to {n}"),
    "poll_pending": N_("Voting has not started yet."),
    "poll_open": N_("Voting is open"),
    "poll_closed": N_("Voting is closed"),
    "results_hidden": N_("Results will be shown by the host."),
    # Result bars: each option's share is of the voters, and the footer says so.
    "voters_share": N_("{n} voters · % of voters"),
    # A scale's and a ranking's footer: how many ballots it counts.
    "voters_count": N_("{n} voters"),
    # A hidden round on the projector: how many have voted, not how.
    "voted_count": N_("{n} voted"),
    "error": N_("Error"),
    "bad_key": N_(
        "The host key in this link is wrong. Open the host link exactly as it was printed."
    ),
    "phones": N_("Phones"),
    "screens": N_("Screens"),
    "ballots": N_("Ballots"),
    "go": N_("Go"),
    "kind_talk": N_("Talk"),
    "kind_poll": N_("Poll"),
    "kind_qna": N_("Questions"),
    "minutes": N_("min"),
    # Said to screen readers on the phone as the timer passes each whole minute.
    "timer_minutes": N_("{n} minutes left"),
    "timer_one_minute": N_("1 minute left"),
    "timer_done": N_("Time is up"),
    "results_visible": N_("Results visible"),
    "results_private": N_("Results hidden"),
    # The poll's buttons, and the questions before what changes or reveals results.
    "open_voting": N_("Open voting"),
    "reopen_voting": N_("Reopen voting"),
    "close_voting": N_("Close voting"),
    "show_results": N_("Show results"),
    "confirm_close": N_("Close voting on “{poll}”?"),
    "confirm_close_detail": N_(
        "Phones can no longer vote or change their vote. You can reopen it."
    ),
    "confirm_reopen": N_("Reopen voting on “{poll}”?"),
    "confirm_reopen_detail": N_(
        "Ballots already cast stay, and phones can vote or change their vote again."
    ),
    "confirm_reveal": N_("Show the results of “{poll}” on the projector and phones?"),
    "confirm_reveal_detail": N_("Everyone in the room sees the counts."),
    "confirm_publish": N_("Announce the selection on the projector and phones?"),
    "confirm_publish_detail": N_("Committee scoring is locked, if it is still open."),
    "confirm_withdraw": N_("Withdraw the announced selection from the projector and phones?"),
    "confirm_withdraw_detail": N_("Committee scoring stays locked."),
    "confirm_unlock": N_("Reopen committee scoring?"),
    "confirm_unlock_detail": N_("Members can change their scores again."),
    "blank_screen": N_("Blank the projector"),
    "unblank_screen": N_("Show the projector again"),
    "join_copied": N_("Copied."),
    "join_copy_failed": N_("Select the link and copy it."),
    # Boards: Q&A and ideas.
    "kind_ideas": N_("Ideas"),
    "kind_words": N_("Word cloud"),
    "post_label_qna": N_("Write your question"),
    "post_label_ideas": N_("Write your idea"),
    "post_label_words": N_("Your answer, in a few words"),
    "my_answers": N_("Your answers ({n} of {most})"),
    "answer_hidden": N_("Not shown"),
    "cloud_count": N_("{n} answers"),
    "screen_no_words": N_("Scan the code and send your words."),
    "nickname": N_("Nickname"),
    "nickname_optional": N_("Nickname (optional)"),
    "too_long": N_("{n} too many"),
    "posted": N_("Posted."),
    "posted_pending": N_("Sent. It appears once the host approves it."),
    "waiting_approval": N_("Waiting for approval"),
    "hidden_by_moderator": N_("Hidden by the moderator"),
    "your_post": N_("Your post"),
    "edited": N_("edited"),
    "anonymous": N_("Anonymous"),
    "agree": N_("Agree"),
    "agreed_by": N_("{n} agree"),
    "no_questions": N_("No questions yet. Ask the first one!"),
    "no_ideas": N_("No ideas yet. Share the first one!"),
    "screen_no_questions": N_("Scan the code and send your question."),
    "screen_no_ideas": N_("Scan the code and share your idea."),
    "moderated_note": N_(
        "Posts wait here for your approval before phones and the projector show them."
    ),
    "unmoderated_note": N_("Posts appear at once. Hide any that should not be shown."),
    "queue_title": N_("Waiting for approval ({n})"),
    "shown_title": N_("Shown ({n})"),
    "approve": N_("Approve"),
    "show_again": N_("Show again"),
    "pin": N_("Pin"),
    "unpin": N_("Unpin"),
    "mark_answered": N_("Mark answered"),
    "edit": N_("Edit"),
    "merge": N_("Merge…"),
    "hide": N_("Hide"),
    "hide_author": N_("Hide all by this author…"),
    "hide_author_note": N_(
        "Hide every post this author has sent to this board? Each can be shown again."
    ),
    "hide_author_confirm": N_("Hide them all"),
    "hid_author": N_("Hidden: {n} post(s) by this author."),
    "purge_hidden": N_("Remove hidden posts for good…"),
    "purge_hidden_note": N_(
        "Remove this board's hidden posts for good, with any posts merged into them? They can't"
        " be shown again, and this cannot be undone."
    ),
    "purge_hidden_confirm": N_("Remove for good"),
    "purged_hidden": N_("Removed for good: {n} post(s)."),
    "original": N_("Original:"),
    "edit_label": N_("Corrected text"),
    "save": N_("Save"),
    "cancel": N_("Cancel"),
    "merge_into": N_("Merge into"),
    "merge_confirm": N_("Merge"),
    "merge_nothing": N_("There is no other shown post to merge into."),
    "promote": N_("Promote the {n} most agreed ideas to “{poll}”"),
    "promoted": N_("The most agreed ideas are now the options of “{poll}”."),
    "export_failed": N_("The download failed ({status})."),
    "record_digest": N_("Public record: {seq} events, digest {digest}…"),
    "published_digest": N_("The record's digest of this result: {digest}"),
    # The selection result and the committee's scoring.
    "part_agreement": N_("Agreements ({weight})"),
    "part_live_vote": N_("Live vote ({weight})"),
    "part_committee": N_("Committee ({weight})"),
    "missing": N_("missing"),
    "detail_agreement": N_("agreements {n} → {points}"),
    "detail_live_vote": N_("votes {n} → {points}"),
    "detail_committee": N_("committee mean {mean} → {points}"),
    "detail_missing": N_("scores missing: {n}"),
    "rule_conversion_top": N_(
        "Agreements and votes: the top candidate gets the part's full points, the others in"
        " proportion."
    ),
    "rule_conversion_share": N_(
        "Agreements and votes: each candidate gets the part's points times its share of the total."
    ),
    "rule_committee": N_(
        "Committee: the mean of the scores given ({low}–{high}) as a share of {high}, times the"
        " committee's points."
    ),
    "rule_missing": N_("A score not given is left out of the mean and shown as missing."),
    "rule_ties": N_("Ties are broken by: {order}."),
    "live_vote_replaced": N_("The live vote was closed again and replaced {n} earlier result(s)."),
    # How opinion moved between a pre-vote and a final vote (static/js/shift.js).
    "shift_title": N_("How opinion moved"),
    "shift_headline": N_("{changed} of {both} people ({percent}%) changed their mind"),
    "shift_headline_both": N_("{both} people voted in both polls"),
    "shift_before": N_("Before"),
    "shift_after": N_("After"),
    "shift_count": N_("{n}"),
    "shift_points": N_("{points} pts"),
    "shift_only": N_("Voted only before: {pre}; only after: {final} (not in the diagram)."),
    "shift_legend": N_("Pale bands kept their choice; bright bands changed their mind."),
    "shift_hidden_note": N_(
        "Hatched: moves of fewer than {n} people, hidden so that no one can be singled out, with"
        " any figure that would give them away."
    ),
    "shift_too_few": N_("Fewer than {n} people: not shown, so that no one can be singled out."),
    "shift_groups_hidden": N_("By group: not shown, as it would single people out."),
    "shift_no_code": N_("No code"),
    "shift_show": N_("Show on the projector and phones"),
    "shift_hide": N_("Hide from the projector and phones"),
    "shift_waiting": N_("Close both polls to compare them."),
    "shift_ready": N_("Both polls are closed. Only you see this until you show it."),
    "shift_visible": N_("Shown on the projector and phones."),
    "shift_public_hidden": N_(
        "The room does not see {n} of these cells: each holds fewer than {k} people, or would"
        " give one away."
    ),
    "shift_public_whole": N_("The room sees every figure here."),
    "err_shift_polls_open": N_("Close both polls first: the comparison is of final choices."),
    "err_shift_shown": N_("How opinion moved is on screen: hide it before reopening the poll."),
    "err_no_comparison": N_("This poll is not compared with an earlier one."),
    "selection_title": N_("Selection result"),
    "selection_preview": N_("Preview: not announced. Phones and the projector don’t see this."),
    "selection_published": N_("Announced: shown on the projector and phones."),
    "scoring_open": N_("Committee scoring is open."),
    "scoring_locked": N_("Committee scoring is locked."),
    "lock_scoring": N_("Lock scoring"),
    "unlock_scoring": N_("Reopen scoring"),
    "publish": N_("Announce the selection"),
    "withdraw": N_("Withdraw the announcement"),
    "progress": N_("{member}: {n} / {total} questions scored"),
    "candidate_progress": N_("{candidate}: {n} / {total} questions scored"),
    "copy": N_("Copy"),
    "member_link": N_("{name}’s link"),
    "copy_member_link": N_("Copy {name}’s link"),
    "member_qr": N_("QR code of {name}’s link"),
    "live_vote_in": N_("Live vote: recorded when “{poll}” closed."),
    "live_vote_waiting": N_("Live vote: waiting for “{poll}” to close."),
    "committee_links": N_("Committee members’ own links (give each member only theirs):"),
    "score_saved": N_("Saved"),
    "score_saving": N_("Saving…"),
    "scored_count": N_("{n} / {total} questions scored"),
    # What the scores 1 to 5 mean, unless the programme says (`score_labels`).
    "score_label_1": N_("Very poor"),
    "score_label_2": N_("Poor"),
    "score_label_3": N_("Fair"),
    "score_label_4": N_("Good"),
    "score_label_5": N_("Very good"),
    "not_scored": N_("Not scored"),
    "clear": N_("Clear"),
    "committee_locked_note": N_("Scoring is locked. The host can reopen it."),
    "committee_open_note": N_(
        "Score each candidate. You can change a score until the host locks scoring."
    ),
    "committee_bad_link": N_("This committee link is not valid. Ask the host for your own link."),
    # The moderator's screen, and the host's copy of its link.
    "moderator_bad_link": N_("This moderator link is not valid. Ask the host for the link."),
    "board_tab_now": N_("{title} (now)"),
    "link_copied": N_("Copied."),
    "link_copy_failed": N_("Could not copy: select the link and copy it yourself."),
    "err_scoring_locked": N_("Scoring is locked; your earlier scores stand."),
    "err_no_live_vote": N_("Close the live vote first: its result is part of the selection."),
    "err_selection_published": N_("The selection is announced: withdraw the announcement first."),
    # Refusals a board can give, by code; any other refusal shows the server's message.
    "err_empty_post": N_("Write something first."),
    "err_post_too_long": N_("That is longer than this board allows."),
    "err_name_required": N_("Give a nickname to post here."),
    "err_name_too_long": N_("A nickname is at most 40 characters."),
    "err_post_rate": N_("You are posting quickly. Wait a minute and try again."),
    "err_post_limit": N_("You have posted as many times as this board allows."),
    "err_pending_limit": N_(
        "Several of your posts are waiting for the host's approval. Send more once they are seen."
    ),
    "err_board_full": N_("This board is full. Ask the host to move on to the next item."),
    "err_post_not_open": N_("That post is not shown right now."),
    "err_post_merged": N_("That post was merged into another one."),
    "err_unknown_post": N_("That post no longer exists."),
    "err_rate_limited": N_("Too many taps at once. Try again in a moment."),
    "err_bad_merge": N_("Choose a different post of the same board."),
    "err_no_promotion": N_("This board has no poll to promote ideas to."),
    "err_not_enough_ideas": N_("A poll needs at least two ideas to choose from."),
    "err_poll_started": N_("That poll has started: its options can no longer change."),
    "err_poll_purged": N_(
        "This forum's personal data was removed: its voters are no longer known, so this poll"
        " can't be reopened."
    ),
    # Ballot codes.
    "code_held": N_("You take part as {group}, card No. {n}"),
    "code_needed": N_(
        "This forum takes part by ballot code. Scan the QR code on your card, or type its code."
    ),
    "code_for_poll": N_("This vote is for {groups} only. If you have a card, enter its code."),
    "err_code_malformed": N_("A code is 9 letters and digits, like ABC-DEF-GHJ."),
    "err_code_typo": N_("That code has a typo. Check each character against your card."),
    "err_unknown_code": N_("There is no such code. Check it against your card."),
    "err_code_revoked": N_("This code was revoked. Ask the organisers."),
    "err_codes_purged": N_(
        "This forum's personal data was removed: ballot codes can no longer be used here."
    ),
    "err_not_eligible": N_("Enter the code on your card first."),
    "err_codes_not_used": N_("This forum does not use ballot codes."),
    "err_own_post": N_("You can't agree with your own post."),
    "err_no_upvotes": N_("Answers here are counted in the word cloud, not upvoted."),
    "err_unknown_card": N_("There is no such card."),
    # Changing the agenda on the day (host-agenda.js).
    "agenda_remove": N_("Remove"),
    "agenda_option_n": N_("Option {n}"),
    "agenda_poll_added": N_("Added after this item: {question}"),
    "agenda_saved": N_("The wording is saved."),
    "agenda_title": N_("Title"),
    "agenda_question": N_("Question"),
    "agenda_notes": N_("Notes (only you see them)"),
    "agenda_label": N_("Option {id}"),
    "err_agenda_full": N_("The agenda is full."),
    "err_item_kind_not_added": N_("Only a poll, a talk or a Q&A board can be added on the day."),
    "err_text_empty": N_("Fill in every field first."),
    "err_text_too_long": N_("That text is longer than an agenda allows."),
    "err_option_count": N_("A poll needs 2 to 12 options."),
    "err_duplicate_option": N_("Two options have the same label."),
    "err_bad_max_choices": N_("Allow at least 2 choices, and no more than there are options."),
    "err_option_voted": N_("This poll has ballots: its options keep their labels."),
    "err_not_a_poll": N_("That item is not a poll."),
    "err_selection_options": N_("The selection's poll has the candidates as its options."),
    "err_unknown_item": N_("That agenda item no longer exists."),
    # Scale and ranking polls (phone-poll-kinds.js, poll-results.js).
    "scale_hint": N_("Choose one point on the scale."),
    "scale_mean": N_("Mean: {mean}"),
    "scale_no_mean": N_("Mean: no votes yet"),
    "ranking_hint": N_("Tap the options in your order, the one you prefer most first."),
    "ranking_your_order": N_("Your order"),
    "ranking_clear": N_("Start again"),
    "ranking_point": N_("1 point"),
    "ranking_points": N_("{n} points"),
    "ranking_method": N_(
        "Borda count: of {n} options, a voter's 1st gets {first} points, the next one fewer,"
        " and the last 0."
    ),
    "err_incomplete_ranking": N_("Place every option in your order first."),
    "err_fixed_options": N_("A scale's or a ranking's options can't be added to."),
    "group_none": N_("no code"),
    "groups_hidden": N_("Results by group show once every group has {n} voters or more."),
    "codes_group": N_("Group"),
    "codes_issued": N_("issued"),
    "codes_redeemed": N_("redeemed"),
    "codes_held": N_("on a phone now"),
    "codes_acted": N_("used"),
    "codes_revoked": N_("revoked"),
    "code_revoke_confirm": N_(
        "Revoke {card}? It can no longer take part; what it did stays on record, marked."
    ),
    "code_revoked_done": N_("Revoked {card}."),
    "code_tries_back": N_("Every phone may try codes again."),
    "code_tries_spent": N_(
        "Too many wrong codes were tried from here. Wait a minute, or ask the organisers."
    ),
}

# The organiser's console (static/js/console.js).
CONSOLE_STRINGS = {
    "copy": N_("Copy"),
    "copied": N_("Copied"),
    "copy_failed": N_("Select the link and copy it yourself."),
    "downloading": N_("Downloading…"),
    "download_failed": N_("The download failed: {reason}"),
}
