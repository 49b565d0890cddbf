"""Playbooks, workflows and remediation actions (ADR 0027)."""
