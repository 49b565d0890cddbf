"""The local mail outbox: outgoing email kept in the database when no mail server is configured (ADR 0013)."""
