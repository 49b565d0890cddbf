"""``tocsin`` apply, export and demo: configuration as code."""

from __future__ import annotations
