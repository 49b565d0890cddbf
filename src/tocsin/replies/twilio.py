"""Twilio webhooks: inbound text messages (reply codes), the TwiML of paging calls and the keys pressed on
them, and call status callbacks. Every request's ``X-Twilio-Signature`` is checked over the URL computed from
TOCSIN_PUBLIC_URL; a forged request, or one received before (same message or call and keys), gets 401.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from tocsin.core.errors import BadRequest, Unauthorized
from tocsin.core.numbers import is_ascii_digits
from tocsin.notify import receipts, replies
from tocsin.notify.render.voice import answer_twiml, call_twiml, spoken_result, spoken_summary
from tocsin.notify.reply_codes import ANSWER_KEYS, CODES, HINT, is_carrier_keyword, parse_answer, parse_reply
from tocsin.replies._common import bounded_body, form_fields, limiter_of, public_url, require, runtime_of
from tocsin.response import responders
from tocsin.runtime import Runtime

router = APIRouter(include_in_schema=False)
TWIML = "application/xml"


def _twiml(text: str | None) -> Response:
    response = MessagingResponse()
    if text:
        response.message(text)
    return Response(str(response), media_type=TWIML)


async def verified_form(request: Request, runtime: Runtime) -> dict[str, str]:
    token = require(runtime.settings.twilio_auth_token, "Twilio")
    body = await bounded_body(request)
    fields = form_fields(body)
    signature = request.headers.get("x-twilio-signature", "")
    if not signature or not RequestValidator(token).validate(public_url(request, runtime), fields, signature):
        raise Unauthorized("the X-Twilio-Signature header does not match this request")
    return fields


def _replay_key(prefix: str, *parts: str) -> str:
    return f"{prefix}:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:48]


@router.post("/webhooks/twilio/sms")
async def inbound_sms(request: Request) -> Response:
    runtime = runtime_of(request)
    fields = await verified_form(request, runtime)
    sender = fields.get("From", "")
    message_sid = fields.get("MessageSid") or fields.get("SmsSid") or ""
    if not message_sid:
        raise BadRequest("MessageSid is missing")
    body = fields.get("Body", "")

    def handle() -> tuple[str | None, bool]:
        now = runtime.clock.now()
        with runtime.db.unit_of_work() as session:
            if not replies.first_use(session, _replay_key("tw-sms", message_sid), now):
                raise Unauthorized("this message was already received")
            user = replies.user_by_phone(session, sender)
            if user is None or is_carrier_keyword(body):
                return None, False
            answer = parse_answer(body)
            if answer is not None:
                result = responders.answer_reply(session, user, answer.action, answer.target, via="sms", now=now)
                return result.text, result.changed
            reply = parse_reply(body)
            if reply is None:
                return f"Tocsin did not understand that. {HINT}; add an incident number or 'all'.", False
            outcome = replies.act_on_reply(session, user, reply, source="sms", now=now)
            return outcome.text, bool(outcome.changed)

    text, changed = await run_in_threadpool(handle)
    if changed:
        runtime.wakeup.notify()
    # Unknown numbers get nothing: an answer would confirm the number reaches a paging system.
    if text is None or not limiter_of(request).allow(sender, runtime.clock.now()):
        return _twiml(None)
    return _twiml(text)


def _machine(answered_by: str) -> bool:
    """Twilio's answering machine detection: ``machine_start``, ``machine_end_beep`` …, ``fax``."""
    return answered_by.startswith("machine") or answered_by == "fax"


@router.post("/webhooks/twilio/voice")
async def voice(request: Request) -> Response:
    """Without ``Digits``: the TwiML of a paging call. With ``Digits``: the key the callee pressed."""
    runtime = runtime_of(request)
    fields = await verified_form(request, runtime)
    incident_ref = request.query_params.get("incident", "")
    if not is_ascii_digits(incident_ref):
        raise BadRequest("the incident query parameter must be an incident id")
    incident_id = int(incident_ref)
    digits = fields.get("Digits")
    # On a call we placed, the person is the callee; on a call to us, the caller.
    person = fields.get("To", "") if fields.get("Direction", "").startswith("outbound") else fields.get("From", "")
    call_sid = fields.get("CallSid", "")
    notification = request.query_params.get("notification", "")
    # A call asking someone to join the incident (the flag is in the signed URL): keys 1 and 2 answer it.
    asking = request.query_params.get("responder") == "1"
    query: dict[str, object] = {"incident": incident_id, **({"responder": 1} if asking else {})}
    action_url = f"{runtime.settings.base_url}/webhooks/twilio/voice?{urlencode(query)}"

    def handle() -> tuple[str, bool]:
        now = runtime.clock.now()
        with runtime.db.unit_of_work() as session:
            if digits is None:
                view = replies.incident_view(session, incident_id, runtime.settings.base_url)
                if view is None:
                    return spoken_result("This incident no longer exists. Goodbye."), False
                if _machine(fields.get("AnsweredBy", "")):
                    if not replies.first_use(session, _replay_key("tw-amd", call_sid), now):
                        raise Unauthorized("this call was already reported as answered by a machine")
                    again = is_ascii_digits(notification) and receipts.call_ended(
                        session, int(notification), receipts.ANSWERED_BY_MACHINE, now=now
                    )
                    return spoken_result(spoken_summary(view) + " Open Tocsin to respond."), again
                if asking:
                    return answer_twiml(view, _request_text(session, person, incident_id), action_url), False
                return call_twiml(view, action_url), False
            if asking:
                return _answer_key(session, digits, person, incident_id, call_sid, action_url, now)
            action = CODES.get(digits.strip()[:1])
            if action is None:
                view = replies.incident_view(session, incident_id, runtime.settings.base_url)
                if view is None:
                    return spoken_result("This incident no longer exists. Goodbye."), False
                return call_twiml(view, action_url, intro="That key does nothing."), False
            if not call_sid or not replies.first_use(session, _replay_key("tw-call", call_sid, digits), now):
                raise Unauthorized("this key press was already received")
            user = replies.user_by_phone(session, person)
            if user is None:
                return spoken_result("This phone number is not linked to a Tocsin user. Goodbye."), False
            outcome = replies.act_on_incident(session, user, incident_id, action, source="voice", now=now)
            return spoken_result(outcome.text + " Goodbye."), bool(outcome.changed)

    twiml, changed = await run_in_threadpool(handle)
    if changed:
        runtime.wakeup.notify()
    return Response(twiml, media_type=TWIML)


def _request_text(session: Session, phone: str, incident_id: int) -> str:
    user = replies.user_by_phone(session, phone)
    incident = replies.incident_view(session, incident_id, "")
    number = incident.number if incident else incident_id
    message = responders.pending_message(session, incident_id, user.id) if user is not None else None
    return f"You are asked to join incident {number}" + (f": {message}" if message else ".")


def _answer_key(
    session: Session, digits: str, phone: str, incident_id: int, call_sid: str, action_url: str, now: datetime
) -> tuple[str, bool]:
    """A key pressed on a call asking to join the incident: 1 accepts, 2 declines, anything else asks again."""
    action = ANSWER_KEYS.get(digits.strip()[:1])
    if action is None:
        view = replies.incident_view(session, incident_id, "")
        if view is None:
            return spoken_result("This incident no longer exists. Goodbye."), False
        intro = "That key does nothing."
        return answer_twiml(view, _request_text(session, phone, incident_id), action_url, intro=intro), False
    if not call_sid or not replies.first_use(session, _replay_key("tw-call", call_sid, digits), now):
        raise Unauthorized("this key press was already received")
    user = replies.user_by_phone(session, phone)
    if user is None:
        return spoken_result("This phone number is not linked to a Tocsin user. Goodbye."), False
    result = responders.answer_on(session, user, incident_id, action, via="voice", now=now)
    return spoken_result(result.text + " Goodbye."), result.changed


@router.post("/webhooks/twilio/voice/status")
async def voice_status(request: Request) -> Response:
    runtime = runtime_of(request)
    fields = await verified_form(request, runtime)
    ref = request.query_params.get("notification", "")
    if not is_ascii_digits(ref):
        raise BadRequest("the notification query parameter must be a notification id")
    status = fields.get("CallStatus", "")
    key = _replay_key("tw-call-status", fields.get("CallSid", ""), status, ref)

    def handle() -> bool:
        now = runtime.clock.now()
        with runtime.db.unit_of_work() as session:
            if not replies.first_use(session, key, now):
                raise Unauthorized("this call status was already received")
            return receipts.call_ended(session, int(ref), status, now=now)

    if await run_in_threadpool(handle):
        runtime.wakeup.notify()
    return Response(status_code=204)


@router.post("/webhooks/twilio/sms/status")
async def sms_status(request: Request) -> Response:
    """Delivery receipts of paging texts."""
    runtime = runtime_of(request)
    fields = await verified_form(request, runtime)
    ref = request.query_params.get("notification", "")
    if not is_ascii_digits(ref):
        raise BadRequest("the notification query parameter must be a notification id")
    status = fields.get("MessageStatus") or fields.get("SmsStatus") or ""
    error_code = fields.get("ErrorCode", "")
    key = _replay_key("tw-sms-status", fields.get("MessageSid", ""), status, ref)

    def handle() -> bool:
        now = runtime.clock.now()
        with runtime.db.unit_of_work() as session:
            if not replies.first_use(session, key, now):
                raise Unauthorized("this delivery receipt was already received")
            return receipts.text_undelivered(session, int(ref), status, error_code, now=now)

    if await run_in_threadpool(handle):
        runtime.wakeup.notify()
    return Response(status_code=204)
