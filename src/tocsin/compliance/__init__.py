"""Regulatory reporting clocks (ADR 0032)."""
