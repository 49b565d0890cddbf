"""Completes the application for every process and the tests: imports every model module, so that
``Base.metadata`` is complete (Alembic, tests), and installs the domains' hooks (``tocsin.wiring``, ADR 0010)."""

from tocsin import wiring
from tocsin.alerts import models as alerts_models
from tocsin.alerts import noise_models
from tocsin.analytics import models as analytics_models
from tocsin.audit import hook as audit_hook
from tocsin.audit import models as audit_models
from tocsin.auth import models as auth_models
from tocsin.chat import models as chat_models
from tocsin.compliance import models as compliance_models
from tocsin.db import work_signal as work_signal_models
from tocsin.db.base import Base
from tocsin.desk import models as desk_models
from tocsin.drills import models as drills_models
from tocsin.escalation import models as escalation_models
from tocsin.events import models as events_models
from tocsin.heartbeats import models as heartbeats_models
from tocsin.incidents import models as incidents_models
from tocsin.knowledge import models as knowledge_models
from tocsin.learning import models as learning_models
from tocsin.mailbox import models as mailbox_models
from tocsin.notify import models as notify_models
from tocsin.oncall import models as oncall_models
from tocsin.response import models as response_models
from tocsin.services import models as services_models
from tocsin.sso import models as sso_models
from tocsin.stakeholders import models as stakeholders_models
from tocsin.statuspages import models as statuspages_models
from tocsin.teams import models as teams_models
from tocsin.trackers import models as trackers_models
from tocsin.users import models as users_models
from tocsin.webhooks import models as webhooks_models
from tocsin.workflows import models as workflows_models

metadata = Base.metadata
# Whatever loads every model also records changes of the audited ones (tests, migrations, tools).
audit_hook.install()
wiring.install()

__all__ = [
    "alerts_models",
    "analytics_models",
    "audit_models",
    "auth_models",
    "chat_models",
    "compliance_models",
    "desk_models",
    "drills_models",
    "escalation_models",
    "events_models",
    "heartbeats_models",
    "incidents_models",
    "knowledge_models",
    "learning_models",
    "mailbox_models",
    "metadata",
    "noise_models",
    "notify_models",
    "oncall_models",
    "response_models",
    "services_models",
    "sso_models",
    "stakeholders_models",
    "statuspages_models",
    "teams_models",
    "trackers_models",
    "users_models",
    "webhooks_models",
    "work_signal_models",
    "workflows_models",
]
