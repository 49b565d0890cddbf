"""``tocsin`` on-call commands."""

from __future__ import annotations
