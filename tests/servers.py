"""Real Tocsin processes for tests: a migrated database of the test's own, seeded through the services, and
``tocsin serve`` started as a subprocess on a free loopback port that the test can kill, restart and inspect.

PostgreSQL follows tests/conftest.py: with CI=true an unreachable server fails the test, otherwise it is skipped.
Third-party binaries (Alertmanager) follow the same rule through ``require_binary``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import IN_CI, PG_ADMIN_URL
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.services import service as services

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(condition: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll until ``condition()`` is truthy and return its value; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (apt-get install -y {name})"
        if IN_CI:
            pytest.fail(f"{message}; it is required in CI")
        pytest.skip(message)
    return path


# --- databases ----------------------------------------------------------------------------------------------------


def _pg_admin() -> Any:
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def require_postgres() -> None:
    try:
        engine = _pg_admin()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")


@contextmanager
def fresh_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database used by nothing else; dropped afterwards (PostgreSQL)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'tocsin.db'}"
        migrate.upgrade(url)
        yield url
        return
    require_postgres()
    name = f"tocsin_srv_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _pg_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def seed_service(url: str, *, name: str, keys: dict[str, str], policy_id: int | None = None) -> None:
    """A service with one integration per ``{type: key}``, created through the services layer."""
    now = datetime.now(UTC)
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            service = services.create_service(session, name=name, now=now)
            service.escalation_policy_id = policy_id
            for type_, key in keys.items():
                services.add_integration(session, service, name=f"{name}-{type_}", type=type_, now=now, key=key)
    finally:
        db.dispose()


def new_key() -> str:
    return uuid.uuid4().hex


# --- the server process -------------------------------------------------------------------------------------------


@dataclass
class TocsinServer:
    """``tocsin serve`` in a subprocess; its output goes to ``log_path`` (printed by ``tail`` on failures)."""

    database_url: str
    log_path: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60.0) -> TocsinServer:
        assert self.proc is None, "already running"
        env = {
            **os.environ,
            "TOCSIN_DATABASE_URL": self.database_url,
            "TOCSIN_LOG_LEVEL": "WARNING",
            "TOCSIN_LOG_FORMAT": "text",
            **self.env,
        }
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tocsin", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for(self._ready, timeout=timeout, interval=0.1, what=f"tocsin serve on port {self.port}")
        except AssertionError:
            self.kill()
            raise AssertionError(f"tocsin serve did not become ready:\n{self.tail()}") from None
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"tocsin serve exited with {self.proc.returncode}:\n{self.tail()}")
        try:
            return httpx.get(f"{self.base_url}/readyz", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, exactly like a crash."""
        if self.proc is not None:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None
        self._close_log()

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            self.proc = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no output)"


@contextmanager
def running_server(database_url: str, tmp_path: Path, **env: str) -> Iterator[TocsinServer]:
    server = TocsinServer(database_url, tmp_path / f"tocsin-{uuid.uuid4().hex[:6]}.log", env=dict(env))
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- Prometheus Alertmanager --------------------------------------------------------------------------------------


@dataclass
class AlertmanagerProcess:
    """A real Alertmanager on loopback: its own storage directory, gossip off, a free port."""

    config: str
    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30.0) -> AlertmanagerProcess:
        binary = require_binary("prometheus-alertmanager")
        config_path = self.workdir / "alertmanager.yml"
        config_path.write_text(self.config)
        storage = self.workdir / "am-data"
        storage.mkdir(exist_ok=True)
        self.log_path = self.workdir / "alertmanager.log"
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_path}",
                    f"--storage.path={storage}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"alertmanager exited with {self.proc.returncode}:\n{self.log_path.read_text()}")
            try:
                return httpx.get(f"{self.base_url}/-/ready", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout=timeout, interval=0.1, what=f"alertmanager on port {self.port}")
        return self

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        response = httpx.post(f"{self.base_url}/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            self.proc = None


# --- a webhook receiver -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    webhook_id: str
    body: dict[str, Any]


class WebhookSink:
    """An HTTP server on 127.0.0.1 that answers 200 to every POST and records it."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body = orjson.loads(raw) if raw else {}
                except orjson.JSONDecodeError:
                    body = {"raw": raw.decode(errors="replace")}
                with sink._lock:
                    sink.received.append(Received(self.path, self.headers.get("webhook-id", ""), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-sink", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def messages(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]


# --- a PostgreSQL cluster of the test's own (for restarts; never the shared server) ------------------------------


def postgres_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PostgresCluster:
    """``initdb`` into a temporary directory and ``pg_ctl`` on a free port, run as the ``postgres`` user."""

    def __init__(self) -> None:
        bindir = postgres_bindir()
        if bindir is None:
            pytest.skip("PostgreSQL server binaries are not installed")
        if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
            pytest.skip("a separate PostgreSQL cluster needs to run as root (via runuser) or as postgres")
        self.bindir = bindir
        # Not under pytest's temporary directory, which only the current user may enter.
        self.workdir = Path(tempfile.mkdtemp(prefix="tocsin-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres")
        self.data = self.workdir / "pgdata"
        self.port = free_port()

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def init(self) -> PostgresCluster:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.workdir / "pg.log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``immediate`` is a crash: no checkpoint, recovery from the WAL at the next start."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        url = self.url(name)
        migrate.upgrade(url)
        return url
