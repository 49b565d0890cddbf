"""A fake Jira Cloud REST API speaking the real wire format: ``POST /rest/api/{2|3}/issue`` (v3 refuses a
description that is not an Atlassian Document, v2 one that is not a string), ``GET /rest/api/{v}/search?jql=``,
``GET|POST /rest/api/{v}/issue/{key}/transitions``; basic auth (email:API token) or a bearer token, 401 with
Jira's ``errorMessages`` body otherwise. Any other request is recorded in ``unexpected`` (and answered 404):
the tests fail on it."""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes._server import FakeServer, Reply, Request

EMAIL = "bot@example.org"
API_TOKEN = "jira-api-token-0123456789"
PROJECT = "OPS"

_TRANSITIONS = [
    {"id": "11", "name": "To Do", "to": {"name": "To Do", "statusCategory": {"key": "new"}}},
    {"id": "21", "name": "Start", "to": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}},
    {"id": "31", "name": "Done", "to": {"name": "Done", "statusCategory": {"key": "done"}}},
]


def _error(status: int, *messages: str, **fields: str) -> Reply:
    return Reply.json(status, {"errorMessages": list(messages), "errors": fields})


class FakeJira:
    def __init__(self, *, email: str = EMAIL, token: str = API_TOKEN, project: str = PROJECT) -> None:
        self.auth = "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
        self.project = project
        self.issues: dict[str, dict[str, Any]] = {}
        self.unexpected: list[Request] = []
        self.creates: list[dict[str, Any]] = []
        # Replies given instead of the real answer, one per request, in order.
        self._scripted: list[Reply] = []
        # Seconds to stall after creating an issue, before answering (a timeout after the request was taken).
        self.stall_after_create = 0.0
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self.server = FakeServer(self._handle)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._scripted.extend(replies)

    def set_status(self, key: str, name: str, category: str) -> dict[str, Any]:
        with self._lock:
            self.issues[key]["fields"]["status"] = {"name": name, "statusCategory": {"key": category}}
            return self.issues[key]

    def _handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        m = re.fullmatch(r"/rest/api/([23])/(issue|search|issue/([A-Z][A-Z0-9_]*-\d+)/transitions)", parts.path)
        if m is None:
            self.unexpected.append(request)
            return _error(404, "not found")
        if request.headers.get("authorization") != self.auth:
            return _error(401, "You are not authenticated. Authentication required to perform this operation.")
        with self._lock:
            if self._scripted:
                return self._scripted.pop(0)
        version, what, key = m.group(1), m.group(2), m.group(3)
        if what == "issue" and request.method == "POST":
            return self._create(version, json.loads(request.body or b"{}"))
        if what == "search" and request.method == "GET":
            return self._search(parse_qs(parts.query).get("jql", [""])[0])
        if key is not None and request.method in ("GET", "POST"):
            if key not in self.issues:
                return _error(404, "Issue does not exist or you do not have permission to see it.")
            if request.method == "GET":
                return Reply.json(200, {"expand": "transitions", "transitions": _TRANSITIONS})
            return self._transition(key, json.loads(request.body or b"{}"))
        self.unexpected.append(request)
        return _error(405, "method not allowed")

    def _create(self, version: str, body: dict[str, Any]) -> Reply:
        fields = body.get("fields") or {}
        if (fields.get("project") or {}).get("key") != self.project:
            return _error(400, project="valid project is required")
        if not fields.get("summary"):
            return _error(400, summary="You must specify a summary of the issue.")
        if not (fields.get("issuetype") or {}).get("name"):
            return _error(400, issuetype="Specify an issue type")
        description = fields.get("description")
        if version == "3" and not (isinstance(description, dict) and description.get("type") == "doc"):
            return _error(400, description="Operation value must be an Atlassian Document (see the ADF format)")
        if version == "2" and not isinstance(description, str):
            return _error(400, description="Operation value must be a string")
        if any(" " in label for label in fields.get("labels") or []):
            return _error(400, labels="The label must not contain spaces.")
        with self._lock:
            number = next(self._numbers)
            key = f"{self.project}-{number}"
            fields = {**fields, "status": {"name": "To Do", "statusCategory": {"key": "new"}}}
            self.issues[key] = {"id": str(10000 + number), "key": key, "fields": fields}
            self.creates.append(self.issues[key])
        if self.stall_after_create:
            time.sleep(self.stall_after_create)
        return Reply.json(
            201, {"id": str(10000 + number), "key": key, "self": f"{self.url}/rest/api/{version}/issue/{key}"}
        )

    def _search(self, jql: str) -> Reply:
        wanted = re.search(r'labels\s*=\s*"([^"]+)"', jql)
        project = re.search(r'project\s*=\s*"([^"]+)"', jql)
        with self._lock:
            found = [
                {"id": i["id"], "key": i["key"], "fields": {"status": i["fields"]["status"]}}
                for i in self.issues.values()
                if (wanted is None or wanted.group(1) in (i["fields"].get("labels") or []))
                and (project is None or project.group(1) == self.project)
            ]
        return Reply.json(200, {"startAt": 0, "maxResults": 50, "total": len(found), "issues": found})

    def _transition(self, key: str, body: dict[str, Any]) -> Reply:
        wanted = str((body.get("transition") or {}).get("id", ""))
        chosen = next((t for t in _TRANSITIONS if t["id"] == wanted), None)
        if chosen is None:
            return _error(400, transition="Transition id is not valid for this issue.")
        to = chosen["to"]
        assert isinstance(to, dict)
        self.set_status(key, str(to["name"]), str(to["statusCategory"]["key"]))
        return Reply(204, b"", "application/json")


def issue_updated(issue: dict[str, Any]) -> dict[str, Any]:
    """The body of a ``jira:issue_updated`` webhook for an issue of the fake."""
    return {
        "timestamp": 1700000000000,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "issue": {"id": issue["id"], "key": issue["key"], "fields": {"status": issue["fields"]["status"]}},
        "changelog": {"items": [{"field": "status", "toString": issue["fields"]["status"]["name"]}]},
    }
