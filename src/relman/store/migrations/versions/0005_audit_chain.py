"""The audit log becomes a hash chain: each entry stores the previous entry's hash and its own,
and `audit_head` keeps the newest (id, hash). Existing entries are numbered 1, 2, 3, … in their
order and chained.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from relman.domain.audit import GENESIS, canonical_details, entry_hash
from relman.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(64), nullable=True))
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
    )
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("object", sa.String()),
        sa.column("details", sa.JSON()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    prev = GENESIS
    for number, row in enumerate(rows, start=1):
        details = canonical_details(row["details"] or {})
        digest = entry_hash(
            prev, number, row["at"], row["actor"], row["action"], row["object"], details
        )
        # Ascending renumbering never collides: number <= the old id of this row.
        connection.execute(
            events.update()
            .where(events.c.id == row["id"])
            .values(id=number, details=details, prev_hash=prev, hash=digest)
        )
        prev = digest
    audit_head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer()),
        sa.column("entry_id", sa.Integer()),
        sa.column("hash", sa.String()),
    )
    connection.execute(audit_head.insert().values(id=1, entry_id=len(rows), hash=prev))
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("prev_hash", existing_type=sa.String(64), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(64), nullable=False)


def downgrade() -> None:
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
