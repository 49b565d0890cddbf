"""Where an importer reads a source system from: its REST API, or files exported from it earlier.

An importer sees only ``get(path, params)`` returning the decoded JSON body, so that the same mapping runs against
the live API and against a directory of saved responses. Nothing here writes anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from tocsin.core import tls


class SourceError(Exception):
    """The source refused or failed a request; the message says what to do about it."""


class Source(Protocol):
    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]: ...


class HttpSource:
    def __init__(self, base_url: str, headers: dict[str, str], *, timeout: float = 30.0) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, verify=tls.client_context()
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self._client.get(path, params=params)
        except httpx.HTTPError as exc:
            raise SourceError(f"GET {path}: {exc}") from None
        if response.status_code in (401, 403):
            raise SourceError(
                f"GET {path}: the source refused the token ({response.status_code}); it may have expired or lack "
                "read access. Nothing was written."
            )
        if response.status_code >= 400:
            raise SourceError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
        try:
            body = response.json()
        except ValueError:
            raise SourceError(f"GET {path}: the answer is not JSON") from None
        if not isinstance(body, dict):
            raise SourceError(f"GET {path}: expected a JSON object")
        return body

    def close(self) -> None:
        self._client.close()


class FileSource:
    """Saved responses: ``/schedules/P1/overrides`` is read from ``DIR/schedules/P1/overrides.json``; query
    parameters are ignored, so a saved list is one whole page."""

    def __init__(self, directory: Path) -> None:
        self._dir = directory

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        file = self._dir / (path.strip("/") + ".json")
        try:
            body = json.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SourceError(f"{file}: missing (export {path} from the source into it)") from None
        except ValueError as exc:
            raise SourceError(f"{file}: not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise SourceError(f"{file}: expected a JSON object")
        return body


@dataclass
class Report:
    """What could not be carried over, and what was carried over approximately: printed, never dropped."""

    unmapped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    def skip(self, what: str, why: str) -> None:
        self.unmapped.append(f"{what}: {why}")

    def warn(self, what: str, why: str) -> None:
        self.warnings.append(f"{what}: {why}")

    def lines(self) -> list[str]:
        out = [f"not imported: {line}" for line in self.unmapped]
        out += [f"warning: {line}" for line in self.warnings]
        out += [f"on-call difference: {line}" for line in self.differences]
        return out
