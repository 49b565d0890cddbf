"""The access decisions (pure): the organisation role caps the team role, objects of no team are the
organisation's, and the time limits bind everyone but admins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.access import policy
from tocsin.access.policy import Viewer
from tocsin.core.errors import Forbidden, InvalidInput

OPS, WEB = 1, 2
ADMIN = Viewer(user_id=1, role="admin")
MANAGER = Viewer(user_id=2, role="responder", teams={OPS: "manager"})
MEMBER = Viewer(user_id=3, role="responder", teams={OPS: "member"})
OTHER = Viewer(user_id=4, role="responder", teams={WEB: "manager"})
OBSERVER_MANAGER = Viewer(user_id=5, role="observer", teams={OPS: "manager"})
NOW = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("viewer", "manage", "act"),
    [
        (ADMIN, True, True),
        (MANAGER, True, True),
        (MEMBER, False, True),
        (OTHER, False, False),
        (OBSERVER_MANAGER, False, False),
    ],
)
def test_team_objects(viewer: Viewer, manage: bool, act: bool) -> None:
    assert policy.can_manage(viewer, [OPS]) is manage
    assert policy.can_act(viewer, [OPS]) is act


def test_objects_of_no_team_are_administered_by_admins_and_acted_on_by_responders() -> None:
    assert policy.can_manage(ADMIN, [None])
    assert not policy.can_manage(MANAGER, [None])
    assert policy.can_act(OTHER, [None])
    assert not policy.can_act(OBSERVER_MANAGER, [None])


def test_managing_several_teams_takes_managing_each() -> None:
    both = Viewer(user_id=6, role="responder", teams={OPS: "manager", WEB: "member"})
    assert not policy.can_manage(both, [OPS, WEB])
    assert policy.can_manage(both, [OPS])


def test_visibility_follows_the_setting() -> None:
    assert policy.can_see(OTHER, [OPS], see_all=True)
    assert not policy.can_see(OTHER, [OPS], see_all=False)
    assert policy.can_see(OTHER, [None], see_all=False)
    assert policy.can_see(OBSERVER_MANAGER, [OPS], see_all=False)
    assert policy.can_see(ADMIN, [WEB], see_all=False)


def test_refusals_name_the_team() -> None:
    with pytest.raises(Forbidden, match="managers of team 'ops'"):
        policy.require_manage(MEMBER, [OPS], "service 'checkout'", ["ops"])
    with pytest.raises(Forbidden, match="observers"):
        policy.require_act(OBSERVER_MANAGER, [OPS], "incidents", ["ops"])


def test_time_limits_bind_everyone_but_admins() -> None:
    week = timedelta(days=7)
    policy.check_duration(MEMBER, NOW, NOW + week, limit=week, what="a silence", now=NOW)
    with pytest.raises(InvalidInput, match="at most 7 day"):
        policy.check_duration(MEMBER, NOW, NOW + week + timedelta(seconds=1), limit=week, what="a silence", now=NOW)
    # Counted from now for one already running, from its start for one to come.
    policy.check_duration(MEMBER, NOW - week, NOW + week, limit=week, what="a silence", now=NOW)
    with pytest.raises(InvalidInput):
        policy.check_duration(MEMBER, NOW + week, NOW + 3 * week, limit=week, what="a silence", now=NOW)
    policy.check_duration(ADMIN, NOW, NOW + 1000 * week, limit=week, what="a silence", now=NOW)


def test_credentials_are_shown_to_owners_and_admins() -> None:
    url = "https://hooks.test/services/secret-path-9876"
    assert policy.shown_contact_address(MEMBER, MANAGER.user_id, "webhook", url) == "***9876"
    assert policy.shown_contact_address(MANAGER, MANAGER.user_id, "webhook", url) == url
    assert policy.shown_contact_address(ADMIN, MANAGER.user_id, "ntfy", url) == url
    assert policy.shown_contact_address(MEMBER, MANAGER.user_id, "email", "mia@example.com") == "mia@example.com"
    assert policy.shown_webhook_url(MEMBER, MANAGER.user_id, url) == "https://hooks.test/***"
    assert policy.shown_webhook_url(MANAGER, MANAGER.user_id, url) == url
    assert policy.can_read_integration_key(MANAGER, OPS)
    assert not policy.can_read_integration_key(MEMBER, OPS)
    assert not policy.can_read_integration_key(OBSERVER_MANAGER, OPS)
    assert not policy.can_read_integration_key(MANAGER, None)
