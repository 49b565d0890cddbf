"""Bombing a phone through Tocsin: many contact methods for one number, codes and test messages in a burst, and
the organisation's hourly budget of text messages and calls (notify/send_limits.py)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.conftest import ApiHarness
from tests.scenarios.harness import World
from tocsin.core.errors import RateLimited
from tocsin.notify import contacts
from tocsin.notify.providers.fake import RecordingProvider
from tocsin.notify.send_limits import SendLimits

NUMBER = "+15557654321"


def _add(api: ApiHarness, token: str, email: str, type: str, address: str) -> tuple[int, dict[str, object]]:
    r = api.post(
        f"/api/v1/users/{email}/contact-methods", json={"name": "", "type": type, "address": address}, token=token
    )
    return r.status_code, r.json()


def test_one_number_cannot_be_added_twenty_times(api: ApiHarness) -> None:
    ann = api.token_for("ann@example.com")
    codes = [_add(api, ann, "ann@example.com", kind, NUMBER)[0] for kind in ("sms", "voice", "sms", "sms")]
    assert codes == [201, 201, 422, 422]
    status, body = _add(api, ann, "ann@example.com", "sms", NUMBER)
    assert status == 422
    assert f"at most 2 contact methods with the address {NUMBER}" in str(body["detail"])
    # Nor by changing another method's number to it.
    status, other = _add(api, ann, "ann@example.com", "sms", "+15550000000")
    assert status == 201
    changed = api.patch(f"/api/v1/contact-methods/{other['id']}", json={"address": NUMBER}, token=ann)
    assert changed.status_code == 422
    assert f"at most 2 contact methods with the address {NUMBER}" in changed.json()["detail"]

    for n in range(17):
        assert _add(api, ann, "ann@example.com", "email", f"ann{n}@example.com")[0] == 201
    status, body = _add(api, ann, "ann@example.com", "email", "one-too-many@example.com")
    assert status == 422
    assert "a person has at most 20 contact methods" in str(body["detail"])


def test_verification_codes_to_one_number_stop_after_five_an_hour(api: ApiHarness) -> None:
    ann = api.token_for("ann@example.com")
    bob = api.token_for("bob@example.com")
    _, mine = _add(api, ann, "ann@example.com", "sms", NUMBER)
    sent = []
    for _ in range(5):
        sent.append(api.post(f"/api/v1/contact-methods/{mine['id']}/verify", token=ann).status_code)
        api.clock.advance(61)
    assert sent == [202] * 5
    refused = api.post(f"/api/v1/contact-methods/{mine['id']}/verify", token=ann)
    assert refused.status_code == 429
    assert f"at most 5 verification and test messages an hour go to {NUMBER}" in refused.json()["detail"]
    # The first code leaves the hour's window 3600 s after it was sent, 5 times 61 s ago.
    assert refused.headers["Retry-After"] == str(3600 - 5 * 61)

    # Someone else adding the same number cannot send it more either: the limit is the number's.
    _, theirs = _add(api, bob, "bob@example.com", "sms", NUMBER)
    assert api.post(f"/api/v1/contact-methods/{theirs['id']}/verify", token=bob).status_code == 429

    api.clock.advance(3600 - 5 * 61)
    assert api.post(f"/api/v1/contact-methods/{mine['id']}/verify", token=ann).status_code == 202


def test_a_burst_of_test_messages_is_cut_per_address_and_per_person(api: ApiHarness) -> None:
    ann = api.token_for("ann@example.com")
    _, mail = _add(api, ann, "ann@example.com", "email", "ann@example.com")
    burst = [api.post(f"/api/v1/contact-methods/{mail['id']}/test", token=ann) for _ in range(20)]
    assert [r.status_code for r in burst] == [202] * 5 + [429] * 15
    assert burst[-1].headers["Retry-After"] == "3600"
    assert "try again in 60 minutes" in burst[-1].json()["detail"]

    others = [_add(api, ann, "ann@example.com", "email", f"ann{n}@example.com")[1]["id"] for n in range(3)]
    codes = [api.post(f"/api/v1/contact-methods/{cm}/test", token=ann).status_code for cm in others for _ in range(2)]
    assert codes == [202] * 5 + [429]
    last = api.post(f"/api/v1/contact-methods/{others[-1]}/test", token=ann)
    assert "verification and test messages an hour go to one person's contact methods" in last.json()["detail"]


def test_over_the_paid_budget_pages_still_go_out_admins_are_told_once_and_tests_wait(world: World) -> None:
    sms = RecordingProvider("sms")
    world.add_providers(sms)
    limits = SendLimits(paid_sends_per_hour=2)
    world.notifier.ctx = dataclasses.replace(world.notifier.ctx, limits=limits)
    world.person("root", [("email", "root@example.com", 0)], role="admin")
    carol = world.person("carol", [("sms", NUMBER, 0)])
    world.service("ops", world.policy("p", [([{"kind": "user", "ref": carol.id}], 300)]))

    for key in ("k1", "k2", "k3", "k4"):
        world.trigger("ops", key)
        world.run()
    assert len(sms.sent) == 4  # pages are never held back by the budget
    # One notice to the admin for the hour, however many sends pass the budget (the fixture's end checks no more).
    (notice,) = world.email.expect(1, lambda m: m.kind == "notice")
    assert "TOCSIN_PAID_SENDS_PER_HOUR" in notice.text
    assert notice.address == "root@example.com"

    with world.db.unit_of_work() as s:
        (method,) = contacts.contact_methods(s, carol.id)
        with pytest.raises(RateLimited, match="budget of 2 text messages and calls an hour is spent"):
            contacts.send_test(s, method.id, now=world.clock.now(), limits=limits)
