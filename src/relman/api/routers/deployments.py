"""Deployments: promote, roll back, watch (plan, timeline, logs), pause, resume, abort,
promote a canary now."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from relman.api.deps import MAX_ID, AppContext, Page, Reader, Reading, Writer, allow, context
from relman.api.schemas import (
    ApprovalRead,
    ControlRequest,
    DeploymentCreate,
    DeploymentDetailRead,
    DeploymentRead,
    EventRead,
    LogLineRead,
    LogsRead,
    MeasurementRead,
    PageOf,
    PromotionCreate,
    RollbackCreate,
    StepRead,
)
from relman.domain.roles import Permission
from relman.services.deployments import (
    DeploymentView,
    control_deployment,
    deployment_detail,
    deployment_logs,
    get_deployment,
    list_deployments,
    record_deployment,
)
from relman.services.promotions import promote, roll_back
from relman.services.tokens import Principal
from relman.store.unit_of_work import UnitOfWork, read_session

router = APIRouter(prefix="/api/v1", tags=["deployments"])

Deploying = Annotated[Principal, Depends(allow(Permission.DEPLOY))]
Context = Annotated[AppContext, Depends(context)]
DeploymentId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _read(view: DeploymentView) -> DeploymentRead:
    row = view.row
    return DeploymentRead(
        id=row.id,
        service=view.service,
        environment=view.environment,
        version=view.version,
        state=row.state,
        reason=row.reason,
        kind=row.kind,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        created_by=row.created_by,
        queue_position=view.queue_position,
    )


def _detail(ctx: AppContext, deployment_id: int) -> DeploymentDetailRead:
    with read_session(ctx.database) as session:
        detail = deployment_detail(session, deployment_id)
    base = _read(detail.view)
    spec = detail.view.row.spec or {}
    rollout = "rollout" in spec
    return DeploymentDetailRead(
        **base.model_dump(),
        previous_version=detail.previous_version,
        rollback_of=detail.view.row.rollback_of_id,
        rolled_back_by=detail.rolled_back_by,
        candidate_slot=spec.get("slot") if rollout else None,
        stable_slot=spec.get("stable_slot") if rollout else None,
        weights=spec.get("weights") if rollout else None,
        steps=[
            StepRead(
                position=s.position,
                name=s.name,
                kind=s.kind,
                params=s.params,
                state=s.state,
                attempts=s.attempts,
                retries=s.retries,
                idempotent=s.idempotent,
                timeout=s.timeout,
                started_at=s.started_at,
                finished_at=s.finished_at,
                summary=s.summary,
            )
            for s in detail.steps
        ],
        events=[
            EventRead(at=e.at, actor=e.actor, kind=e.kind, message=e.message, details=e.details)
            for e in detail.events
        ],
        measurements=[
            MeasurementRead(
                analysis=m.analysis,
                metric=m.metric,
                step=m.position,
                at=m.at,
                query=m.query,
                value=m.value,
                phase=m.phase,
                reason=m.reason,
            )
            for m in detail.measurements
        ],
        gates=detail.view.row.gates,
        not_before=detail.view.row.not_before,
        approvals=[ApprovalRead.model_validate(a) for a in detail.approvals],
    )


@router.post(
    "/promotions",
    response_model=DeploymentDetailRead,
    status_code=201,
    responses={200: {"description": "The same promotion was queued or running already"}},
)
def post_promotion(
    body: PromotionCreate, ctx: Context, caller: Deploying, response: Response
) -> DeploymentDetailRead:
    """Ask for a deployment of the release to the environment, judged by every gate: queued
    when all pass, `waiting` (listing what for) while some are pending, 409 `refused` naming
    the gates that fail. Asked again while that deployment has not ended, it answers 200 with
    it instead of making another."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        promotion = promote(
            uow,
            ctx.drivers,
            service=body.service,
            version=body.version,
            environment=body.environment,
            actor=caller.user,
            providers=ctx.providers,
            at=body.at,
            role=caller.role,
        )
    if not promotion.created:
        response.status_code = 200
    ctx.wake()
    return _detail(ctx, promotion.row.id)


@router.post("/rollbacks", response_model=DeploymentDetailRead, status_code=201)
def post_rollback(body: RollbackCreate, ctx: Context, caller: Deploying) -> DeploymentDetailRead:
    """Queue a rollback: the release before the one that runs (or `to_version`) goes back."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        row = roll_back(
            uow,
            ctx.drivers,
            service=body.service,
            environment=body.environment,
            to_version=body.to_version,
            actor=caller.user,
            role=caller.role,
        )
    ctx.wake()
    return _detail(ctx, row.id)


@router.post("/deployments", response_model=DeploymentRead, status_code=201)
def post_deployment(body: DeploymentCreate, uow: Writer, caller: Deploying) -> DeploymentRead:
    """Record a deployment that ran outside relman (state: succeeded, failed, …)."""
    view = record_deployment(
        uow,
        service=body.service,
        version=body.version,
        environment=body.environment,
        state=body.state,
        reason=body.reason,
        actor=caller.user,
        role=caller.role,
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


@router.get("/deployments/{deployment_id}", response_model=DeploymentDetailRead)
def read_deployment(deployment_id: DeploymentId, ctx: Context, _: Reading) -> DeploymentDetailRead:
    """One deployment with its plan of steps and its timeline (who did what, and why)."""
    return _detail(ctx, deployment_id)


@router.get("/deployments/{deployment_id}/logs", response_model=LogsRead)
def read_logs(
    deployment_id: DeploymentId,
    session: Reader,
    _: Reading,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="Lines after this id")] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> LogsRead:
    """Output of the deployment's steps, oldest first; poll with `after` to follow."""
    state = get_deployment(session, deployment_id).row.state
    lines = deployment_logs(session, deployment_id, after=after, limit=limit)
    return LogsRead(
        items=[
            LogLineRead(
                id=x.id, step=x.position, step_name=name, attempt=x.attempt, at=x.at, line=x.line
            )
            for x, name in lines
        ],
        state=state,
        next_after=lines[-1][0].id if lines else after,
    )


def _control(action: str) -> Callable[..., DeploymentDetailRead]:
    def endpoint(
        deployment_id: DeploymentId,
        ctx: Context,
        caller: Deploying,
        body: ControlRequest | None = None,
    ) -> DeploymentDetailRead:
        with UnitOfWork(ctx.database, ctx.clock) as uow:
            control_deployment(
                uow,
                deployment_id,
                action,
                actor=caller.user,
                reason=body.reason if body else None,
                role=caller.role,
            )
        ctx.wake()
        return _detail(ctx, deployment_id)

    endpoint.__name__ = f"{action}_deployment"
    endpoint.__doc__ = {
        "pause": "Pause: the step that runs finishes, the next one waits for resume.",
        "resume": "Resume a paused deployment.",
        "abort": "Abort: stop now; the running step is cancelled and nothing more runs. A "
        "canary or blue-green under way rolls back: traffic to the stable slot, the candidate "
        "stopped, then rolled_back.",
        "promote": "Promote a canary or blue-green now: skip its steps up to the one that "
        "gives the candidate all traffic.",
    }[action]
    return endpoint


for _action in ("pause", "resume", "abort", "promote"):
    router.post(f"/deployments/{{deployment_id}}/{_action}", response_model=DeploymentDetailRead)(
        _control(_action)
    )
