from __future__ import annotations

from fastapi import APIRouter

from tocsin.api import incidents

api_router = APIRouter()
api_router.include_router(incidents.router)
