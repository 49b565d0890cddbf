"""A provider for tests: records every message, answers with scripted outcomes, then "delivered".

Behavioural tests consume what they expect with ``expect`` and end with ``assert_nothing_more``: every
expected message is consumed exactly once, and anything extra fails the test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tocsin.notify.providers.base import OutboundMessage, SendResult

Predicate = Callable[[OutboundMessage], bool]


class RecordingProvider:
    def __init__(self, contact_type: str, outcomes: list[SendResult] | None = None) -> None:
        self.contact_type = contact_type
        self._outcomes = list(outcomes or [])
        self._sent: list[OutboundMessage] = []
        self._unconsumed: list[OutboundMessage] = []
        self._cond = threading.Condition()

    def send(self, message: OutboundMessage) -> SendResult:
        with self._cond:
            self._sent.append(message)
            self._unconsumed.append(message)
            result = self._outcomes.pop(0) if self._outcomes else SendResult("delivered")
            self._cond.notify_all()
        if result.outcome == "delivered" and result.provider_ref is None:
            return SendResult("delivered", provider_ref=f"fake-{message.message_id}", status_code=result.status_code)
        return result

    def script(self, *outcomes: SendResult) -> None:
        """Queue more outcomes, answered before the default "delivered"."""
        with self._cond:
            self._outcomes.extend(outcomes)

    @property
    def sent(self) -> list[OutboundMessage]:
        """Every message ever sent, consumed or not, in order."""
        with self._cond:
            return list(self._sent)

    def expect(self, n: int = 1, predicate: Predicate | None = None, *, timeout: float = 0.0) -> list[OutboundMessage]:
        """Consume ``n`` not yet consumed messages matching ``predicate``, waiting up to ``timeout`` seconds
        for them; fail if fewer arrive."""
        match = predicate or (lambda _m: True)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self._unconsumed if match(m)]
                if len(found) >= n:
                    taken = found[:n]
                    for m in taken:
                        self._unconsumed.remove(m)
                    return taken
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{self.contact_type}: expected {n} matching message(s), got {len(found)}; "
                        f"unconsumed: {self._describe(self._unconsumed)}"
                    )
                self._cond.wait(left)

    def assert_nothing_more(self, *, settle: float = 0.0) -> None:
        """Fail if a message was sent that no ``expect`` consumed (optionally after waiting ``settle`` s)."""
        if settle > 0:
            time.sleep(settle)
        with self._cond:
            if self._unconsumed:
                raise AssertionError(
                    f"{self.contact_type}: {len(self._unconsumed)} unexpected message(s): "
                    f"{self._describe(self._unconsumed)}"
                )

    @staticmethod
    def _describe(messages: list[OutboundMessage]) -> str:
        if not messages:
            return "none"
        parts = []
        for m in messages[:10]:
            inc = f" incident #{m.incident.number}" if m.incident else ""
            parts.append(f"[{m.kind} to {m.address}{inc} id={m.message_id}]")
        more = f" and {len(messages) - 10} more" if len(messages) > 10 else ""
        return ", ".join(parts) + more
