"""Apply a config document: create what is new, change what differs, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select

from relman.domain.config import ConfigDocument
from relman.store.tables import EnvironmentRow, LifecycleRow, ServiceRow
from relman.store.unit_of_work import UnitOfWork

__all__ = ["ApplyResult", "apply_config"]

Named = TypeVar("Named", EnvironmentRow, LifecycleRow, ServiceRow)


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "changes": self.changes,
            "dry_run": self.dry_run,
        }


def apply_config(
    uow: UnitOfWork, doc: ConfigDocument, *, actor: str, dry_run: bool = False
) -> ApplyResult:
    """Make the store match `doc` in one transaction; with `dry_run`, roll it back."""
    result = ApplyResult(dry_run=dry_run)
    uow.lock("config.apply")  # two applies at once: the second sees what the first wrote
    applier = _Applier(uow, actor, result)
    for position, env in enumerate(doc.environments):
        applier.put(EnvironmentRow, "environment", env.name, env.to_dict(), position=position)
    for lifecycle in doc.lifecycles:
        applier.put(LifecycleRow, "lifecycle", lifecycle.name, lifecycle.to_dict())
    uow.session.flush()
    lifecycle_ids = dict(uow.session.execute(select(LifecycleRow.name, LifecycleRow.id)).all())
    for service in doc.services:
        applier.put(
            ServiceRow,
            "service",
            service.name,
            service.to_dict(),
            lifecycle_id=lifecycle_ids[service.lifecycle],
        )
    if not dry_run:
        uow.commit()
    return result


@dataclass
class _Applier:
    uow: UnitOfWork
    actor: str
    result: ApplyResult

    def put(
        self,
        model: type[Named],
        kind: str,
        name: str,
        spec: dict[str, Any],
        **columns: Any,
    ) -> None:
        key = f"{kind}/{name}"
        session = self.uow.session
        now = self.uow.clock()
        row = session.scalar(select(model).where(model.name == name))
        if kind == "environment":
            columns["tier"] = spec["tier"]
        if row is None:
            session.add(model(name=name, spec=spec, created_at=now, updated_at=now, **columns))
            self.result.created.append(key)
            self.uow.audit(self.actor, "config.create", key, spec=spec)
            return
        fields = _changed_fields(row.spec, spec)
        fields += [c for c, value in columns.items() if getattr(row, c) != value and c not in spec]
        if not fields:
            self.result.unchanged.append(key)
            return
        row.spec = spec
        for column, value in columns.items():
            setattr(row, column, value)
        row.updated_at = now
        self.result.changed.append(key)
        self.result.changes[key] = fields
        self.uow.audit(self.actor, "config.change", key, fields=fields, spec=spec)


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
