"""Who may do what to which team's objects (ADR 0016): the one place the console, the API and the feeds ask."""
