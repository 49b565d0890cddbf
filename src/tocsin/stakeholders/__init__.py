"""Stakeholder updates inside the organisation (ADR 0028)."""
