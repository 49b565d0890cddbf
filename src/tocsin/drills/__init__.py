"""Drills: a scenario's event through the real path, its incident flagged as a drill, and the report (ADR 0025)."""
