"""The two trackers' REST APIs, as far as issues go: create one, find one by its idempotency label, move it to
closed or open. Answers other than 2xx raise ``TrackerRefused`` with the tracker's own error text; whether it is
worth retrying follows the status code (429, 408 and 5xx are; GitHub's 403 with an exhausted rate limit is too).

Jira: ``POST /rest/api/{2|3}/issue`` (v3 takes the description in Atlassian Document Format, v2 as plain text),
``GET /rest/api/{v}/search?jql=``, ``GET|POST /rest/api/{v}/issue/{key}/transitions``; basic auth with an account
email and API token, or a bearer personal access token. GitHub: ``POST /repos/{owner}/{repo}/issues``,
``PATCH /repos/{owner}/{repo}/issues/{number}``, ``GET /search/issues?q=``; a bearer token.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from tocsin.trackers.http import Answer, Http
from tocsin.trackers.models import TrackerConnection

MAX_ERROR = 500


@dataclass(frozen=True, slots=True)
class Remote:
    key: str
    url: str
    status: str | None
    state: str  # open | closed


class TrackerRefused(Exception):
    def __init__(self, status: int, message: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry = retry
        self.retry_after = retry_after


class Client(Protocol):
    def create(self, *, title: str, body: str, labels: list[str], marker: str) -> Remote: ...

    def find(self, marker: str) -> Remote | None: ...

    def set_state(self, key: str, state: str) -> Remote: ...


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date taken relative to the answer's own Date."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_text(answer: Answer) -> str:
    data = answer.json()
    parts: list[str] = []
    if isinstance(data, dict):
        # Jira: {"errorMessages": [...], "errors": {"field": "..."}}; GitHub: {"message": "...", "errors": [...]}.
        parts += [str(m) for m in data.get("errorMessages") or []]
        errors = data.get("errors")
        if isinstance(errors, dict):
            parts += [f"{k}: {v}" for k, v in errors.items()]
        if data.get("message"):
            parts.append(str(data["message"]))
    if not parts and answer.body:
        parts.append(answer.body[:200].decode("utf-8", "replace"))
    return f"HTTP {answer.status}" + (": " + "; ".join(parts) if parts else "")


def check(answer: Answer) -> Any:
    if 200 <= answer.status < 300:
        return answer.json()
    lower = {k.lower(): v for k, v in answer.headers.items()}
    retry_after = retry_after_seconds(lower.get("retry-after"))
    exhausted = answer.status == 403 and lower.get("x-ratelimit-remaining") == "0"
    if exhausted and retry_after is None and (lower.get("x-ratelimit-reset") or "").isdigit():
        from time import time

        retry_after = max(0.0, int(lower["x-ratelimit-reset"]) - time())
    retry = answer.status in (408, 429) or answer.status >= 500 or exhausted
    raise TrackerRefused(answer.status, _error_text(answer)[:MAX_ERROR], retry=retry, retry_after=retry_after)


def _adf(text: str) -> dict[str, Any]:
    paragraphs = [p for p in text.split("\n\n") if p.strip()] or [""]
    content = []
    for p in paragraphs:
        inline = [{"type": "text", "text": p}] if p else []
        content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


def _jira_state(fields: dict[str, Any]) -> tuple[str | None, str]:
    status = fields.get("status") or {}
    category = (status.get("statusCategory") or {}).get("key")
    return status.get("name"), "closed" if category == "done" else "open"


class JiraClient:
    def __init__(self, connection: TrackerConnection, http: Http) -> None:
        self.c = connection
        self.http = http
        self.root = connection.base_url.rstrip("/")
        self.api = f"{self.root}/rest/api/{connection.api_version}"

    def _headers(self) -> dict[str, str]:
        if self.c.auth_scheme == "basic":
            pair = f"{self.c.username or ''}:{self.c.token}".encode()
            return {"authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        return {"authorization": f"Bearer {self.c.token}"}

    def _browse(self, key: str) -> str:
        return f"{self.root}/browse/{key}"

    def create(self, *, title: str, body: str, labels: list[str], marker: str) -> Remote:
        fields: dict[str, Any] = {
            "project": {"key": self.c.project},
            "summary": title,
            "issuetype": {"name": self.c.issue_type},
            # Jira labels are single words: spaces would split one label into a refusal.
            "labels": [label.replace(" ", "-") for label in labels] + [marker],
            "description": _adf(body) if self.c.api_version == "3" else body,
        }
        data = check(self.http.request("POST", f"{self.api}/issue", headers=self._headers(), body={"fields": fields}))
        key = str(data["key"])
        return Remote(key, self._browse(key), None, "open")

    def find(self, marker: str) -> Remote | None:
        jql = f'project = "{self.c.project}" AND labels = "{marker}" ORDER BY created ASC'
        query = urlencode({"jql": jql, "fields": "status", "maxResults": "1"})
        data = check(self.http.request("GET", f"{self.api}/search?{query}", headers=self._headers()))
        issues = (data or {}).get("issues") or []
        if not issues:
            return None
        key = str(issues[0]["key"])
        name, state = _jira_state(issues[0].get("fields") or {})
        return Remote(key, self._browse(key), name, state)

    def set_state(self, key: str, state: str) -> Remote:
        target = self.c.done_status if state == "closed" else self.c.reopen_status
        url = f"{self.api}/issue/{quote(key)}/transitions"
        data = check(self.http.request("GET", url, headers=self._headers()))
        transitions = (data or {}).get("transitions") or []

        def done(t: dict[str, Any]) -> bool:
            return ((t.get("to") or {}).get("statusCategory") or {}).get("key") == "done"

        chosen = next(
            (t for t in transitions if str((t.get("to") or {}).get("name", "")).lower() == target.lower()), None
        ) or next((t for t in transitions if done(t) == (state == "closed")), None)
        if chosen is None:
            raise TrackerRefused(409, f"no transition of {key} leads to {target!r}", retry=False)
        check(self.http.request("POST", url, headers=self._headers(), body={"transition": {"id": str(chosen["id"])}}))
        to = chosen.get("to") or {}
        return Remote(key, self._browse(key), to.get("name") or target, state)


class GitHubClient:
    def __init__(self, connection: TrackerConnection, http: Http) -> None:
        self.c = connection
        self.http = http
        self.root = connection.base_url.rstrip("/")

    def _headers(self) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self.c.token}",
            "accept": "application/vnd.github+json",
            "x-github-api-version": "2022-11-28",
        }

    @staticmethod
    def _remote(data: dict[str, Any]) -> Remote:
        state = "closed" if data.get("state") == "closed" else "open"
        return Remote(str(data["number"]), str(data.get("html_url") or ""), state, state)

    def create(self, *, title: str, body: str, labels: list[str], marker: str) -> Remote:
        # The marker goes in the body as well: a label can be removed by hand, the body's comment rarely is.
        payload = {"title": title, "body": f"{body}\n\n<!-- {marker} -->", "labels": [*labels, marker]}
        url = f"{self.root}/repos/{self.c.project}/issues"
        return self._remote(check(self.http.request("POST", url, headers=self._headers(), body=payload)))

    def find(self, marker: str) -> Remote | None:
        query = urlencode({"q": f'repo:{self.c.project} is:issue label:"{marker}"', "per_page": "1"})
        data = check(self.http.request("GET", f"{self.root}/search/issues?{query}", headers=self._headers()))
        items = (data or {}).get("items") or []
        return self._remote(items[0]) if items else None

    def set_state(self, key: str, state: str) -> Remote:
        payload: dict[str, Any] = {"state": state}
        if state == "closed":
            payload["state_reason"] = "completed"
        url = f"{self.root}/repos/{self.c.project}/issues/{quote(key)}"
        return self._remote(check(self.http.request("PATCH", url, headers=self._headers(), body=payload)))


def client_for(connection: TrackerConnection, http: Http) -> Client:
    return JiraClient(connection, http) if connection.kind == "jira" else GitHubClient(connection, http)
