"""Settings come from the environment (``TOCSIN_*``) and are validated once, at start-up, never at import."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tocsin.core.numbers import is_ascii_digits


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _host_port(value: str | None, example: str) -> str | None:
    if value is None or not value.strip():
        return None
    host, _, port = value.strip().rpartition(":")
    if not host or not is_ascii_digits(port) or not 1 <= int(port) <= 65535:
        raise ValueError(f"must be host:port, for example {example}")
    return value.strip()


class OidcTeamGrant(BaseModel):
    """What membership of one provider group gives: a team (by name) and the role in it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    team: str = Field(min_length=1, max_length=200)
    role: Literal["member", "manager"] = "member"


class ConfigError(Exception):
    """Raised with a human-readable list of what is wrong in the environment."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOCSIN_", extra="ignore", frozen=True)

    database_url: str = "sqlite:///./tocsin.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = None
    sqlite_synchronous: Literal["OFF", "NORMAL", "FULL"] = "NORMAL"
    secret_key: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # auto: text when stderr is a terminal (a person reads it), JSON otherwise (a log shipper reads it).
    log_format: Literal["auto", "json", "text"] = "auto"
    max_body_bytes: int = Field(default=512 * 1024, ge=1024)
    ingest_batch_max: int = Field(default=1000, ge=1, le=100_000)
    # Events (alerts) per group commit, whatever the number of requests they came in.
    ingest_batch_max_events: int = Field(default=5000, ge=1, le=1_000_000)
    # While concurrent senders fill each group commit, the least time between the starts of two commits unless 16
    # requests wait: batches grow instead of the commits multiplying. A sender waiting for each answer is not held.
    ingest_gather_seconds: float = Field(default=0.02, ge=0, le=1)
    # Per integration key: requests per second after a burst of `ingest_burst_per_key`; 0 turns the limit off.
    ingest_rate_per_key: float = Field(default=1000.0, ge=0)
    ingest_burst_per_key: int = Field(default=10_000, ge=1)
    run_worker: bool = True
    worker_id: str | None = None
    engine_tick_seconds: float = Field(default=1.0, gt=0, le=5)
    # On a SQLite file, how often each engine looks whether another process committed new work (the work signal).
    sqlite_wake_poll_seconds: float = Field(default=0.01, gt=0, le=1)
    # How long a worker's claim on due work holds before another worker may take the work over; a send in flight
    # is declared ambiguous after twice this, so keep it well above the providers' 10 s timeout in production.
    engine_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    # Provider calls in flight at once per worker, and so the largest batch a pass sends (one message per contact
    # method). A worker killed mid-batch leaves the sends it had in flight ambiguous, each resent at most once
    # (webhook, email) or never.
    notify_senders: int = Field(default=32, ge=1, le=128)
    # Incident events are deleted after this many days, once every consumer has passed them; settled webhook
    # deliveries and their log are kept as long.
    events_keep_days: int = Field(default=30, ge=1, le=3650)
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "tocsin@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # Hosts or CIDRs that outbound webhooks may reach although they are private or loopback (comma-separated).
    outbound_allowlist: str = ""
    # Twilio (SMS, voice calls, inbound replies). The base URL is an override for a regional edge or a test double.
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    # Slack (direct messages with buttons, interactivity).
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_base_url: str = "https://slack.com/api/"
    # Inbound email: "host:port" of the SMTP listener ``tocsin serve`` starts, and the domain of its addresses.
    smtp_listen: str | None = None
    email_domain: str | None = Field(default=None, validate_default=True)
    # With no SMTP host, keep email in the local outbox (the console's Outbox page); false: email fails (and pages
    # fall back to the next contact method) as it does with no channel configured.
    local_outbox: bool = True
    # "host:port" (loopback only) of the local outbox's SMTP port: every mail it receives is kept in the outbox.
    outbox_smtp_listen: str | None = None
    # Secrets at rest (ADR 0017). The key is TOCSIN_SECRET_KEY or the first line of this file (later lines: older
    # keys); "production" refuses to start without one, elsewhere a key is generated next to the database.
    env: Literal["development", "production"] = "development"
    secret_key_file: str | None = None
    # Older keys (comma-separated), still read while `tocsin secrets rotate` re-encrypts with the current one.
    secret_keys_old: str = ""
    # Limits against bombing a phone with codes and tests: contact methods per user (in all, and with one address),
    # verification and test messages per hour (per address and per user), and paid sends (SMS, voice) per hour for
    # the whole organisation; over that budget test and verification messages are refused (pages still go out) and
    # admins are told once an hour.
    contact_methods_per_user: int = Field(default=20, ge=1, le=1000)
    contact_methods_per_address: int = Field(default=2, ge=1, le=100)
    verify_messages_per_address_hour: int = Field(default=5, ge=1, le=1000)
    verify_messages_per_user_hour: int = Field(default=10, ge=1, le=1000)
    paid_sends_per_hour: int = Field(default=500, ge=1, le=1_000_000)
    # The API's interactive documentation (/docs, Swagger UI served from the installed package under a strict
    # Content-Security-Policy); false: /docs answers 404. /openapi.json is served either way.
    api_docs: bool = True
    # A bearer token that /metrics requires when set (Authorization: Bearer <token>); empty: /metrics is open.
    metrics_token: str = Field(default="", repr=False)
    # Team-scoped access (ADR 0016). True: everyone signed in sees every team's services, schedules, policies,
    # silences and incidents (acting on them still needs the team); false: responders and observers see only their
    # own teams' objects and those of no team.
    teams_see_all: bool = True
    # The longest silence and schedule override someone who is not an admin may set, in days (admins are exempt:
    # a planned migration may need more, and an admin could lift the limit anyway).
    silence_max_days: float = Field(default=7.0, gt=0, le=3650)
    override_max_days: float = Field(default=30.0, gt=0, le=3650)
    # Accounts and sign-in (ADR 0015). Password checks run on their own small pool; past ``password_hash_queue``
    # waiting checks a sign-in is refused at once (503 with Retry-After) rather than queued.
    password_hash_workers: int = Field(default=1, ge=1, le=16)
    password_hash_queue: int = Field(default=4, ge=0, le=1000)
    # Password attempts that pass freely per client address and per account before each further one must wait
    # twice as long as the last (429 with Retry-After), up to ``login_backoff_max_seconds``.
    login_free_attempts_per_address: int = Field(default=20, ge=1)
    login_free_attempts_per_account: int = Field(default=5, ge=1)
    login_backoff_max_seconds: float = Field(default=900.0, ge=1)
    password_min_length: int = Field(default=12, ge=8, le=256)
    # A file of common passwords (one a line) refused as new passwords, in addition to the list shipped with Tocsin.
    password_blocklist_file: str | None = None
    # How long a password reset link stays valid.
    password_reset_link_minutes: int = Field(default=60, ge=5, le=7 * 24 * 60)
    # Service desk (ADR 0024): reports through a service's public link, per client address: ``burst`` at once,
    # then this many a minute; and the largest report body such a link takes, in bytes.
    desk_public_reports_per_minute: float = Field(default=6.0, gt=0, le=6000)
    desk_public_report_burst: int = Field(default=5, ge=1, le=1000)
    desk_public_max_bytes: int = Field(default=32 * 1024, ge=1024, le=1024 * 1024)
    # --- Workflows and remediation actions (ADR 0027) ---
    # The local ``script`` action type, for single-host setups: off unless an admin turns it on, and then only the
    # commands listed here (absolute paths, comma-separated) run, without a shell, for at most the timeout.
    workflow_scripts_enabled: bool = False
    workflow_script_allowlist: str = ""
    workflow_script_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Workflow runs a worker claims per pass.
    workflow_batch: int = Field(default=32, ge=1, le=1000)
    # Drills and business impact (ADR 0025): the currency the cost of downtime is shown in (an ISO 4217 code or a
    # symbol; display only, no conversion). Costs per minute are set per service and per tier, in the database.
    downtime_currency: str = Field(default="USD", min_length=1, max_length=8)

    # --- status pages (ADR 0026) ---
    # Email subscription requests per page in a sliding hour, per address and per client address (429 beyond).
    statuspage_subscribe_per_address_hour: int = Field(default=3, ge=1, le=1000)
    statuspage_subscribe_per_ip_hour: int = Field(default=10, ge=1, le=100_000)

    # --- stakeholder updates (ADR 0028) ---
    # An update every N minutes by severity, for incidents whose type sets no ``update_cadence_minutes``
    # (JSON, e.g. {"SEV1": 30, "SEV2": 60}); empty: only types set a cadence.
    stakeholder_cadence_minutes: dict[str, Annotated[int, Field(ge=1, le=10_080)]] = Field(default_factory=dict)
    # Stakeholder emails (to plain addresses) a worker sends per pass.
    stakeholder_mail_batch: int = Field(default=100, ge=1, le=10_000)

    # --- chat war rooms (ADR 0033) ---
    # Rooms are archived this many days after their incident is resolved, after a notice posted in them.
    chat_archive_days: int = Field(default=7, ge=0, le=365)
    chat_archive_notice_hours: int = Field(default=24, ge=0, le=24 * 30)
    # The reaction that puts a chat message on the incident's timeline (Slack emoji name, or the emoji itself).
    chat_capture_emoji: str = Field(default="memo", min_length=1, max_length=64)
    # Calls per second per platform a worker makes, at most (bursts of 20); the platforms' own limits answer 429.
    chat_slack_per_second: float = Field(default=1.0, gt=0, le=1000)
    chat_matrix_per_second: float = Field(default=50.0, gt=0, le=10_000)
    chat_teams_per_second: float = Field(default=2.0, gt=0, le=1000)
    # Keep the room's whole conversation on the incident (for the postmortem) when the room is archived; at most
    # this many bytes, the newest part when longer.
    chat_export_conversation: bool = False
    chat_export_limit_bytes: int = Field(default=1_000_000, ge=10_000, le=20_000_000)
    # Rooms a worker brings up at once.
    chat_threads: int = Field(default=8, ge=1, le=64)
    # Matrix: the bot's homeserver, its access token (the bot account's own login) and its user id.
    matrix_homeserver_url: str | None = None
    matrix_access_token: str | None = None
    matrix_user_id: str | None = None
    # Microsoft Teams rooms through Microsoft Graph (app registration: docs/integrations/teams-war-rooms.md).
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    graph_token_url: str | None = None
    graph_tenant_id: str | None = None
    graph_client_id: str | None = None
    graph_client_secret: str | None = None
    teams_team_id: str | None = None
    # --- knowledge base and assistance (ADR 0030) ---
    # An OpenAI-compatible chat-completions endpoint (base URL up to /v1, e.g. a local llama.cpp or Ollama server);
    # empty: no model, the summaries are built from the incident's data alone. Calls go through the SSRF guard
    # (a local server needs its host in TOCSIN_OUTBOUND_ALLOWLIST).
    assist_url: str = ""
    assist_model: str = ""
    assist_api_key: str | None = None
    assist_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    # Similar incidents also by meaning: "wordllama" (the `embeddings` extra; its weights ship inside the package and
    # are never downloaded); empty: words and structure alone.
    similar_model: Literal["", "wordllama"] = ""

    # --- single sign-on with OpenID Connect (ADR 0037) ---
    # The provider's issuer URL (its /.well-known/openid-configuration is read from it); empty: no SSO button.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    # Empty for a public client (the code exchange is then protected by PKCE alone).
    oidc_client_secret: str | None = Field(default=None, repr=False)
    oidc_scopes: str = "openid email profile"
    # The button reads "Sign in with <display name>".
    oidc_display_name: str = Field(default="single sign-on", min_length=1, max_length=60)
    # The ID token (or userinfo) claim that lists the person's groups.
    oidc_groups_claim: str = Field(default="groups", min_length=1, max_length=100)
    # Group -> team and team role, JSON: {"sre": {"team": "SRE", "role": "manager"}, "dev": {"team": "Web"}}.
    oidc_group_teams: dict[str, OidcTeamGrant] = Field(default_factory=dict)
    # Group -> Tocsin role, JSON: {"tocsin-admins": "admin", "sre": "responder"}; the highest role granted wins.
    # When set, a person in none of these groups gets ``oidc_default_role``.
    oidc_group_roles: dict[str, Literal["admin", "responder", "observer"]] = Field(default_factory=dict)
    oidc_default_role: Literal["admin", "responder", "observer"] = "observer"
    # Create an account at the first sign-in of someone the provider vouches for (a verified email).
    oidc_create_accounts: bool = False
    # Comma-separated email domains that may sign in this way; empty: any.
    oidc_allowed_domains: str = ""
    oidc_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if not (value.startswith("sqlite:") or value.startswith("postgresql+psycopg:")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg:// (for example sqlite:///./tocsin.db)")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not (value.startswith("http://") or value.startswith("https://")):
            raise ValueError("must be an absolute http(s) URL such as https://tocsin.example.com")
        return value.rstrip("/")

    @field_validator("twilio_base_url", "slack_base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not (value.startswith("http://") or value.startswith("https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @model_validator(mode="after")
    def _twilio_complete(self) -> Settings:
        parts = {
            "TOCSIN_TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TOCSIN_TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TOCSIN_TWILIO_FROM": self.twilio_from,
        }
        missing = [name for name, value in parts.items() if not value]
        if 0 < len(missing) < len(parts):
            raise ValueError(f"Twilio is partly configured: also set {', '.join(missing)}")
        if not missing and self.public_url is None:
            # Twilio fetches call scripts and posts replies to this URL, and signs requests over it.
            raise ValueError("Twilio needs TOCSIN_PUBLIC_URL, the address Twilio reaches this server at")
        return self

    @model_validator(mode="after")
    def _production_has_key(self) -> Settings:
        if self.env == "production" and not (self.secret_key or self.secret_key_file):
            raise ValueError(
                "TOCSIN_ENV=production needs a key for the secrets kept in the database: set TOCSIN_SECRET_KEY to a "
                "long random value (for example the output of `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`) or TOCSIN_SECRET_KEY_FILE to a file holding one"
            )
        return self

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if not self.oidc_issuer:
            return self
        if not self.oidc_issuer.startswith(("https://", "http://")):
            raise ValueError("TOCSIN_OIDC_ISSUER must be an absolute http(s) URL")
        if not self.oidc_client_id:
            raise ValueError("single sign-on is partly configured: also set TOCSIN_OIDC_CLIENT_ID")
        if "openid" not in self.oidc_scopes.split():
            raise ValueError("TOCSIN_OIDC_SCOPES must include openid")
        return self

    @field_validator("smtp_listen")
    @classmethod
    def _host_and_port(cls, value: str | None) -> str | None:
        return _host_port(value, "127.0.0.1:2525")

    @field_validator("outbox_smtp_listen")
    @classmethod
    def _loopback_host_and_port(cls, value: str | None) -> str | None:
        value = _host_port(value, "127.0.0.1:1025")
        if value is None:
            return None
        host = value.rpartition(":")[0].strip("[]")
        # It accepts mail for anyone and keeps it: reachable from elsewhere, it would be a sink for anyone's mail.
        if host != "localhost" and not _is_loopback(host):
            raise ValueError("must be a loopback address such as 127.0.0.1:1025 (it keeps mail for any recipient)")
        return value

    @field_validator("email_domain")
    @classmethod
    def _domain_with_listener(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = value.strip().lower() if value else None
        if info.data.get("smtp_listen") and not value:
            raise ValueError("is required with TOCSIN_SMTP_LISTEN (alerts are sent to <integration key>@<domain>)")
        return value

    @property
    def smtp_listen_address(self) -> tuple[str, int] | None:
        if not self.smtp_listen:
            return None
        host, _, port = self.smtp_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def outbox_smtp_address(self) -> tuple[str, int] | None:
        if not self.outbox_smtp_listen:
            return None
        host, _, port = self.outbox_smtp_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @cached_property
    def base_url(self) -> str:
        """The externally visible base URL used in links that leave the system."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def oidc_domains(self) -> frozenset[str]:
        return frozenset(d.strip().lower().lstrip("@") for d in self.oidc_allowed_domains.split(",") if d.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "TOCSIN_" + "_".join(str(p) for p in err["loc"]).upper() if err["loc"] else "settings"
            lines.append(f"  {name}: {err['msg']}")
        raise ConfigError("Invalid configuration:\n" + "\n".join(lines)) from None
