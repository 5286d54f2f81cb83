"""What version runs where: the service × environment matrix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from relman.domain.deployments import DeploymentState
from relman.services.deployments import DeploymentView, deployment_views, lifecycle_environments
from relman.store.tables import DeploymentRow, EnvironmentLockRow, EnvironmentRow, ServiceRow

__all__ = ["Cell", "Inventory", "build_inventory"]


@dataclass(frozen=True)
class Attempt:
    deployment_id: int
    version: str
    state: str
    at: datetime
    by: str

    @classmethod
    def of(cls, view: DeploymentView) -> Attempt:
        row = view.row
        return cls(
            row.id, view.version, row.state, row.finished_at or row.created_at, row.created_by
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "deployment_id": self.deployment_id,
            "version": self.version,
            "state": self.state,
            "at": _iso(self.at),
            "by": self.by,
        }


@dataclass(frozen=True)
class Cell:
    """`current` is what runs (the last success); `latest` the newest attempt when it differs."""

    current: Attempt | None
    latest: Attempt | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": self.current.version if self.current else None,
            "state": self.current.state if self.current else None,
            "deployed_at": _iso(self.current.at) if self.current else None,
            "deployed_by": self.current.by if self.current else None,
            "deployment_id": self.current.deployment_id if self.current else None,
            "latest": self.latest.to_dict() if self.latest else None,
        }
        return out


@dataclass(frozen=True)
class ServiceLine:
    name: str
    lifecycle: str
    cells: dict[str, Cell | None]  # None: the environment is not in the service's lifecycle


@dataclass(frozen=True)
class Inventory:
    environments: list[tuple[str, str]]  # (name, tier) in display order
    services: list[ServiceLine]
    locks: dict[str, dict[str, Any]] = field(default_factory=dict)  # environment → its lock

    def to_dict(self) -> dict[str, Any]:
        return {
            "environments": [
                {"name": n, "tier": t, "lock": self.locks.get(n)} for n, t in self.environments
            ],
            "services": [
                {
                    "name": s.name,
                    "lifecycle": s.lifecycle,
                    "cells": {e: (c.to_dict() if c else None) for e, c in s.cells.items()},
                }
                for s in self.services
            ],
        }


def build_inventory(session: Session, at: datetime | None = None) -> Inventory:
    """The matrix, and the environments' locks (those still in force at `at`)."""
    envs = session.execute(
        select(EnvironmentRow.name, EnvironmentRow.tier).order_by(
            EnvironmentRow.position, EnvironmentRow.name
        )
    )
    environments = [(name, tier) for name, tier in envs]
    latest = _newest_per_cell(session, only_succeeded=False)
    current = _newest_per_cell(session, only_succeeded=True)
    services = []
    for service in session.scalars(select(ServiceRow).order_by(ServiceRow.name)):
        allowed = set(lifecycle_environments(session, service))
        cells: dict[str, Cell | None] = {}
        for env_name, _tier in environments:
            if env_name not in allowed:
                cells[env_name] = None
                continue
            now = current.get((service.name, env_name))
            newest = latest.get((service.name, env_name))
            shown_latest = newest if newest and (not now or newest.row.id != now.row.id) else None
            cells[env_name] = Cell(
                current=Attempt.of(now) if now else None,
                latest=Attempt.of(shown_latest) if shown_latest else None,
            )
        services.append(ServiceLine(service.name, service.spec["lifecycle"], cells))
    return Inventory(environments, services, _locks(session, at))


def _locks(session: Session, at: datetime | None) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(EnvironmentRow.name, EnvironmentLockRow).join(
            EnvironmentLockRow, EnvironmentLockRow.environment_id == EnvironmentRow.id
        )
    )
    return {
        name: {
            "locked_by": lock.locked_by,
            "reason": lock.reason,
            "locked_at": _iso(lock.locked_at),
            "until": _iso(lock.until) if lock.until else None,
        }
        for name, lock in rows
        if at is None or lock.until is None or lock.until > at
    }


def _newest_per_cell(
    session: Session, *, only_succeeded: bool
) -> dict[tuple[str, str], DeploymentView]:
    newest = select(func.max(DeploymentRow.id)).group_by(
        DeploymentRow.service_id, DeploymentRow.environment_id
    )
    if only_succeeded:
        newest = newest.where(DeploymentRow.state == DeploymentState.SUCCEEDED.value)
    rows = session.execute(deployment_views().where(DeploymentRow.id.in_(newest)))
    return {(svc, env): DeploymentView(row, svc, env, ver) for row, svc, env, ver, _ in rows}


def _iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, as the rest of the API writes times."""
    return moment.isoformat().replace("+00:00", "Z")
