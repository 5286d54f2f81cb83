from __future__ import annotations

import pytest
from sqlalchemy import func, select

from relman.configfile import load_config
from relman.services.config_apply import apply_config
from relman.store.database import Database
from relman.store.tables import AuditEventRow, EnvironmentRow, LifecycleRow, ServiceRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FrozenClock

from .concurrency import run_together
from .conftest import CATALOG


def _apply(database: Database, clock: FrozenClock, text: str, *, dry_run: bool = False):  # type: ignore[no-untyped-def]
    with UnitOfWork(database, clock) as uow:
        return apply_config(uow, load_config(text), actor="alice", dry_run=dry_run)


def _counts(database: Database) -> tuple[int, int, int, int]:
    with read_session(database) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model))
            for model in (EnvironmentRow, LifecycleRow, ServiceRow, AuditEventRow)
        )


def test_a_first_apply_creates_every_object(database: Database, clock: FrozenClock) -> None:
    result = _apply(database, clock, CATALOG)
    assert result.created == [
        "environment/dev",
        "environment/staging",
        "environment/production",
        "lifecycle/default",
        "lifecycle/prod-only",
        "service/api",
        "service/web",
    ]
    assert result.changed == []
    assert result.unchanged == []
    assert _counts(database) == (3, 2, 2, 7)


def test_applying_the_same_file_again_changes_nothing(
    database: Database, clock: FrozenClock
) -> None:
    _apply(database, clock, CATALOG)
    result = _apply(database, clock, CATALOG)
    assert result.created == []
    assert result.changed == []
    assert len(result.unchanged) == 7
    assert _counts(database) == (3, 2, 2, 7)  # no audit events for no-ops


def test_a_changed_field_is_reported_with_its_name(database: Database, clock: FrozenClock) -> None:
    _apply(database, clock, CATALOG)
    edited = CATALOG.replace("soak: 10m", "soak: 1h").replace(
        "  - name: web\n    lifecycle: prod-only",
        "  - name: web\n    lifecycle: prod-only\n    tag_format: 'web-v{version}'",
    )
    result = _apply(database, clock, edited)
    assert result.changed == ["lifecycle/default", "service/web"]
    assert result.changes == {"lifecycle/default": ["phases"], "service/web": ["tag_format"]}
    with read_session(database) as session:
        web = session.scalars(select(ServiceRow).where(ServiceRow.name == "web")).one()
        assert web.spec["tag_format"] == "web-v{version}"
        actions = session.scalars(select(AuditEventRow.action)).all()
    assert actions.count("config.change") == 2


def test_a_dry_run_reports_but_changes_nothing(database: Database, clock: FrozenClock) -> None:
    result = _apply(database, clock, CATALOG, dry_run=True)
    assert len(result.created) == 7
    assert result.dry_run
    assert _counts(database) == (0, 0, 0, 0)


def test_a_failure_half_way_leaves_the_store_untouched(
    database: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    original = UnitOfWork.audit

    def failing_audit(self: UnitOfWork, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("disk full")
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(UnitOfWork, "audit", failing_audit)
    with pytest.raises(RuntimeError, match="disk full"):
        _apply(database, clock, CATALOG)
    assert _counts(database) == (0, 0, 0, 0)


def test_reordering_environments_is_a_change_of_position(
    database: Database, clock: FrozenClock
) -> None:
    _apply(database, clock, CATALOG)
    swapped = CATALOG.replace(
        "  - {name: dev, tier: development}\n  - {name: staging, tier: staging}",
        "  - {name: staging, tier: staging}\n  - {name: dev, tier: development}",
    )
    result = _apply(database, clock, swapped)
    assert result.changed == ["environment/staging", "environment/dev"]
    assert result.changes["environment/dev"] == ["position"]


def test_concurrent_applies_do_not_collide(database: Database) -> None:
    results, errors = run_together(4, lambda _: _apply(database, FrozenClock(), CATALOG))
    assert errors == []
    assert sorted(len(r.created) for r in results) == [0, 0, 0, 7]
    assert _counts(database)[:3] == (3, 2, 2)
