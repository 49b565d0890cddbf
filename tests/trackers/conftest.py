"""Fakes of Jira and GitHub for the tracker tests, each failing the test on any request it does not know."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.fixtures import running
from tests.fakes.github import FakeGitHub
from tests.fakes.jira import FakeJira
from tocsin.trackers import hooks


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    fake = FakeJira()
    yield from running(fake)
    assert fake.unexpected == [], f"unexpected calls to Jira: {fake.unexpected}"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    yield from running(fake)
    assert fake.unexpected == [], f"unexpected calls to GitHub: {fake.unexpected}"


@pytest.fixture
def changes() -> Iterator[list[hooks.RemoteStatusChange]]:
    """What a domain registered on ``on_remote_status`` hears."""
    heard: list[hooks.RemoteStatusChange] = []

    def listen(_session: object, change: hooks.RemoteStatusChange) -> None:
        heard.append(change)

    hooks.on_remote_status(listen)
    yield heard
    hooks.remove(listen)
