"""The SCIM 2.0 subset identity providers use to deactivate people (RFC 7643, 7644): the User resource's shape,
``userName eq "..."`` filters and the PatchOp that sets ``active`` (ADR 0037). Pure: no database."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tocsin.core.errors import TocsinError
from tocsin.users.models import User

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
MEDIA_TYPE = "application/scim+json"

_FILTER = re.compile(r'^\s*userName\s+eq\s+"((?:[^"\\]|\\.){1,320})"\s*$', re.IGNORECASE)


class ScimError(TocsinError):
    """Answered in SCIM's error shape; ``scim_type`` is the RFC 7644 ``scimType`` keyword (400s only)."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status_code = status
        self.scim_type = scim_type

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status_code), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


def _time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def user_resource(user: User, *, base_url: str) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "id": str(user.id),
        "userName": user.email,
        "name": {"formatted": user.name},
        "displayName": user.name,
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "active": user.deactivated_at is None,
        "meta": {
            "resourceType": "User",
            "created": _time(user.created_at),
            "lastModified": _time(user.deactivated_at or user.created_at),
            "location": f"{base_url}/scim/v2/Users/{user.id}",
        },
    }


def list_response(resources: list[dict[str, Any]], *, total: int, start_index: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def user_name_filter(text: str) -> str:
    """The user name a ``userName eq "..."`` filter asks for; ScimError(400, invalidFilter) for any other."""
    match = _FILTER.match(text)
    if match is None:
        raise ScimError(400, 'only the filter userName eq "<email>" is supported', "invalidFilter")
    return re.sub(r"\\(.)", r"\1", match.group(1))


def _active(value: object) -> bool:
    if isinstance(value, bool):
        return value
    # Some providers send the boolean as a string ("False").
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ScimError(400, "active must be true or false", "invalidValue")


def active_from_patch(body: object) -> bool:
    """The ``active`` value a PatchOp sets: ``{"op": "replace", "path": "active", "value": false}`` or
    ``{"op": "replace", "value": {"active": false}}``. Anything else is refused (400): only ``active`` changes."""
    if not isinstance(body, dict):
        raise ScimError(400, "the body must be a SCIM PatchOp object", "invalidSyntax")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or PATCH_SCHEMA not in schemas):
        raise ScimError(400, f"schemas must include {PATCH_SCHEMA}", "invalidSyntax")
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations or len(operations) > 100:
        raise ScimError(400, "Operations must be a list of 1 to 100 operations", "invalidSyntax")
    active: bool | None = None
    for operation in operations:
        if not isinstance(operation, dict):
            raise ScimError(400, "each operation must be an object", "invalidSyntax")
        op = operation.get("op")
        if not isinstance(op, str) or op.lower() not in ("replace", "add"):
            raise ScimError(400, "only the replace operation is supported (on active)", "invalidSyntax")
        path = operation.get("path")
        if "value" not in operation:
            raise ScimError(400, "the operation has no value", "invalidValue")
        value = operation["value"]
        if path is None:
            if not isinstance(value, dict) or set(value) != {"active"}:
                raise ScimError(400, "only active can be changed", "invalidPath")
            active = _active(value["active"])
        elif isinstance(path, str) and path.strip().lower() in ("active", f"{USER_SCHEMA.lower()}:active"):
            active = _active(value)
        else:
            raise ScimError(400, "only the path active can be changed", "invalidPath")
    assert active is not None
    return active
