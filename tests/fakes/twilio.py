"""A fake Twilio REST API speaking the real wire format: form-encoded POSTs with HTTP basic auth to
``/2010-04-01/Accounts/{Sid}/Messages.json`` and ``Calls.json``, answering 201 with the resource as JSON, or
Twilio's error JSON. Tests script outages with ``fail_next``."""

from __future__ import annotations

import base64
import itertools
import threading
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from twilio.request_validator import RequestValidator

from tests.fakes._server import FakeServer, Reply, Request

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "fake-twilio-auth-token-0123456789"
FROM = "+15550001000"


@dataclass
class Sent:
    kind: str  # "sms" or "call"
    to: str
    params: dict[str, str]


class FakeTwilio:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._failures: list[int] = []
        self.sent: list[Sent] = []
        self.server = FakeServer(self._handle)

    def fail_next(self, status: int, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([status] * times)

    def fail_always(self, status: int) -> None:
        self.fail_next(status, 10_000)

    def heal(self) -> None:
        with self._lock:
            self._failures.clear()

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    def messages(self, to: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.kind == "sms" and (to is None or s.to == to)]

    def calls(self, to: str | None = None) -> list[Sent]:
        return [s for s in self.sent if s.kind == "call" and (to is None or s.to == to)]

    def _handle(self, request: Request) -> Reply:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return Reply.json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/"
        if not request.path.startswith(prefix):
            return Reply.json(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        resource = request.path.removeprefix(prefix)
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return Reply.json(failure, {"code": 20500, "message": "Internal Server Error", "status": failure})
        params = {k: v[-1] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        if "To" not in params or "From" not in params:
            return Reply.json(400, {"code": 21604, "message": "A 'To' phone number is required.", "status": 400})
        if resource == "Messages.json":
            if not params.get("Body"):
                return Reply.json(400, {"code": 21602, "message": "Message body is required.", "status": 400})
            sid, kind = f"SM{next(self._ids):032d}", "sms"
        elif resource == "Calls.json":
            if "Url" not in params and "Twiml" not in params:
                return Reply.json(400, {"code": 21205, "message": "Url parameter is required.", "status": 400})
            sid, kind = f"CA{next(self._ids):032d}", "call"
        else:
            return Reply.json(404, {"code": 20404, "message": "The requested resource was not found", "status": 404})
        with self._lock:
            self.sent.append(Sent(kind, params["To"], params))
        return Reply.json(
            201,
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": params["To"],
                "from": params["From"],
                "body": params.get("Body"),
                "status": "queued",
                "uri": f"{prefix}{resource.removesuffix('.json')}/{sid}.json",
            },
        )

    # --- what Twilio sends to us -----------------------------------------------------------------------------
    def sign(self, url: str, params: dict[str, str]) -> str:
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def form(self, params: dict[str, str]) -> str:
        return urlencode(params)
