"""Durable deployments: plans of steps, a cursor, leases, timers, a timeline and logs.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = sa.text("state IN ('running', 'paused', 'waiting')")


def _when(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        # Deployments before the engine were all recorded ones.
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="record"))
        batch.add_column(sa.Column("previous_release_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("rollback_of_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("spec", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("cursor", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(_when("started_at"))
        batch.add_column(_when("due_at"))
        batch.add_column(sa.Column("lease_owner", sa.String(100), nullable=True))
        batch.add_column(_when("lease_expires_at"))
        batch.create_foreign_key(
            "fk_deployments_previous_release_id_releases",
            "releases",
            ["previous_release_id"],
            ["id"],
        )
        batch.create_foreign_key(
            "fk_deployments_rollback_of_id_deployments", "deployments", ["rollback_of_id"], ["id"]
        )
    with op.batch_alter_table("deployments") as batch:
        batch.alter_column("kind", server_default=None)
        batch.alter_column("cursor", server_default=None)
    op.create_index("ix_deployments_state", "deployments", ["state"])
    op.create_index(
        "ux_deployments_active_cell",
        "deployments",
        ["service_id", "environment_id"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.create_table(
        "deployment_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Float(), nullable=True),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("idempotent", sa.Boolean(), nullable=False),
        _when("started_at"),
        _when("finished_at"),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deployment_steps"),
        sa.UniqueConstraint("deployment_id", "position", name="uq_deployment_steps_position"),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_deployment_steps_deployment_id_deployments",
        ),
    )
    op.create_table(
        "deployment_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deployment_events"),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_deployment_events_deployment_id_deployments",
        ),
    )
    op.create_index("ix_deployment_events_deployment_id", "deployment_events", ["deployment_id"])
    op.create_table(
        "deployment_logs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deployment_logs"),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_deployment_logs_deployment_id_deployments",
        ),
    )
    op.create_index("ix_deployment_logs_deployment_id", "deployment_logs", ["deployment_id"])


def downgrade() -> None:
    for table in ("deployment_logs", "deployment_events", "deployment_steps"):
        op.drop_table(table)
    op.drop_index("ux_deployments_active_cell", "deployments")
    op.drop_index("ix_deployments_state", "deployments")
    with op.batch_alter_table("deployments") as batch:
        batch.drop_constraint("fk_deployments_rollback_of_id_deployments", type_="foreignkey")
        batch.drop_constraint("fk_deployments_previous_release_id_releases", type_="foreignkey")
        for column in (
            "lease_expires_at",
            "lease_owner",
            "due_at",
            "started_at",
            "cursor",
            "spec",
            "rollback_of_id",
            "previous_release_id",
            "kind",
        ):
            batch.drop_column(column)
