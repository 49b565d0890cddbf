"""Regimes as data (ADR 0032): the ones shipped, and the checks every edit goes through (API, console, ``tocsin
apply``): durations, anchors and reminder points must parse, anchors must name a moment of the incident or another
deadline of the same regime, and no deadline may wait on itself (a cycle). A refusal names its place."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from tocsin.compliance import durations
from tocsin.core.errors import InvalidInput

# The moments of an incident a deadline may start from (on its classification; detection defaults to the incident's).
MOMENTS: Final = ("detection", "awareness", "classification", "determination")
SUBMISSION: Final = "submission:"
FILLS: Final = ("summary", "times", "impact", "services", "actions", "contact", "")
KEY: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
PERCENT: Final = re.compile(r"^(\d{1,2})%$")
OVERDUE: Final = "overdue"


@dataclass(slots=True)
class RegimeSpec:
    key: str
    name: str
    description: str = ""
    timezone: str = "UTC"
    holidays: list[str] = field(default_factory=list)
    deadlines: list[dict[str, Any]] = field(default_factory=list)
    reminders: list[str] = field(default_factory=lambda: ["50%", "PT1H", OVERDUE])
    contacts: list[str] = field(default_factory=list)
    contact_teams: list[str] = field(default_factory=list)
    headings: list[dict[str, Any]] = field(default_factory=list)
    enabled: bool = True


def _h(title: str, fill: str = "") -> dict[str, str]:
    return {"title": title, "fill": fill}


def _d(key: str, title: str, *rules: tuple[str, str]) -> dict[str, Any]:
    return {"key": key, "title": title, "rules": [{"after": a, "anchor": b} for a, b in rules]}


# The regimes shipped; admins edit them (the anchor of each deadline too, since readings of the texts differ).
DEFAULTS: Final[tuple[RegimeSpec, ...]] = (
    RegimeSpec(
        key="dora",
        name="EU DORA major ICT-related incident",
        description="Regulation (EU) 2022/2554, Art. 19; reporting to the competent authority.",
        timezone="Europe/Brussels",
        deadlines=[
            _d("initial", "Initial notification", ("PT4H", "classification"), ("PT24H", "detection")),
            _d("intermediate", "Intermediate report", ("PT72H", "submission:initial")),
            _d("final", "Final report", ("P1M", "submission:intermediate")),
        ],
        headings=[
            _h("General information about the financial entity", "contact"),
            _h("Incident description and classification", "summary"),
            _h("Timeline (detection, classification, occurrence)", "times"),
            _h("Impact: clients, transactions, services affected", "impact"),
            _h("Affected services and systems", "services"),
            _h("Actions taken and recovery", "actions"),
            _h("Root cause (intermediate and final reports)"),
        ],
    ),
    RegimeSpec(
        key="nis2",
        name="NIS2 significant incident",
        description="Directive (EU) 2022/2555, Art. 23; reporting to the CSIRT or competent authority.",
        timezone="Europe/Brussels",
        deadlines=[
            _d("early-warning", "Early warning", ("PT24H", "awareness")),
            _d("notification", "Incident notification", ("PT72H", "awareness")),
            _d("final", "Final report", ("P1M", "submission:notification")),
        ],
        headings=[
            _h("Contact details", "contact"),
            _h("Description of the incident, severity and impact", "summary"),
            _h("Timeline", "times"),
            _h("Impact, including cross-border impact", "impact"),
            _h("Affected services", "services"),
            _h("Suspected cause (unlawful or malicious act?)"),
            _h("Mitigation measures applied and ongoing", "actions"),
        ],
    ),
    RegimeSpec(
        key="gdpr-33",
        name="GDPR Art. 33 personal data breach",
        description="Regulation (EU) 2016/679, Art. 33; notification to the supervisory authority.",
        timezone="Europe/Brussels",
        deadlines=[_d("notification", "Notification to the supervisory authority", ("PT72H", "awareness"))],
        headings=[
            _h("Nature of the breach, categories and numbers of data subjects and records", "summary"),
            _h("Timeline", "times"),
            _h("Contact point (data protection officer)", "contact"),
            _h("Likely consequences of the breach", "impact"),
            _h("Measures taken or proposed", "actions"),
        ],
    ),
    RegimeSpec(
        key="sec-8k-105",
        name="SEC Form 8-K Item 1.05 material cybersecurity incident",
        description="Filed within four business days after the registrant determines the incident is material.",
        timezone="America/New_York",
        deadlines=[_d("form-8k", "Form 8-K Item 1.05", ("P4BD", "determination"))],
        reminders=["50%", "PT24H", "PT4H", OVERDUE],
        headings=[
            _h("Material aspects of the nature, scope and timing of the incident", "summary"),
            _h("Timeline", "times"),
            _h("Material impact or reasonably likely material impact", "impact"),
            _h("Affected systems and services", "services"),
        ],
    ),
    RegimeSpec(
        key="cra-exploited",
        name="EU Cyber Resilience Act actively exploited vulnerability",
        description="Regulation (EU) 2024/2847, Art. 14; notification to the CSIRT coordinator and ENISA.",
        timezone="Europe/Brussels",
        deadlines=[
            _d("early-warning", "Early warning", ("PT24H", "awareness")),
            _d("notification", "Vulnerability notification", ("PT72H", "awareness")),
            _d("final", "Final report", ("P14D", "awareness")),
        ],
        headings=[
            _h("Product concerned and member states affected", "services"),
            _h("Nature of the vulnerability and of the exploit", "summary"),
            _h("Timeline", "times"),
            _h("Corrective or mitigating measures taken and available to users", "actions"),
            _h("Severity and impact", "impact"),
        ],
    ),
)


@dataclass(frozen=True, slots=True)
class Rule:
    after: durations.Duration
    anchor: str


@dataclass(frozen=True, slots=True)
class Deadline:
    key: str
    title: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Point:
    text: str
    percent: int | None = None
    before: durations.Duration | None = None


def _fail(path: str, message: str) -> InvalidInput:
    return InvalidInput(f"{path}: {message}", errors=[f"{path}: {message}"])


def read_deadlines(raw: Sequence[Any], path: str = "deadlines") -> list[Deadline]:
    """The deadlines of a regime, checked; 422 naming the place of the first mistake."""
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "a regime needs at least one deadline")
    if len(raw) > 20:
        raise _fail(path, "at most 20 deadlines")
    read: list[Deadline] = []
    keys: set[str] = set()
    for i, item in enumerate(raw):
        where = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise _fail(where, "an object with key, title and rules")
        key = str(item.get("key", "")).strip()
        if not KEY.match(key):
            raise _fail(f"{where}.key", f"{key!r}: lower-case letters, digits, - and _ (at most 64)")
        if key in keys:
            raise _fail(f"{where}.key", f"{key!r} is used twice")
        keys.add(key)
        title = str(item.get("title") or key).strip()[:200]
        rules = item.get("rules")
        if not isinstance(rules, list) or not rules or len(rules) > 5:
            raise _fail(f"{where}.rules", "one to five rules {after, anchor}; the earliest deadline wins")
        parsed = []
        for j, rule in enumerate(rules):
            at = f"{where}.rules[{j}]"
            if not isinstance(rule, dict):
                raise _fail(at, "an object {after, anchor}")
            try:
                after = durations.parse(str(rule.get("after", "")))
            except durations.DurationError as exc:
                raise _fail(f"{at}.after", str(exc)) from None
            anchor = str(rule.get("anchor", "")).strip()
            if anchor not in MOMENTS and not anchor.startswith(SUBMISSION):
                raise _fail(
                    f"{at}.anchor",
                    f"{anchor!r}: one of {', '.join(MOMENTS)}, or submission:<key of another deadline>",
                )
            parsed.append(Rule(after=after, anchor=anchor))
        read.append(Deadline(key=key, title=title, rules=tuple(parsed)))
    for i, deadline in enumerate(read):
        for j, rule in enumerate(deadline.rules):
            if rule.anchor.startswith(SUBMISSION) and rule.anchor[len(SUBMISSION) :] not in keys:
                raise _fail(f"{path}[{i}].rules[{j}].anchor", f"{rule.anchor!r} names no deadline of this regime")
    _refuse_cycles(read, path)
    return read


def _refuse_cycles(read: list[Deadline], path: str) -> None:
    waits = {d.key: [r.anchor[len(SUBMISSION) :] for r in d.rules if r.anchor.startswith(SUBMISSION)] for d in read}
    index = {d.key: i for i, d in enumerate(read)}
    done: set[str] = set()

    def visit(key: str, trail: list[str]) -> None:
        if key in trail:
            loop = " → ".join([*trail[trail.index(key) :], key])
            raise _fail(f"{path}[{index[trail[-1]]}].rules", f"the deadlines wait on each other in a cycle: {loop}")
        if key in done:
            return
        for other in waits[key]:
            visit(other, [*trail, key])
        done.add(key)

    for deadline in read:
        visit(deadline.key, [])


def read_points(raw: Sequence[Any], path: str = "reminders") -> list[Point]:
    if not isinstance(raw, list) or len(raw) > 10:
        raise _fail(path, "a list of at most 10 points")
    points = []
    for i, item in enumerate(raw):
        text = str(item).strip()
        percent = PERCENT.match(text)
        if text.lower() == OVERDUE:
            points.append(Point(text=OVERDUE))
        elif percent:
            value = int(percent.group(1))
            if not 1 <= value <= 99:
                raise _fail(f"{path}[{i}]", f"{text!r}: a share of the window from 1% to 99%")
            points.append(Point(text=text, percent=value))
        else:
            try:
                before = durations.parse(text)
            except durations.DurationError as exc:
                raise _fail(f"{path}[{i}]", f"{exc} (or 50%, or overdue)") from None
            if before.months or before.business_days:
                raise _fail(f"{path}[{i}]", f"{text!r}: a point before the deadline is in hours, minutes or days")
            points.append(Point(text=before.text, before=before))
    return points


def read_holidays(raw: Sequence[Any], path: str = "holidays") -> list[date]:
    if not isinstance(raw, list) or len(raw) > 1000:
        raise _fail(path, "a list of at most 1000 dates")
    days = []
    for i, item in enumerate(raw):
        try:
            days.append(date.fromisoformat(str(item).strip()))
        except ValueError:
            raise _fail(f"{path}[{i}]", f"{item!r} is not a date (YYYY-MM-DD)") from None
    return sorted(set(days))


def read_headings(raw: Sequence[Any], path: str = "headings") -> list[dict[str, str]]:
    if not isinstance(raw, list) or len(raw) > 50:
        raise _fail(path, "a list of at most 50 headings")
    out = []
    for i, item in enumerate(raw):
        entry = item if isinstance(item, dict) else {"title": item}
        title = str(entry.get("title", "")).strip()
        fill = str(entry.get("fill", "") or "").strip()
        if not title or len(title) > 300:
            raise _fail(f"{path}[{i}].title", "1 to 300 characters")
        if fill not in FILLS:
            raise _fail(f"{path}[{i}].fill", f"{fill!r}: one of {', '.join(f for f in FILLS if f)}, or empty")
        out.append({"title": title, "fill": fill})
    return out
