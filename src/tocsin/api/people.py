"""/api/v1/users, /api/v1/teams and /api/v1/tokens."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
