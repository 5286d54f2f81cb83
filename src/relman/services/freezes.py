"""Freezes made by hand (`relman freeze create|delete`), stop-the-line, and freeze exceptions.

The file's freezes (`freezes:` in relman.yaml) are kept by `relman apply`; this module adds
one-off and recurring freezes without a config change, the global stop-the-line, and the one
way through a freeze for a single deployment: an exception a release-manager grants, never the
person who asked for the deployment, always audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relman.domain.checks import Issues
from relman.domain.deployments import DeploymentState
from relman.domain.freezes import (
    FreezeSpec,
    Window,
    freeze_from_dict,
    next_window,
    parse_freeze,
    window_at,
)
from relman.domain.roles import Role
from relman.engine.gates import STOP, nudge, recheck
from relman.engine.rollout import ProviderFactory
from relman.errors import ConfigError, Conflict, Forbidden, InvalidInput, NotFound
from relman.services.lookups import get_environment, get_service, require_in
from relman.store.tables import DeploymentRow, EnvironmentRow, FreezeRow, GateOverrideRow
from relman.store.unit_of_work import UnitOfWork

__all__ = [
    "FreezeView",
    "create_freeze",
    "delete_freeze",
    "grant_exception",
    "lift_the_line",
    "list_freezes",
    "stop_the_line",
]

STOP_NAME = "stop-the-line"


@dataclass(frozen=True)
class FreezeView:
    row: FreezeRow
    active: Window | None
    upcoming: Window | None

    def to_dict(self) -> dict[str, Any]:
        def window(w: Window | None) -> dict[str, str] | None:
            return None if w is None else {"start": w.start.isoformat(), "end": w.end.isoformat()}

        return {
            "name": self.row.name,
            "source": self.row.source,
            "spec": self.row.spec,
            "created_by": self.row.created_by,
            "created_at": self.row.created_at.isoformat(),
            "active": self.row.source == STOP or self.active is not None,
            "window": window(self.active),
            "next": window(self.upcoming),
        }


def list_freezes(session: Session, now: datetime) -> list[FreezeView]:
    """Every freeze, with the window in force now and the next one."""
    views = []
    for row in session.scalars(select(FreezeRow).order_by(FreezeRow.name)):
        if row.source == STOP:
            views.append(FreezeView(row, None, None))
            continue
        spec = freeze_from_dict(row.spec)
        active = window_at(spec, now)
        after = active.end if active else now
        views.append(FreezeView(row, active, next_window(spec, after + timedelta(microseconds=1))))
    return views


def create_freeze(uow: UnitOfWork, raw: dict[str, Any], *, actor: str) -> FreezeRow:
    """A freeze from the same fields as in relman.yaml; InvalidInput lists every problem."""
    issues = Issues()
    spec: FreezeSpec | None = parse_freeze(raw, ("freeze",), issues)
    if issues.found or spec is None:
        raise ConfigError(issues.found)
    if spec.name == STOP_NAME:
        raise InvalidInput(f"'{STOP_NAME}' is relman's own; use 'relman stop-the-line'")
    session = uow.session
    for name in spec.environments:
        get_environment(session, name)  # NotFound names the known ones
    for name in spec.services:
        get_service(session, name)
    if session.scalar(select(FreezeRow).where(FreezeRow.name == spec.name)) is not None:
        raise Conflict(
            f"A freeze named '{spec.name}' exists; 'relman freeze list' shows it",
            details={"freeze": spec.name},
        )
    row = FreezeRow(
        name=spec.name, source="cli", spec=spec.to_dict(), created_by=actor, created_at=uow.clock()
    )
    session.add(row)
    uow.audit(actor, "freeze.create", f"freeze/{spec.name}", spec=row.spec)
    uow.commit()
    return row


def delete_freeze(uow: UnitOfWork, name: str, *, actor: str) -> None:
    """Delete a freeze made with `freeze create`; waiting promotions are judged again."""
    session = uow.session
    row = session.scalar(select(FreezeRow).where(FreezeRow.name == name))
    if row is None:
        known = ", ".join(session.scalars(select(FreezeRow.name))) or "none"
        raise NotFound(f"No freeze '{name}'; freezes: {known}", details={"freeze": name})
    if row.source == "config":
        raise Conflict(
            f"The freeze '{name}' comes from relman.yaml: remove it there and run "
            "'relman apply' (or grant one deployment an exception)",
            details={"freeze": name},
        )
    if row.source == STOP:
        raise Conflict("Lift stop-the-line with 'relman stop-the-line --lift'")
    session.delete(row)
    uow.audit(actor, "freeze.delete", f"freeze/{name}", spec=row.spec)
    nudge(session)
    uow.commit()


def stop_the_line(uow: UnitOfWork, *, reason: str, actor: str) -> FreezeRow:
    """Freeze every environment and service at once, until lifted."""
    if not reason.strip():
        raise InvalidInput("stop-the-line needs a reason (--reason): everyone held up reads it")
    session = uow.session
    existing = session.scalar(select(FreezeRow).where(FreezeRow.source == STOP))
    if existing is not None:
        raise Conflict(
            f"The line is stopped already, by {existing.created_by}: "
            f"{existing.spec.get('reason')}; 'relman stop-the-line --lift' ends it",
        )
    row = FreezeRow(
        name=STOP_NAME,
        source=STOP,
        spec={"reason": reason},
        created_by=actor,
        created_at=uow.clock(),
    )
    session.add(row)
    uow.audit(actor, "freeze.stop_the_line", f"freeze/{STOP_NAME}", reason=reason)
    uow.commit()
    return row


def lift_the_line(uow: UnitOfWork, *, actor: str) -> FreezeRow | None:
    """End stop-the-line; None (and no change) when the line was not stopped."""
    session = uow.session
    row = session.scalar(select(FreezeRow).where(FreezeRow.source == STOP))
    if row is None:
        return None
    session.delete(row)
    uow.audit(actor, "freeze.lift", f"freeze/{STOP_NAME}", reason=row.spec.get("reason"))
    nudge(session)
    uow.commit()
    return row


def grant_exception(
    uow: UnitOfWork,
    deployment_id: int,
    *,
    reason: str,
    actor: str,
    providers: ProviderFactory | None = None,
    role: Role | None = None,
) -> GateOverrideRow:
    """Let one waiting deployment through the freezes. The caller's role is checked by the
    API (override); here: never the person who asked for the deployment."""
    if not reason.strip():
        raise InvalidInput("An exception needs a reason (--reason): it goes into the audit log")
    session = uow.session
    row = session.get(DeploymentRow, deployment_id, with_for_update=True)
    if row is None:
        raise NotFound(f"No deployment {deployment_id}", details={"deployment": deployment_id})
    require_in(session.get_one(EnvironmentRow, row.environment_id), "override", actor, role)
    if row.created_by.casefold() == actor.casefold():
        raise Forbidden(
            f"{actor} asked for deployment {row.id}, so they may not grant it a freeze "
            "exception; another release-manager must",
            details={"deployment": row.id},
        )
    if row.state != DeploymentState.WAITING.value:
        raise Conflict(
            f"Deployment {row.id} is {row.state}; only a waiting deployment needs an exception",
            details={"deployment": row.id, "state": row.state},
        )
    exception = session.scalar(
        select(GateOverrideRow).where(
            GateOverrideRow.deployment_id == row.id, GateOverrideRow.gate == "freeze"
        )
    )
    if exception is not None:
        raise Conflict(
            f"Deployment {row.id} has a freeze exception already, from {exception.granted_by}",
            details={"deployment": row.id},
        )
    now = uow.clock()
    exception = GateOverrideRow(
        deployment_id=row.id, gate="freeze", reason=reason, granted_by=actor, at=now
    )
    session.add(exception)
    uow.audit(actor, "freeze.exception", f"deployment/{row.id}", reason=reason)
    session.flush()
    recheck(uow, row, now, providers)
    uow.commit()
    return exception
