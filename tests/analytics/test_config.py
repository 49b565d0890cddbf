"""Analytics settings in ``tocsin apply`` and ``export``: only the keys given change, a second apply and a round
trip through export change nothing, and an impossible window is refused with its place in the file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.analytics import settings
from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CONFIG = """
analytics:
  sleep_start: 23
  sleep_end: 7
  weekly_interruptions: 10
  digest_weekday: 4
"""


def _analytics(plan: object) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.action, c.fields) for c in plan.changes if c.kind == "analytics"]  # type: ignore[attr-defined]


def test_apply_sets_the_given_keys_then_finds_nothing_to_change(db: Database) -> None:
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(CONFIG), now=NOW)
    assert _analytics(plan) == [("update", ("sleep_start", "sleep_end", "weekly_interruptions", "digest_weekday"))]
    with db.reader() as s:
        now_set = settings.current(s)
    assert (now_set.sleep_start, now_set.sleep_end, now_set.weekly_interruptions) == (23, 7, 10)
    assert now_set.business_start == settings.Settings().business_start, "a key not given keeps its value"

    with db.unit_of_work() as s:
        assert _analytics(apply_config(s, document.parse(CONFIG), now=NOW)) == [("unchanged", ())]
    with db.reader() as s:
        exported = export_config(s, now=NOW)
    assert exported.analytics is not None
    assert exported.analytics.digest_weekday == 4
    with db.unit_of_work() as s:
        round_trip = apply_config(s, document.parse(document.to_yaml(exported)), now=NOW)
    assert _analytics(round_trip) == [("unchanged", ())]


def test_an_impossible_window_is_refused_with_its_place_and_nothing_changes(db: Database) -> None:
    bad = CONFIG.replace("digest_weekday: 4", "digest_weekday: 9")
    with pytest.raises(InvalidInput) as refused, db.unit_of_work() as s:
        apply_config(s, document.parse(bad), now=NOW)
    assert refused.value.detail.startswith("analytics: ")
    assert "digest_weekday" in refused.value.detail
    with db.reader() as s:
        assert settings.current(s) == settings.Settings()
