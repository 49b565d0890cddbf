"""/api/v1/services and /api/v1/integrations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")
