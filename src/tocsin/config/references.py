"""Problems a file has only in the light of what is stored: names it refers to, keys it repeats or takes over.

Found all at once, before anything is written, each with its path in the file.
"""

from __future__ import annotations

from collections.abc import Iterable

from tocsin.config.current import Current
from tocsin.config.schema import ConfigFile


def _duplicates(items: Iterable[tuple[str, str]], what: str) -> list[str]:
    seen: dict[str, str] = {}
    problems = []
    for path, key in items:
        if key in seen:
            problems.append(f"{path}: {what} {key!r} is already defined at {seen[key]}")
        else:
            seen[key] = path
    return problems


def problems(config: ConfigFile, current: Current) -> list[str]:
    out: list[str] = []
    out += _duplicates(((f"users[{i}]", u.email) for i, u in enumerate(config.users)), "user")
    out += _duplicates(((f"teams[{i}]", t.name) for i, t in enumerate(config.teams)), "team")
    out += _duplicates(((f"schedules[{i}]", s.name) for i, s in enumerate(config.schedules)), "schedule")
    out += _duplicates(
        ((f"escalation_policies[{i}]", p.name) for i, p in enumerate(config.escalation_policies)), "policy"
    )
    out += _duplicates(((f"services[{i}]", s.name) for i, s in enumerate(config.services)), "service")

    users = {u.email for u in config.users} | set(current.users)
    teams = {t.name for t in config.teams} | set(current.teams)
    schedules = {s.name for s in config.schedules} | set(current.schedules)
    policies = {p.name for p in config.escalation_policies} | set(current.policies)

    def user(path: str, email: str | None) -> None:
        if email is not None and email not in users:
            out.append(f"{path}: unknown user {email} (neither in this file's users nor in Tocsin)")

    def named(path: str, name: str | None, known: set[str], what: str) -> None:
        if name is not None and name not in known:
            out.append(f"{path}: unknown {what} {name!r} (neither in this file nor in Tocsin)")

    for i, u in enumerate(config.users):
        path = f"users[{i}]"
        methods = u.contact_methods or []
        out += _duplicates(
            ((f"{path}.contact_methods[{j}]", cm.name) for j, cm in enumerate(methods)), "contact method"
        )
        stored = current.users.get(u.email)
        known = {cm.name for cm in methods} | {cm.name for cm in ((stored.contact_methods if stored else None) or [])}
        for j, rule in enumerate(u.notification_rules or []):
            if rule.contact not in known:
                out.append(
                    f"{path}.notification_rules[{j}].contact: {u.email} has no contact method named {rule.contact!r}"
                )

    for i, t in enumerate(config.teams):
        for j, email in enumerate(t.members or []):
            user(f"teams[{i}].members[{j}]", email)
        for j, email in enumerate(t.managers or []):
            user(f"teams[{i}].managers[{j}]", email)

    for i, s in enumerate(config.schedules):
        path = f"schedules[{i}]"
        named(f"{path}.team", s.team, teams, "team")
        for j, layer in enumerate(s.layers or []):
            for k, email in enumerate(layer.users):
                user(f"{path}.layers[{j}].users[{k}]", email)
        for j, o in enumerate(s.overrides or []):
            user(f"{path}.overrides[{j}].user", o.user)
            user(f"{path}.overrides[{j}].replaces", o.replaces)

    for i, p in enumerate(config.escalation_policies):
        path = f"escalation_policies[{i}]"
        named(f"{path}.team", p.team, teams, "team")
        if p.steps is None and p.name not in current.policies:
            out.append(f"{path}.steps: required to create the policy {p.name!r}")
        for j, step in enumerate(p.steps or []):
            for k, target in enumerate(step.targets):
                where = f"{path}.steps[{j}].targets[{k}].{target.kind}"
                if target.kind == "user":
                    user(where, target.user)
                else:
                    named(where, target.ref, schedules if target.kind == "schedule" else teams, target.kind)

    keys: list[tuple[str, str]] = []
    for i, svc in enumerate(config.services):
        path = f"services[{i}]"
        named(f"{path}.team", svc.team, teams, "team")
        named(f"{path}.escalation_policy", svc.escalation_policy, policies, "escalation policy")
        if svc.ack_timeout is not None and svc.ack_timeout < 1:
            out.append(f"{path}.ack_timeout: must be at least 1s (or null for none)")
        integrations = svc.integrations or []
        out += _duplicates(((f"{path}.integrations[{j}]", ig.name) for j, ig in enumerate(integrations)), "integration")
        for j, ig in enumerate(integrations):
            if ig.key is None:
                continue
            keys.append((f"{path}.integrations[{j}].key", ig.key))
            holder = current.integration_with_key(ig.key)
            if holder is not None and holder != (svc.name, ig.name):
                out.append(
                    f"{path}.integrations[{j}].key: already the key of integration {holder[1]!r} of service "
                    f"{holder[0]!r}"
                )
    out += _duplicates(keys, "integration key")
    return out
