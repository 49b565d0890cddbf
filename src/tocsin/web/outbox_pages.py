"""The local mail outbox in the console: each person reads the mail addressed to them; administrators read all.

A mail's text part is shown as inert text with its http(s) links made clickable (the one-click acknowledge and
resolve links among them); the HTML part is never rendered, it can be downloaded with the whole message.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from tocsin.core.errors import NotFound
from tocsin.mailbox import service as mailbox
from tocsin.mailbox.reading import read
from tocsin.notify import contacts
from tocsin.notify.providers.local_outbox import LocalOutboxProvider
from tocsin.web.auth import WebUser, require_user, runtime_of
from tocsin.web.templating import SECURITY_HEADERS, render

router = APIRouter(include_in_schema=False)


def _addresses(session: Session, who: WebUser) -> set[str] | None:
    """Whose mail this person may read: None (everyone's) for an administrator, else their own addresses."""
    if who.is_admin:
        return None
    methods = contacts.contact_methods(session, who.user.id)
    return {who.user.email.lower(), *(m.address.lower() for m in methods if m.type == "email")}


@router.get("/outbox", response_class=HTMLResponse)
def outbox(request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        mails = mailbox.newest(session, addresses=_addresses(session, who))
    return render(
        "web/outbox.html",
        who=who,
        section="outbox",
        mails=mails,
        keeping=isinstance(runtime.providers.get("email"), LocalOutboxProvider),
        smtp_host=runtime.settings.smtp_host,
        smtp_port=runtime.settings.outbox_smtp_listen,
    )


@router.get("/outbox/{mail_id}", response_class=HTMLResponse)
def outbox_mail(mail_id: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            mail = mailbox.get(session, mail_id, addresses=_addresses(session, who))
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Mail {mail_id}")
    return render("web/outbox_mail.html", who=who, section="outbox", mail=mail, view=read(mail.message))


@router.get("/outbox/{mail_id}/message.eml")
def outbox_download(mail_id: int, request: Request) -> Response:
    who = require_user(request)
    runtime = runtime_of(request)
    with runtime.db.reader() as session:
        try:
            mail = mailbox.get(session, mail_id, addresses=_addresses(session, who))
        except NotFound:
            return render("web/not_found.html", 404, who=who, what=f"Mail {mail_id}")
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="tocsin-mail-{mail.id}.eml"'}
    return Response(mail.message, media_type="message/rfc822", headers=headers)
