"""Inbound replies from paging channels: Twilio (SMS, calls) and Slack (buttons), and phone verification."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.replies import contact_verification, slack, twilio

router = APIRouter()
router.include_router(twilio.router)
router.include_router(slack.router)
router.include_router(contact_verification.router)
