"""Zabbix through our media type: problem, recovery, acknowledgement, severities, unexpanded macros."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tocsin.core.errors import BadRequest
from tocsin.integrations import zabbix

SAMPLES = Path(__file__).resolve().parents[1] / "compat" / "samples" / "zabbix"
MEDIA_TYPE = Path(__file__).resolve().parents[2] / "docs" / "integrations" / "zabbix_mediatype.yaml"


def sample(name: str) -> Any:
    return orjson.loads((SAMPLES / f"{name}.json").read_bytes())


def test_problem_triggers() -> None:
    [event] = zabbix.parse(sample("problem"))

    assert event.action == "trigger"
    assert event.dedup_key == "48213"
    assert event.summary == "High CPU utilization (over 90% for 5m)"
    assert event.severity == "critical"
    assert event.source == "db-2.example.internal"
    assert event.labels == {"class": "os", "component": "cpu", "scope": "performance"}
    assert event.links == [
        {"href": "https://zabbix.example.com/tr_events.php?triggerid=23017&eventid=48213", "text": "Zabbix"}
    ]
    assert "event_update_action" not in event.details  # an unexpanded macro is absent
    assert event.details["event_opdata"] == "Current utilization: 96.2 %"
    orjson.dumps(event.payload())


def test_recovery_resolves_the_problem_id() -> None:
    [event] = zabbix.parse(sample("recovery"))
    assert (event.action, event.dedup_key) == ("resolve", "48213")


def test_acknowledgement_update() -> None:
    [event] = zabbix.parse(sample("acknowledge"))
    assert (event.action, event.dedup_key) == ("acknowledge", "48213")
    assert event.details["event_update_user"] == "Ada Lovelace"


def test_update_without_acknowledgement_changes_nothing() -> None:
    assert zabbix.parse(sample("comment")) == []


@pytest.mark.parametrize(
    ("nseverity", "severity"),
    [("0", "info"), ("1", "info"), ("2", "warning"), ("3", "error"), ("4", "critical"), (5, "critical")],
)
def test_severities(nseverity: object, severity: str) -> None:
    [event] = zabbix.parse(sample("problem") | {"event_nseverity": nseverity})
    assert event.severity == severity


def test_discovery_and_internal_events_are_ignored() -> None:
    assert zabbix.parse(sample("problem") | {"event_source": "3"}) == []
    assert len(zabbix.parse(sample("problem") | {"event_source": "4"})) == 1


def test_tags_as_a_list_and_numbers_as_ids() -> None:
    [event] = zabbix.parse(sample("problem") | {"event_tags": [{"tag": "db", "value": ""}], "event_id": 48213})
    assert event.labels == {"db": ""}
    assert event.dedup_key == "48213"


def test_wrong_fields_are_named() -> None:
    with pytest.raises(BadRequest) as caught:
        zabbix.parse(sample("wrong_types"))

    assert caught.value.detail == "Zabbix payload is invalid"
    assert caught.value.errors == [
        "'event_id' must be a string, not array",
        "'event_id' is required (the media type's {EVENT.ID})",
        "'event_value' must be 1 (problem) or 0 (recovery), the media type's {EVENT.VALUE}",
        "'event_update_status' must be 0 or 1 ({EVENT.UPDATE.STATUS})",
        "'event_nseverity' must be 0 to 5 ({EVENT.NSEVERITY})",
        "'event_name' is required for a problem ({EVENT.NAME})",
    ]


def test_media_type_sends_every_field_the_parser_reads() -> None:
    document = yaml.safe_load(MEDIA_TYPE.read_text())
    [media_type] = document["zabbix_export"]["media_types"]
    parameters = {p["name"]: p["value"] for p in media_type["parameters"]}

    assert media_type["type"] == "WEBHOOK"
    assert parameters["event_id"] == "{EVENT.ID}"
    assert parameters["event_value"] == "{EVENT.VALUE}"
    assert parameters["event_update_status"] == "{EVENT.UPDATE.STATUS}"
    assert parameters["event_ack_status"] == "{EVENT.ACK.STATUS}"
    assert parameters["event_nseverity"] == "{EVENT.NSEVERITY}"
    assert set(sample("problem")) <= set(parameters)
    assert {t["operation_mode"] for t in media_type["message_templates"]} == {"PROBLEM", "RECOVERY", "UPDATE"}


@pytest.mark.parametrize("nseverity", ["²", "٣", "\uff14"])
def test_severity_in_other_digits_is_named_not_crashed(nseverity: str) -> None:
    with pytest.raises(BadRequest) as caught:
        zabbix.parse(sample("problem") | {"event_nseverity": nseverity})
    assert "'event_nseverity' must be 0 to 5 ({EVENT.NSEVERITY})" in (caught.value.errors or [])
