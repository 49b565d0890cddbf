from __future__ import annotations

from fastapi import APIRouter

from tocsin.api import (
    account,
    admin,
    analytics,
    audit,
    chat,
    compliance,
    contact_verification,
    desk,
    drills,
    incident_types,
    incidents,
    knowledge,
    learning,
    noise,
    people,
    push,
    responders,
    roles,
    rules,
    services,
    silences,
    stakeholders,
    statuspages,
    tasks,
    trackers,
    webhooks,
    workflows,
)

api_router = APIRouter()
api_router.include_router(incidents.router)
api_router.include_router(services.router)
api_router.include_router(people.router)
api_router.include_router(contact_verification.router)
api_router.include_router(push.router)
api_router.include_router(rules.router)
api_router.include_router(silences.router)
api_router.include_router(noise.router)
api_router.include_router(analytics.router)
api_router.include_router(audit.router)
api_router.include_router(admin.router)
api_router.include_router(webhooks.router)
api_router.include_router(tasks.router)
api_router.include_router(roles.router)
api_router.include_router(desk.router)
api_router.include_router(responders.router)
api_router.include_router(incident_types.router)
api_router.include_router(drills.router)
api_router.include_router(account.router)
api_router.include_router(workflows.router)
api_router.include_router(workflows.callback_router)
api_router.include_router(statuspages.router)
api_router.include_router(stakeholders.router)
api_router.include_router(learning.router)
api_router.include_router(trackers.router)
api_router.include_router(trackers.hooks_router)
api_router.include_router(compliance.router)
api_router.include_router(chat.router)
api_router.include_router(knowledge.router)
