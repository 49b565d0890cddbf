"""The configuration file: what ``tocsin apply`` reads and ``tocsin export`` writes.

Every model forbids unknown fields, so a typo is an error naming its place in the file instead of a setting
silently ignored. A field left out of a user, team, schedule, policy or service is not managed: apply leaves its
current value alone (and uses the default when it creates the object). Layers, steps, members and notification
rules are managed as a whole list once given.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from tocsin.core.errors import InvalidInput
from tocsin.notify.contacts import check_contact_address
from tocsin.notify.models import CONTACT_TYPES
from tocsin.oncall.durations import format_duration, parse_duration
from tocsin.oncall.service import ROTATIONS
from tocsin.response.skills import MAX_SKILLS, clean_skill
from tocsin.services.models import INTEGRATION_TYPES, SECRET_SIGNED_TYPES
from tocsin.services.service import SERVICE_URGENCIES
from tocsin.users.models import ROLES
from tocsin.users.service import validate_email

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return check


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("must be a duration such as 30s, 5m, 1h30m or a number of seconds")
    return int(parse_duration(value).total_seconds())


def _format_seconds(value: int) -> str:
    return format_duration(timedelta(seconds=value))


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as Europe/Berlin)") from None
    return value


def _email(value: str) -> str:
    try:
        return validate_email(value)
    except InvalidInput as exc:
        raise ValueError(exc.detail) from None


def _clock(value: Any) -> str:
    match = _CLOCK.match(str(value).strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"not a time of day: {value!r} (use HH:MM)")
    return f"{int(match[1]):02d}:{match[2]}"


def weekday_number(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 6:
        return value
    text = str(value).strip().lower()
    for number, name in enumerate(WEEKDAYS):
        if len(text) >= 3 and name.startswith(text):
            return number
    raise ValueError(f"not a weekday: {value!r} (use monday … sunday, or 0 = Monday … 6 = Sunday)")


def _key(value: str) -> str:
    if not _KEY.match(value):
        raise ValueError("an integration key is 16 to 64 letters, digits, '-' or '_'")
    return value


def _when(value: Any) -> date | datetime:
    """YAML gives dates and datetimes as objects; JSON and quoted YAML give ISO strings."""
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"not a date or date and time: {value!r} (use 2026-11-02 or 2026-11-02T09:00:00+01:00)"
        ) from None


def _when_json(value: date | datetime) -> str:
    return value.isoformat()


Seconds = Annotated[int, BeforeValidator(_seconds), PlainSerializer(_format_seconds, return_type=str)]
TimeZone = Annotated[str, AfterValidator(_zone)]
Email = Annotated[str, AfterValidator(_email)]
ClockTime = Annotated[str, BeforeValidator(_clock)]
Weekday = Annotated[int, BeforeValidator(weekday_number), PlainSerializer(lambda d: WEEKDAYS[d][:3], return_type=str)]
When = Annotated[date | datetime, BeforeValidator(_when), PlainSerializer(_when_json, return_type=str)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


def _skill(value: str) -> str:
    try:
        return clean_skill(value)
    except InvalidInput as exc:
        raise ValueError(exc.detail) from None


Skill = Annotated[str, AfterValidator(_skill)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactMethodSpec(Spec):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    type: Annotated[str, AfterValidator(one_of(CONTACT_TYPES))]
    address: Annotated[str, Field(min_length=1, max_length=2048)]

    @model_validator(mode="after")
    def _address_fits_type(self) -> ContactMethodSpec:
        try:
            # Stored form (phone numbers in E.164), so that a re-apply of the same number reads as unchanged.
            self.address = check_contact_address(self.type, self.address)
        except InvalidInput as exc:
            raise ValueError(exc.detail) from None
        return self


class RuleSpec(Spec):
    urgency: Annotated[str, AfterValidator(one_of(("high", "low")))]
    contact: Annotated[str, Field(min_length=1, description="name of one of the user's contact methods")]
    delay: Seconds = 0


class UserSpec(Spec):
    email: Email
    name: Name | None = None
    timezone: TimeZone | None = None
    role: Annotated[str, AfterValidator(one_of(ROLES))] | None = None
    contact_methods: list[ContactMethodSpec] | None = None
    notification_rules: list[RuleSpec] | None = None
    skills: list[Skill] | None = Field(default=None, max_length=MAX_SKILLS)


class TeamSpec(Spec):
    name: Name
    description: str | None = None
    members: list[Email] | None = None
    managers: list[Email] | None = None


class RestrictionSpec(Spec):
    days: list[Weekday] = Field(default_factory=lambda: list(range(7)), min_length=1)
    start: ClockTime
    end: ClockTime


class LayerSpec(Spec):
    name: str = ""
    rotation: Annotated[str, AfterValidator(one_of(ROTATIONS))]
    start: When
    handoff: str | None = Field(default=None, description='"monday 09:00" or "09:00", in the schedule\'s zone')
    users: list[Email] = Field(min_length=1)
    shift_length: Seconds | None = None
    restrictions: list[RestrictionSpec] = []
    end: When | None = None

    @model_validator(mode="after")
    def _consistent(self) -> LayerSpec:
        if self.rotation in ("hourly", "custom") and not self.shift_length:
            raise ValueError(f"a {self.rotation} rotation needs a shift_length")
        if self.handoff is not None:
            if isinstance(self.start, datetime):
                raise ValueError("give either a start date with a handoff, or a start date and time without one")
            parse_handoff(self.handoff)
        return self


def parse_handoff(text: str) -> tuple[int | None, str]:
    """``"monday 09:00"`` → (0, "09:00"); ``"09:00"`` → (None, "09:00")."""
    parts = text.split()
    try:
        if len(parts) == 1:
            return None, _clock(parts[0])
        if len(parts) == 2:
            return weekday_number(parts[0]), _clock(parts[1])
    except ValueError as exc:
        raise ValueError(f"handoff: {exc}") from None
    raise ValueError(f'handoff: use "monday 09:00" or "09:00", not {text!r}')


class OverrideSpec(Spec):
    user: Email
    start: When
    end: When
    replaces: Email | None = None


class ScheduleSpec(Spec):
    name: Name
    timezone: TimeZone | None = None
    description: str | None = None
    team: str | None = None
    layers: list[LayerSpec] | None = None
    overrides: list[OverrideSpec] | None = None


class TargetSpec(Spec):
    user: Email | None = None
    schedule: str | None = None
    team: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TargetSpec:
        given = [k for k in ("user", "schedule", "team") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a target is exactly one of {user: EMAIL}, {schedule: NAME} or {team: NAME}")
        return self

    @property
    def kind(self) -> str:
        return "user" if self.user is not None else "schedule" if self.schedule is not None else "team"

    @property
    def ref(self) -> str:
        return str(self.user or self.schedule or self.team)


class StepSpec(Spec):
    targets: list[TargetSpec] = Field(min_length=1)
    delay: Seconds = 0


class PolicySpec(Spec):
    name: Name
    description: str | None = None
    team: str | None = None
    repeat: Annotated[int, Field(ge=0, le=9)] | None = None
    steps: Annotated[list[StepSpec], Field(min_length=1)] | None = None


class HeartbeatSpec(Spec):
    """How often a heartbeat integration's job pings, and how late a ping may be before it is an incident."""

    period: Annotated[Seconds, Field(ge=60, le=366 * 86400)]
    grace: Annotated[Seconds, Field(ge=0, le=366 * 86400)] = 3600


class IntegrationSpec(Spec):
    name: Name
    type: Annotated[str, AfterValidator(one_of(INTEGRATION_TYPES))]
    key: Annotated[str, AfterValidator(_key)] | None = None
    heartbeat: HeartbeatSpec | None = None
    signing_secret: Annotated[str, Field(min_length=1, max_length=255)] | None = Field(
        default=None, description="grafana, sentry: the shared secret requests are signed with; never exported"
    )
    sns_topic_arn: Annotated[str, Field(min_length=1, max_length=256)] | None = Field(
        default=None, description="cloudwatch: the only SNS topic whose messages are taken"
    )

    @model_validator(mode="after")
    def _fields_of_their_types(self) -> IntegrationSpec:
        if self.heartbeat is not None and self.type != "heartbeat":
            raise ValueError(f"heartbeat: only an integration of type heartbeat has one, not {self.type}")
        if self.signing_secret is not None and self.type not in SECRET_SIGNED_TYPES:
            raise ValueError(
                f"signing_secret: integrations of type {self.type} are not signed with a shared secret; "
                f"only {', '.join(SECRET_SIGNED_TYPES)} are"
            )
        if self.sns_topic_arn is not None and self.type != "cloudwatch":
            raise ValueError(f"sns_topic_arn: only an integration of type cloudwatch has one, not {self.type}")
        return self


class ServiceSpec(Spec):
    name: Name
    description: str | None = None
    team: str | None = None
    urgency: Annotated[str, AfterValidator(one_of(SERVICE_URGENCIES))] | None = None
    auto_resolve: bool | None = None
    ack_timeout: Seconds | None = None
    tier: Annotated[int, Field(ge=1, le=5)] | None = None
    # What a minute of its downtime costs (ADR 0025); unset: its tier's default.
    downtime_cost_per_minute: Annotated[float, Field(ge=0, le=1e9)] | None = None
    escalation_policy: str | None = None
    integrations: list[IntegrationSpec] | None = None


class EventRuleSpec(Spec):
    name: Name
    integration: str | None = Field(default=None, description='"service/integration"; none: a global rule')
    matchers: list[dict[str, Any]] = []
    actions: dict[str, Any] = {}
    enabled: bool = True


class InhibitRuleSpec(Spec):
    name: Name
    source: list[dict[str, Any]] = Field(min_length=1)
    target: list[dict[str, Any]] = Field(min_length=1)
    equal: list[str] = []


class SilenceSpec(Spec):
    name: Name
    matchers: list[dict[str, Any]] = []
    service: str | None = None
    starts_at: When
    ends_at: When
    comment: Annotated[str, Field(min_length=1)]
    author: str = "configuration"


class MaintenanceWindowSpec(Spec):
    name: Name
    service: str
    start: When
    rrule: Annotated[str, Field(min_length=1, description="iCalendar RRULE, e.g. FREQ=WEEKLY;BYDAY=SU")]
    duration: Seconds
    until: When | None = None
    matchers: list[dict[str, Any]] = []
    comment: str = "maintenance window"


class GroupingSpec(Spec):
    service: str
    group_by: list[str] = []
    window: Seconds = 1800
    by_content: bool = False
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.8


class RemediationActionSpec(Spec):
    """Checked by the workflows package when applied (templates, URL, secret), faults named with their path."""

    name: Name
    description: str = ""
    kind: str = "http"
    method: str = "POST"
    url: str | None = None
    headers: dict[str, str] = {}
    body: str = ""
    # Left out: the stored secret stays (an export never prints it).
    secret: str | None = None
    timeout_seconds: float = 10.0
    callback_minutes: int = 0
    allowed_roles: list[str] = []
    approval: bool = False
    command: list[str] | None = None


class WorkflowChannelSpec(Spec):
    """A chat channel workflow steps post to; checked by the workflows package when applied."""

    name: Name
    provider: str
    # Left out: the stored address stays (an export never prints a webhook URL, a credential).
    address: str | None = None
    description: str = ""


class PlaybookSpec(Spec):
    name: Name
    guidance: str = ""
    match: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = Field(min_length=1)


class WorkflowSpec(Spec):
    name: Name
    description: str = ""
    enabled: bool = True
    trigger: dict[str, Any]
    conditions: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = Field(min_length=1)


class IncidentRoleSpec(Spec):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=2000)] = ""
    instructions: Annotated[str, Field(max_length=20_000)] = ""
    position: Annotated[int, Field(ge=0, le=1000)] = 0


class ChecklistItemSpec(Spec):
    title: Annotated[str, Field(min_length=1, max_length=500)]
    due_minutes: Annotated[int, Field(ge=1)] | None = None


class ChecklistTemplateSpec(Spec):
    name: Name
    description: Annotated[str, Field(max_length=2000)] = ""
    items: list[ChecklistItemSpec | Annotated[str, Field(min_length=1, max_length=500)]] = Field(min_length=1)


class SeveritySpec(Spec):
    name: Annotated[str, Field(min_length=1, max_length=8)]
    description: Annotated[str, Field(max_length=2000)] = ""
    position: Annotated[int, Field(ge=0, le=1000)] = 0


class CategorySpec(Spec):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=2000)] = ""


class IncidentTypeSpec(Spec):
    """An incident type (ADR 0021); the roles, checklists, severity and team it names must exist (or be in the
    same file)."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    description: Annotated[str, Field(max_length=2000)] = ""
    severity: Annotated[str, Field(min_length=1, max_length=8)] = "SEV3"
    phase_model: Annotated[str, AfterValidator(one_of(("default", "nist")))] = "default"
    major: bool = False
    required_roles: list[str] = []
    private: bool = False
    private_team: str | None = None
    pages: bool = True
    playbook: Annotated[str, Field(max_length=200)] = ""
    conference_url: Annotated[str, Field(max_length=2000)] = ""
    update_cadence_minutes: Annotated[int, Field(ge=1, le=10_080)] | None = None
    checklists: list[str] = []
    position: Annotated[int, Field(ge=0, le=1000)] = 0


class StatusComponentSpec(Spec):
    name: Name
    description: str = ""
    group: str | None = None
    services: list[str] = []


class StatusPageSpec(Spec):
    """A status page (ADR 0026) and its components, matched by slug and by component name; never deleted."""

    slug: Annotated[str, Field(min_length=1, max_length=60)]
    name: Name
    visibility: Literal["public", "internal"] = "public"
    time_zone: str = "UTC"
    custom_domain: str | None = None
    logo_url: str | None = None
    brand_color: str = "#1f4e79"
    text_color: str = "#ffffff"
    footer_links: list[dict[str, str]] = []
    automation: Literal["off", "propose", "automatic"] = "off"
    # One voice (ADR 0028): false, only the incident's Communications Lead or Commander (or an admin) publishes.
    anyone_may_publish: bool = False
    groups: list[Name] = []
    components: list[StatusComponentSpec] = []


class StakeholderGroupSpec(Spec):
    """A stakeholder group (ADR 0028), matched by name; never deleted by apply. Users by email, services and types
    by name; empty subscriptions match every incident."""

    name: Name
    description: str = ""
    users: list[str] = []
    emails: list[str] = []
    services: list[str] = []
    min_severity: str | None = None
    types: list[str] = []
    private_ok: bool = False


class PostmortemSectionSpec(Spec):
    key: str
    title: str
    hint: str = ""


class PostmortemTemplateSpec(Spec):
    """A postmortem template (ADR 0029), matched by name; never deleted by apply."""

    name: Name
    description: str = ""
    sections: list[PostmortemSectionSpec]


class PostmortemRuleSpec(Spec):
    """Incidents of this type (any when unset) at or above this severity (any when unset) need a postmortem."""

    type: str | None = None
    min_severity: str | None = None
    template: str = "blameless"


class RegimeSpec(Spec):
    """A regulatory regime (ADR 0032), matched by key; created or replaced, never deleted (disable it instead).
    Contacts by email, contact teams by name; deadlines, reminder points and holidays are checked as in the API."""

    key: str
    name: Name
    description: str = ""
    timezone: str = "UTC"
    holidays: list[str] = []
    deadlines: list[dict[str, Any]] = []
    reminders: list[str] = ["50%", "PT1H", "overdue"]
    contacts: list[str] = []
    contact_teams: list[str] = []
    headings: list[dict[str, Any]] = []
    enabled: bool = True


class AnalyticsSpec(Spec):
    """The organisation's analytics settings (ADR 0031): the interruption windows (hours 0 to 23 of each person's own
    time zone), the weekly load thresholds that raise a warning, and the weekly digest. Only the keys given change;
    the others keep their stored values."""

    business_start: int | None = None
    business_end: int | None = None
    sleep_start: int | None = None
    sleep_end: int | None = None
    weekly_interruptions: int | None = None
    weekly_sleep_interruptions: int | None = None
    digest_enabled: bool | None = None
    digest_weekday: int | None = None
    digest_hour: int | None = None


class ConfigFile(Spec):
    users: list[UserSpec] = []
    teams: list[TeamSpec] = []
    schedules: list[ScheduleSpec] = []
    escalation_policies: list[PolicySpec] = []
    services: list[ServiceSpec] = []
    event_rules: list[EventRuleSpec] = []
    priority_matrix: dict[str, Any] | None = None
    major_incident: dict[str, Any] | None = None
    flapping: dict[str, Any] | None = None
    grouping: list[GroupingSpec] = []
    inhibit_rules: list[InhibitRuleSpec] = []
    silences: list[SilenceSpec] = []
    maintenance_windows: list[MaintenanceWindowSpec] = []
    # Playbooks, workflows and remediation actions (ADR 0027): config/workflows.py.
    remediation_actions: list[RemediationActionSpec] = []
    workflow_channels: list[WorkflowChannelSpec] = []
    playbooks: list[PlaybookSpec] = []
    workflows: list[WorkflowSpec] = []
    # The response vocabulary (ADR 0021), applied in this order: roles and checklists before the types naming them.
    incident_roles: list[IncidentRoleSpec] = []
    checklist_templates: list[ChecklistTemplateSpec] = []
    severities: list[SeveritySpec] = []
    incident_categories: list[CategorySpec] = []
    incident_types: list[IncidentTypeSpec] = []
    status_pages: list[StatusPageSpec] = []
    stakeholder_groups: list[StakeholderGroupSpec] = []
    # Learning (ADR 0029): templates by name; the rules, when given, replace the stored ones whole.
    postmortem_templates: list[PostmortemTemplateSpec] = []
    postmortem_rules: list[PostmortemRuleSpec] | None = None
    regimes: list[RegimeSpec] = []
    analytics: AnalyticsSpec | None = None
