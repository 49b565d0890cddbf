"""/api/v1/contact-methods/{id}/verify: send a code to a phone number, then confirm it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.deps import PrincipalDep, RuntimeDep
from tocsin.api.problems import PROBLEM_RESPONSES, RATE_LIMITED
from tocsin.core.errors import Forbidden, InvalidInput
from tocsin.notify import contacts, verification
from tocsin.notify.send_limits import SendLimits

router = APIRouter(prefix="/api/v1", tags=["people"], responses=PROBLEM_RESPONSES)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=4, max_length=12, description="the code received by text message")


def _own_or_admin(principal: Any, user_id: int) -> None:
    if principal.user.id != user_id and not principal.is_admin:
        raise Forbidden("you can only verify your own contact methods")


@router.post(
    "/contact-methods/{cm_id}/verify",
    status_code=202,
    summary="Send a verification code by SMS",
    responses=RATE_LIMITED,
)
def send_code(cm_id: int, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        owner = contacts.contact_method_owner(session, cm_id)
        _own_or_admin(principal, owner)
        n = verification.start(session, cm_id, now=runtime.clock.now(), limits=SendLimits.of(runtime.settings))
        result = {"contact_method_id": cm_id, "notification_id": n.id, "expires_in": 600}
    runtime.wakeup.notify()
    return result


@router.post("/contact-methods/{cm_id}/verify/confirm", summary="Confirm a phone number with its code")
def confirm_code(cm_id: int, body: CodeIn, runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    with runtime.db.unit_of_work() as session:
        owner = contacts.contact_method_owner(session, cm_id)
        _own_or_admin(principal, owner)
        problem = verification.confirm(session, cm_id, body.code, now=runtime.clock.now())
    if problem is not None:
        raise InvalidInput(problem)
    return {"contact_method_id": cm_id, "verified": True}
