"""Locking an environment: nothing deploys there until it is unlocked (or the lock expires)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from relman.domain.roles import Role
from relman.engine.gates import nudge
from relman.errors import Conflict, InvalidInput
from relman.services.lookups import get_environment, require_in
from relman.store.tables import EnvironmentLockRow
from relman.store.unit_of_work import UnitOfWork

__all__ = ["lock", "unlock"]


def lock(
    uow: UnitOfWork,
    environment: str,
    *,
    reason: str,
    actor: str,
    until: datetime | None = None,
    role: Role | None = None,
) -> EnvironmentLockRow:
    """Lock `environment`; Conflict when it is locked already (unlock first, to change it)."""
    if not reason.strip():
        raise InvalidInput("A lock needs a reason (--reason): everyone blocked by it reads it")
    now = uow.clock()
    if until is not None and until <= now:
        raise InvalidInput(
            f"--until {until.isoformat()} is in the past; give a later time, or none for a "
            "lock that lasts until 'relman unlock'"
        )
    session = uow.session
    env = get_environment(session, environment)
    require_in(env, "override", actor, role)
    uow.lock(f"lock/{env.id}")
    existing = session.scalar(
        select(EnvironmentLockRow).where(EnvironmentLockRow.environment_id == env.id)
    )
    if existing is not None and (existing.until is None or existing.until > now):
        raise Conflict(
            f"{env.name} is locked already, by {existing.locked_by}: {existing.reason}; "
            f"'relman unlock {env.name}' first to lock it anew",
            details={"environment": env.name, "locked_by": existing.locked_by},
        )
    if existing is not None:  # expired: replaced
        session.delete(existing)
        session.flush()
    row = EnvironmentLockRow(
        environment_id=env.id, reason=reason, locked_by=actor, locked_at=now, until=until
    )
    session.add(row)
    uow.audit(
        actor,
        "environment.lock",
        f"environment/{env.name}",
        reason=reason,
        until=until.isoformat() if until else None,
    )
    uow.commit()
    return row


def unlock(
    uow: UnitOfWork, environment: str, *, actor: str, role: Role | None = None
) -> EnvironmentLockRow | None:
    """Lift the lock; waiting deployments to the environment are judged again at once.
    Unlocking an environment that is not locked changes nothing (None)."""
    session = uow.session
    env = get_environment(session, environment)
    require_in(env, "override", actor, role)
    existing = session.scalar(
        select(EnvironmentLockRow).where(EnvironmentLockRow.environment_id == env.id)
    )
    if existing is None:
        return None
    session.delete(existing)
    uow.audit(
        actor,
        "environment.unlock",
        f"environment/{env.name}",
        locked_by=existing.locked_by,
        reason=existing.reason,
    )
    nudge(session, environment_id=env.id)
    uow.commit()
    return existing
