"""A fake GitHub REST API speaking the real wire format: ``POST /repos/{owner}/{repo}/issues`` (201),
``PATCH /repos/{owner}/{repo}/issues/{number}``, ``GET /search/issues?q=`` with a bearer token (401 ``Bad
credentials`` otherwise), errors as ``{"message": ..., "documentation_url": ...}``. Any other request is recorded
in ``unexpected`` (and answered 404): the tests fail on it. ``signed`` makes the headers of a webhook delivery."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes._server import FakeServer, Reply, Request

TOKEN = "ghp_fakefakefakefakefakefakefakefake0123"
REPO = "acme/ops"
DOCS = "https://docs.github.com/rest"


def _error(status: int, message: str) -> Reply:
    return Reply.json(status, {"message": message, "documentation_url": DOCS})


class FakeGitHub:
    def __init__(self, *, token: str = TOKEN, repo: str = REPO) -> None:
        self.token = token
        self.repo = repo
        self.issues: dict[int, dict[str, Any]] = {}
        self.unexpected: list[Request] = []
        self.creates: list[dict[str, Any]] = []
        self._scripted: list[Reply] = []
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

    def _handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        issues = re.fullmatch(rf"/repos/{re.escape(self.repo)}/issues(?:/(\d+))?", parts.path)
        if issues is None and parts.path != "/search/issues":
            self.unexpected.append(request)
            return _error(404, "Not Found")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "Bad credentials")
        if request.headers.get("accept") != "application/vnd.github+json":
            self.unexpected.append(request)
            return _error(415, "Unsupported media type")
        with self._lock:
            if self._scripted:
                return self._scripted.pop(0)
        if issues is not None and issues.group(1) is None and request.method == "POST":
            return self._create(json.loads(request.body or b"{}"))
        if issues is not None and issues.group(1) is not None and request.method == "PATCH":
            return self._update(int(issues.group(1)), json.loads(request.body or b"{}"))
        if issues is None and request.method == "GET":
            return self._search(parse_qs(parts.query).get("q", [""])[0])
        self.unexpected.append(request)
        return _error(404, "Not Found")

    def _create(self, body: dict[str, Any]) -> Reply:
        if not isinstance(body.get("title"), str) or not body["title"]:
            return Reply.json(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                    "documentation_url": DOCS,
                },
            )
        with self._lock:
            number = next(self._numbers)
            issue = {
                "id": 1000 + number,
                "number": number,
                "title": body["title"],
                "body": body.get("body"),
                "labels": [{"name": n} for n in body.get("labels") or []],
                "state": "open",
                "state_reason": None,
                "html_url": f"https://github.example/{self.repo}/issues/{number}",
                "url": f"{self.url}/repos/{self.repo}/issues/{number}",
            }
            self.issues[number] = issue
            self.creates.append(issue)
        if self.stall_after_create:
            time.sleep(self.stall_after_create)
        return Reply.json(201, issue)

    def _update(self, number: int, body: dict[str, Any]) -> Reply:
        with self._lock:
            issue = self.issues.get(number)
            if issue is None:
                return _error(404, "Not Found")
            if "state" in body:
                if body["state"] not in ("open", "closed"):
                    return _error(422, "Validation Failed")
                issue["state"] = body["state"]
                issue["state_reason"] = body.get("state_reason")
            return Reply.json(200, issue)

    def _search(self, q: str) -> Reply:
        label = re.search(r'label:"([^"]+)"', q)
        repo = re.search(r"repo:(\S+)", q)
        with self._lock:
            found = [
                i
                for i in self.issues.values()
                if (label is None or label.group(1) in [x["name"] for x in i["labels"]])
                and (repo is None or repo.group(1) == self.repo)
            ]
        return Reply.json(200, {"total_count": len(found), "incomplete_results": False, "items": found})


def signed(secret: str, body: bytes, *, event: str = "issues", delivery: str | None = None) -> dict[str, str]:
    """The headers GitHub sends with a webhook delivery."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={digest}",
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/fake",
    }


def issue_event(action: str, issue: dict[str, Any], repo: str = REPO) -> dict[str, Any]:
    return {"action": action, "issue": issue, "repository": {"full_name": repo}, "sender": {"login": "octocat"}}
