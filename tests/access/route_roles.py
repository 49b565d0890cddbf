"""Who may call each write route of the API (ADR 0016): one row per route, the roles that may call it.

The roles are those of a team-scoped organisation, seen from the team ``ops`` that owns the service ``checkout``,
the schedule ``primary`` and the policy ``p1`` of the route walk (``tests/audit/route_cases.py``):

- ``admin``: an organisation admin;
- ``manager``: a responder who manages ``ops``;
- ``member``: a responder who is a plain member of ``ops``;
- ``other``: a responder of another team;
- ``observer``: an observer (who may not act even on their own team's objects).

Bob, the user the walk creates, owns the contact methods and notification rules; ``OWNER`` routes are his and
the admins' alone, and the table's five roles (none of them Bob) get a 403 on them.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("observer", "other", "member", "manager", "admin")  # least to most privileged


@dataclass(frozen=True)
class Allowed:
    roles: tuple[str, ...]
    runner: str | None = None  # who performs the walk's request; default the least privileged allowed role
    status: int | None = None  # what the runner gets when not a success (the route is reached, the input refused)
    refused: int = 403  # what the other roles get

    def who_runs(self) -> str:
        if self.runner is not None:
            return self.runner
        return next(r for r in ROLES if r in self.roles)


ADMIN = Allowed(("admin",))
OWNER = Allowed(("admin",))  # and the owner himself, for the walk's ``as_bob`` cases
MANAGERS = Allowed(("manager", "admin"))
TEAM = Allowed(("member", "manager", "admin"))
RESPONDERS = Allowed(("other", "member", "manager", "admin"))
EVERYONE = Allowed(ROLES)

TABLE: dict[tuple[str, str], Allowed] = {
    # people, teams and tokens: admins, and each person for their own
    ("POST", "/api/v1/users"): ADMIN,
    ("PATCH", "/api/v1/users/{ref}"): OWNER,
    ("PUT", "/api/v1/users/{ref}/skills"): OWNER,
    ("DELETE", "/api/v1/users/{ref}"): ADMIN,
    ("POST", "/api/v1/users/{ref}/deactivate"): ADMIN,
    ("POST", "/api/v1/users/{ref}/reactivate"): ADMIN,
    ("POST", "/api/v1/teams"): ADMIN,
    ("PATCH", "/api/v1/teams/{ref}"): ADMIN,
    ("DELETE", "/api/v1/teams/{ref}"): ADMIN,
    ("PUT", "/api/v1/teams/{ref}/members/{user}"): ADMIN,
    ("DELETE", "/api/v1/teams/{ref}/members/{user}"): ADMIN,
    ("POST", "/api/v1/tokens"): OWNER,
    # one's own password and sessions: everyone, for themselves (the walk's are the admin's)
    ("POST", "/api/v1/me/password"): Allowed(ROLES, runner="admin"),
    ("DELETE", "/api/v1/me/sessions/{session_id}"): Allowed(ROLES, runner="admin"),
    ("POST", "/api/v1/users/{ref}/password-reset"): ADMIN,
    # someone else's token is not found rather than forbidden: its id tells nothing
    ("DELETE", "/api/v1/tokens/{token_id}"): Allowed(("admin",), refused=404),
    ("POST", "/api/v1/users/{ref}/contact-methods"): OWNER,
    ("PATCH", "/api/v1/contact-methods/{cm_id}"): OWNER,
    ("DELETE", "/api/v1/contact-methods/{cm_id}"): OWNER,
    ("POST", "/api/v1/contact-methods/{cm_id}/verify"): OWNER,
    ("POST", "/api/v1/contact-methods/{cm_id}/verify/confirm"): OWNER,
    ("POST", "/api/v1/contact-methods/{cm_id}/test"): OWNER,
    ("POST", "/api/v1/users/{ref}/notification-rules"): OWNER,
    ("PATCH", "/api/v1/notification-rules/{rule_id}"): OWNER,
    ("DELETE", "/api/v1/notification-rules/{rule_id}"): OWNER,
    ("PUT", "/api/v1/users/{ref}/oncall/preferences"): OWNER,
    ("POST", "/api/v1/users/{ref}/oncall/ical-url"): OWNER,
    # a team's services and their integrations: its managers
    ("POST", "/api/v1/services"): MANAGERS,
    ("PATCH", "/api/v1/services/{ref}"): MANAGERS,
    ("DELETE", "/api/v1/services/{ref}"): MANAGERS,
    ("POST", "/api/v1/services/{ref}/archive"): MANAGERS,
    ("POST", "/api/v1/services/{ref}/unarchive"): MANAGERS,
    ("PUT", "/api/v1/services/{ref}/escalation-policy"): MANAGERS,
    ("PUT", "/api/v1/services/{ref}/grouping"): MANAGERS,
    ("DELETE", "/api/v1/services/{ref}/grouping"): MANAGERS,
    ("POST", "/api/v1/services/{ref}/integrations"): MANAGERS,
    ("PATCH", "/api/v1/integrations/{integration_id}"): MANAGERS,
    ("POST", "/api/v1/integrations/{integration_id}/archive"): MANAGERS,
    ("POST", "/api/v1/integrations/{integration_id}/unarchive"): MANAGERS,
    ("DELETE", "/api/v1/integrations/{integration_id}"): MANAGERS,
    # a team's schedules and escalation policies: its managers; overrides: its members
    ("POST", "/api/v1/schedules"): MANAGERS,
    ("PATCH", "/api/v1/schedules/{ref}"): MANAGERS,
    ("DELETE", "/api/v1/schedules/{ref}"): MANAGERS,
    ("POST", "/api/v1/schedules/{ref}/archive"): MANAGERS,
    ("POST", "/api/v1/schedules/{ref}/unarchive"): MANAGERS,
    ("PUT", "/api/v1/schedules/{ref}/layers"): MANAGERS,
    ("POST", "/api/v1/schedules/{ref}/ical-url"): MANAGERS,
    ("POST", "/api/v1/schedules/{ref}/overrides"): TEAM,
    ("PATCH", "/api/v1/schedules/{ref}/overrides/{override_id}"): TEAM,
    ("DELETE", "/api/v1/schedules/{ref}/overrides/{override_id}"): TEAM,
    ("POST", "/api/v1/escalation-policies"): MANAGERS,
    ("PUT", "/api/v1/escalation-policies/{ref}"): MANAGERS,
    ("DELETE", "/api/v1/escalation-policies/{ref}"): MANAGERS,
    ("POST", "/api/v1/escalation-policies/{ref}/archive"): MANAGERS,
    ("POST", "/api/v1/escalation-policies/{ref}/unarchive"): MANAGERS,
    # silences of a team's service: its members
    ("POST", "/api/v1/silences"): TEAM,
    ("PUT", "/api/v1/silences/{silence_id}"): TEAM,
    ("DELETE", "/api/v1/silences/{silence_id}"): TEAM,
    # incidents of a team's service: its members
    ("POST", "/api/v1/incidents"): TEAM,
    ("PATCH", "/api/v1/incidents/{ref}"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/acknowledge"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/resolve"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/reassign"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/notes"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/escalate"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/merge"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/response"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/reopen"): TEAM,
    ("PUT", "/api/v1/incidents/{ref}/milestones/{name}"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/tasks"): TEAM,
    ("PATCH", "/api/v1/incidents/{ref}/tasks/{task_id}"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/checklists"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/roles"): TEAM,
    ("DELETE", "/api/v1/incidents/{ref}/roles/{role}"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/participants/{user}"): TEAM,
    ("DELETE", "/api/v1/incidents/{ref}/participants/{user}"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/visibility"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/responders"): TEAM,
    # the person asked answers (the walk asks the admin), or an admin for them
    ("POST", "/api/v1/incidents/{ref}/responders/{request_id}/accept"): ADMIN,
    ("POST", "/api/v1/incidents/{ref}/responders/{request_id}/decline"): ADMIN,
    ("POST", "/api/v1/incidents/{ref}/type"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/major"): TEAM,
    ("PUT", "/api/v1/incidents/{ref}/services/{service}"): TEAM,
    ("DELETE", "/api/v1/incidents/{ref}/services/{service}"): TEAM,
    # a declared incident has no alert to split off: the member is let through and the input refused
    ("POST", "/api/v1/incidents/{ref}/split"): Allowed(TEAM.roles, status=422),
    # the service desk: anyone signed in reports; requests of a team's service: its members
    ("POST", "/api/v1/reports"): EVERYONE,
    ("POST", "/api/v1/service-requests"): TEAM,
    ("PATCH", "/api/v1/service-requests/{ref}"): TEAM,
    ("POST", "/api/v1/service-requests/{ref}/transition"): TEAM,
    ("POST", "/api/v1/service-requests/{ref}/page"): TEAM,
    ("POST", "/api/v1/service-requests/{ref}/convert"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/convert-to-request"): TEAM,
    # a service's desk mode: its managers; its public report link: admins
    ("PUT", "/api/v1/services/{ref}/desk"): MANAGERS,
    ("POST", "/api/v1/services/{ref}/desk/public-link"): ADMIN,
    ("DELETE", "/api/v1/services/{ref}/desk/public-link"): ADMIN,
    # organisation-wide rules and outbound webhooks: admins
    ("PUT", "/api/v1/event-rules"): ADMIN,
    ("DELETE", "/api/v1/event-rules/{name}"): ADMIN,
    ("PUT", "/api/v1/inhibit-rules"): ADMIN,
    ("DELETE", "/api/v1/inhibit-rules/{name}"): ADMIN,
    ("PUT", "/api/v1/noise-settings"): ADMIN,
    ("POST", "/api/v1/trackers/connections"): ADMIN,
    ("PATCH", "/api/v1/trackers/connections/{connection_id}"): ADMIN,
    ("DELETE", "/api/v1/trackers/connections/{connection_id}"): ADMIN,
    ("POST", "/api/v1/trackers/issues/{issue_id}/retry"): ADMIN,
    ("POST", "/api/v1/webhook-subscriptions"): ADMIN,
    ("PATCH", "/api/v1/webhook-subscriptions/{subscription_id}"): ADMIN,
    ("DELETE", "/api/v1/webhook-subscriptions/{subscription_id}"): ADMIN,
    ("POST", "/api/v1/webhook-subscriptions/{subscription_id}/test"): ADMIN,
    ("POST", "/api/v1/webhook-subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver"): ADMIN,
    ("PUT", "/api/v1/checklist-templates/{name}"): ADMIN,
    # status pages speak for the whole organisation: admins
    ("POST", "/api/v1/status-pages"): ADMIN,
    ("PATCH", "/api/v1/status-pages/{page}"): ADMIN,
    ("DELETE", "/api/v1/status-pages/{page}"): ADMIN,
    ("POST", "/api/v1/status-pages/{page}/groups"): ADMIN,
    ("PATCH", "/api/v1/status-pages/{page}/groups/{group_id}"): ADMIN,
    ("DELETE", "/api/v1/status-pages/{page}/groups/{group_id}"): ADMIN,
    ("POST", "/api/v1/status-pages/{page}/components"): ADMIN,
    ("PATCH", "/api/v1/status-pages/{page}/components/{component_id}"): ADMIN,
    ("DELETE", "/api/v1/status-pages/{page}/components/{component_id}"): ADMIN,
    ("POST", "/api/v1/status-pages/{page}/incidents"): ADMIN,
    ("PATCH", "/api/v1/status-pages/{page}/incidents/{incident_id}"): ADMIN,
    ("POST", "/api/v1/status-pages/{page}/incidents/{incident_id}/updates"): ADMIN,
    ("POST", "/api/v1/status-pages/{page}/maintenances"): ADMIN,
    ("PATCH", "/api/v1/status-pages/{page}/maintenances/{maintenance_id}"): ADMIN,
    ("POST", "/api/v1/status-pages/{page}/subscribers"): ADMIN,
    ("DELETE", "/api/v1/status-pages/{page}/subscribers/{subscriber_id}"): ADMIN,
    ("POST", "/api/v1/status-pages/{page}/proposals/{proposal_id}/publish"): ADMIN,
    ("POST", "/api/v1/status-pages/{page}/proposals/{proposal_id}/discard"): ADMIN,
    ("DELETE", "/api/v1/checklist-templates/{name}"): ADMIN,
    ("PUT", "/api/v1/incident-roles/{name}"): ADMIN,
    ("PUT", "/api/v1/drill-scenarios/{name}"): ADMIN,
    ("DELETE", "/api/v1/drill-scenarios/{name}"): ADMIN,
    ("PUT", "/api/v1/tier-costs/{tier}"): ADMIN,
    ("PATCH", "/api/v1/analytics/settings"): ADMIN,
    ("DELETE", "/api/v1/incident-roles/{name}"): ADMIN,
    # stakeholder updates (ADR 0028): admins keep the groups, the team writes updates on its incidents
    ("POST", "/api/v1/stakeholder-groups"): ADMIN,
    ("PUT", "/api/v1/stakeholder-groups/{ref}"): ADMIN,
    ("DELETE", "/api/v1/stakeholder-groups/{ref}"): ADMIN,
    ("POST", "/api/v1/incidents/{ref}/stakeholder-updates"): TEAM,
    # learning (ADR 0029): admins keep templates and rules; the team writes its incidents' postmortems and items;
    # problems span teams (any responder edits one) but linking an incident is acting on it
    ("PUT", "/api/v1/postmortem-templates/{name}"): ADMIN,
    ("DELETE", "/api/v1/postmortem-templates/{name}"): ADMIN,
    ("PUT", "/api/v1/postmortem-rules"): ADMIN,
    ("POST", "/api/v1/incidents/{ref}/postmortem"): TEAM,
    ("PATCH", "/api/v1/incidents/{ref}/postmortem"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/postmortem/status"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/postmortem/approve"): TEAM,
    ("PUT", "/api/v1/incidents/{ref}/postmortem/sections/{key}"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/postmortem/meetings"): TEAM,
    ("PUT", "/api/v1/incidents/{ref}/postmortem/meetings/{meeting_id}"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/postmortem/problem"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/action-items"): TEAM,
    ("PUT", "/api/v1/action-items/{item_id}"): TEAM,
    ("POST", "/api/v1/action-items/{item_id}/status"): TEAM,
    ("POST", "/api/v1/action-items/{item_id}/tracker"): TEAM,
    ("POST", "/api/v1/problems"): TEAM,
    ("PUT", "/api/v1/problems/{problem_id}"): RESPONDERS,
    ("POST", "/api/v1/problems/{problem_id}/status"): RESPONDERS,
    ("POST", "/api/v1/problems/{problem_id}/incidents"): TEAM,
    # regulatory clocks (ADR 0032): admins keep the regimes, the team classifies its incidents and records submissions
    ("PUT", "/api/v1/regimes/{key}"): ADMIN,
    ("POST", "/api/v1/incidents/{ref}/clocks"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/clocks/{regime}/submissions"): TEAM,
    # war rooms (ADR 0033): the team opens its incident's room; the walk's server has no chat platform (409)
    ("POST", "/api/v1/incidents/{ref}/chat-room"): Allowed(TEAM.roles, status=409),
    # ... and asks for someone's removal from it; the walk's incident has no room (404)
    ("DELETE", "/api/v1/incidents/{ref}/chat-rooms/{platform}/members/{person}"): Allowed(TEAM.roles, status=404),
    # knowledge (ADR 0030): responders write runbooks, admins delete them and set what the model may read; asking
    # the model about an incident is the team's
    ("POST", "/api/v1/runbooks"): RESPONDERS,
    ("PUT", "/api/v1/runbooks/{ref}"): RESPONDERS,
    ("DELETE", "/api/v1/runbooks/{ref}"): ADMIN,
    ("PUT", "/api/v1/assist/type-policies/{type_name}"): ADMIN,
    ("POST", "/api/v1/incidents/{ref}/assist"): TEAM,
    # workflows, playbooks, remediation actions (ADR 0027): admins configure, the team runs them on its incidents
    ("PUT", "/api/v1/workflows/{name}"): ADMIN,
    ("DELETE", "/api/v1/workflows/{name}"): ADMIN,
    ("PUT", "/api/v1/playbooks/{name}"): ADMIN,
    ("DELETE", "/api/v1/playbooks/{name}"): ADMIN,
    ("PUT", "/api/v1/remediation-actions/{name}"): ADMIN,
    ("DELETE", "/api/v1/remediation-actions/{name}"): ADMIN,
    ("PUT", "/api/v1/workflow-channels/{name}"): ADMIN,
    ("DELETE", "/api/v1/workflow-channels/{name}"): ADMIN,
    ("POST", "/api/v1/workflows/simulate"): EVERYONE,
    ("POST", "/api/v1/incidents/{ref}/workflows/{name}/run"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/actions/{name}/run"): TEAM,
    ("POST", "/api/v1/incidents/{ref}/playbooks/{name}/steps/{index}"): TEAM,
    # a second person approves: the member who asked is refused (403) like anyone outside the team
    ("POST", "/api/v1/action-runs/{run_id}/approve"): MANAGERS,
    ("PUT", "/api/v1/incident-types/{name}"): ADMIN,
    ("DELETE", "/api/v1/incident-types/{name}"): ADMIN,
    ("PUT", "/api/v1/incident-categories/{name}"): ADMIN,
    ("DELETE", "/api/v1/incident-categories/{name}"): ADMIN,
    ("PUT", "/api/v1/severities/{name}"): ADMIN,
    ("DELETE", "/api/v1/severities/{name}"): ADMIN,
    # drills run on the walk's service of no team: any responder may start and end them
    ("POST", "/api/v1/drills"): RESPONDERS,
    ("POST", "/api/v1/drills/{drill_id}/end"): RESPONDERS,
    # a simulation that stores nothing
    ("POST", "/api/v1/route-test"): EVERYONE,
}
