"""Environments, lifecycles and services: read here, written through config apply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from sqlalchemy import func, select

from relman.api.deps import Page, Reader, Reading
from relman.api.schemas import EnvironmentRead, LifecycleRead, PageOf, ServiceRead
from relman.services.lookups import get_environment, get_lifecycle, get_service
from relman.store.tables import EnvironmentRow, LifecycleRow, ServiceRow

router = APIRouter(prefix="/api/v1", tags=["catalog"])
Row = TypeVar("Row", EnvironmentRow, LifecycleRow, ServiceRow)
Item = TypeVar("Item", EnvironmentRead, LifecycleRead, ServiceRead)


def _environment(row: EnvironmentRow) -> EnvironmentRead:
    return EnvironmentRead(
        name=row.name,
        tier=row.tier,
        position=row.position,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _lifecycle(row: LifecycleRow) -> LifecycleRead:
    return LifecycleRead(
        name=row.name,
        phases=row.spec["phases"],
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _service(row: ServiceRow) -> ServiceRead:
    return ServiceRead(
        name=row.name,
        lifecycle=row.spec["lifecycle"],
        spec=row.spec,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _page_of(
    session: Reader,
    page: Page,
    model: type[Row],
    convert: Callable[[Row], Item],
    *order: Any,
) -> PageOf[Item]:
    rows = session.scalars(select(model).order_by(*order).limit(page.limit).offset(page.offset))
    total = session.scalar(select(func.count()).select_from(model)) or 0
    return page.of([convert(r) for r in rows], total)


@router.get("/environments", response_model=PageOf[EnvironmentRead])
def list_environments(session: Reader, page: Page, _: Reading) -> PageOf[EnvironmentRead]:
    order = (EnvironmentRow.position, EnvironmentRow.name)
    return _page_of(session, page, EnvironmentRow, _environment, *order)


@router.get("/environments/{name}", response_model=EnvironmentRead)
def read_environment(name: str, session: Reader, _: Reading) -> EnvironmentRead:
    return _environment(get_environment(session, name))


@router.get("/lifecycles", response_model=PageOf[LifecycleRead])
def list_lifecycles(session: Reader, page: Page, _: Reading) -> PageOf[LifecycleRead]:
    return _page_of(session, page, LifecycleRow, _lifecycle, LifecycleRow.name)


@router.get("/lifecycles/{name}", response_model=LifecycleRead)
def read_lifecycle(name: str, session: Reader, _: Reading) -> LifecycleRead:
    return _lifecycle(get_lifecycle(session, name))


@router.get("/services", response_model=PageOf[ServiceRead])
def list_services(session: Reader, page: Page, _: Reading) -> PageOf[ServiceRead]:
    return _page_of(session, page, ServiceRow, _service, ServiceRow.name)


@router.get("/services/{name}", response_model=ServiceRead)
def read_service(name: str, session: Reader, _: Reading) -> ServiceRead:
    return _service(get_service(session, name))
