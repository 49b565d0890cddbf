"""Learning from incidents: postmortems, action items, problems and recurrence (ADR 0029)."""
