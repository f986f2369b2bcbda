"""HTTP: the phone, host and projector pages, the QR code, language switch and health check."""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import segno
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from townhall import i18n
from townhall.identity import COOKIE_MAX_AGE, COOKIE_NAME, Identities, read_cookie
from townhall.model.agenda import Programme
from townhall.ratelimit import AddressBuckets, address_key

ROOT = Path(__file__).resolve().parent.parent
SOCKET_IO_CLIENT = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.esm.min.js"


def N_(message: str) -> str:
    """Marks a string for the catalogue; it is translated when a page is drawn."""
    return message


# The strings the pages' scripts draw, handed to them translated as JSON.
SCRIPT_STRINGS = {
    "connecting": N_("Connecting…"),
    "reconnecting": N_("Connection lost. Reconnecting…"),
    "connected": N_("Connected"),
    "sending": N_("Sending…"),
    "voted": N_("Your vote is counted"),
    "change_hint": N_("You can change your vote while the poll is open."),
    "choose_up_to": N_("Choose up to {n}"),
    "poll_pending": N_("Voting has not started yet."),
    "poll_open": N_("Voting is open"),
    "poll_closed": N_("Voting is closed"),
    "results_hidden": N_("Results will be shown by the host."),
    "voters": N_("voters"),
    "error": N_("Error"),
    "bad_key": N_("The host key is wrong. Open the host address exactly as it was printed."),
    "phones": N_("Phones"),
    "screens": N_("Screens"),
    "ballots": N_("Ballots"),
    "go": N_("Go"),
    "kind_talk": N_("Talk"),
    "kind_poll": N_("Poll"),
    "kind_qna": N_("Questions"),
    "minutes": N_("min"),
    "results_visible": N_("Results visible"),
    "results_private": N_("Results hidden"),
    # Boards: Q&A and ideas.
    "kind_ideas": N_("Ideas"),
    "post_label_qna": N_("Write your question"),
    "post_label_ideas": N_("Write your idea"),
    "nickname": N_("Nickname"),
    "nickname_optional": N_("Nickname (optional)"),
    "too_long": N_("{n} too many"),
    "posted": N_("Posted."),
    "posted_pending": N_("Sent. It appears once the host approves it."),
    "waiting_approval": N_("Waiting for approval"),
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
    "selection_title": N_("Selection result"),
    "selection_preview": N_("Preview: not published. Phones and the projector don’t see this."),
    "selection_published": N_("Published: shown on the projector and phones."),
    "scoring_open": N_("Committee scoring is open."),
    "scoring_locked": N_("Committee scoring is locked."),
    "lock_scoring": N_("Lock scoring"),
    "unlock_scoring": N_("Reopen scoring"),
    "publish": N_("Publish the result"),
    "withdraw": N_("Withdraw the result"),
    "progress": N_("{member}: {n} of {total} scores"),
    "live_vote_in": N_("Live vote: recorded when “{poll}” closed."),
    "live_vote_waiting": N_("Live vote: waiting for “{poll}” to close."),
    "committee_links": N_("Committee members’ own links (give each member only theirs):"),
    "score_saved": N_("Saved"),
    "score_saving": N_("Saving…"),
    "scored_count": N_("{n} of {total} scored"),
    "not_scored": N_("Not scored"),
    "clear": N_("Clear"),
    "committee_locked_note": N_("Scoring is locked. The host can reopen it."),
    "committee_open_note": N_(
        "Score each candidate. You can change a score until the host locks scoring."
    ),
    "committee_bad_link": N_("This committee link is not valid. Ask the host for your own link."),
    "err_scoring_locked": N_("Scoring is locked; your earlier scores stand."),
    "err_no_live_vote": N_("Close the live vote first: its result is part of the selection."),
    "err_selection_published": N_("Withdraw the published result before reopening scoring."),
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
}


@dataclass(frozen=True, slots=True)
class Site:
    """What the pages need to know about the forum being served."""

    programme: Programme
    code: str
    join_url: str
    identities: Identities
    templates: dict[str, jinja2.Environment]
    transports: tuple[str, ...]
    joins: AddressBuckets  # new participant ids per client address

    def render(self, request: Request, name: str, language: str, **context: Any) -> HTMLResponse:
        translations = i18n.CATALOGUES[language]
        strings = {key: translations.gettext(text) for key, text in SCRIPT_STRINGS.items()}
        page = (
            self.templates[language]
            .get_template(name)
            .render(
                language=language,
                languages=i18n.LANGUAGE_NAMES,
                path=request.url.path,
                programme=self.programme,
                code=self.code,
                join_url=self.join_url,
                script_config={
                    "code": self.code,
                    "lang": language,
                    "strings": strings,
                    "transports": self.transports,
                },
                **context,
            )
        )
        return HTMLResponse(page)


# Seconds added at random to a refused join's retry, so a crowd's retries do not come together.
JOIN_RETRY_JITTER_S = 4


def make_templates(directory: Path) -> dict[str, jinja2.Environment]:
    envs = {}
    for language in i18n.LANGUAGES:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
        )
        env.install_gettext_translations(i18n.CATALOGUES[language], newstyle=True)  # type: ignore[attr-defined]
        envs[language] = env
    return envs


def routes(site: Site, health: Any) -> list[Route | Mount]:
    """The HTTP routes; `health` returns the health check's JSON body."""

    def cookie_value(request: Request, name: str) -> str | None:
        # Not request.cookies: see read_cookie for why.
        return read_cookie(request.headers.get("cookie", ""), name)

    def language(request: Request) -> str:
        return i18n.choose_language(
            cookie_value(request, i18n.LANG_COOKIE),
            request.headers.get("accept-language", ""),
            site.programme.language,
        )

    def wrong_code(request: Request) -> HTMLResponse:
        lang = language(request)
        message = i18n.CATALOGUES[lang].gettext(
            "There is no forum with that code. Check the code on the screen."
        )
        response = site.render(request, "landing.html", lang, error=message)
        response.status_code = 404
        return response

    async def landing(request: Request) -> Response:
        return site.render(request, "landing.html", language(request), error="")

    async def join(request: Request) -> Response:
        code = request.query_params.get("code", "").strip().upper()
        if code != site.code:
            return wrong_code(request)
        return RedirectResponse(f"/j/{site.code}", status_code=303)

    async def phone(request: Request) -> Response:
        if request.path_params["code"].upper() != site.code:
            return wrong_code(request)
        lang = language(request)
        if site.identities.verify(cookie_value(request, COOKIE_NAME)) is not None:
            return site.render(request, "phone.html", lang)
        # Only a new participant id costs a token, so a phone that has its cookie is never held
        # back. Behind a reverse proxy, uvicorn's proxy headers put the phone's address here.
        wait = site.joins.take(address_key(request.client.host if request.client else None))
        if wait:
            return too_many_joins(request, lang, wait)
        response = site.render(request, "phone.html", lang)
        _, cookie = site.identities.new()
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    def too_many_joins(request: Request, lang: str, wait: float) -> HTMLResponse:
        """A page that says so and loads itself again: a hall joining at once gets in turn by
        turn. The jitter spreads a crowd's retries over a few seconds instead of one."""
        message = i18n.CATALOGUES[lang].gettext(
            "Many people are joining at once. This page tries again by itself in a few seconds."
        )
        response = site.render(request, "landing.html", lang, error=message)
        response.status_code = 429
        retry = str(math.ceil(wait) + random.randint(0, JOIN_RETRY_JITTER_S))  # noqa: S311
        response.headers["retry-after"] = retry
        response.headers["refresh"] = retry
        response.headers["cache-control"] = "no-store"
        return response

    async def host(request: Request) -> Response:
        if request.path_params["code"].upper() != site.code:
            return wrong_code(request)
        return site.render(request, "host.html", language(request))

    async def screen(request: Request) -> Response:
        if request.path_params["code"].upper() != site.code:
            return wrong_code(request)
        return site.render(request, "screen.html", language(request))

    async def committee(request: Request) -> Response:
        if request.path_params["code"].upper() != site.code:
            return wrong_code(request)
        return site.render(request, "committee.html", language(request))

    async def qr(request: Request) -> Response:
        if request.path_params["code"].upper() != site.code:
            return Response("no forum with that code", status_code=404, media_type="text/plain")
        buffer = io.BytesIO()
        segno.make(site.join_url, error="m").save(
            buffer, kind="svg", scale=10, border=2, dark="#000", light="#fff", xmldecl=False
        )
        return Response(buffer.getvalue(), media_type="image/svg+xml")

    async def set_language(request: Request) -> Response:
        chosen = request.path_params["lang"]
        if chosen not in i18n.LANGUAGES:
            return Response(
                f"unknown language {chosen[:20]!r}", status_code=400, media_type="text/plain"
            )
        target = request.query_params.get("next", "/")
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"
        response = RedirectResponse(quote(target, safe="/?=&#"), status_code=303)
        response.set_cookie(i18n.LANG_COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="lax")
        return response

    async def healthz(request: Request) -> Response:
        body = health()
        return JSONResponse(body, status_code=200 if body["ok"] else 503)

    async def socket_io_client(request: Request) -> Response:
        if not SOCKET_IO_CLIENT.exists():
            return Response("socket.io-client is not installed: run npm ci", status_code=500)
        return FileResponse(SOCKET_IO_CLIENT, media_type="text/javascript")

    return [
        Route("/", landing),
        Route("/join", join),
        Route("/j/{code}", phone),
        Route("/host/{code}", host),
        Route("/screen/{code}", screen),
        Route("/committee/{code}", committee),
        Route("/qr/{code}.svg", qr),
        Route("/lang/{lang}", set_language),
        Route("/healthz", healthz),
        Route("/vendor/socket.io.esm.min.js", socket_io_client),
        Mount("/static", app=StaticFiles(directory=ROOT / "static"), name="static"),
    ]
