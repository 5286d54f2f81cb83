"""Apply a config document: create what is new, change what differs, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import select

from relman.domain.config import ConfigDocument
from relman.errors import Conflict
from relman.store.tables import EnvironmentRow, FreezeRow, LifecycleRow, ServiceRow, SloRow
from relman.store.unit_of_work import UnitOfWork

__all__ = ["ApplyResult", "apply_config"]

Named = TypeVar("Named", EnvironmentRow, LifecycleRow, ServiceRow)
Kept = TypeVar("Kept", FreezeRow, SloRow)  # whole lists the file owns


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)
    dry_run: bool = False
    deleted: list[str] = field(default_factory=list)  # freezes and SLOs the file dropped

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
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
    now = uow.clock()
    if doc.freezes is not None:  # a file without freezes: leaves the store's alone
        _put_all(
            applier,
            FreezeRow,
            "freeze",
            [spec.to_dict() for spec in doc.freezes],
            lambda name, spec: FreezeRow(
                name=name, source="config", spec=spec, created_by=actor, created_at=now
            ),
        )
    if doc.slos is not None:
        _put_all(
            applier,
            SloRow,
            "slo",
            [spec.to_dict() for spec in doc.slos],
            lambda name, spec: SloRow(name=name, spec=spec, created_at=now, updated_at=now),
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


def _put_all(
    applier: _Applier,
    model: type[Kept],
    kind: str,
    specs: list[dict[str, Any]],
    make: Callable[[str, dict[str, Any]], Kept],
) -> None:
    """The file's freezes or SLOs replace those an earlier apply made (`freezes: []` removes
    them all); a freeze made with `relman freeze create` stays, and may not share a name with
    one of the file's."""
    uow, result = applier.uow, applier.result
    session = uow.session
    existing = {row.name: row for row in session.scalars(select(model))}
    for spec in specs:
        name, key = spec["name"], f"{kind}/{spec['name']}"
        row = existing.pop(name, None)
        if row is not None and not _from_file(row):
            raise Conflict(
                f"A {kind} named '{name}' was made with 'relman {kind} create' (by "
                f"{getattr(row, 'created_by', '?')}); delete it with 'relman {kind} delete "
                f"{name}' or rename the one in relman.yaml",
                details={kind: name},
            )
        if row is None:
            session.add(make(name, spec))
            result.created.append(key)
            uow.audit(applier.actor, "config.create", key, spec=spec)
        elif row.spec != spec:
            fields = _changed_fields(row.spec, spec)
            row.spec = spec
            if isinstance(row, SloRow):
                row.updated_at = uow.clock()
            result.changed.append(key)
            result.changes[key] = fields
            uow.audit(applier.actor, "config.change", key, fields=fields, spec=spec)
        else:
            result.unchanged.append(key)
    for name, row in existing.items():
        if _from_file(row):
            session.delete(row)
            result.deleted.append(f"{kind}/{name}")
            uow.audit(applier.actor, "config.delete", f"{kind}/{name}", spec=row.spec)


def _from_file(row: FreezeRow | SloRow) -> bool:
    return not isinstance(row, FreezeRow) or row.source == "config"


def _changed_fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
