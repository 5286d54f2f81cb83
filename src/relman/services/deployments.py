"""Deployments: records, details (plan, timeline, queue position), logs, and control."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session, aliased

from relman.domain.deployments import (
    RECORDABLE_STATES,
    DeploymentState,
    StepState,
    check_control,
    parse_state,
)
from relman.domain.roles import Role
from relman.engine.rollout import measurements_of, skip_to_full_traffic, start_rollback
from relman.engine.transitions import move, note, steps_of
from relman.errors import Conflict, InvalidInput, NotFound
from relman.services.lookups import get_environment, get_service, require_in
from relman.services.releases import get_release
from relman.store.notifications import announce_work
from relman.store.tables import (
    AnalysisMeasurementRow,
    ApprovalRow,
    DeploymentEventRow,
    DeploymentLogRow,
    DeploymentRow,
    DeploymentStepRow,
    EnvironmentRow,
    LifecycleRow,
    ReleaseRow,
    ServiceRow,
)
from relman.store.unit_of_work import UnitOfWork

__all__ = [
    "DeploymentDetail",
    "DeploymentView",
    "control_deployment",
    "deployment_detail",
    "deployment_logs",
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
    queue_position: int | None = None  # 1 = next to start; None unless queued


def deployment_views() -> Select[DeploymentRow, str, str, str, int | None]:
    """Deployments joined with their service, environment, version and place in the queue."""
    ahead = aliased(DeploymentRow)
    position = (
        select(func.count())
        .where(
            ahead.service_id == DeploymentRow.service_id,
            ahead.environment_id == DeploymentRow.environment_id,
            ahead.state == DeploymentState.QUEUED.value,
            ahead.id <= DeploymentRow.id,
        )
        .correlate(DeploymentRow)
        .scalar_subquery()
    )
    queued = DeploymentRow.state == DeploymentState.QUEUED.value
    return (
        select(
            DeploymentRow,
            ServiceRow.name,
            EnvironmentRow.name,
            ReleaseRow.version,
            case((queued, position), else_=None),
        )
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
    role: Role | None = None,
) -> DeploymentView:
    """Record a deployment that happened outside relman (it must have ended)."""
    session = uow.session
    final_state = parse_state(state, RECORDABLE_STATES)
    service_row = get_service(session, service)
    env_row = get_environment(session, environment)
    require_in(env_row, "deploy", actor, role)
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
        kind="record",
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
    return DeploymentView(row, service_row.name, env_row.name, release.version, None)


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


@dataclass(frozen=True)
class DeploymentDetail:
    view: DeploymentView
    steps: list[DeploymentStepRow]
    events: list[DeploymentEventRow]
    previous_version: str | None
    rolled_back_by: int | None  # the newest rollback deployment that undoes this one
    measurements: list[AnalysisMeasurementRow] = field(default_factory=list)
    approvals: list[ApprovalRow] = field(default_factory=list)


def deployment_detail(session: Session, deployment_id: int) -> DeploymentDetail:
    """A deployment with its plan, its timeline and, when queued, its place in the queue."""
    view = get_deployment(session, deployment_id)
    row = view.row
    steps = session.scalars(
        select(DeploymentStepRow)
        .where(DeploymentStepRow.deployment_id == row.id)
        .order_by(DeploymentStepRow.position)
    ).all()
    events = session.scalars(
        select(DeploymentEventRow)
        .where(DeploymentEventRow.deployment_id == row.id)
        .order_by(DeploymentEventRow.id)
    ).all()
    previous = (
        session.get_one(ReleaseRow, row.previous_release_id).version
        if row.previous_release_id
        else None
    )
    rollback = session.scalar(
        select(func.max(DeploymentRow.id)).where(DeploymentRow.rollback_of_id == row.id)
    )
    measurements = measurements_of(session, row.id)
    approvals = session.scalars(
        select(ApprovalRow).where(ApprovalRow.deployment_id == row.id).order_by(ApprovalRow.at)
    ).all()
    return DeploymentDetail(
        view, list(steps), list(events), previous, rollback, measurements, list(approvals)
    )


def deployment_logs(
    session: Session, deployment_id: int, *, after: int, limit: int
) -> list[tuple[DeploymentLogRow, str]]:
    """Output lines of the deployment with an id above `after`, oldest first, each with the
    name of its step."""
    get_deployment(session, deployment_id)
    rows = session.execute(
        select(DeploymentLogRow, DeploymentStepRow.name)
        .join(
            DeploymentStepRow,
            (DeploymentStepRow.deployment_id == DeploymentLogRow.deployment_id)
            & (DeploymentStepRow.position == DeploymentLogRow.position),
        )
        .where(DeploymentLogRow.deployment_id == deployment_id, DeploymentLogRow.id > after)
        .order_by(DeploymentLogRow.id)
        .limit(limit)
    )
    return [(line, name) for line, name in rows]


def control_deployment(
    uow: UnitOfWork,
    deployment_id: int,
    action: str,
    *,
    actor: str,
    reason: str | None = None,
    role: Role | None = None,
) -> DeploymentView:
    """Pause (before its next step), resume, abort, or promote a deployment.

    Abort stops at once: the step that runs is cancelled and its outcome ignored; a canary or
    blue-green under way is rolled back instead (traffic to the stable slot, the candidate
    stopped). Promote skips a canary's or blue-green's steps up to full traffic.
    """
    session = uow.session
    row = session.get(DeploymentRow, deployment_id, with_for_update=True)
    if row is None:
        get_deployment(session, deployment_id)  # raises NotFound with the hint
        raise NotFound(f"No deployment {deployment_id}")
    require_in(session.get_one(EnvironmentRow, row.environment_id), "deploy", actor, role)
    target = check_control(row.id, DeploymentState(row.state), action)
    if action == "promote":
        _promote_now(uow, row, actor)
    elif action == "abort" and _roll_back_now(uow, row, actor, reason):
        pass  # it ends rolled_back once the way back has run
    else:
        _control(uow, row, action, target, actor, reason)
    uow.commit()
    return get_deployment(session, deployment_id)


def _control(
    uow: UnitOfWork,
    row: DeploymentRow,
    action: str,
    target: DeploymentState,
    actor: str,
    reason: str | None,
) -> None:
    if action == "abort":
        for step in steps_of(uow, row.id).values():
            if step.state == StepState.RUNNING.value:
                step.state = StepState.CANCELLED.value
                step.finished_at = uow.clock()
                step.summary = f"cancelled: deployment aborted by {actor}"
    if action == "resume":
        row.due_at = None  # a held canary's next background measurement is not the step's timer
    move(uow, row, target, actor=actor, reason=reason or f"{action} by {actor}")


def _promote_now(uow: UnitOfWork, row: DeploymentRow, actor: str) -> None:
    """Skip a canary's or blue-green's steps up to the one giving the candidate all traffic."""
    reached = skip_to_full_traffic(uow, row, actor)
    if reached is None:
        raise Conflict(
            f"Deployment {row.id} has no step ahead that gives the candidate all traffic; "
            "promote skips a canary's or blue-green's steps up to that one",
            details={"id": row.id},
        )
    note(uow, row.id, f"promoted by {actor}: skipping to {reached}", actor, kind="control")
    uow.audit(actor, "deployment.promote_now", f"deployment/{row.id}", step=reached)
    if row.state == DeploymentState.PAUSED.value:
        move(uow, row, DeploymentState.RUNNING, actor=actor, reason=f"promoted by {actor}")
    else:
        announce_work(uow.session)


def _roll_back_now(uow: UnitOfWork, row: DeploymentRow, actor: str, reason: str | None) -> bool:
    """Abort of a canary or blue-green under way: traffic back to the stable slot, the
    candidate stopped, then rolled_back. False when it has nothing to go back to."""
    why = f"aborted by {actor}" + (f": {reason}" if reason else "")
    if not start_rollback(uow, row, why, actor):
        return False
    row.lease_owner = None  # the step a worker runs now is dropped; the way back runs next
    row.lease_expires_at = None
    if row.state == DeploymentState.PAUSED.value:
        move(uow, row, DeploymentState.RUNNING, actor=actor, reason=why)
    else:
        announce_work(uow.session)
    return True
