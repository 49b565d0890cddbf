"""Status pages in ``tocsin apply`` and ``export``: pages, groups and components created, then unchanged on a
second apply, exported back to the same file; a bad component refused with its place in the file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.config import document
from tocsin.config.apply import apply_config, export_config
from tocsin.core.errors import InvalidInput
from tocsin.db.session import Database
from tocsin.statuspages import service as statuspages

NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CONFIG = """
services:
  - name: checkout-api
status_pages:
  - slug: acme
    name: Acme Cloud
    time_zone: Europe/Berlin
    custom_domain: status.acme.test
    footer_links: [{label: Home, url: "https://acme.test"}]
    groups: [Shop]
    components:
      - {name: Checkout, group: Shop, services: [checkout-api]}
      - {name: Website, description: The public site}
"""


def test_apply_creates_pages_and_components_then_finds_nothing_to_change(db: Database) -> None:
    with db.unit_of_work() as s:
        plan = apply_config(s, document.parse(CONFIG), now=NOW)
    made = {(c.kind, c.key, c.action) for c in plan.changes}
    assert ("status page", "acme", "create") in made
    assert ("status component group", "acme/Shop", "create") in made
    assert ("status component", "acme/Checkout", "create") in made
    with db.unit_of_work() as s:
        again = apply_config(s, document.parse(CONFIG), now=NOW)
    assert {c.action for c in again.changes if c.kind.startswith("status")} == {"unchanged"}
    with db.reader() as s:
        page = statuspages.get_page(s, "acme")
        assert (page.time_zone, page.custom_domain) == ("Europe/Berlin", "status.acme.test")
        checkout = next(c for c in statuspages.components(s, page) if c.name == "Checkout")
        assert checkout.service_ids
        assert checkout.group_id is not None
        exported = export_config(s, now=NOW)
    (spec,) = exported.status_pages
    assert [c.name for c in spec.components] == ["Checkout", "Website"]
    assert spec.components[0].services == ["checkout-api"]
    with db.unit_of_work() as s:
        round_trip = apply_config(s, document.parse(document.to_yaml(exported)), now=NOW)
    assert {c.action for c in round_trip.changes if c.kind.startswith("status")} == {"unchanged"}


def test_a_bad_component_is_refused_with_its_place(db: Database) -> None:
    bad = CONFIG.replace("group: Shop,", "group: Nowhere,")
    with pytest.raises(InvalidInput) as refused, db.unit_of_work() as s:
        apply_config(s, document.parse(bad), now=NOW)
    assert "status_pages[0].components[0]" in refused.value.detail
    assert "Nowhere" in refused.value.detail
