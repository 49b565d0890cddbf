"""No database work on the event loop: one blocking call there holds up every request of the process.

Two guards. ``Database`` refuses a unit of work, a reader or a ping on a thread that runs an event loop, so any
test that reaches such a handler fails. And every ``async def`` endpoint of the application is read here, with the
tocsin functions it calls on the loop: none may open a unit of work or a reader except inside a function it hands
to a thread. Sync handlers run in FastAPI's thread pool and are free to.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import textwrap
import types
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route

from tocsin.app import create_app
from tocsin.db.session import Database, OnEventLoop
from tocsin.settings import load_settings

DB_CALLS = {"unit_of_work", "reader", "ping"}


def _function_node(fn: Callable[..., Any]) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    node = ast.parse(source).body[0]
    return node if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) else None


def _on_loop(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function body that run on the caller's thread: nested sync functions are left out (they are
    handed to a thread) unless the body calls them itself; nested async functions run on the loop."""
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    nested = {n.name: n for n in ast.walk(node) if isinstance(n, ast.FunctionDef) and n is not node}
    called = {c.func.id for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}
    stack: list[ast.AST] = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.FunctionDef) and current.name in nested and current.name not in called:
            continue
        yield current
        stack.extend(ast.iter_child_nodes(current))


def _resolve(call: ast.Call, scope: dict[str, Any]) -> Callable[..., Any] | None:
    func = call.func
    if isinstance(func, ast.Name):
        target = scope.get(func.id)
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        owner = scope.get(func.value.id)
        target = getattr(owner, func.attr, None) if isinstance(owner, types.ModuleType) else None
    else:
        return None
    if isinstance(target, types.FunctionType) and target.__module__.startswith(("tocsin.", "tests.")):
        return target
    return None


def database_work_on_loop(fn: Callable[..., Any], depth: int = 4, seen: set[Any] | None = None) -> list[str]:
    """Where ``fn`` (run on the event loop) opens a unit of work or a reader, directly or through the tocsin
    functions it calls; each finding names the function and line."""
    seen = set() if seen is None else seen
    if fn in seen or depth < 0:
        return []
    seen.add(fn)
    node = _function_node(fn)
    if node is None:
        return []
    found: list[str] = []
    first = fn.__code__.co_firstlineno
    for n in _on_loop(node):
        if not isinstance(n, ast.Call):
            continue
        if isinstance(n.func, ast.Attribute) and n.func.attr in DB_CALLS:
            found.append(f"{fn.__module__}.{fn.__qualname__} line {first + n.lineno - 1}: .{n.func.attr}()")
            continue
        callee = _resolve(n, fn.__globals__)
        if callee is not None:
            found.extend(database_work_on_loop(callee, depth - 1, seen))
    return found


def _routes(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    for route in routes:
        # Included routers (FastAPI keeps them apart from their routes) and mounts hold routes of their own.
        inner = getattr(getattr(route, "original_router", None), "routes", None) or getattr(route, "routes", None)
        if inner:
            yield from _routes(inner)
        else:
            yield route


def async_endpoints(app: FastAPI) -> list[tuple[str, Callable[..., Any]]]:
    return [
        (route.path, route.endpoint)
        for route in _routes(app.routes)
        if isinstance(route, APIRoute | Route) and inspect.iscoroutinefunction(route.endpoint)
    ]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    path = Path(tmp_path_factory.mktemp("loop")) / "tocsin.db"
    return create_app(load_settings(database_url=f"sqlite:///{path}", run_worker=False))


def test_no_async_endpoint_opens_the_database_on_the_event_loop(app: FastAPI) -> None:
    endpoints = async_endpoints(app)
    # The async endpoints of today (ingest, replies, sign-in, live updates, health): if there were none the
    # check below would prove nothing.
    assert {"/login", "/live", "/readyz"} <= {path for path, _ in endpoints}
    problems = {path: found for path, fn in endpoints if (found := database_work_on_loop(fn))}
    assert problems == {}


# --- the check itself can fail ------------------------------------------------------------------------------------

_db: Database | None = None


def _helper_reading_the_database() -> None:
    assert _db is not None
    with _db.reader():
        pass


async def _blocks_the_loop(request: Request) -> None:
    _helper_reading_the_database()


async def _hands_it_to_a_thread(request: Request) -> None:
    def work() -> None:
        assert _db is not None
        with _db.unit_of_work():
            pass

    await run_in_threadpool(work)


async def _calls_its_own_helper_on_the_loop(request: Request) -> None:
    def work() -> None:
        assert _db is not None
        with _db.unit_of_work():
            pass

    work()


def test_the_check_finds_database_work_on_the_loop_and_lets_threads_through() -> None:
    assert database_work_on_loop(_blocks_the_loop) == [
        f"{__name__}._helper_reading_the_database line "
        f"{_helper_reading_the_database.__code__.co_firstlineno + 2}: .reader()"
    ]
    assert database_work_on_loop(_hands_it_to_a_thread) == []
    assert [f.rsplit(": ", 1)[1] for f in database_work_on_loop(_calls_its_own_helper_on_the_loop)] == [
        ".unit_of_work()"
    ]


def test_the_database_refuses_work_on_an_event_loop_thread(db: Database) -> None:
    async def on_the_loop() -> None:
        with db.reader():
            pass

    async def in_a_thread() -> int:
        def work() -> int:
            with db.unit_of_work() as session:
                return session.connection().exec_driver_sql("SELECT 1").scalar_one()

        return await asyncio.to_thread(work)

    # Each loop on a thread of its own: this one may already be marked as running one (Playwright's sync API).
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(OnEventLoop, match="event loop"):
            pool.submit(asyncio.run, on_the_loop()).result()
        assert pool.submit(asyncio.run, in_a_thread()).result() == 1
