"""Progressive delivery: step kinds and their parameters, analysis measurements, and the metric
samples of the builtin provider.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deployment_steps") as batch:
        batch.add_column(sa.Column("kind", sa.String(20), nullable=False, server_default="run"))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
    op.create_table(
        "analysis_measurements",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("analysis", sa.String(63), nullable=False),
        sa.Column("metric", sa.String(63), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_analysis_measurements"),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_analysis_measurements_deployment_id_deployments",
        ),
    )
    op.create_index(
        "ix_analysis_measurements_deployment_id", "analysis_measurements", ["deployment_id"]
    )
    op.create_table(
        "metric_samples",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_metric_samples"),
    )
    op.create_index("ix_metric_samples_name_at", "metric_samples", ["name", "at"])


def downgrade() -> None:
    op.drop_index("ix_metric_samples_name_at", "metric_samples")
    op.drop_table("metric_samples")
    op.drop_index("ix_analysis_measurements_deployment_id", "analysis_measurements")
    op.drop_table("analysis_measurements")
    with op.batch_alter_table("deployment_steps") as batch:
        batch.drop_column("params")
        batch.drop_column("kind")
