"""Analytics: response metrics, service reliability and on-call health, read from every domain (ADR 0031)."""
