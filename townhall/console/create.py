"""Making a forum in the console: from a shipped template, from an uploaded programme file, or
with the agenda form. Each is checked as `townhall serve` checks a file; a refusal is shown
beside the field it is about, with everything the organiser typed kept."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from townhall.console.agenda_form import AgendaForm
from townhall.console.directory import DirectoryError
from townhall.console.guard import Session
from townhall.console.http import FORM_CAP, SMALL_CAP, changing, viewing
from townhall.console.programme_text import (
    TEMPLATES,
    check_programme,
    form_errors,
    form_toml,
    posted_fields,
    template_form,
    upload_text,
)
from townhall.ids import ID_PATTERN
from townhall.model.agenda import ItemKind
from townhall.programme_fields import ProgrammeError
from townhall.script_strings import N_

if TYPE_CHECKING:
    from townhall.console.http import Console

MAX_UPLOAD = 256 * 1024
FORM_SOURCE = "agenda form"


def routes(console: Console) -> list[Route]:
    """/admin/new and the three ways to make a forum."""

    def new_page(
        request: Request,
        session: Session,
        status: int = 200,
        errors: dict[str, str] | None = None,
        typed: dict[str, str] | None = None,
    ) -> Response:
        return console.render(
            request,
            "console/new.html",
            session,
            status=status,
            templates=list(TEMPLATES),
            errors=errors or {},
            typed=typed or {},
            max_upload_kib=MAX_UPLOAD // 1024,
        )

    async def new(request: Request, session: Session) -> Response:
        return new_page(request, session)

    async def from_template(request: Request, session: Session, form: FormData) -> Response:
        typed = posted_fields(form)
        name = typed.get("template", "")
        if name not in TEMPLATES:
            errors = {"template": console.gettext(request, N_("Choose one of the templates."))}
            return new_page(request, session, 400, errors, typed)
        agenda = template_form(name)
        agenda.forum["id"] = typed.get("forum.id", "").strip()
        agenda.forum["title"] = typed.get("forum.title", "").strip()
        try:
            check_programme(form_toml(agenda), FORM_SOURCE)
            return await made(form_toml(agenda), FORM_SOURCE)
        except ProgrammeError as exc:
            field = exc.field if exc.field in ("forum.id", "forum.title") else "template"
            return new_page(request, session, 400, {field: _said(exc)}, typed)
        except DirectoryError as exc:
            return new_page(request, session, 409, {exc.field or "template": exc.message}, typed)

    async def upload(request: Request, session: Session, form: FormData) -> Response:
        file = form.get("programme")
        if not isinstance(file, UploadFile) or not file.filename:
            errors = {"programme": console.gettext(request, N_("Choose a programme file (.toml)."))}
            return new_page(request, session, 400, errors)
        raw = await file.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            message = console.gettext(request, N_("That is too large: at most {kib} KiB."))
            return console.refuse(request, 413, "too_large", message.format(kib=MAX_UPLOAD // 1024))
        source = _file_name(file.filename)
        try:
            text = upload_text(raw, source)
            check_programme(text, source)
            return await made(text, source)
        except ProgrammeError as exc:
            return new_page(request, session, 400, {"programme": _said(exc)})
        except DirectoryError as exc:
            where = f"{source}: {exc.field}: " if exc.field else f"{source}: "
            return new_page(request, session, 409, {"programme": where + exc.message})

    async def agenda_page(request: Request, session: Session) -> Response:
        name = request.query_params.get("template", "")
        if name in TEMPLATES:
            agenda = template_form(name)
        else:
            agenda = AgendaForm()
            agenda.apply(f"add-item:{ItemKind.TALK.value}")
        return agenda_form(request, session, agenda)

    def agenda_form(
        request: Request,
        session: Session,
        agenda: AgendaForm,
        status: int = 200,
        errors: list[ProgrammeError] | None = None,
    ) -> Response:
        beside: dict[str, list[str]] = {}
        for error in errors or []:
            beside.setdefault(agenda.anchor(error.field), []).append(error.reason)
        return console.render(
            request,
            "console/agenda.html",
            session,
            status=status,
            form=agenda,
            errors=beside,
            summary=errors or [],
            kinds=[kind.value for kind in ItemKind],
        )

    async def agenda_post(request: Request, session: Session, form: FormData) -> Response:
        agenda = AgendaForm.posted(posted_fields(form))
        action = str(form.get("action", "create"))
        agenda.fill_ids()
        if action != "create":
            agenda.apply(action)
            return agenda_form(request, session, agenda)
        errors = form_errors(agenda, FORM_SOURCE)
        if errors:
            return agenda_form(request, session, agenda, 400, errors)
        try:
            return await made(form_toml(agenda), FORM_SOURCE)
        except ProgrammeError as exc:
            return agenda_form(request, session, agenda, 400, [exc])
        except DirectoryError as exc:
            error = ProgrammeError(FORM_SOURCE, None, exc.field or "forum", exc.message)
            return agenda_form(request, session, agenda, 409, [error])

    async def made(text: str, source: str) -> Response:
        summary = await console.directory.create(text, source)
        if not ID_PATTERN.match(summary.id):
            return RedirectResponse("/admin", status_code=303)
        return RedirectResponse(f"/admin/forums/{summary.id}", status_code=303)

    return [
        Route("/admin/new", viewing(console, new), methods=["GET"]),
        Route("/admin/new/template", changing(console, from_template), methods=["POST"]),
        Route(
            "/admin/new/upload",
            changing(console, upload, MAX_UPLOAD + SMALL_CAP),
            methods=["POST"],
        ),
        Route("/admin/new/agenda", viewing(console, agenda_page), methods=["GET"]),
        Route("/admin/new/agenda", changing(console, agenda_post, FORM_CAP), methods=["POST"]),
    ]


def _said(error: ProgrammeError) -> str:
    """The error as the command line says it: file:line: field: reason."""
    return str(error)


def _file_name(name: str) -> str:
    """An uploaded file's name as errors show it: its last part, plain characters only."""
    last = re.split(r"[\\/]", name)[-1]
    return re.sub(r"[^\w.\- ]", "_", last)[:80] or "upload.toml"
