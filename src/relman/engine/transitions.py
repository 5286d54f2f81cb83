"""The one door for deployment and step state changes.

Every change of a deployment's state goes through `move`, which checks the move against the
domain's table, writes the timeline event and the audit record, and keeps the lease and
finish time consistent with the state. Creating a planned deployment (`create_deployment`) is
the other way in: it writes the plan's steps with the deployment, all in the caller's
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from relman.domain.deployments import DeploymentState, StepState, check_transition
from relman.drivers.base import DEFAULT_SLOT, Driver, PlannedStep
from relman.store.notifications import announce_work
from relman.store.tables import DeploymentEventRow, DeploymentRow, DeploymentStepRow
from relman.store.unit_of_work import UnitOfWork

__all__ = [
    "SYSTEM",
    "NewDeployment",
    "StepSpec",
    "add_steps",
    "create_deployment",
    "current_deployment",
    "move",
    "note",
    "planned_rollback",
    "running_deployment",
    "steps_of",
]

SYSTEM = "relman"  # the actor of changes the engine makes by itself


@dataclass(frozen=True, slots=True)
class StepSpec:
    """A step as stored: `kind` run is the run driver's step (`params["action"]`, default the
    name); weight, pause, analysis and promote are the engine's own (engine/rollout.py)."""

    name: str
    kind: str = "run"
    params: dict[str, Any] | None = None
    timeout: float | None = None
    retries: int = 0
    idempotent: bool = False

    @classmethod
    def of(cls, step: PlannedStep) -> StepSpec:
        return cls(
            step.name, timeout=step.timeout, retries=step.retries, idempotent=step.idempotent
        )


@dataclass(frozen=True)
class NewDeployment:
    """What a planned deployment starts from."""

    service_id: int
    environment_id: int
    release_id: int
    kind: str  # "deploy" or "rollback"
    driver: str
    settings: dict[str, Any]
    on_failure: str
    plan: Sequence[PlannedStep | StepSpec]  # a progressive one is planned when it starts
    previous_release_id: int | None = None
    rollback_of_id: int | None = None
    rollout: dict[str, Any] | None = None  # a progressive deployment's settings (rollout.py)


def planned_rollback(
    undone: DeploymentRow, target_release_id: int, driver: Driver, settings: dict[str, Any]
) -> NewDeployment:
    """A rollback of `undone`: the target release goes back where it ran, with the driver's
    rollback plan; when it succeeds, `undone` is marked rolled_back."""
    return NewDeployment(
        service_id=undone.service_id,
        environment_id=undone.environment_id,
        release_id=target_release_id,
        kind="rollback",
        driver=driver.name,
        settings=settings,
        on_failure="fail",  # a rollback that fails stops for a person, it never rolls back
        plan=driver.plan(settings, rollback=True),
        previous_release_id=undone.release_id,
        rollback_of_id=undone.id,
    )


def create_deployment(
    uow: UnitOfWork,
    new: NewDeployment,
    *,
    actor: str,
    state: DeploymentState = DeploymentState.QUEUED,
    reason: str | None = None,
) -> DeploymentRow:
    """Add a deployment and its plan; it waits in `state` (queued, or running for a rollback
    that takes over its cell at once)."""
    now = uow.clock()
    row = DeploymentRow(
        service_id=new.service_id,
        environment_id=new.environment_id,
        release_id=new.release_id,
        state=state.value,
        reason=reason,
        created_at=now,
        created_by=actor,
        kind=new.kind,
        previous_release_id=new.previous_release_id,
        rollback_of_id=new.rollback_of_id,
        spec={
            "driver": new.driver,
            "settings": new.settings,
            "on_failure": new.on_failure,
            "slot": DEFAULT_SLOT,
            **({"rollout": new.rollout} if new.rollout else {}),
        },
        cursor=0,
        started_at=now if state is DeploymentState.RUNNING else None,
    )
    uow.session.add(row)
    uow.session.flush()
    plan = [step if isinstance(step, StepSpec) else StepSpec.of(step) for step in new.plan]
    add_steps(uow, row.id, plan)
    steps = ", ".join(step.name for step in plan) or "made when it starts"
    note(uow, row.id, f"{new.kind} created: {state.value}; plan: {steps}", actor, reason=reason)
    announce_work(uow.session)
    return row


def add_steps(
    uow: UnitOfWork, deployment_id: int, steps: Sequence[StepSpec], start: int = 0
) -> None:
    """Store `steps` as the deployment's, from position `start` on."""
    for position, step in enumerate(steps, start):
        uow.session.add(
            DeploymentStepRow(
                deployment_id=deployment_id,
                position=position,
                name=step.name[:50],
                kind=step.kind,
                params=step.params,
                state=StepState.PENDING.value,
                attempts=0,
                timeout=step.timeout,
                retries=step.retries,
                idempotent=step.idempotent,
            )
        )


def move(
    uow: UnitOfWork,
    row: DeploymentRow,
    to: DeploymentState,
    *,
    actor: str,
    reason: str | None = None,
) -> None:
    """Change the deployment's state, or raise Conflict naming what is allowed."""
    current = DeploymentState(row.state)
    check_transition(row.id, current, to)
    now = uow.clock()
    row.state = to.value
    if to is DeploymentState.RUNNING:
        row.reason = None  # going on: why it waited is history (the timeline keeps it)
    elif reason is not None or to.is_final:
        row.reason = reason
    if to is DeploymentState.RUNNING and row.started_at is None:
        row.started_at = now
    if to.is_final:
        row.finished_at = row.finished_at or now
        row.lease_owner = None
        row.lease_expires_at = None
        row.due_at = None
    message = f"{current.value} → {to.value}" + (f": {reason}" if reason else "")
    note(uow, row.id, message, actor, kind="state", reason=reason, to=to.value)
    uow.audit(actor, f"deployment.{to.value}", f"deployment/{row.id}", reason=reason)
    if to is not DeploymentState.PAUSED:  # resumed, or ended: the cell may be free for the next
        announce_work(uow.session)


def note(
    uow: UnitOfWork,
    deployment_id: int,
    message: str,
    actor: str = SYSTEM,
    *,
    kind: str = "note",
    **details: Any,
) -> None:
    """Add a line to the deployment's timeline."""
    uow.session.execute(
        insert(DeploymentEventRow).values(
            deployment_id=deployment_id,
            at=uow.clock(),
            actor=actor,
            kind=kind,
            message=message,
            details={k: v for k, v in details.items() if v is not None},
        )
    )


def steps_of(
    uow: UnitOfWork, deployment_id: int, position: int | None = None
) -> dict[int, DeploymentStepRow]:
    """The deployment's steps by position; with `position`, only that one and the next."""
    query = select(DeploymentStepRow).where(DeploymentStepRow.deployment_id == deployment_id)
    if position is not None:
        query = query.where(DeploymentStepRow.position.in_((position, position + 1)))
    return {step.position: step for step in uow.session.scalars(query)}


def current_deployment(
    uow: UnitOfWork, service_id: int, environment_id: int
) -> DeploymentRow | None:
    """The deployment whose release runs in the cell now: its newest successful one."""
    return running_deployment(uow.session, service_id, environment_id)


def running_deployment(
    session: Session, service_id: int, environment_id: int
) -> DeploymentRow | None:
    """current_deployment for a read-only session."""
    return session.scalar(
        select(DeploymentRow)
        .where(
            DeploymentRow.service_id == service_id,
            DeploymentRow.environment_id == environment_id,
            DeploymentRow.state == DeploymentState.SUCCEEDED.value,
        )
        .order_by(DeploymentRow.id.desc())
        .limit(1)
    )
