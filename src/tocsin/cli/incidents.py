"""``tocsin`` incident and event commands."""

from __future__ import annotations
