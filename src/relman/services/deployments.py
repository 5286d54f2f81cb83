"""Deployment records. (Running deployments comes with the engine.)"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from relman.domain.deployments import RECORDABLE_STATES, parse_state
from relman.errors import InvalidInput, NotFound
from relman.services.lookups import get_environment, get_service
from relman.services.releases import get_release
from relman.store.tables import (
    DeploymentRow,
    EnvironmentRow,
    LifecycleRow,
    ReleaseRow,
    ServiceRow,
)
from relman.store.unit_of_work import UnitOfWork

__all__ = [
    "DeploymentView",
    "deployment_views",
    "get_deployment",
    "lifecycle_environments",
    "list_deployments",
    "record_deployment",
]


@dataclass(frozen=True)
class DeploymentView:
    row: DeploymentRow
    service: str
    environment: str
    version: str


def deployment_views() -> Select[DeploymentRow, str, str, str]:
    """Deployments joined with their service, environment and version."""
    return (
        select(DeploymentRow, ServiceRow.name, EnvironmentRow.name, ReleaseRow.version)
        .join(ServiceRow, DeploymentRow.service_id == ServiceRow.id)
        .join(EnvironmentRow, DeploymentRow.environment_id == EnvironmentRow.id)
        .join(ReleaseRow, DeploymentRow.release_id == ReleaseRow.id)
    )


def record_deployment(
    uow: UnitOfWork,
    *,
    service: str,
    version: str,
    environment: str,
    state: str,
    actor: str,
    reason: str | None = None,
) -> DeploymentView:
    """Record a deployment that happened outside relman (it must have ended)."""
    session = uow.session
    final_state = parse_state(state, RECORDABLE_STATES)
    service_row = get_service(session, service)
    env_row = get_environment(session, environment)
    _check_in_lifecycle(session, service_row, env_row)
    release = get_release(session, service, version)
    when = uow.clock()
    row = DeploymentRow(
        service_id=service_row.id,
        environment_id=env_row.id,
        release_id=release.id,
        state=final_state.value,
        reason=reason,
        created_at=when,
        finished_at=when,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    uow.audit(
        actor,
        "deployment.record",
        f"deployment/{row.id}",
        service=service_row.name,
        environment=env_row.name,
        version=release.version,
        state=final_state.value,
    )
    uow.commit()
    return DeploymentView(row, service_row.name, env_row.name, release.version)


def lifecycle_environments(session: Session, service: ServiceRow) -> list[str]:
    """The environments of the service's lifecycle, in phase order."""
    lifecycle = session.get_one(LifecycleRow, service.lifecycle_id)
    return [env for phase in lifecycle.spec["phases"] for env in phase["environments"]]


def _check_in_lifecycle(session: Session, service: ServiceRow, environment: EnvironmentRow) -> None:
    names = lifecycle_environments(session, service)
    if environment.name not in names:
        raise InvalidInput(
            f"{environment.name} is not in the lifecycle of {service.name}; "
            f"its environments: {', '.join(names)}",
            details={"service": service.name, "environment": environment.name, "allowed": names},
        )


def list_deployments(
    session: Session,
    *,
    service: str | None = None,
    environment: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[DeploymentView], int]:
    query = deployment_views()
    if service is not None:
        query = query.where(DeploymentRow.service_id == get_service(session, service).id)
    if environment is not None:
        env_id = get_environment(session, environment).id
        query = query.where(DeploymentRow.environment_id == env_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(DeploymentRow.created_at.desc(), DeploymentRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [DeploymentView(*row) for row in rows], total


def get_deployment(session: Session, deployment_id: int) -> DeploymentView:
    row = session.execute(deployment_views().where(DeploymentRow.id == deployment_id)).first()
    if row is None:
        raise NotFound(
            f"No deployment {deployment_id}; list them with 'relman deployments list'",
            details={"id": deployment_id},
        )
    return DeploymentView(*row)
