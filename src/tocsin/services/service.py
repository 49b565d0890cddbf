"""Services and their integrations."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from tocsin.core.errors import Conflict, InvalidInput, NotFound
from tocsin.core.ids import new_integration_key
from tocsin.core.numbers import ascii_int
from tocsin.services import repository as repo
from tocsin.services.models import INTEGRATION_TYPES, SECRET_SIGNED_TYPES, Integration, Service

SERVICE_URGENCIES = ("high", "low", "severity_based")

# Incidents and alerts refer to services and integrations, and sit above them: they say what refuses retiring one
# by registering checks here, from tocsin.wiring (ADR 0010, ADR 0012). Each raises Conflict to refuse.
ServiceCheck = Callable[[Session, Service], None]
IntegrationCheck = Callable[[Session, Integration], None]
deletion_checks: list[ServiceCheck] = []
archive_checks: list[ServiceCheck] = []
integration_deletion_checks: list[IntegrationCheck] = []
_Check = TypeVar("_Check")
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")
MAX_SECRET = 255


def create_service(
    session: Session,
    *,
    name: str,
    now: datetime,
    description: str = "",
    team_id: int | None = None,
    urgency: str = "high",
    auto_resolve: bool = True,
    ack_timeout_seconds: int | None = None,
    tier: int | None = None,
    downtime_cost_per_minute: float | None = None,
) -> Service:
    name = name.strip()
    if not name:
        raise InvalidInput("a service needs a name")
    if repo.by_name(session, name) is not None:
        raise Conflict(f"a service named {name!r} already exists")
    service = Service(name=name, created_at=now)
    session.add(service)
    update_service(
        session,
        service,
        description=description,
        team_id=team_id,
        urgency=urgency,
        auto_resolve=auto_resolve,
        ack_timeout_seconds=ack_timeout_seconds,
        tier=tier,
        downtime_cost_per_minute=downtime_cost_per_minute,
    )
    session.flush()
    return service


_UNSET: object = object()


def update_service(
    session: Session,
    service: Service,
    *,
    name: str | None = None,
    description: str | None = None,
    team_id: int | object | None = _UNSET,
    urgency: str | None = None,
    auto_resolve: bool | None = None,
    ack_timeout_seconds: int | object | None = _UNSET,
    tier: int | object | None = _UNSET,
    downtime_cost_per_minute: float | object | None = _UNSET,
) -> Service:
    if name is not None and name.strip() and name.strip() != service.name:
        if repo.by_name(session, name.strip()) is not None:
            raise Conflict(f"a service named {name!r} already exists")
        service.name = name.strip()
    if description is not None:
        service.description = description
    if team_id is not _UNSET:
        service.team_id = team_id  # type: ignore[assignment]
    if urgency is not None:
        if urgency not in SERVICE_URGENCIES:
            raise InvalidInput(f"urgency must be one of {', '.join(SERVICE_URGENCIES)}")
        service.urgency = urgency
    if auto_resolve is not None:
        service.auto_resolve = auto_resolve
    if ack_timeout_seconds is not _UNSET:
        if ack_timeout_seconds is not None and (not isinstance(ack_timeout_seconds, int) or ack_timeout_seconds < 1):
            raise InvalidInput("ack_timeout must be a positive number of seconds")
        service.ack_timeout_seconds = ack_timeout_seconds
    if tier is not _UNSET:
        if tier is not None and (not isinstance(tier, int) or not 1 <= tier <= 5):
            raise InvalidInput("tier must be between 1 and 5")
        service.tier = tier
    if downtime_cost_per_minute is not _UNSET:
        service.downtime_cost_per_minute = check_cost(downtime_cost_per_minute, "downtime_cost_per_minute")
    return service


# Business impact (ADR 0025): what a minute of downtime costs, per service or by default per tier.
MAX_COST_PER_MINUTE = 1_000_000_000.0
TIERS = range(1, 6)


def check_cost(value: object, name: str) -> float | None:
    """A cost per minute: a finite number, zero or more; None (unset) passes."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a number")
    if value < 0:
        raise InvalidInput(f"{name} cannot be negative")
    if value > MAX_COST_PER_MINUTE:
        raise InvalidInput(f"{name} is limited to {MAX_COST_PER_MINUTE:,.0f} per minute")
    return float(value)


def tier_costs(session: Session) -> dict[int, float]:
    """The default cost per minute of each tier that has one."""
    return {row.tier: row.cost_per_minute for row in repo.tier_costs(session)}


def set_tier_cost(session: Session, tier: int, cost_per_minute: float | None, *, now: datetime) -> dict[int, float]:
    """Set (or, with None, clear) the default cost per minute of the services of ``tier``."""
    if isinstance(tier, bool) or tier not in TIERS:
        raise InvalidInput("tier must be between 1 and 5")
    cost = check_cost(cost_per_minute, "cost_per_minute")
    repo.put_tier_cost(session, tier, cost, now=now)
    return tier_costs(session)


def cost_per_minute(session: Session, service: Service) -> float | None:
    """The service's own cost of a minute of downtime, or its tier's default; None when neither is set."""
    if service.downtime_cost_per_minute is not None:
        return service.downtime_cost_per_minute
    if service.tier is None:
        return None
    return tier_costs(session).get(service.tier)


def get_service(session: Session, ref: int | str) -> Service:
    service = repo.get(session, number) if (number := ascii_int(ref)) is not None else None
    if service is None and isinstance(ref, str):
        service = repo.by_name(session, ref)
    if service is None:
        raise NotFound(f"service {ref} not found")
    return service


def list_services(session: Session, *, include_archived: bool = False) -> list[Service]:
    return repo.all_services(session, include_archived=include_archived)


def service_ids_outside(session: Session, team_ids: set[int]) -> set[int]:
    """The services that belong to a team not among ``team_ids`` (a service of no team belongs to everyone)."""
    return {
        s.id
        for s in repo.all_services(session, include_archived=True)
        if s.team_id is not None and s.team_id not in team_ids
    }


def archive_service(session: Session, service: Service, *, now: datetime) -> Service:
    """Retire a service: its integrations stop taking events; its incidents and alerts stay readable.

    Refused while an incident of it is open, so that nobody's response loses the service under it (ADR 0012).
    """
    for check in _installed(archive_checks):
        check(session, service)
    if service.archived_at is None:
        service.archived_at = now
    session.flush()
    return service


def unarchive_service(session: Session, service: Service) -> Service:
    service.archived_at = None
    session.flush()
    return service


def delete_service(session: Session, service: Service) -> None:
    """Only a service nothing refers to is deleted; one with history is archived instead."""
    for check in _installed(deletion_checks):
        check(session, service)
    session.delete(service)
    session.flush()


def add_integration(
    session: Session,
    service: Service,
    *,
    name: str,
    type: str,
    now: datetime,
    key: str | None = None,
    signing_secret: str | None = None,
    sns_topic_arn: str | None = None,
) -> Integration:
    if type not in INTEGRATION_TYPES:
        raise InvalidInput(f"integration type must be one of {', '.join(INTEGRATION_TYPES)}")
    if not name.strip():
        raise InvalidInput("an integration needs a name")
    if key is None:
        key = new_integration_key()
    elif not _KEY.match(key):
        raise InvalidInput("an integration key is 16 to 64 letters, digits, '-' or '_'")
    if repo.integration_by_key(session, key) is not None:
        raise Conflict("that integration key is already in use")
    integration = Integration(service_id=service.id, name=name.strip(), type=type, key=key, created_at=now)
    set_signing_secret(integration, signing_secret)
    set_sns_topic(integration, sns_topic_arn)
    session.add(integration)
    session.flush()
    return integration


def set_signing_secret(integration: Integration, secret: str | None) -> None:
    """Set (or, with None, clear) the shared secret; only the types that sign with one accept it.

    A secret on a type that never checks one would look like protection and be none, so it is refused.
    """
    if secret is None:
        integration.signing_secret = None
        return
    if integration.type not in SECRET_SIGNED_TYPES:
        raise InvalidInput(
            f"integrations of type {integration.type} are not signed with a shared secret; "
            f"a signing secret is for {', '.join(SECRET_SIGNED_TYPES)}"
        )
    if not secret.strip():
        raise InvalidInput("a signing secret must not be blank")
    if len(secret) > MAX_SECRET:
        raise InvalidInput(f"a signing secret is at most {MAX_SECRET} characters")
    integration.signing_secret = secret


def set_sns_topic(integration: Integration, topic_arn: str | None) -> None:
    """Tie a CloudWatch integration to one SNS topic (None: the first verified message's topic is kept)."""
    if topic_arn is None:
        integration.sns_topic_arn = None
        return
    if integration.type != "cloudwatch":
        raise InvalidInput(f"an SNS topic is for integrations of type cloudwatch, not {integration.type}")
    if not _TOPIC_ARN.match(topic_arn):
        raise InvalidInput("an SNS topic is an ARN like arn:aws:sns:eu-west-1:123456789012:alarms")
    integration.sns_topic_arn = topic_arn


def update_integration(
    session: Session,
    integration: Integration,
    *,
    type: str | None = None,
    key: str | None = None,
    name: str | None = None,
    signing_secret: str | object | None = _UNSET,
    sns_topic_arn: str | object | None = _UNSET,
) -> Integration:
    """Only the arguments given change; ``signing_secret`` and ``sns_topic_arn`` are cleared by None."""
    if name is not None:
        if not name.strip():
            raise InvalidInput("an integration needs a name")
        integration.name = name.strip()
    retyped = type is not None and type != integration.type
    if type is not None:
        if type not in INTEGRATION_TYPES:
            raise InvalidInput(f"integration type must be one of {', '.join(INTEGRATION_TYPES)}")
        integration.type = type
    if key is not None and key != integration.key:
        if not _KEY.match(key):
            raise InvalidInput("an integration key is 16 to 64 letters, digits, '-' or '_'")
        if repo.integration_by_key(session, key) is not None:
            raise Conflict("that integration key is already in use")
        integration.key = key
    if retyped:
        # What the new type never checks goes; a secret the new type checks stays, failing closed until replaced.
        if integration.type not in SECRET_SIGNED_TYPES:
            integration.signing_secret = None
        if integration.type != "cloudwatch":
            integration.sns_topic_arn = None
    if signing_secret is not _UNSET:
        set_signing_secret(integration, signing_secret)  # type: ignore[arg-type]
    if sns_topic_arn is not _UNSET:
        set_sns_topic(integration, sns_topic_arn)  # type: ignore[arg-type]
    session.flush()
    return integration


def get_integration(session: Session, integration_id: int) -> Integration:
    integration = repo.integration(session, integration_id)
    if integration is None:
        raise NotFound(f"integration {integration_id} not found")
    return integration


def list_integrations(
    session: Session, service_id: int | None = None, *, include_archived: bool = False
) -> list[Integration]:
    return repo.integrations_of(session, service_id, include_archived=include_archived)


def archive_integration(session: Session, integration: Integration, *, now: datetime) -> Integration:
    """Its key answers as unknown from now on; the alerts it brought in stay."""
    if integration.archived_at is None:
        integration.archived_at = now
    session.flush()
    return integration


def unarchive_integration(session: Session, integration: Integration) -> Integration:
    integration.archived_at = None
    session.flush()
    return integration


def delete_integration(session: Session, integration: Integration) -> None:
    for check in _installed(integration_deletion_checks):
        check(session, integration)
    session.delete(integration)
    session.flush()


def _installed(checks: list[_Check]) -> list[_Check]:
    if not checks:
        raise RuntimeError("retirement checks not installed: import tocsin.registry first")
    return checks


def integration_url(base_url: str, integration: Integration, *, email_domain: str | None = None) -> str:
    """The exact URL a sender of this type is pointed at."""
    if integration.type == "pagerduty_v2":
        return f"{base_url}/v2/enqueue"
    if integration.type == "heartbeat":
        return f"{base_url}/heartbeat/{integration.key}"
    if integration.type == "email":
        return f"{integration.key}@{email_domain or '<TOCSIN_EMAIL_DOMAIN>'}"
    return f"{base_url}/integrations/{integration.key}/{integration.type}"


def names_of(session: Session, ids: list[int]) -> dict[int, str]:
    return repo.names(session, ids)


def live_integration_of_type(session: Session, key: str, type: str) -> Integration | None:
    """The live integration with this key if it is of ``type``: a key of another type is as good as unknown."""
    integration = repo.live_integration_by_key(session, key)
    return integration if integration is not None and integration.type == type else None


def signing_secret_of(session: Session, key: str, type: str) -> str | None:
    """The secret an endpoint of ``type`` checks signatures with; None for an unsigned, unknown or foreign key."""
    integration = live_integration_of_type(session, key, type)
    return integration.signing_secret if integration is not None else None


def cloudwatch_topic_of(session: Session, key: str) -> tuple[bool, str | None]:
    """Whether a live CloudWatch integration has this key, and the SNS topic it is tied to (None: not yet)."""
    integration = live_integration_of_type(session, key, "cloudwatch")
    return (False, None) if integration is None else (True, integration.sns_topic_arn)


def tie_sns_topic(session: Session, key: str, topic_arn: str) -> str | None:
    """Tie the CloudWatch integration with this key to this topic unless it already is to one; the topic it is
    tied to afterwards (None: no such integration). The conditional update keeps the first of two racing topics.
    """
    integration = live_integration_of_type(session, key, "cloudwatch")
    if integration is None:
        return None
    if integration.sns_topic_arn is None:
        repo.tie_sns_topic(session, integration.id, topic_arn)
        session.refresh(integration)
    return integration.sns_topic_arn


def integration_type_of(session: Session, key: str) -> str | None:
    """The type of the integration with this key, None when there is none or it is archived."""
    integration = repo.live_integration_by_key(session, key)
    return integration.type if integration is not None else None
