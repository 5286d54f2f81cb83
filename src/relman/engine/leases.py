"""Finding due work and the database's clock: leases and timers are judged by the database.

A deployment is due when it is `running` with no live lease and no timer in the future
(`due_at`), or when it is the oldest `queued` one of a (service, environment) that nothing
else holds. On PostgreSQL the claim locks the row with `FOR UPDATE SKIP LOCKED`, so workers
never wait for one another; on SQLite writers already run one at a time (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from relman.domain.deployments import ACTIVE_STATES, DeploymentState
from relman.store.tables import DeploymentRow

__all__ = ["database_now", "due_deployment"]


def database_now(session: Session) -> datetime:
    """The database server's current time (UTC): one clock for every worker's leases."""
    if session.get_bind().dialect.name == "postgresql":
        moment = session.execute(select(func.clock_timestamp())).scalar_one()
        return datetime.fromisoformat(str(moment)).astimezone(UTC)
    text = session.execute(select(func.strftime("%Y-%m-%d %H:%M:%f", "now"))).scalar_one()
    return datetime.fromisoformat(str(text)).replace(tzinfo=UTC)


def due_deployment(now: datetime) -> Select[DeploymentRow]:
    """The oldest deployment a worker may take at `now`, locked for the caller."""
    d = DeploymentRow
    other = aliased(DeploymentRow)
    cell_taken = exists().where(
        other.service_id == d.service_id,
        other.environment_id == d.environment_id,
        or_(
            other.state.in_([s.value for s in ACTIVE_STATES]),
            and_(other.state == DeploymentState.QUEUED.value, other.id < d.id),
        ),
    )
    resumable = and_(
        d.state == DeploymentState.RUNNING.value,
        or_(d.lease_expires_at.is_(None), d.lease_expires_at < now),
        or_(d.due_at.is_(None), d.due_at <= now),
    )
    startable = and_(d.state == DeploymentState.QUEUED.value, ~cell_taken)
    return (
        select(d)
        .where(or_(resumable, startable))
        .order_by(d.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=d)
    )
