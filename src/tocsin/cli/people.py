"""``tocsin`` user and token commands."""

from __future__ import annotations
