"""Releases from git: their notes as data (sections) and the commits they contain.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("releases") as batch:
        batch.add_column(sa.Column("changes", sa.JSON(), nullable=True))
    op.create_table(
        "release_commits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("authored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_release_commits"),
        sa.UniqueConstraint("release_id", "position", name="uq_release_commits_position"),
        sa.ForeignKeyConstraint(
            ["release_id"], ["releases.id"], name="fk_release_commits_release_id_releases"
        ),
    )
    op.create_index("ix_release_commits_hash", "release_commits", ["hash"])


def downgrade() -> None:
    op.drop_index("ix_release_commits_hash", "release_commits")
    op.drop_table("release_commits")
    with op.batch_alter_table("releases") as batch:
        batch.drop_column("changes")
