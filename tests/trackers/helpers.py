from __future__ import annotations

from datetime import timedelta

from tests.fakes import github as gh
from tests.fakes import jira as jr
from tocsin.core.clock import FakeClock
from tocsin.db.session import Database
from tocsin.engine.modules.trackers import TrackerModule
from tocsin.notify.ssrf import UrlGuard
from tocsin.trackers import service as trackers
from tocsin.trackers.http import GuardedHttp

SECRET = "hook-secret-0123456789abcdef"


def engine(db: Database, clock: FakeClock, *, timeout: float = 5.0) -> TrackerModule:
    # The fakes listen on loopback, which the SSRF guard lets through only when an admin allows it.
    http = GuardedHttp(UrlGuard(["127.0.0.1/32"]), timeout=timeout)
    return TrackerModule(db, http, clock, owner="w1", lease=timedelta(seconds=60))


def jira_connection(db: Database, clock: FakeClock, url: str, *, token: str = jr.API_TOKEN, version: str = "3") -> int:
    spec = trackers.ConnectionSpec(
        name=f"jira-{version}",
        kind="jira",
        base_url=url,
        project=jr.PROJECT,
        token=token,
        auth_scheme="basic",
        username=jr.EMAIL,
        api_version=version,
        webhook_secret=SECRET,
    )
    with db.unit_of_work() as s:
        return trackers.create_connection(s, spec, now=clock.now()).id


def github_connection(db: Database, clock: FakeClock, url: str, *, token: str = gh.TOKEN) -> int:
    spec = trackers.ConnectionSpec(
        name="gh", kind="github", base_url=url, project=gh.REPO, token=token, webhook_secret=SECRET
    )
    with db.unit_of_work() as s:
        return trackers.create_connection(s, spec, now=clock.now()).id


def ask(db: Database, clock: FakeClock, connection_id: int, ref: str = "action_item:42") -> None:
    with db.unit_of_work() as s:
        trackers.request_issue(
            s,
            local_ref=ref,
            connection=connection_id,
            title="Add a circuit breaker to checkout",
            body="Found in the review.\n\nSecond paragraph.",
            labels=["postmortem"],
            now=clock.now(),
        )
