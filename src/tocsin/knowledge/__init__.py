"""The knowledge base (ADR 0030): runbooks, search across what Tocsin knows, similar past incidents, catch-up
summaries and optional model assistance."""
