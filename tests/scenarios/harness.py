"""GoAlert-style behavioural harness: a real database, a fake clock, the real engine modules and recording
providers. Scenarios move the clock, run the engine until idle, consume the messages they expect, and end by
asserting that nothing else was sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tocsin.alerts.schemas import NormalizedEvent, Submission
from tocsin.alerts.service import ingest_batch
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.ack_timeout import AckTimeoutModule
from tocsin.engine.modules.auditor import AuditorModule
from tocsin.engine.modules.escalation import EscalationModule
from tocsin.engine.modules.notification import NotificationModule
from tocsin.engine.runner import Runner
from tocsin.escalation import service as escalation
from tocsin.incidents import service as incidents
from tocsin.incidents.models import Incident
from tocsin.incidents.schemas import Actor
from tocsin.notify import contacts
from tocsin.notify import service as notify
from tocsin.notify.providers.base import OutboundMessage, ProviderRegistry
from tocsin.notify.providers.fake import RecordingProvider
from tocsin.notify.retry import RetryPolicy
from tocsin.notify.throttle import Throttle
from tocsin.services import service as services
from tocsin.users import service as users
from tocsin.users.models import User

WEB = Actor(label="tester", source="api")


@dataclass
class World:
    db: Database
    clock: FakeClock
    email: RecordingProvider = field(default_factory=lambda: RecordingProvider("email"))
    webhook: RecordingProvider = field(default_factory=lambda: RecordingProvider("webhook"))
    throttle: Throttle = field(default_factory=Throttle)
    users: dict[str, User] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        registry = ProviderRegistry([self.email, self.webhook])
        ctx = notify.SendContext(base_url="http://tocsin.test", throttle=self.throttle)
        # Retry quickly and deterministically: waits are the full backoff (rand = 1.0).
        retry = RetryPolicy(max_attempts=3, base=timedelta(seconds=10), cap=timedelta(minutes=5))
        self.notifier = NotificationModule(
            self.db, registry, ctx, self.clock, owner="test", retry=retry, rand=lambda: 1.0
        )
        self.runner = Runner(
            [
                AckTimeoutModule(self.db),
                EscalationModule(self.db, owner="test"),
                self.notifier,
                AuditorModule(self.db, every=timedelta(0)),
            ],
            self.clock,
        )

    # --- setup ---------------------------------------------------------------------------------------------
    def user(self, name: str, *, email: bool = True, webhook_after: int | None = None, low: bool = False) -> User:
        now = self.clock.now()
        with self.db.unit_of_work() as s:
            user = users.create_user(s, email=f"{name}@example.com", name=name.title(), now=now)
            if email:
                cm = contacts.add_contact_method(
                    s, user_id=user.id, name="mail", type="email", address=f"{name}@example.com", now=now
                )
                contacts.add_rule(s, user_id=user.id, urgency="high", contact_method_id=cm.id, delay_seconds=0)
                if low:
                    contacts.add_rule(s, user_id=user.id, urgency="low", contact_method_id=cm.id, delay_seconds=0)
            if webhook_after is not None:
                hook = contacts.add_contact_method(
                    s, user_id=user.id, name="hook", type="webhook", address=f"https://hooks.test/{name}", now=now
                )
                contacts.add_rule(
                    s, user_id=user.id, urgency="high", contact_method_id=hook.id, delay_seconds=webhook_after
                )
        self.users[name] = user
        return user

    def person(
        self,
        name: str,
        methods: list[tuple[str, str, int]],
        *,
        slack_user_id: str | None = None,
        role: str = "responder",
    ) -> User:
        """A user whose high-urgency rules are ``(contact type, address, delay seconds)``, in this order."""
        now = self.clock.now()
        with self.db.unit_of_work() as s:
            user = users.create_user(s, email=f"{name}@example.com", name=name.title(), role=role, now=now)
            user.slack_user_id = slack_user_id
            for index, (kind, address, delay) in enumerate(methods):
                cm = contacts.add_contact_method(
                    s, user_id=user.id, name=f"{kind}{index}", type=kind, address=address, now=now
                )
                contacts.add_rule(s, user_id=user.id, urgency="high", contact_method_id=cm.id, delay_seconds=delay)
        self.users[name] = user
        return user

    def add_providers(self, *providers: Any) -> None:
        """Deliver these channels with real providers (pointed at local fakes) instead of recorders."""
        for provider in providers:
            self.notifier.providers.register(provider)

    def use_links(self, links: notify.LinkMaker) -> None:
        """Put signed one-click links (acknowledge, resolve) into the messages, as a live process does."""
        self.notifier.ctx = notify.SendContext(base_url=self.notifier.ctx.base_url, throttle=self.throttle, links=links)

    def timeline_entries(self, incident: Incident) -> list[tuple[str, str, str]]:
        """(kind, source, message) of every entry."""
        with self.db.reader() as s:
            return [(e.kind, e.source, e.message) for e in incidents.timeline(s, incident.id)]

    def status_of(self, incident: Incident) -> str:
        with self.db.reader() as s:
            return incidents.get(s, incident.id).status

    def policy(self, name: str, steps: list[tuple[list[dict[str, Any]], int]], repeat: int = 0) -> int:
        with self.db.unit_of_work() as s:
            return escalation.create_policy(s, name=name, steps=steps, repeat=repeat, now=self.clock.now()).id

    def service(self, name: str, policy_id: int | None, **kw: Any) -> str:
        with self.db.unit_of_work() as s:
            svc = services.create_service(s, name=name, now=self.clock.now(), **kw)
            svc.escalation_policy_id = policy_id
            integ = services.add_integration(s, svc, name="events", type="pagerduty_v2", now=self.clock.now())
        self.keys[name] = integ.key
        return integ.key

    # --- heartbeats ----------------------------------------------------------------------------------------
    def heartbeat_monitor(self, name: str, policy_id: int | None, *, period: int, grace: int) -> str:
        """A service with a heartbeat integration of this period and grace, watched by the engine."""
        from tocsin.engine.modules.heartbeat import HeartbeatModule
        from tocsin.heartbeats import service as heartbeats

        if not any(m.name == "heartbeat" for m in self.runner.modules):
            module = HeartbeatModule(self.db)
            # First, as in the real worker: the incident it opens is escalated in the same pass.
            self.runner.modules.insert(0, module)
            self.runner.failures[module.name] = 0
            self.runner.seconds[module.name] = 0.0
        with self.db.unit_of_work() as s:
            svc = services.create_service(s, name=name, now=self.clock.now())
            svc.escalation_policy_id = policy_id
            integ = services.add_integration(s, svc, name=f"{name}-heartbeat", type="heartbeat", now=self.clock.now())
            heartbeats.configure(s, integ, period_seconds=period, grace_seconds=grace, now=self.clock.now())
        self.keys[name] = integ.key
        return integ.key

    def ping(self, service: str, kind: str = "success") -> str:
        """A ping from the job, as the HTTP endpoint records it; returns what it did to the alert."""
        from tocsin.heartbeats import service as heartbeats

        with self.db.unit_of_work() as s:
            outcome = heartbeats.record_ping(
                s,
                key=self.keys[service],
                kind=kind,
                now=self.clock.now(),  # type: ignore[arg-type]
            )
        assert outcome.found
        return outcome.outcome

    def heartbeat_status(self, service: str) -> tuple[str, datetime | None]:
        from tocsin.heartbeats import service as heartbeats
        from tocsin.services import repository as service_repo

        with self.db.reader() as s:
            integ = service_repo.integration_by_key(s, self.keys[service])
            assert integ is not None
            monitor = heartbeats.monitor_of(s, integ)
            assert monitor is not None
            return monitor.status, monitor.due_at

    # --- on-call -------------------------------------------------------------------------------------------
    def schedule(self, name: str, layers: list[dict[str, Any]], timezone: str = "UTC") -> int:
        """A schedule whose layer specs name users by their harness name (``"users": ["alice", "bob"]``)."""
        from tocsin.oncall import service as oncall

        specs = [{**layer, "users": [self.users[u].id for u in layer["users"]]} for layer in layers]
        with self.db.unit_of_work() as s:
            schedule = oncall.create_schedule(s, name=name, timezone=timezone, now=self.clock.now())
            oncall.set_layers(s, schedule, specs)
            return schedule.id

    def override(self, schedule_id: int, user: str, start: datetime, end: datetime) -> None:
        from tocsin.oncall import repository as oncall_repo
        from tocsin.oncall import service as oncall

        with self.db.unit_of_work() as s:
            schedule = oncall_repo.schedule(s, schedule_id)
            assert schedule is not None
            oncall.add_override(s, schedule, user_id=self.users[user].id, start=start, end=end, now=self.clock.now())

    def wants_handoff_messages(self, name: str) -> None:
        from tocsin.oncall import service as oncall

        with self.db.unit_of_work() as s:
            oncall.set_handoff_notifications(s, self.users[name].id, enabled=True)

    def run_handoffs(self) -> None:
        """Add the handoff module to this world's engine (the other scenarios leave it out)."""
        from tocsin.engine.modules.handoff import HandoffModule

        module = HandoffModule(self.db)
        self.runner.modules.append(module)
        self.runner.failures[module.name] = 0
        self.runner.seconds[module.name] = 0.0

    def expect_handoff(self, to: str) -> OutboundMessage:
        (msg,) = self.email.expect(1, lambda m: m.kind == "handoff" and m.address == f"{to}@example.com")
        return msg

    # --- actions -------------------------------------------------------------------------------------------
    def trigger(self, service: str, key: str, summary: str = "Something broke") -> Incident:
        with self.db.unit_of_work() as s:
            (res,) = ingest_batch(
                s,
                [Submission(self.keys[service], events=[NormalizedEvent("trigger", key, summary=summary)])],
                now=self.clock.now(),
            )
        assert res.outcomes == ["created"]
        return self.incident_by_key(key)

    def incident_by_key(self, key: str) -> Incident:
        with self.db.reader() as s:
            from sqlalchemy import select

            from tocsin.alerts.models import Alert

            alert = s.execute(select(Alert).where(Alert.dedup_key == key).order_by(Alert.id.desc())).scalars().first()
            assert alert is not None
            assert alert.incident_id is not None
            return incidents.get(s, alert.incident_id)

    def ack(self, incident: Incident) -> None:
        with self.db.unit_of_work() as s:
            incidents.acknowledge(s, incident.id, actor=WEB, now=self.clock.now())

    def resolve(self, incident: Incident) -> None:
        with self.db.unit_of_work() as s:
            incidents.resolve(s, incident.id, actor=WEB, now=self.clock.now())

    def escalate(self, incident: Incident) -> None:
        with self.db.unit_of_work() as s:
            incidents.escalate_now(s, incident.id, actor=WEB, now=self.clock.now())

    def run(self) -> None:
        self.runner.run_until_idle()

    def advance(self, seconds: float) -> None:
        """Move time forward like an ideal live worker: wake at every due time on the way, then at the end."""
        end = self.clock.now() + timedelta(seconds=seconds)
        while True:
            due = [d for m in self.runner.modules if (d := m.next_due()) is not None and d > self.clock.now()]
            step = min(due, default=end)
            if step >= end:
                break
            self.clock.set(step)
            self.run()
        self.clock.set(end)
        self.run()

    def timeline(self, incident: Incident) -> list[tuple[str, str]]:
        with self.db.reader() as s:
            return [(e.kind, e.message) for e in incidents.timeline(s, incident.id)]

    # --- routing and noise ---------------------------------------------------------------------------------
    def send(self, service: str, *events: NormalizedEvent) -> list[str]:
        """Ingest events whatever happens to them; returns their outcomes (created, silenced, grouped …)."""
        with self.db.unit_of_work() as s:
            (res,) = ingest_batch(s, [Submission(self.keys[service], events=list(events))], now=self.clock.now())
        return res.outcomes

    def event_rule(self, name: str, matchers: list[dict[str, Any]], actions: dict[str, Any]) -> None:
        from tocsin.alerts import routing_service

        with self.db.unit_of_work() as s:
            routing_service.put_event_rule(s, name=name, matchers=matchers, actions=actions, now=self.clock.now())

    def silence(self, matchers: list[dict[str, Any]], minutes: int, author: str | None = None) -> int:
        from tocsin.alerts import silence_service

        user = self.users[author] if author else None
        with self.db.unit_of_work() as s:
            return silence_service.create_silence(
                s,
                matchers=matchers,
                starts_at=self.clock.now(),
                ends_at=self.clock.now() + timedelta(minutes=minutes),
                author=user.email if user else "tester",
                comment="scenario",
                created_by_user_id=user.id if user else None,
                now=self.clock.now(),
            ).id

    def grouping(self, service: str, group_by: list[str], window_seconds: int = 600) -> None:
        from tocsin.alerts import routing_service

        with self.db.unit_of_work() as s:
            svc = services.get_service(s, service)
            spec = {"group_by": group_by, "window_seconds": window_seconds}
            routing_service.set_grouping(s, service_id=svc.id, spec=spec, now=self.clock.now())

    def inhibit(self, name: str, source: list[dict[str, Any]], target: list[dict[str, Any]], equal: list[str]) -> None:
        from tocsin.alerts import routing_service

        with self.db.unit_of_work() as s:
            routing_service.put_inhibit_rule(
                s, name=name, source=source, target=target, equal=equal, now=self.clock.now()
            )

    def flapping(self, max_changes: int, window_seconds: int) -> None:
        from tocsin.alerts import routing_service

        with self.db.unit_of_work() as s:
            spec = {"max_changes": max_changes, "window_seconds": window_seconds}
            routing_service.set_flapping(s, spec, now=self.clock.now())

    def run_silence_module(self) -> None:
        """Add the silence module (reminders, flapping that settles) to this world's engine; others leave it out."""
        from tocsin.engine.modules.silences import SilenceReminderModule

        module = SilenceReminderModule(self.db)
        self.runner.modules.append(module)
        self.runner.failures[module.name] = 0
        self.runner.seconds[module.name] = 0.0

    def expect_status(self, to: str) -> OutboundMessage:
        (msg,) = self.email.expect(1, lambda m: m.kind == "status" and m.address == f"{to}@example.com")
        return msg

    # --- expectations --------------------------------------------------------------------------------------
    def expect_email(self, to: str, *, number: int | None = None) -> OutboundMessage:
        (msg,) = self.email.expect(
            1, lambda m: m.address == f"{to}@example.com" and (number is None or m.incident.number == number)
        )
        return msg

    def expect_webhook(self, to: str) -> OutboundMessage:
        (msg,) = self.webhook.expect(1, lambda m: m.address == f"https://hooks.test/{to}")
        return msg

    def nothing_more(self) -> None:
        """Run several more engine passes over a stretch of time, then fail on any message not consumed."""
        for _ in range(5):
            self.run()
        self.email.assert_nothing_more()
        self.webhook.assert_nothing_more()

    def now(self) -> datetime:
        return self.clock.now()
