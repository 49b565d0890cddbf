"""Fault-injection tools for the reliability tests: a recording webhook sink, worker processes that can be
killed, paused and restarted, and helpers that seed paging setups and read back what the engine did."""
