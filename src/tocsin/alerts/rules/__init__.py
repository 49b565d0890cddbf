"""Routing and noise-reduction rules: pure code, compiled once and evaluated in memory on the ingest path."""
