"""Shared fixtures: a migrated database per backend (SQLite file and a PostgreSQL database of the tests' own).

With CI=true, PostgreSQL is mandatory: its tests fail, rather than skip, if the server cannot be reached.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, literal, select, text, union_all

from tocsin.core.clock import FakeClock
from tocsin.db import migrate
from tocsin.db.session import Database
from tocsin.registry import metadata
from tocsin.runtime import Runtime

# Under pytest-xdist (`make test`, `--dist loadfile`) a file's tests run on one worker, so its module fixtures are
# set up once; the drills that kill real processes and time them also hold a lock shared by the run's workers
# (`one_drill_at_a_time`), so that two of them never load the machine at once.
DRILL_LOCK = "drills.lock"


@pytest.fixture
def one_drill_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Wait until no other worker of this run is in a drill, and keep the others out until this test ends."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(shared / DRILL_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(autouse=True, scope="session")
def _cli_tables_at_200_columns() -> None:
    """The CLI's consoles take the width of the terminal when first imported, so in a test run it depends on which
    test imported them first and with what COLUMNS; every CLI test reads the tables at 200 columns."""
    from tocsin.cli._app import console, err_console

    console.width = err_console.width = 200


PG_ADMIN_URL = os.environ.get("TOCSIN_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_available() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _create_pg_database(name: str) -> str:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _drop_pg_database(name: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("db")) / "tocsin.db"
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    problem = _pg_available()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable: {problem}")
    name = f"tocsin_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = _create_pg_database(name)
    migrate.upgrade(url)
    yield url
    _drop_pg_database(name)


def _tables_to_wipe(conn: Any) -> list[str]:
    """The tables holding rows (SQLite): emptying only these keeps a test's fresh start cheap."""
    names = [t.name for t in metadata.sorted_tables]
    probes = [
        select(literal(t.name)).select_from(select(literal(1)).select_from(t).limit(1).subquery())
        for t in metadata.sorted_tables
    ]
    dirty = {row[0] for row in conn.execute(union_all(*probes))}
    return [n for n in names if n in dirty]


# Every table emptied in one round trip, foreign keys not checked (replica role: the rows all go), then the id
# sequences that moved restarted: a tenth of the time of TRUNCATE, which rewrites each table's files.
_PG_RESTART_SEQUENCES = """DO $$ DECLARE s record; BEGIN
  FOR s IN SELECT schemaname, sequencename FROM pg_sequences
           WHERE schemaname = current_schema() AND last_value IS NOT NULL LOOP
    EXECUTE format('ALTER SEQUENCE %%I.%%I RESTART', s.schemaname, s.sequencename);
  END LOOP;
END $$"""


def _wipe(db: Database) -> None:
    with db.engine.begin() as conn:
        if not db.is_sqlite:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in metadata.sorted_tables))  # noqa: S608 - the names are the models' own
            conn.exec_driver_sql(_PG_RESTART_SEQUENCES)
            return
        dirty = _tables_to_wipe(conn)
        for table in reversed(metadata.sorted_tables):
            if table.name in dirty:
                conn.execute(table.delete())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    _wipe(database)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 2, 8, 0, tzinfo=UTC))


@dataclass
class ApiHarness:
    """A real ASGI app on a real database, with an admin token; ``call`` sends authenticated requests."""

    client: TestClient
    runtime: Runtime
    clock: FakeClock
    token: str
    admin_id: int

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.get(url, headers=self.headers(kw.pop("token", None)), **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.post(url, headers=self.headers(kw.pop("token", None)), **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.patch(url, headers=self.headers(kw.pop("token", None)), **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.delete(url, headers=self.headers(kw.pop("token", None)), **kw)

    def token_for(self, email: str, role: str = "responder") -> str:
        from tocsin.users import service as users

        with self.runtime.db.unit_of_work() as s:
            user = users.create_user(s, email=email, name=email, role=role, now=self.clock.now())
            _, secret = users.create_token(s, user, name="test", now=self.clock.now())
        return secret


@pytest.fixture
def api(db: Database, clock: FakeClock) -> Iterator[ApiHarness]:
    from tocsin.app import create_app
    from tocsin.settings import load_settings
    from tocsin.users import service as users

    settings = load_settings(database_url=db.url, run_worker=False, public_url="http://tocsin.test")
    app = create_app(settings, clock=clock, db=db)
    with db.unit_of_work() as s:
        admin = users.create_user(s, email="admin@example.com", name="Admin", role="admin", now=clock.now())
        _, secret = users.create_token(s, admin, name="test", now=clock.now())
    with TestClient(app) as client:
        yield ApiHarness(client=client, runtime=app.state.runtime, clock=clock, token=secret, admin_id=admin.id)
