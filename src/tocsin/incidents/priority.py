"""Severity, urgency and priority vocabularies and the default mapping between them (pure)."""

from __future__ import annotations

from typing import Final

URGENCIES: Final = ("high", "low")
SEVERITIES: Final = ("SEV1", "SEV2", "SEV3", "SEV4", "SEV5")
PRIORITIES: Final = ("P1", "P2", "P3", "P4", "P5")
ALERT_SEVERITIES: Final = ("critical", "error", "warning", "info")

_SEVERITY_OF_ALERT: Final = {"critical": "SEV1", "error": "SEV2", "warning": "SEV3", "info": "SEV4"}


def incident_severity(alert_severity: str) -> str:
    return _SEVERITY_OF_ALERT.get(alert_severity, "SEV3")


def urgency_for(service_urgency: str, alert_severity: str) -> str:
    """A service's urgency is "high", "low", or "severity_based" (critical and error page at once)."""
    if service_urgency == "severity_based":
        return "high" if alert_severity in ("critical", "error") else "low"
    return service_urgency if service_urgency in URGENCIES else "high"


def default_priority(severity: str, urgency: str) -> str:
    """SEVn maps to Pn; low urgency lowers the priority one step."""
    level = SEVERITIES.index(severity) + 1 if severity in SEVERITIES else 3
    if urgency == "low":
        level = min(level + 1, 5)
    return f"P{level}"
