"""A real Synapse homeserver for the tests and the benchmark: started on 127.0.0.1 (a free port) from a generated
config with an SQLite database and a registration shared secret, its rate limits opened wide (the tests measure
Tocsin, not Synapse's anti-abuse limits); users are registered through the shared-secret admin API."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

SERVER_NAME = "tocsin.test"
SECRET = "synapse-shared-secret-for-tests"
_WIDE = {"per_second": 10_000, "burst_count": 100_000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Synapse:
    root: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> Synapse:
        self.port = _free_port()
        config = self.root / "homeserver.yaml"
        subprocess.run(
            [
                sys.executable, "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME,
                "--config-path", str(config), "--data-directory", str(self.root),
                "--generate-config", "--report-stats=no",
            ],
            check=True, capture_output=True, cwd=self.root, timeout=120,
        )  # fmt: skip
        data: dict[str, Any] = yaml.safe_load(config.read_text())
        data.update(
            listeners=[
                {
                    "port": self.port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                    "x_forwarded": False, "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            database={"name": "sqlite3", "args": {"database": str(self.root / "homeserver.db")}},
            registration_shared_secret=SECRET,
            enable_registration=False,
            trusted_key_servers=[],
            suppress_key_server_warning=True,
            report_stats=False,
            presence={"enabled": False},
            url_preview_enabled=False,
            rc_message=_WIDE, rc_registration=_WIDE, rc_joins={"local": _WIDE, "remote": _WIDE},
            rc_invites={"per_room": _WIDE, "per_user": _WIDE, "per_issuer": _WIDE},
            rc_login={"address": _WIDE, "account": _WIDE, "failed_attempts": _WIDE},
            rc_admin_redaction=_WIDE, rc_room_creation=_WIDE, rc_3pid_validation=_WIDE,
            rc_joins_per_room=_WIDE, rc_presence={"per_user": _WIDE},
            log_config=None,
        )  # fmt: skip
        data.pop("log_config", None)
        config.write_text(yaml.safe_dump(data))
        env = dict(os.environ, SYNAPSE_CACHE_FACTOR="0.5")
        log = open(self.root / "synapse.out", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synapse.app.homeserver", "--config-path", str(config)],
            cwd=self.root, stdout=log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("Synapse stopped: " + (self.root / "synapse.out").read_text()[-3000:])
            try:
                if httpx.get(self.url + "/_matrix/client/versions", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("Synapse did not answer in time: " + (self.root / "synapse.out").read_text()[-3000:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def register(self, localpart: str, *, admin: bool = False) -> str:
        """The new user's access token (registered by the shared secret, as an operator would)."""
        if localpart in self.tokens:
            return self.tokens[localpart]
        password = hashlib.sha256(f"{SECRET}/{localpart}".encode()).hexdigest()
        endpoint = self.url + "/_synapse/admin/v1/register"
        nonce = httpx.get(endpoint, timeout=10).json()["nonce"]
        mac = hmac.new(SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(
            b"\x00".join([nonce.encode(), localpart.encode(), password.encode(), b"admin" if admin else b"notadmin"])
        )
        body = {"nonce": nonce, "username": localpart, "password": password, "admin": admin, "mac": mac.hexdigest()}
        answer = httpx.post(endpoint, json=body, timeout=30)
        answer.raise_for_status()
        token = str(answer.json()["access_token"])
        self.tokens[localpart] = token
        return token

    @staticmethod
    def user_id(localpart: str) -> str:
        return f"@{localpart}:{SERVER_NAME}"
