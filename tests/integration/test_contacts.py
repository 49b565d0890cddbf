"""Contact methods and notification rules (notify/contacts.py), on both databases."""

from __future__ import annotations

import pytest

from tests.factories import make_user
from tocsin.core.clock import FakeClock
from tocsin.core.errors import InvalidInput, NotFound
from tocsin.db.session import Database
from tocsin.notify import contacts


@pytest.mark.parametrize(
    ("type", "address", "error"),
    [
        ("pager", "x", "contact method type must be one of"),
        ("email", "  ", "a contact method needs an address"),
        ("email", "alice.example.com", "not an email address: 'alice.example.com'"),
        ("webhook", "ftp://hooks.example.com", "a webhook contact method needs an http(s) URL"),
        ("slack", "alice", "a slack contact method needs a Slack member ID"),
        ("sms", "555-1234", "a sms contact method needs a phone number in international form"),
    ],
)
def test_an_address_that_cannot_be_used_is_refused_with_what_is_wrong(type: str, address: str, error: str) -> None:
    with pytest.raises(InvalidInput, match=error.replace("(", r"\(").replace(")", r"\)")):
        contacts.check_contact_address(type, address)


def test_addresses_are_stored_in_one_form(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        user = make_user(s, clock.now())
        phone = contacts.add_contact_method(
            s, user_id=user.id, name="", type="sms", address="+1 (555) 123-0000", now=clock.now()
        )
        mail = contacts.add_contact_method(
            s, user_id=user.id, name="work", type="email", address=" alice@example.com ", now=clock.now()
        )
        assert (phone.name, phone.address, mail.address) == ("sms", "+15551230000", "alice@example.com")
        contacts.update_contact_method(s, mail, type="webhook", address="https://hooks.example.com/a")
        assert (mail.type, mail.address) == ("webhook", "https://hooks.example.com/a")
    with db.reader() as s:
        assert [(cm.type, cm.address) for cm in contacts.contact_methods(s, user.id)] == [
            ("sms", "+15551230000"),
            ("webhook", "https://hooks.example.com/a"),
        ]


def test_rules_name_the_users_own_contact_methods_and_are_replaced_as_a_whole(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        alice = make_user(s, clock.now())
        bob = make_user(s, clock.now(), email="bob@example.com")
        hers = contacts.add_contact_method(
            s, user_id=alice.id, name="", type="email", address="alice@example.com", now=clock.now()
        )
        with pytest.raises(InvalidInput, match=f"contact method {hers.id} does not belong to user {bob.id}"):
            contacts.add_rule(s, user_id=bob.id, urgency="high", contact_method_id=hers.id, delay_seconds=0)
        with pytest.raises(InvalidInput, match="urgency must be high or low"):
            contacts.add_rule(s, user_id=alice.id, urgency="urgent", contact_method_id=hers.id, delay_seconds=0)
        with pytest.raises(InvalidInput, match="delay must not be negative"):
            contacts.add_rule(s, user_id=alice.id, urgency="high", contact_method_id=hers.id, delay_seconds=-1)
        contacts.add_rule(s, user_id=alice.id, urgency="high", contact_method_id=hers.id, delay_seconds=0)
        contacts.replace_rules(s, user_id=alice.id, rules=[("low", hers.id, 60), ("high", hers.id, 300)])
    with db.reader() as s:
        got = [(r.urgency, r.contact_method_id, r.delay_seconds) for r in contacts.rules(s, alice.id)]
        assert got == [("low", hers.id, 60), ("high", hers.id, 300)]
        assert contacts.contact_method_owner(s, hers.id) == alice.id
        with pytest.raises(NotFound, match="contact method 999999 not found"):
            contacts.contact_method_owner(s, 999999)


def test_a_test_message_is_queued_for_the_engine(db: Database, clock: FakeClock) -> None:
    with db.unit_of_work() as s:
        user = make_user(s, clock.now())
        cm = contacts.add_contact_method(
            s, user_id=user.id, name="", type="email", address="alice@example.com", now=clock.now()
        )
        queued = contacts.send_test(s, cm.id, now=clock.now())
        assert (queued.kind, queued.status, queued.contact_method_id, queued.incident_id) == (
            "test",
            "pending",
            cm.id,
            None,
        )
        with pytest.raises(NotFound, match="contact method 999999 not found"):
            contacts.send_test(s, 999999, now=clock.now())
