"""status pages: pages, components and their history, public incidents, maintenance, subscribers

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tocsin.db.base

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tocsin.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "status_pages",
        sa.Column("id", _ID, nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("visibility", sa.String(length=10), nullable=False),
        sa.Column("logo_url", sa.String(length=1000), nullable=True),
        sa.Column("brand_color", sa.String(length=7), nullable=False),
        sa.Column("text_color", sa.String(length=7), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("custom_domain", sa.String(length=253), nullable=True),
        sa.Column("footer_links", tocsin.db.base.JSONType, nullable=False),
        sa.Column("automation", sa.String(length=10), nullable=False),
        sa.Column("opening_template", sa.Text(), nullable=False),
        sa.Column("closing_template", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_pages")),
        sa.UniqueConstraint("custom_domain", name=op.f("uq_status_pages_custom_domain")),
        sa.UniqueConstraint("slug", name=op.f("uq_status_pages_slug")),
    )
    op.create_table(
        "status_component_groups",
        sa.Column("id", _ID, nullable=False),
        sa.Column("page_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["status_pages.id"],
            name=op.f("fk_status_component_groups_page_id_status_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_component_groups")),
    )
    op.create_index("ix_status_component_groups_page", "status_component_groups", ["page_id", "position"], unique=False)
    op.create_table(
        "status_incidents",
        sa.Column("id", _ID, nullable=False),
        sa.Column("page_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("impact", sa.String(length=10), nullable=False),
        sa.Column("shortlink_code", sa.String(length=16), nullable=False),
        sa.Column("postmortem_body", sa.Text(), nullable=True),
        sa.Column("postmortem_published_at", _TIME, nullable=True),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("monitoring_at", _TIME, nullable=True),
        sa.Column("resolved_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"], ["status_pages.id"], name=op.f("fk_status_incidents_page_id_status_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_incidents")),
        sa.UniqueConstraint("shortlink_code", name=op.f("uq_status_incidents_shortlink_code")),
    )
    op.create_index("ix_status_incidents_page", "status_incidents", ["page_id", "created_at"], unique=False)
    op.create_table(
        "status_maintenances",
        sa.Column("id", _ID, nullable=False),
        sa.Column("page_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("impact", sa.String(length=10), nullable=False),
        sa.Column("component_ids", tocsin.db.base.JSONType, nullable=False),
        sa.Column("scheduled_for", _TIME, nullable=False),
        sa.Column("scheduled_until", _TIME, nullable=False),
        sa.Column("auto_start", sa.Boolean(), nullable=False),
        sa.Column("auto_complete", sa.Boolean(), nullable=False),
        sa.Column("silence_ids", tocsin.db.base.JSONType, nullable=False),
        sa.Column("started_at", _TIME, nullable=True),
        sa.Column("completed_at", _TIME, nullable=True),
        sa.Column("shortlink_code", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["status_pages.id"],
            name=op.f("fk_status_maintenances_page_id_status_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_maintenances")),
        sa.UniqueConstraint("shortlink_code", name=op.f("uq_status_maintenances_shortlink_code")),
    )
    op.create_index("ix_status_maintenances_due", "status_maintenances", ["status", "scheduled_for"], unique=False)
    op.create_table(
        "status_subscribers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("page_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=1000), nullable=False),
        sa.Column("component_ids", tocsin.db.base.JSONType, nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("confirmed_at", _TIME, nullable=True),
        sa.Column("unsubscribed_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_ip", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["page_id"],
            ["status_pages.id"],
            name=op.f("fk_status_subscribers_page_id_status_pages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscribers")),
        sa.UniqueConstraint("page_id", "kind", "address", name="uq_status_subscribers_address"),
    )
    op.create_index("ix_status_subscribers_page", "status_subscribers", ["page_id", "confirmed_at"], unique=False)
    op.create_table(
        "status_components",
        sa.Column("id", _ID, nullable=False),
        sa.Column("page_id", _ID, nullable=False),
        sa.Column("group_id", _ID, nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("showcase", sa.Boolean(), nullable=False),
        sa.Column("only_show_if_degraded", sa.Boolean(), nullable=False),
        sa.Column("service_ids", tocsin.db.base.JSONType, nullable=False),
        sa.Column("start_date", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["status_component_groups.id"],
            name=op.f("fk_status_components_group_id_status_component_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["status_pages.id"], name=op.f("fk_status_components_page_id_status_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_components")),
    )
    op.create_index("ix_status_components_page", "status_components", ["page_id", "position"], unique=False)
    op.create_table(
        "status_deliveries",
        sa.Column("id", _ID, nullable=False),
        sa.Column("subscriber_id", _ID, nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("payload", tocsin.db.base.JSONType, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("claimed_until", _TIME, nullable=True),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["status_subscribers.id"],
            name=op.f("fk_status_deliveries_subscriber_id_status_subscribers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_deliveries")),
        sa.UniqueConstraint("key", name="uq_status_deliveries_key"),
    )
    op.create_index("ix_status_deliveries_due", "status_deliveries", ["status", "due_at"], unique=False)
    op.create_table(
        "status_incident_updates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("status_incident_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("affected_components", tocsin.db.base.JSONType, nullable=False),
        sa.Column("display_at", _TIME, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("created_by_user_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_status_incident_updates_created_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["status_incident_id"],
            ["status_incidents.id"],
            name=op.f("fk_status_incident_updates_status_incident_id_status_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_incident_updates")),
    )
    op.create_index(
        "ix_status_incident_updates_incident",
        "status_incident_updates",
        ["status_incident_id", "display_at"],
        unique=False,
    )
    op.create_table(
        "status_maintenance_updates",
        sa.Column("id", _ID, nullable=False),
        sa.Column("maintenance_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("display_at", _TIME, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["maintenance_id"],
            ["status_maintenances.id"],
            name=op.f("fk_status_maintenance_updates_maintenance_id_status_maintenances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_maintenance_updates")),
    )
    op.create_index(
        "ix_status_maintenance_updates_maintenance",
        "status_maintenance_updates",
        ["maintenance_id", "display_at"],
        unique=False,
    )
    op.create_table(
        "status_component_changes",
        sa.Column("id", _ID, nullable=False),
        sa.Column("component_id", _ID, nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("at", _TIME, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["status_components.id"],
            name=op.f("fk_status_component_changes_component_id_status_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_component_changes")),
    )
    op.create_index(
        "ix_status_component_changes_component", "status_component_changes", ["component_id", "at"], unique=False
    )
    op.create_table(
        "status_incident_links",
        sa.Column("id", _ID, nullable=False),
        sa.Column("status_incident_id", _ID, nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_status_incident_links_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_incident_id"],
            ["status_incidents.id"],
            name=op.f("fk_status_incident_links_status_incident_id_status_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_incident_links")),
        sa.UniqueConstraint("status_incident_id", "incident_id", name="uq_status_incident_links_pair"),
    )
    op.create_index(
        op.f("ix_status_incident_links_incident_id"), "status_incident_links", ["incident_id"], unique=False
    )
    op.create_table(
        "status_proposals",
        sa.Column("id", _ID, nullable=False),
        sa.Column("page_id", _ID, nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("incident_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("update_status", sa.String(length=16), nullable=False),
        sa.Column("impact", sa.String(length=10), nullable=False),
        sa.Column("component_statuses", tocsin.db.base.JSONType, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("status_incident_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("decided_at", _TIME, nullable=True),
        sa.Column("decided_by_user_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_status_proposals_decided_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_status_proposals_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["status_pages.id"], name=op.f("fk_status_proposals_page_id_status_pages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["status_incident_id"],
            ["status_incidents.id"],
            name=op.f("fk_status_proposals_status_incident_id_status_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_proposals")),
        sa.UniqueConstraint("key", name="uq_status_proposals_key"),
    )
    op.create_index("ix_status_proposals_page", "status_proposals", ["page_id", "status"], unique=False)


def downgrade() -> None:
    op.drop_table("status_proposals")
    op.drop_table("status_incident_links")
    op.drop_table("status_component_changes")
    op.drop_table("status_maintenance_updates")
    op.drop_table("status_incident_updates")
    op.drop_table("status_deliveries")
    op.drop_table("status_components")
    op.drop_table("status_subscribers")
    op.drop_table("status_maintenances")
    op.drop_table("status_incidents")
    op.drop_table("status_component_groups")
    op.drop_table("status_pages")
