"""Finding due work, and the database's clock: leases and timers are judged by the database.

A deployment is due when it is `running` with no live lease and no timer in the future
(`due_at`), when it is `paused` with a timer that is due (a measurement of a held canary's
background analysis), when it is `waiting` and due to have its gates judged again, or when it is
the oldest `queued` one of a (service, environment) that nothing else holds. On PostgreSQL the
claim locks the row with `FOR UPDATE SKIP LOCKED`, so workers
never wait for one another; on SQLite writers already run one at a time (`BEGIN IMMEDIATE`).
Each query that needs the time reads it in the same round trip (`clock_timestamp()` on
PostgreSQL; on SQLite `strftime(…)`, text that sorts like the stored times).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from relman.domain.deployments import ACTIVE_STATES, DeploymentState
from relman.store.tables import DeploymentRow, UTCDateTime

__all__ = ["database_now", "due_deployment", "locked_deployment"]


def _now(dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.clock_timestamp()
    return func.strftime("%Y-%m-%d %H:%M:%f", "now")


def _as_utc(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def database_now(session: Session) -> datetime:
    """The database server's current time (UTC): one clock for every worker's leases."""
    return _as_utc(session.execute(select(_now(_dialect(session)))).scalar_one())


def _now_or(dialect: str, fixed: bool) -> ColumnElement[Any]:
    """The database's time, or (`fixed`) the `now` bound when the statement runs."""
    return bindparam("now", type_=UTCDateTime()) if fixed else _now(dialect)


@cache
def _due(dialect: str, fixed: bool = False) -> Select[tuple[DeploymentRow, Any]]:
    d = DeploymentRow
    other = aliased(DeploymentRow)
    now = _now_or(dialect, fixed)
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
    # paused with a timer: a canary's background analysis goes on measuring while it is held
    ticking = and_(
        d.state == DeploymentState.PAUSED.value,
        d.due_at.is_not(None),
        d.due_at <= now,
        or_(d.lease_expires_at.is_(None), d.lease_expires_at < now),
    )
    # waiting for its gates, and due to be judged again
    rechecking = and_(
        d.state == DeploymentState.WAITING.value,
        d.due_at.is_not(None),
        d.due_at <= now,
    )
    return (
        select(d, now)
        .where(or_(resumable, startable, ticking, rechecking))
        .order_by(d.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=d)
    )


def due_deployment(
    session: Session, at: datetime | None = None
) -> tuple[DeploymentRow, datetime] | None:
    """The oldest deployment a worker may take now, locked, and the database's time (or `at`:
    a test clock that timers follow)."""
    fixed = at is not None
    statement = _due(_dialect(session), fixed)
    found = session.execute(statement, {"now": at} if fixed else {}).first()
    return None if found is None else (found[0], _as_utc(found[1]))


def locked_deployment(
    session: Session, deployment_id: int, at: datetime | None = None
) -> tuple[DeploymentRow, datetime]:
    """The deployment, locked against other writers, and the database's time (or `at`)."""
    fixed = at is not None
    row, now = session.execute(
        select(DeploymentRow, _now_or(_dialect(session), fixed))
        .where(DeploymentRow.id == deployment_id)
        .with_for_update(of=DeploymentRow),
        {"now": at} if fixed else {},
    ).one()
    return row, _as_utc(now)
