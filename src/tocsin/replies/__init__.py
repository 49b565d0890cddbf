"""Inbound replies from paging channels: Twilio (SMS, calls) and Slack (buttons)."""

from __future__ import annotations

from fastapi import APIRouter

from tocsin.replies import slack, slack_chat, twilio

router = APIRouter()
router.include_router(twilio.router)
router.include_router(slack.router)
router.include_router(slack_chat.router)
