"""HTML pages: the responder's console and the one-click action pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from tocsin.runtime import Runtime

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, runtime: Runtime) -> None:
    from tocsin.web import (
        account_pages,
        ack_pages,
        admin_pages,
        analytics_pages,
        audit_pages,
        auth,
        auth_pages,
        chat_pages,
        clock_pages,
        contact_pages,
        declare_pages,
        desk_pages,
        drill_pages,
        incident_pages,
        knowledge_pages,
        learning_pages,
        live,
        noise_pages,
        notification_rule_pages,
        oncall_pages,
        outbox_pages,
        page_feed,
        password_reset_pages,
        people_pages,
        policy_pages,
        private_pages,
        problem_pages,
        push_pages,
        responder_pages,
        review_pages,
        rule_pages,
        schedule_admin,
        schedule_edit,
        service_admin,
        service_pages,
        silence_pages,
        sso_pages,
        stakeholder_pages,
        statuspage_card,
        statuspage_edit,
        statuspage_pages,
        team_pages,
        tracker_pages,
        type_pages,
        user_admin,
        webhook_pages,
        workflow_pages,
    )

    auth.install(app)
    app.state.change_feed = live.ChangeFeed(runtime)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (
        push_pages,
        auth_pages,
        sso_pages,
        account_pages,
        password_reset_pages,
        # Before the incident pages, so that /incidents/new is not read as an incident number.
        declare_pages,
        desk_pages,
        type_pages,
        incident_pages,
        private_pages,
        responder_pages,
        workflow_pages,
        stakeholder_pages,
        learning_pages,
        problem_pages,
        review_pages,
        clock_pages,
        statuspage_card,
        chat_pages,
        knowledge_pages,
        # Admin forms before the pages they extend, so that /services/new is not read as a service id.
        service_admin,
        service_pages,
        schedule_admin,
        schedule_edit,
        oncall_pages,
        policy_pages,
        user_admin,
        contact_pages,
        notification_rule_pages,
        people_pages,
        team_pages,
        noise_pages,
        analytics_pages,
        silence_pages,
        rule_pages,
        webhook_pages,
        tracker_pages,
        drill_pages,
        statuspage_pages,
        statuspage_edit,
        audit_pages,
        outbox_pages,
        page_feed,
        admin_pages,
        live,
        ack_pages,
    ):
        app.include_router(module.router)
