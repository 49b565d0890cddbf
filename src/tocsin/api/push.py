"""/api/v1/push/public-key: the installation's VAPID public key, the ``applicationServerKey`` a browser subscribes
with. The subscription itself is added like any contact method (``POST /api/v1/users/{ref}/contact-methods`` with
type ``webpush``, the endpoint as address and ``{"p256dh": …, "auth": …}`` as secret)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from tocsin.api.deps import PrincipalDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES
from tocsin.notify import push_keys

router = APIRouter(prefix="/api/v1", tags=["people"], responses=PROBLEM_RESPONSES)


class PushKeyOut(BaseModel):
    public_key: str


@router.get("/push/public-key", response_model=PushKeyOut, summary="The VAPID public key browsers subscribe with")
def public_key(runtime: RuntimeDep, _: PrincipalDep) -> PushKeyOut:
    with runtime.db.unit_of_work() as session:
        return PushKeyOut(public_key=push_keys.vapid_keys(session).public_key)
