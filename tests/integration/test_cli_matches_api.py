"""The CLI refuses bad input to silences, rules and overrides with the very message the API answers."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import ApiHarness
from tocsin.cli import app

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
PROD = [{"field": "labels.env", "op": "=", "value": "prod"}]


def cli(api: ApiHarness, *args: str) -> Result:
    env: dict[str, str | None] = {
        "TOCSIN_DATABASE_URL": api.runtime.db.url,
        "TOCSIN_CLI_USER": None,
        "COLUMNS": "200",
    }
    return CliRunner().invoke(app, list(args), env=env)


@sqlite_only
@pytest.mark.parametrize(
    ("method", "url", "body", "args"),
    [
        (
            "POST",
            "/api/v1/silences",
            {"matchers": PROD},
            ["silence", "create", "--match", "labels.env=prod"],
        ),
        (
            "POST",
            "/api/v1/silences",
            {"matchers": PROD, "comment": "x", "duration_seconds": 0},
            ["silence", "create", "--match", "labels.env=prod", "--comment", "x", "--duration", "0"],
        ),
        (
            "POST",
            "/api/v1/silences",
            {"matchers": [{"field": "colour", "op": "=", "value": "red"}], "comment": "x"},
            ["silence", "create", "--match", "colour=red", "--comment", "x"],
        ),
        (
            "POST",
            "/api/v1/silences",
            {"matchers": PROD, "comment": "x", "service": "Nope"},
            ["silence", "create", "--match", "labels.env=prod", "--comment", "x", "--service", "Nope"],
        ),
        (
            "PUT",
            "/api/v1/event-rules",
            {"name": "r", "matchers": PROD, "actions": {"colour": "red"}},
            ["rule", "set-event-rule", "r", "--match", "labels.env=prod", "--action", "colour=red"],
        ),
        (
            "PUT",
            "/api/v1/inhibit-rules",
            {"name": "i", "source": PROD},
            ["rule", "set-inhibit-rule", "i", "--source", "labels.env=prod"],
        ),
        (
            "PUT",
            "/api/v1/event-rules",
            {"name": "r", "matchers": [{"field": "labels.host", "op": "=~", "value": "web-("}]},
            ["rule", "set-event-rule", "r", "--match", "labels.host=~web-("],
        ),
        ("DELETE", "/api/v1/event-rules/nope", None, ["rule", "delete-event-rule", "nope"]),
        ("DELETE", "/api/v1/silences/999", None, ["silence", "end", "999"]),
    ],
)
def test_the_same_refusal_as_the_api(
    api: ApiHarness, method: str, url: str, body: dict[str, Any] | None, args: list[str]
) -> None:
    answer = api.client.request(method, url, json=body, headers=api.headers())
    assert answer.status_code in (404, 422), answer.text
    detail = answer.json()["detail"]
    result = cli(api, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: {detail}"), (detail, result.stderr)
