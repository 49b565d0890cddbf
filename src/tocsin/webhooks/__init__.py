"""Outbound webhook subscriptions: incident events sent, signed, to the URLs that asked for them (ADR 0009)."""
