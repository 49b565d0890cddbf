"""The ``status_pages`` section of the configuration file: pages with their groups and components (ADR 0026).

As elsewhere in apply, pages are matched by slug, groups and components by name within their page; they are
created or updated, never deleted, and go through the same checks as the API. A component's status is not
configuration (people and maintenance move it): apply never sets it, export never writes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tocsin.config.plan import Change
from tocsin.config.schema import ConfigFile, StatusPageSpec
from tocsin.core.errors import InvalidInput, TocsinError
from tocsin.services import service as services
from tocsin.statuspages import service as statuspages
from tocsin.statuspages.models import StatusPage

PAGE_FIELDS = ("name", "visibility", "time_zone", "custom_domain", "logo_url", "brand_color", "text_color",
               "footer_links", "automation", "anyone_may_publish")  # fmt: skip


@contextmanager
def _at(path: str) -> Iterator[None]:
    try:
        yield
    except TocsinError as exc:
        raise type(exc)(f"{path}: {exc.detail}", errors=exc.errors) from None


def _page_values(page: StatusPage) -> dict[str, Any]:
    return {f: (list(page.footer_links) if f == "footer_links" else getattr(page, f)) for f in PAGE_FIELDS}


def apply_statuspages(session: Session, config: ConfigFile, *, now: datetime) -> list[Change]:
    changes: list[Change] = []
    for i, spec in enumerate(config.status_pages):
        with _at(f"status_pages[{i}]"):
            _page(session, spec, now, changes, f"status_pages[{i}]")
    return changes


def _page(session: Session, spec: StatusPageSpec, now: datetime, changes: list[Change], path: str) -> None:
    wanted = {f: getattr(spec, f) for f in PAGE_FIELDS}
    page = statuspages.page_by_slug(session, spec.slug)
    if page is None:
        page = statuspages.create_page(session, slug=spec.slug, now=now, **wanted)
        changes.append(Change("status page", spec.slug, "create"))
    else:
        before = _page_values(page)
        differ = [f for f in PAGE_FIELDS if before[f] != wanted[f]]
        if differ:
            statuspages.update_page(session, page, {f: wanted[f] for f in differ}, now=now)
            changes.append(Change("status page", spec.slug, "update", tuple(differ)))
        else:
            changes.append(Change("status page", spec.slug, "unchanged"))
    groups = {g.name: g for g in statuspages.groups(session, page)}
    for position, name in enumerate(spec.groups):
        key = f"{spec.slug}/{name}"
        if name not in groups:
            groups[name] = statuspages.add_group(session, page, name=name, position=position, now=now)
            changes.append(Change("status component group", key, "create"))
        elif groups[name].position != position:
            statuspages.update_group(session, page, groups[name], {"position": position}, now=now)
            changes.append(Change("status component group", key, "update", ("position",)))
        else:
            changes.append(Change("status component group", key, "unchanged"))
    components = {c.name: c for c in statuspages.components(session, page)}
    for position, c in enumerate(spec.components):
        key = f"{spec.slug}/{c.name}"
        with _at(f"{path}.components[{position}]"):
            if c.group is not None and c.group not in groups:
                raise InvalidInput(f"group {c.group!r} is not among the page's groups")
            group_id = groups[c.group].id if c.group is not None else None
            service_ids = [services.get_service(session, s).id for s in c.services] if c.services else []
            row = components.get(c.name)
            if row is None:
                statuspages.add_component(
                    session,
                    page,
                    name=c.name,
                    description=c.description,
                    group_id=group_id,
                    position=position,
                    services=c.services,
                    now=now,
                )
                changes.append(Change("status component", key, "create"))
                continue
            wanted_c = {"description": c.description, "group_id": group_id, "position": position}
            differ = [f for f, v in wanted_c.items() if getattr(row, f) != v]
            if sorted(row.service_ids) != sorted(service_ids):
                differ.append("services")
            if differ:
                update: dict[str, Any] = {f: wanted_c[f] for f in differ if f != "services"}
                if "services" in differ:
                    update["services"] = c.services
                statuspages.update_component(session, page, row, update, now=now)
                changes.append(Change("status component", key, "update", tuple(differ)))
            else:
                changes.append(Change("status component", key, "unchanged"))


def export_statuspages(session: Session, config: ConfigFile) -> ConfigFile:
    names = {s.id: s.name for s in services.list_services(session, include_archived=True)}
    pages: list[dict[str, Any]] = []
    for page in statuspages.list_pages(session):
        groups = statuspages.groups(session, page)
        group_names = {g.id: g.name for g in groups}
        entry: dict[str, Any] = {"slug": page.slug, **_page_values(page)}
        if entry["custom_domain"] is None:
            del entry["custom_domain"]
        if entry["logo_url"] is None:
            del entry["logo_url"]
        entry["groups"] = [g.name for g in groups]
        entry["components"] = [
            {
                "name": c.name,
                "description": c.description,
                "group": group_names.get(c.group_id) if c.group_id else None,
                "services": [names[s] for s in c.service_ids if s in names],
            }
            for c in statuspages.components(session, page)
        ]
        pages.append(entry)
    data = config.model_dump(mode="json", exclude_none=True)
    data["status_pages"] = pages
    return ConfigFile.model_validate(data)
