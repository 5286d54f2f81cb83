"""Gates: environment locks, freezes, SLOs, approvals, freeze exceptions, test reports; a
deployment's newest gate report and scheduled start. A `waiting` deployment no longer holds its
cell.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_ACTIVE = sa.text("state IN ('running', 'paused', 'waiting')")
ACTIVE = sa.text("state IN ('running', 'paused')")


def _cell_index(where: sa.TextClause) -> None:
    op.create_index(
        "ux_deployments_active_cell",
        "deployments",
        ["service_id", "environment_id"],
        unique=True,
        postgresql_where=where,
        sqlite_where=where,
    )


def upgrade() -> None:
    op.drop_index("ux_deployments_active_cell", "deployments")
    _cell_index(ACTIVE)
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("gates", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "environment_locks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("environment_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("locked_by", sa.String(100), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_environment_locks"),
        sa.ForeignKeyConstraint(
            ["environment_id"],
            ["environments.id"],
            name="fk_environment_locks_environment_id_environments",
        ),
        sa.UniqueConstraint("environment_id", name="uq_environment_locks_environment_id"),
    )
    op.create_table(
        "freezes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_freezes"),
        sa.UniqueConstraint("name", name="uq_freezes_name"),
    )
    op.create_table(
        "slos",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slos"),
        sa.UniqueConstraint("name", name="uq_slos_name"),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_approvals"),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name="fk_approvals_deployment_id_deployments"
        ),
        sa.UniqueConstraint("deployment_id", "user", name="uq_approvals_user"),
    )
    op.create_index("ix_approvals_deployment_id", "approvals", ["deployment_id"])
    op.create_table(
        "gate_overrides",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("gate", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gate_overrides"),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_gate_overrides_deployment_id_deployments",
        ),
        sa.UniqueConstraint("deployment_id", "gate", name="uq_gate_overrides_gate"),
    )
    op.create_index("ix_gate_overrides_deployment_id", "gate_overrides", ["deployment_id"])
    op.create_table(
        "test_reports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("tests", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("reported_by", sa.String(100), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_test_reports"),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name="fk_test_reports_release_id_releases"
        ),
    )
    op.create_index("ix_test_reports_release_id", "test_reports", ["release_id"])
    op.create_table(
        "deployment_evidence",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_deployment_evidence"),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_deployment_evidence_deployment_id_deployments",
        ),
        sa.UniqueConstraint("deployment_id", name="uq_deployment_evidence_deployment_id"),
    )


def downgrade() -> None:
    for table in (
        "deployment_evidence",
        "test_reports",
        "gate_overrides",
        "approvals",
        "slos",
        "freezes",
        "environment_locks",
    ):
        op.drop_table(table)
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("not_before")
        batch.drop_column("gates")
    op.drop_index("ux_deployments_active_cell", "deployments")
    _cell_index(OLD_ACTIVE)
