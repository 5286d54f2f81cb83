"""Finding named objects, with errors that list what exists."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from relman.domain.names import closest_name
from relman.domain.permissions import permissions_from_dict
from relman.domain.roles import Role
from relman.errors import NotFound
from relman.store.tables import EnvironmentRow, LifecycleRow, ServiceRow

__all__ = ["get_environment", "get_lifecycle", "get_service", "require_in"]

Row = TypeVar("Row", EnvironmentRow, LifecycleRow, ServiceRow)


def _get_named(session: Session, model: type[Row], kind: str, name: str) -> Row:
    row = session.scalar(select(model).where(model.name == name))
    if row is not None:
        return row
    known = list(session.scalars(select(model.name).order_by(model.name)))
    close = closest_name(name, known)
    hint = f" (did you mean '{close}'?)" if close else ""
    listing = ", ".join(known[:20]) if known else f"none yet (define {kind}s in relman.yaml)"
    raise NotFound(
        f"Unknown {kind} '{name}'{hint}; known: {listing}",
        details={"kind": kind, "name": name, "known": known[:20]},
    )


def get_environment(session: Session, name: str) -> EnvironmentRow:
    return _get_named(session, EnvironmentRow, "environment", name)


def get_lifecycle(session: Session, name: str) -> LifecycleRow:
    return _get_named(session, LifecycleRow, "lifecycle", name)


def get_service(session: Session, name: str) -> ServiceRow:
    return _get_named(session, ServiceRow, "service", name)


def require_in(environment: EnvironmentRow, action: str, user: str, role: Role | None) -> None:
    """Forbidden unless the environment's `permissions` let `user` do `action` there (no role:
    an internal caller, like the demo's seed)."""
    if role is not None:
        permissions_from_dict(environment.name, environment.spec.get("permissions")).require(
            action, user, role
        )
