"""Deployment records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from relman.api.deps import MAX_ID, Page, Reader, Reading, Writer, allow
from relman.api.schemas import DeploymentCreate, DeploymentRead, PageOf
from relman.domain.roles import Permission
from relman.services.deployments import (
    DeploymentView,
    get_deployment,
    list_deployments,
    record_deployment,
)
from relman.services.tokens import Principal

router = APIRouter(prefix="/api/v1", tags=["deployments"])


def _read(view: DeploymentView) -> DeploymentRead:
    row = view.row
    return DeploymentRead(
        id=row.id,
        service=view.service,
        environment=view.environment,
        version=view.version,
        state=row.state,
        reason=row.reason,
        created_at=row.created_at,
        finished_at=row.finished_at,
        created_by=row.created_by,
    )


@router.post("/deployments", response_model=DeploymentRead, status_code=201)
def post_deployment(
    body: DeploymentCreate,
    uow: Writer,
    caller: Annotated[Principal, Depends(allow(Permission.DEPLOY))],
) -> DeploymentRead:
    """Record a deployment that ran outside relman (state: succeeded, failed, …)."""
    view = record_deployment(
        uow,
        service=body.service,
        version=body.version,
        environment=body.environment,
        state=body.state,
        reason=body.reason,
        actor=caller.user,
    )
    return _read(view)


@router.get("/deployments", response_model=PageOf[DeploymentRead])
def list_all_deployments(
    session: Reader,
    page: Page,
    _: Reading,
    service: Annotated[str | None, Query()] = None,
    environment: Annotated[str | None, Query()] = None,
) -> PageOf[DeploymentRead]:
    views, total = list_deployments(
        session, service=service, environment=environment, limit=page.limit, offset=page.offset
    )
    return page.of([_read(v) for v in views], total)


@router.get("/deployments/{deployment_id}", response_model=DeploymentRead)
def read_deployment(
    deployment_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: Reader, _: Reading
) -> DeploymentRead:
    return _read(get_deployment(session, deployment_id))
