"""Settings come from the environment (``TOCSIN_*``) and are validated once, at start-up, never at import."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    log_format: Literal["json", "text"] = "json"
    max_body_bytes: int = Field(default=512 * 1024, ge=1024)
    ingest_batch_max: int = Field(default=1000, ge=1, le=100_000)
    # Events (alerts) per group commit, whatever the number of requests they came in.
    ingest_batch_max_events: int = Field(default=5000, ge=1, le=1_000_000)
    # Per integration key: requests per second after a burst of `ingest_burst_per_key`; 0 turns the limit off.
    ingest_rate_per_key: float = Field(default=1000.0, ge=0)
    ingest_burst_per_key: int = Field(default=10_000, ge=1)
    run_worker: bool = True
    worker_id: str | None = None
    engine_tick_seconds: float = Field(default=1.0, gt=0, le=5)
    # How long a worker's claim on due work holds before another worker may take the work over; a send in flight
    # is declared ambiguous after twice this, so keep it well above the providers' 10 s timeout in production.
    engine_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    # Provider calls in flight at once per worker (messages to one contact method still go one after another).
    # Above 1, a worker killed mid-send can leave that many sends ambiguous instead of one; each is still
    # resent at most once (webhook, email) or never.
    notify_senders: int = Field(default=1, ge=1, le=64)
    smtp_host: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "tocsin@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # Hosts or CIDRs that outbound webhooks may reach although they are private or loopback (comma-separated).
    outbound_allowlist: str = ""

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

    @cached_property
    def base_url(self) -> str:
        """The externally visible base URL used in links that leave the system."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "TOCSIN_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"  {name}: {err['msg']}")
        raise ConfigError("Invalid configuration:\n" + "\n".join(lines)) from None
