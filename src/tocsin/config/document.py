"""Reading and writing configuration documents (YAML, or JSON, which YAML reads too).

Validation errors name their place in the file, such as ``services[2].integrations[0].type``, so that a
mistake in a long file can be found at once.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ValidationError

from tocsin.config.schema import ConfigFile
from tocsin.core.errors import InvalidInput


class _Loader(yaml.SafeLoader):
    """YAML 1.1 reads ``9:30`` as the base-60 number 570; configuration means a time of day by it."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[01_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?)$"),
    list("-+0123456789."),
)


def parse(text: str, *, source: str = "configuration") -> ConfigFile:
    """The document as a validated ConfigFile, or InvalidInput listing every problem with its path."""
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInput(f"{source} is not valid YAML{where}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"{source} must be a mapping with users, teams, schedules, escalation_policies, services")
    try:
        return ConfigFile.model_validate(raw)
    except ValidationError as exc:
        errors = [_describe(err) for err in exc.errors()]
        raise InvalidInput(f"{source} has {len(errors)} problem(s)", errors=errors) from None


def to_data(config: ConfigFile) -> dict[str, Any]:
    data: dict[str, Any] = config.model_dump(mode="json", exclude_unset=True)
    return data


class _Dumper(yaml.SafeDumper):
    """Small mappings and lists of plain values on one line, as people write them by hand."""


def _is_leaf(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flat = all(_is_leaf(v) or (isinstance(v, list) and all(_is_leaf(x) for x in v)) for v in data.values())
    short = len(str(data)) <= 100
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flat and short)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=all(_is_leaf(v) for v in data))


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def to_yaml(config: ConfigFile) -> str:
    return yaml.dump(to_data(config), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def to_json(config: ConfigFile) -> str:
    return orjson.dumps(to_data(config), option=orjson.OPT_INDENT_2).decode() + "\n"


def path_of(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(err: Any) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        hint = f" (expected one of: {', '.join(allowed)})" if allowed else ""
        return f"{path_of(loc)}: unknown field{hint}"
    if kind == "missing":
        return f"{path_of(loc)}: required"
    message = str(err["msg"])
    message = message.removeprefix("Value error, ")
    return f"{path_of(loc)}: {message}" if loc else message


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    """The field names of the model found at ``loc`` in a ConfigFile, to suggest what a typo meant."""
    model: Any = ConfigFile
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if _is_model(model) else None
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return list(model.model_fields) if _is_model(model) else []


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model inside ``list[X] | None`` and the like."""
    if _is_model(annotation):
        return typing.cast(type[BaseModel], annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
