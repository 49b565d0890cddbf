"""Workflow step lateness: 1,000 incidents declared over a window, each starting a 5-step workflow (set a field,
assign a role, add a checklist, notify a person, post a stakeholder update), run by the real engine (the
``workflows`` event consumer and engine module of ``Runtime.build_engine``) on the system clock.

A step's lateness is the time from when it became due (its run's due time for the first step, the previous step's
end for the others) to its start. Reports p50/p99/max lateness, steps run twice (must be 0), and the process CPU
per step. ``python -m bench.workflows [--incidents N] [--backend sqlite|postgres] [--profile DIR]``.

With a profile directory, every engine lane and the declaring thread run under cProfile (py-spy cannot sample
this very process), and the merged figures, by own time, go to ``DIR/workflows.txt``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.databases import fresh_database
from bench.stats import percentiles
from tocsin.core.clock import SystemClock
from tocsin.db.session import Database
from tocsin.incidents import service as incidents
from tocsin.incidents.schemas import Actor
from tocsin.notify import contacts
from tocsin.notify.providers.base import ProviderRegistry
from tocsin.response import roles
from tocsin.response import service as response
from tocsin.runtime import Runtime
from tocsin.services import service as services
from tocsin.settings import load_settings
from tocsin.users import service as users
from tocsin.workflows import service as workflows
from tocsin.workflows.models import WorkflowRun, WorkflowStepRun

STEPS = [
    {"kind": "set_field", "field": "priority", "value": "P1"},
    {"kind": "assign_role", "role": "Incident Commander", "user": "ann@example.com"},
    {"kind": "add_checklist", "checklist": "Big bang"},
    {"kind": "notify", "user": "ann@example.com", "message": "SEV1: {{incident.title}}"},
    {"kind": "stakeholder_update", "message": "We are on it: {{incident.title}}"},
]


def _seed(db: Database) -> int:
    now = SystemClock().now()
    with db.unit_of_work() as s:
        ann = users.create_user(s, email="ann@example.com", name="Ann", role="responder", now=now)
        contacts.add_contact_method(s, user_id=ann.id, name="mail", type="email", address=ann.email, now=now)
        roles.seed_defaults(s, now=now)
        response.save_template(s, "Big bang", ["Open the bridge", "Tell support"], now=now)
        service = services.create_service(s, name="checkout", now=now)
        workflows.save_workflow(s, "SEV1", {"trigger": {"event": "declared"}, "steps": STEPS}, now=now)
        return service.id


class _Profiles:
    """A cProfile per thread (cProfile sees only the thread that enabled it), merged at the end."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def _mine(self) -> cProfile.Profile:
        found: cProfile.Profile | None = getattr(self._local, "profile", None)
        if found is None:
            found = self._local.profile = cProfile.Profile()
            with self._lock:
                self._all.append(found)
        return found

    @contextmanager
    def on(self) -> Iterator[None]:
        profile = self._mine()
        profile.enable()
        try:
            yield
        finally:
            profile.disable()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self.on():
                return fn(*args, **kwargs)

        return wrapped

    def write(self, path: Path, limit: int = 45) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = io.StringIO()
        stats = pstats.Stats(*self._all, stream=out) if self._all else None
        if stats is not None:
            stats.sort_stats("tottime").print_stats(limit)
            stats.sort_stats("cumulative").print_stats(limit)
        path.write_text(out.getvalue())


def run(
    *,
    incidents_count: int = 1000,
    window: float = 20.0,
    backend: str = "sqlite",
    workdir: Path,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    profiles = _Profiles() if profile_dir is not None else None
    with fresh_database(backend, workdir) as url:
        settings = load_settings(database_url=url, local_outbox=True)
        runtime = Runtime.build(settings, providers=ProviderRegistry())
        db = runtime.db
        service_id = _seed(db)
        engine = runtime.build_engine(owner="bench")
        if profiles is not None:
            engine._run_modules = profiles.wrap(engine._run_modules)  # type: ignore[method-assign]
        declare = profiles.wrap(incidents.declare) if profiles is not None else incidents.declare
        cpu0, wall0 = time.process_time(), time.perf_counter()
        engine.start()
        actor = Actor("bench", "api")
        try:
            gap = window / incidents_count
            for n in range(incidents_count):
                with db.unit_of_work() as s:
                    declare(
                        s,
                        service_id=service_id,
                        title=f"down {n}",
                        actor=actor,
                        now=runtime.clock.now(),
                        severity="SEV1",
                    )
                runtime.wakeup.notify()
                time.sleep(gap)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                with db.reader() as s:
                    done = s.scalar(select(func.count()).where(WorkflowRun.status.in_(("done", "failed"))))
                if done == incidents_count:
                    break
                time.sleep(0.2)
        finally:
            engine.stop()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        if profiles is not None and profile_dir is not None:
            profiles.write(profile_dir / "workflows.txt")
        with db.reader() as s:
            runs = {r.id: r for r in s.scalars(select(WorkflowRun))}
            steps = list(s.scalars(select(WorkflowStepRun).order_by(WorkflowStepRun.run_id, WorkflowStepRun.position)))
        lateness: list[float] = []
        first: list[float] = []
        previous_end: dict[int, Any] = {}
        for step in steps:
            run_ = runs[step.run_id]
            became_due = previous_end.get(step.run_id) or run_.created_at
            late = max(0.0, (step.started_at - became_due).total_seconds())
            lateness.append(late)
            if step.position == 0:
                first.append(late)
            previous_end[step.run_id] = step.finished_at or step.started_at
        keys = [x.idempotency_key for x in steps]
        result = {
            "backend": backend,
            "incidents": incidents_count,
            "window_seconds": window,
            "runs_finished": sum(1 for r in runs.values() if r.status == "done"),
            "steps_done": sum(1 for x in steps if x.status == "done"),
            "steps_expected": incidents_count * len(STEPS),
            "steps_run_twice": len(keys) - len(set(keys)),
            "lateness_seconds": percentiles(lateness),
            # The first step waits for the event consumer to start the run and for a claim; the others follow at once.
            "first_step_lateness_seconds": percentiles(first),
            "wall_seconds": round(wall, 2),
            "cpu_seconds": round(cpu, 2),
            "cpu_ms_per_step": round(1000 * cpu / max(1, len(steps)), 3),
            "note": "CPU is this whole process (declaring incidents, the event consumer and the engine)",
        }
        return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--profile", type=Path, default=None, help="a directory for the cProfile summary")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = run(
            incidents_count=args.incidents,
            window=args.window,
            backend=args.backend,
            workdir=Path(tmp),
            profile_dir=args.profile,
        )
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
