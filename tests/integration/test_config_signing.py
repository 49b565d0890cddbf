"""``tocsin apply`` sets signing secrets and SNS topics; the secret is never printed in a plan nor exported."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.config.plan import Plan
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.services.models import Integration

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SECRET = "sentry client secret 0123"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:tocsin-alarms"


def config(secret: str = SECRET) -> str:
    return f"""
services:
  - name: shop
    integrations:
      - {{name: errors, type: sentry, signing_secret: "{secret}"}}
      - {{name: dashboards, type: grafana, signing_secret: "{secret}"}}
      - {{name: alarms, type: cloudwatch, sns_topic_arn: "{TOPIC}"}}
"""


def apply(db: Database, text: str) -> Plan:
    with db.unit_of_work() as session:
        return apply_config(session, document.parse(text), now=NOW)


def stored(db: Database) -> dict[str, tuple[str | None, str | None]]:
    with db.reader() as s:
        rows = s.execute(select(Integration.name, Integration.signing_secret, Integration.sns_topic_arn)).all()
    return {name: (secret, topic) for name, secret, topic in rows}


def test_apply_sets_secrets_and_topics_without_printing_the_secret(db: Database) -> None:
    plan = apply(db, config())
    assert stored(db) == {"errors": (SECRET, None), "dashboards": (SECRET, None), "alarms": (None, TOPIC)}
    assert SECRET not in "\n".join(plan.lines())
    assert SECRET not in str(plan.as_dict())

    again = apply(db, config())
    assert {c.action for c in again.changes} == {"unchanged"}

    rotated = apply(db, config("a new secret 4567"))
    change = rotated.find("integration", "shop/errors")
    assert change is not None
    assert (change.action, change.fields) == ("update", ("signing_secret changed",))
    assert "a new secret 4567" not in "\n".join(rotated.lines())
    assert stored(db)["errors"] == ("a new secret 4567", None)


def test_the_export_leaves_the_secret_out_and_applies_back_unchanged(db: Database) -> None:
    apply(db, config())
    with db.reader() as s:
        exported = export_config(s, now=NOW)
    text = document.to_yaml(exported)
    assert SECRET not in text
    assert TOPIC in text
    plan = apply(db, text)
    assert {c.action for c in plan.changes} == {"unchanged"}
    assert stored(db)["errors"] == (SECRET, None), "a file without the secret leaves it as it is"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{name: x, type: generic, signing_secret: s3cret}", "not signed with a shared secret"),
        ("{name: x, type: pagerduty_v2, signing_secret: s3cret}", "not signed with a shared secret"),
        ("{name: x, type: grafana, sns_topic_arn: " + TOPIC + "}", "only an integration of type cloudwatch"),
        ("{name: x, type: cloudwatch, sns_topic_arn: not-an-arn}", "an SNS topic is an ARN"),
    ],
)
def test_fields_of_other_types_are_refused(db: Database, line: str, expected: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        apply(db, f"services: [{{name: shop, integrations: [{line}]}}]")
    messages = [raised.value.detail, *raised.value.errors]
    assert any(expected in m for m in messages), messages
    assert "s3cret" not in str(messages)
    assert stored(db) == {}
