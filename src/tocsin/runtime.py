"""The objects one Tocsin process shares: settings, database, clock, ingest writer, engine, metrics."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

import tocsin.registry  # noqa: F401  (the domains' hooks; ADR 0010)
from tocsin import wiring
from tocsin.alerts.committer import IngestCommitter
from tocsin.alerts.schemas import SubmissionResult
from tocsin.auth import links
from tocsin.auth.attempts import AttemptLimiter
from tocsin.auth.secrets import check_key, instance_secret
from tocsin.chat.setup import chat_matrix, chat_pacer, chat_platforms
from tocsin.chat.setup import configured as chat_configured
from tocsin.compliance import service as compliance
from tocsin.core.clock import Clock, SystemClock
from tocsin.db.keys import keyring_from_settings
from tocsin.db.session import Database
from tocsin.engine.listen import PgListener
from tocsin.engine.module import Module
from tocsin.engine.modules.ack_timeout import AckTimeoutModule
from tocsin.engine.modules.analytics_digest import AnalyticsDigestModule
from tocsin.engine.modules.analytics_facts import AnalyticsFactsModule
from tocsin.engine.modules.auditor import AuditorModule
from tocsin.engine.modules.chat import ChatModule
from tocsin.engine.modules.clocks import ClockReminderModule
from tocsin.engine.modules.delivery_retention import DeliveryRetentionModule
from tocsin.engine.modules.escalation import EscalationModule
from tocsin.engine.modules.events import EventDeliveryModule
from tocsin.engine.modules.handoff import HandoffModule
from tocsin.engine.modules.heartbeat import HeartbeatModule
from tocsin.engine.modules.knowledge import KnowledgeIndexModule
from tocsin.engine.modules.learning import LearningModule
from tocsin.engine.modules.matrix_sync import MatrixSyncModule
from tocsin.engine.modules.notification import NotificationModule
from tocsin.engine.modules.silences import SilenceReminderModule
from tocsin.engine.modules.stakeholders import StakeholderModule
from tocsin.engine.modules.statuspages import StatusPageModule
from tocsin.engine.modules.task_reminders import TaskReminderModule
from tocsin.engine.modules.trackers import TrackerModule
from tocsin.engine.modules.webhooks import WebhookModule
from tocsin.engine.modules.workflows import WorkflowModule
from tocsin.engine.runner import Runner
from tocsin.engine.sqlite_signal import SqliteWorkWatcher
from tocsin.engine.wake import Wakeup
from tocsin.escalation import service as escalation
from tocsin.events import service as events
from tocsin.events.registry import ConsumerRegistry
from tocsin.incidents import service as incidents
from tocsin.knowledge import assist as knowledge_assist
from tocsin.knowledge import embeddings
from tocsin.knowledge import similar as similar_incidents
from tocsin.notify import service as notify
from tocsin.notify.providers.base import ProviderRegistry
from tocsin.notify.providers.webhook import WebhookProvider
from tocsin.notify.send_limits import SendLimits
from tocsin.notify.setup import providers_from_settings
from tocsin.notify.ssrf import UrlGuard
from tocsin.notify.throttle import Throttle
from tocsin.ops.metrics import Metrics
from tocsin.response import roles, types
from tocsin.settings import Settings
from tocsin.statuspages import tokens as statuspage_tokens
from tocsin.trackers import sync as tracker_sync
from tocsin.trackers.http import GuardedHttp
from tocsin.users.hashing_pool import HashingPool
from tocsin.webhooks import sending as webhook_sending
from tocsin.workflows import actions as workflow_actions
from tocsin.workflows.http import Caller

LINK_LIFETIME = timedelta(hours=24)
# The least time between two passes of the event delivery module (see engine/modules/events.py).
EVENT_PASS_GAP = timedelta(seconds=0.25)
log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    committer: IngestCommitter
    metrics: Metrics = field(repr=False)
    wakeup: Wakeup = field(default_factory=Wakeup)
    providers: ProviderRegistry = field(default_factory=ProviderRegistry)
    # Who receives incident events (ADR 0009): later packages register here the same way.
    consumers: ConsumerRegistry = field(default_factory=lambda: ConsumerRegistry(wiring.event_consumers()))
    engine: Runner | None = None
    _link_secret: bytes | None = None
    _listener: PgListener | SqliteWorkWatcher | None = None
    # Password checks and their backoff (ADR 0015): shared by every sign-in route of this process.
    hashing: HashingPool = field(init=False, repr=False)
    attempts: AttemptLimiter = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.hashing = HashingPool(workers=self.settings.password_hash_workers, queue=self.settings.password_hash_queue)
        self.attempts = AttemptLimiter(
            self.db,
            self.clock,
            free_per_address=self.settings.login_free_attempts_per_address,
            free_per_account=self.settings.login_free_attempts_per_account,
            max_wait=self.settings.login_backoff_max_seconds,
        )

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        db: Database | None = None,
        providers: ProviderRegistry | None = None,
    ) -> Runtime:
        clock = clock or SystemClock()
        db = db or Database(
            settings.database_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            # A transaction left idle for longer than a claim's lease belongs to a stalled process: others take its
            # work over after the lease, which they can only do once its row locks are gone.
            idle_transaction_timeout=max(5.0, settings.engine_lease_seconds),
            keyring=keyring_from_settings(settings),
        )

        def open_counts() -> dict[str, int]:
            with db.reader() as session:
                return incidents.open_counts(session)

        metrics = Metrics(open_counts)
        committer = IngestCommitter(
            db,
            clock,
            max_batch=settings.ingest_batch_max,
            max_events=settings.ingest_batch_max_events,
            gather=settings.ingest_gather_seconds,
        )
        runtime = cls(
            settings=settings,
            db=db,
            clock=clock,
            committer=committer,
            metrics=metrics,
            providers=providers if providers is not None else providers_from_settings(settings, clock, db),
        )
        knowledge_assist.configure(runtime.assist_config())
        similar_incidents.configure(embeddings.load(settings.similar_model))

        def after_commit(results: list[SubmissionResult]) -> None:
            metrics.batch_size.observe(len(results))

        committer.on_commit(after_commit)
        # Only commits that leave due work wake the engine (other processes' engines hear of it by NOTIFY, sent
        # inside those transactions): a burst of duplicates or of alerts without a policy costs the engine nothing.
        db.on_new_work(runtime.wakeup.notify)
        return runtime

    # --- links ---------------------------------------------------------------------------------------------------
    def link_secret(self) -> bytes:
        if self._link_secret is None:
            if self.settings.secret_key:
                self._link_secret = links.link_secret(self.settings)
            else:
                with self.db.unit_of_work() as session:
                    key = instance_secret(session, "link_signing")
                self._link_secret = hmac.new(key.encode(), b"tocsin/action-links/v1", hashlib.sha256).digest()
        return self._link_secret

    def action_link(self, incident_id: int, user_id: int, action: str) -> str:
        token = links.make_token(
            self.link_secret(),
            incident_id=incident_id,
            user_id=user_id,
            action=action,  # type: ignore[arg-type]
            expires_at=self.clock.now() + LINK_LIFETIME,
            nonce=links.new_nonce(),
        )
        return f"{self.settings.base_url}/a/{token}"

    # --- engine --------------------------------------------------------------------------------------------------
    def build_engine(self, *, owner: str | None = None, throttle: Throttle | None = None) -> Runner:
        owner = owner or self.settings.worker_id or f"{socket.gethostname()}:{os.getpid()}"
        self.preload_link_secret()
        ctx = notify.SendContext(
            base_url=self.settings.base_url,
            throttle=throttle or Throttle(),
            links=self.action_link,
            limits=SendLimits.of(self.settings),
        )
        lease = timedelta(seconds=self.settings.engine_lease_seconds)
        modules: list[Module] = [
            HeartbeatModule(self.db),
            AckTimeoutModule(self.db),
            TaskReminderModule(self.db),
            AnalyticsDigestModule(self.db, self.clock),
            AnalyticsFactsModule(self.db),
            EscalationModule(self.db, owner=owner, lease=lease),
            NotificationModule(
                self.db,
                self.providers,
                ctx,
                self.clock,
                owner=owner,
                lease=lease,
                send_lease=2 * lease,
                senders=self.settings.notify_senders,
            ),
            AuditorModule(self.db, every=min(timedelta(seconds=10), lease)),
            HandoffModule(self.db),
            DeliveryRetentionModule(
                self.db, consumers=self.consumers, events_keep=timedelta(days=self.settings.events_keep_days)
            ),
            SilenceReminderModule(self.db),
            EventDeliveryModule(self.db, self.consumers, owner=owner, lease=lease, gap=EVENT_PASS_GAP),
        ]
        modules.append(
            WorkflowModule(
                self.db, self.workflow_env(), self.clock, owner=owner, lease=lease, batch=self.settings.workflow_batch
            )
        )
        poster = self.providers.get("webhook")
        if isinstance(poster, WebhookProvider):
            modules.append(WebhookModule(self.db, poster, self.clock, owner=owner, lease=lease))
        modules.append(
            StatusPageModule(
                self.db,
                smtp=self.statuspage_smtp(),
                poster=poster if isinstance(poster, WebhookProvider) else None,
                unsubscribe_url=lambda d: self.subscriber_link("unsubscribe", d.subscriber_id, d.page_slug),
            )
        )
        modules.append(LearningModule(self.db, smtp=self.statuspage_smtp(), base_url=self.settings.base_url))
        modules.append(
            StakeholderModule(
                self.db,
                smtp=self.statuspage_smtp(),
                per_severity=self.settings.stakeholder_cadence_minutes,
                batch=self.settings.stakeholder_mail_batch,
            )
        )
        modules.append(TrackerModule(self.db, self.tracker_http(), self.clock, owner=owner, lease=2 * lease))
        modules.append(ClockReminderModule(self.db))
        modules.append(
            ChatModule(
                self.db,
                chat_platforms(self.settings),
                self.clock,
                owner=owner,
                base_url=self.settings.base_url,
                archive_after=timedelta(days=self.settings.chat_archive_days),
                notice_before=timedelta(hours=self.settings.chat_archive_notice_hours),
                pacer=chat_pacer(self.settings),
                lease=lease,
                threads=self.settings.chat_threads,
                export_conversation=self.settings.chat_export_conversation,
                export_limit=self.settings.chat_export_limit_bytes,
            )
        )
        matrix = chat_matrix(self.settings)
        if matrix is not None:
            modules.append(
                MatrixSyncModule(
                    self.db,
                    matrix,
                    self.clock,
                    base_url=self.settings.base_url,
                    see_all=self.settings.teams_see_all,
                    capture=self.settings.chat_capture_emoji,
                )
            )
        modules.append(KnowledgeIndexModule(self.db))
        self.engine = Runner(modules, self.clock, wakeup=self.wakeup, tick=self.settings.engine_tick_seconds)
        engine = self.engine

        def stats() -> tuple[dict[str, float], dict[str, int], dict[str, int]]:
            with self.db.reader() as session:
                outbox = notify.status_counts(session)
            return dict(engine.seconds), dict(engine.failures), outbox

        self.metrics.watch_engine(stats)
        return self.engine

    def assist_config(self) -> knowledge_assist.AssistConfig | None:
        """The model endpoint of assistance (ADR 0030), None when none is set."""
        if not self.settings.assist_url.strip():
            return None
        allow = [a for a in self.settings.outbound_allowlist.split(",") if a.strip()]
        return knowledge_assist.AssistConfig(
            url=self.settings.assist_url.strip(),
            model=self.settings.assist_model.strip(),
            api_key=self.settings.assist_api_key,
            timeout=self.settings.assist_timeout_seconds,
            guard=UrlGuard(allow),
        )

    def workflow_env(self) -> workflow_actions.Env:
        """What workflow steps and remediation actions run with: the SSRF guard of every outbound call, the
        callback base URL, the script settings and the chat providers channels are posted through (ADR 0027)."""
        allow = [a for a in self.settings.outbound_allowlist.split(",") if a.strip()]
        return workflow_actions.Env(
            base_url=self.settings.base_url,
            caller=Caller(UrlGuard(allow)),
            scripts_enabled=self.settings.workflow_scripts_enabled,
            script_allowlist=tuple(a.strip() for a in self.settings.workflow_script_allowlist.split(",") if a.strip()),
            script_timeout=self.settings.workflow_script_timeout_seconds,
            clock=self.clock,
            providers=self.providers,
            chat_platforms=tuple(chat_configured(self.settings)),
        )

    def tracker_http(self) -> GuardedHttp:
        """Calls to Jira and GitHub go through the SSRF guard with the admins' allow-list, as webhooks do."""
        allow = [a for a in self.settings.outbound_allowlist.split(",") if a.strip()]
        return GuardedHttp(UrlGuard(allow))

    # --- status pages ---------------------------------------------------------------------------------------------
    def statuspage_smtp(self) -> tuple[str, int, str, str | None, str | None, bool] | None:
        s = self.settings
        if not s.smtp_host:
            return None
        return (s.smtp_host, s.smtp_port, s.smtp_from, s.smtp_username, s.smtp_password, s.smtp_starttls)

    def subscriber_link(self, action: str, subscriber_id: int, slug: str) -> str:
        """A signed confirm or unsubscribe link of a status page subscriber (confirm links last a week)."""
        expires = self.clock.now() + timedelta(days=7) if action == "confirm" else None
        token = statuspage_tokens.make(self.link_secret(), action, subscriber_id, expires)
        return f"{self.settings.base_url}/status/{slug}/{action}/{token}"

    def start_listener(self) -> PgListener | SqliteWorkWatcher | None:
        """Wake this process's engine when another process commits new work: LISTEN on PostgreSQL, the work signal
        row on a SQLite file (nothing for an in-memory database, which no other process can reach)."""
        if self._listener is not None:
            return self._listener
        listener: PgListener | SqliteWorkWatcher
        if self.db.is_sqlite:
            if self.db.sqlite_path is None:
                return None
            listener = SqliteWorkWatcher(
                self.db.sqlite_path,
                self.wakeup,
                poll=self.settings.sqlite_wake_poll_seconds,
                written_here=self.db.wrote_signal,
            )
        else:
            listener = PgListener(self.settings.database_url, self.wakeup)
        listener.start()
        self._listener = listener
        return listener

    def preload_link_secret(self) -> None:
        """Load (or create) the link key outside any transaction.

        Links are signed while a notification's send transaction is open. Made lazily there, the key's own write
        transaction would wait on that one (SQLite has one writer) until the busy timeout: every page stalled.
        A database that is not migrated yet is no reason to fail start-up: ``/readyz`` says what is wrong, and
        the key is loaded on first use once the schema is there.
        """
        try:
            self.link_secret()
        except SQLAlchemyError as exc:
            log.warning("link signing key not loaded at start-up: %s", type(exc).__name__)

    def check_secret_key(self) -> None:
        """Refuse a key that cannot read the secrets in the database (``KeyMismatch``, with what to do)."""
        try:
            with self.db.unit_of_work() as session:
                check_key(session)
        except SQLAlchemyError as exc:
            log.warning("secret key not checked at start-up: %s", type(exc).__name__)

    def recover(self, owner: str) -> int:
        """Take back what this worker's previous life (same name) left claimed or in flight when it died."""
        with self.db.unit_of_work() as session:
            now = self.clock.now()
            return (
                escalation.recover_worker(session, owner)
                + notify.recover_worker(session, owner, now=now)
                + events.recover_worker(session, owner)
                + webhook_sending.recover_worker(session, owner)
                + tracker_sync.recover_worker(session, owner)
            )

    def seed_defaults(self) -> None:
        """What a new database starts with (the default incident roles), once; never a reason to fail start-up."""
        try:
            with self.db.unit_of_work() as session:
                roles.seed_defaults(session, now=self.clock.now())
                types.seed_defaults(session, now=self.clock.now())
                compliance.seed_defaults(session, now=self.clock.now())
        except SQLAlchemyError as exc:
            log.warning("defaults not seeded at start-up: %s", type(exc).__name__)

    def start(self, *, worker: bool | None = None) -> None:
        self.check_secret_key()
        self.preload_link_secret()
        self.seed_defaults()
        self.committer.start()
        if self.settings.run_worker if worker is None else worker:
            engine = self.engine or self.build_engine()
            # With a stable name (TOCSIN_WORKER_ID) a restarted server resumes its engine's leases at once, as a
            # restarted `tocsin worker` does; with the default host:pid name there is nothing of its own to find.
            if self.settings.worker_id:
                try:
                    recovered = self.recover(self.settings.worker_id)
                except SQLAlchemyError as exc:
                    log.warning("could not take back this worker's earlier work at start-up: %s", type(exc).__name__)
                else:
                    if recovered:
                        log.warning("took back %d items left by this worker's previous run", recovered)
            engine.start()
            self.start_listener()

    def stop(self) -> None:
        self.committer.stop()
        if self.engine is not None:
            self.engine.stop()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
