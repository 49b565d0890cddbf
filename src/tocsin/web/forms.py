"""Administration forms: read a post without touching the database, validate it through the API's own schemas,
and carry each error back beside its field, with what was typed, in the API's words.

Form fields are named after the schema path they fill (``name``, ``layers.0.start``), so a Pydantic error location
is also the name of the field to mark.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData

from tocsin.core.errors import TocsinError
from tocsin.core.numbers import is_ascii_digits

T = TypeVar("T")
_LIST_SEPARATORS = re.compile(r"[,\n]+")


class FormInvalid(Exception):
    """A form that cannot be applied: its status, the message as the API gives it, and errors by field."""

    def __init__(self, status: int, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = dict(errors or {})


def field_path(loc: Iterable[object]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validate(schema: TypeAdapter[T], data: object, *, prefix: tuple[str, ...] = ()) -> T:
    """The schema's value, or FormInvalid with the same 422 message the API answers for the same input.

    ``prefix`` places a part of a form under its name (a list of layers validated alone, on a schedule's page)."""
    try:
        return schema.validate_python(data)
    except ValidationError as exc:
        pairs = [(field_path((*prefix, *e["loc"])), e["msg"]) for e in exc.errors()]
        errors: dict[str, str] = {}
        for path, message in pairs:
            errors.setdefault(path, message)
        raise FormInvalid(422, "; ".join(f"{path}: {message}" for path, message in pairs), errors) from None


def refused(exc: TocsinError, fields: Iterable[str] = ()) -> FormInvalid:
    """A service's refusal; pinned to a field when its message starts by naming one ("ack_timeout: …")."""
    errors = {name: exc.detail.removeprefix(f"{name}: ") for name in fields if exc.detail.startswith(f"{name}: ")}
    return FormInvalid(exc.status_code, exc.detail, errors)


def on_field(name: str, change: Callable[[], object]) -> None:
    """Run one change; its refusal is that field's error, so that it shows beside the field it is about."""
    try:
        change()
    except TocsinError as exc:
        raise FormInvalid(exc.status_code, f"{name}: {exc.detail}", {name: exc.detail}) from None


def invalid(exc: TocsinError | FormInvalid, fields: Iterable[str] = ()) -> FormInvalid:
    return exc if isinstance(exc, FormInvalid) else refused(exc, fields)


def pinned(exc: TocsinError | FormInvalid, clues: Iterable[tuple[str, str]], fields: Iterable[str] = ()) -> FormInvalid:
    """As ``invalid``, and a service's refusal that names no field is shown beside the first field whose clue (a
    word of the message, in the order given) it contains."""
    failed = invalid(exc, fields)
    if not failed.errors and not isinstance(exc, FormInvalid):
        for word, field in clues:
            if word in exc.detail:
                failed.errors[field] = exc.detail
                break
    return failed


def values_of(form: FormData) -> dict[str, str | list[str]]:
    """What was typed, to fill the form again: one string per field, a list where several were chosen."""
    out: dict[str, str | list[str]] = {}
    for key in form:
        if key == "csrf":
            continue
        found = [str(v) for v in form.getlist(key)]
        out[key] = found if len(found) > 1 else found[0]
    return out


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    """A text field left empty means "not given", as a key absent from a JSON body does."""
    return text(form, name) or None


def json_field(form: FormData, name: str, empty: object) -> object:
    """A field holding JSON, as the API's body would carry it; refused beside the field when it does not parse."""
    raw = text(form, name)
    if not raw:
        return empty
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise FormInvalid(422, f"{name}: not valid JSON ({exc})", {name: f"not valid JSON ({exc})"}) from None


def listed(form: FormData, name: str) -> list[str]:
    """A text field holding a list, one item per comma or line, blanks dropped."""
    return [part.strip() for part in _LIST_SEPARATORS.split(text(form, name)) if part.strip()]


def many(form: FormData, name: str) -> list[str]:
    return [str(v) for v in form.getlist(name) if str(v).strip()]


def indexes(names: Iterable[str], prefix: str) -> list[int]:
    """The row numbers present in a repeated group of fields (``steps.0.delay``, ``steps.1.delay`` → [0, 1])."""
    found = set()
    for key in names:
        head, _, rest = key.removeprefix(prefix + ".").partition(".")
        if key.startswith(prefix + ".") and is_ascii_digits(head) and rest:
            found.add(int(head))
    return sorted(found)


def as_form_values(data: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """Stored values as a form shows them (None as empty, booleans as checkbox values)."""
    out: dict[str, str | list[str]] = {}
    for key, value in data.items():
        if value is None or value is False:
            continue
        if value is True:
            out[key] = "on"
        elif isinstance(value, list | tuple):
            out[key] = [str(v) for v in value]
        else:
            out[key] = str(value)
    return out
