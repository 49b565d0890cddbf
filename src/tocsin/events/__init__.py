"""Incident events: one row per incident change, written in the transaction of the change, delivered in order to
the consumers that registered for them (ADR 0009)."""
