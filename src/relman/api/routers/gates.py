"""Gates: the go/no-go report, approvals, environment locks, freezes (docs/gates.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response

from relman.api.deps import MAX_ID, AppContext, Reader, allow, context, identified
from relman.api.schemas import (
    ApprovalCreate,
    ApprovalRead,
    FreezeRead,
    GateReportRead,
    LockCreate,
    LockRead,
    PromotionCreate,
    ReasonRequest,
)
from relman.domain.roles import Permission
from relman.services.approvals import decide
from relman.services.evidence import evidence_of
from relman.services.freezes import (
    create_freeze,
    delete_freeze,
    grant_exception,
    lift_the_line,
    list_freezes,
    stop_the_line,
)
from relman.services.locks import lock, unlock
from relman.services.lookups import get_environment
from relman.services.promotions import go_no_go
from relman.services.slos import slo_statuses
from relman.services.tokens import Principal
from relman.store.unit_of_work import UnitOfWork, read_session

router = APIRouter(prefix="/api/v1", tags=["gates"])

Context = Annotated[AppContext, Depends(context)]
Freezing = Annotated[Principal, Depends(allow(Permission.FREEZE))]


@router.post("/promotions/check", response_model=GateReportRead)
def check_promotion(
    body: PromotionCreate,
    session: Reader,
    ctx: Context,
    caller: Annotated[Principal, Depends(allow(Permission.READ))],
) -> GateReportRead:
    """The go/no-go report: every gate of the promotion with its verdict, reason and evidence,
    as the caller asking now. Changes nothing; a failing gate is a verdict here, not an error."""
    report = go_no_go(
        session,
        ctx.drivers,
        service=body.service,
        version=body.version,
        environment=body.environment,
        actor=caller.user,
        now=ctx.clock(),
        providers=ctx.providers,
        at=body.at,
        role=caller.role,
    )
    return GateReportRead.model_validate(report.to_dict())


@router.post("/deployments/{deployment_id}/approvals", response_model=ApprovalRead, status_code=201)
def post_approval(
    deployment_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: ApprovalCreate,
    ctx: Context,
    caller: Annotated[Principal, Depends(identified)],
) -> ApprovalRead:
    """Approve or reject a waiting deployment. Who may is the approval rule's to say (its
    roles and users); separation of duties refuses the requester, the release's author and
    its commits' authors (403, audited)."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        row = decide(
            uow,
            deployment_id,
            body.decision,
            user=caller.user,
            role=caller.role,
            comment=body.comment,
            providers=ctx.providers,
        )
    ctx.wake()
    return ApprovalRead.model_validate(row)


@router.put("/environments/{name}/lock", response_model=LockRead, status_code=201)
def put_lock(name: str, body: LockCreate, ctx: Context, caller: Freezing) -> LockRead:
    """Lock the environment: nothing deploys there (promotions wait) until it is unlocked or
    `until` passes. 409 when it is locked already."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        row = lock(
            uow, name, reason=body.reason, actor=caller.user, until=body.until, role=caller.role
        )
        env = get_environment(uow.session, name).name
    return LockRead(
        environment=env,
        reason=row.reason,
        locked_by=row.locked_by,
        locked_at=row.locked_at,
        until=row.until,
    )


@router.delete("/environments/{name}/lock", status_code=204)
def delete_lock(name: str, ctx: Context, caller: Freezing) -> Response:
    """Unlock the environment; waiting promotions there are judged again at once. Unlocking
    an environment that is not locked is no error (204 all the same)."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        unlock(uow, name, actor=caller.user, role=caller.role)
    ctx.wake()
    return Response(status_code=204)


@router.get("/freezes", response_model=list[FreezeRead])
def get_freezes(
    session: Reader, ctx: Context, _: Annotated[Principal, Depends(allow(Permission.READ))]
) -> list[FreezeRead]:
    """Every freeze (from relman.yaml, made by hand, stop-the-line) with the window in force now
    and the next one."""
    return [FreezeRead.model_validate(v.to_dict()) for v in list_freezes(session, ctx.clock())]


@router.post("/freezes", response_model=FreezeRead, status_code=201)
def post_freeze(body: dict[str, Any], ctx: Context, caller: Freezing) -> FreezeRead:
    """Make a freeze from the fields relman.yaml uses (name, rrule + duration or start + end,
    timezone, environments, services, reason); 422 lists every problem."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        create_freeze(uow, body, actor=caller.user)
    with read_session(ctx.database) as session:
        view = next(v for v in list_freezes(session, ctx.clock()) if v.row.name == body["name"])
    return FreezeRead.model_validate(view.to_dict())


@router.delete("/freezes/{name}", status_code=204)
def delete_a_freeze(name: str, ctx: Context, caller: Freezing) -> Response:
    """Delete a freeze made by hand (one from relman.yaml goes with 'relman apply')."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        delete_freeze(uow, name, actor=caller.user)
    ctx.wake()
    return Response(status_code=204)


@router.put("/stop-the-line", status_code=204)
def put_stop_the_line(body: ReasonRequest, ctx: Context, caller: Freezing) -> Response:
    """Freeze everything at once: every promotion waits until the line is lifted."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        stop_the_line(uow, reason=body.reason, actor=caller.user)
    return Response(status_code=204)


@router.delete("/stop-the-line", status_code=204)
def delete_stop_the_line(ctx: Context, caller: Freezing) -> Response:
    """Lift stop-the-line (no error when the line was not stopped)."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        lift_the_line(uow, actor=caller.user)
    ctx.wake()
    return Response(status_code=204)


@router.post("/deployments/{deployment_id}/freeze-exception", status_code=201)
def post_freeze_exception(
    deployment_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: ReasonRequest,
    ctx: Context,
    caller: Annotated[Principal, Depends(allow(Permission.OVERRIDE))],
) -> dict[str, Any]:
    """Let one waiting deployment through the freezes: a release-manager, never the one who
    asked for it (403), always audited."""
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        row = grant_exception(
            uow,
            deployment_id,
            reason=body.reason,
            actor=caller.user,
            providers=ctx.providers,
            role=caller.role,
        )
    ctx.wake()
    return {"deployment": row.deployment_id, "granted_by": row.granted_by, "reason": row.reason}


@router.get("/slos")
def get_slos(
    session: Reader, ctx: Context, _: Annotated[Principal, Depends(allow(Permission.READ))]
) -> list[dict[str, Any]]:
    """Each SLO measured now: the verdict its gate would give, budget remaining (%), burn rates
    per window, and the queries and numbers behind them."""
    return [status.evidence() for status in slo_statuses(session, ctx.providers, ctx.clock())]


@router.get("/deployments/{deployment_id}/evidence")
def get_evidence(
    deployment_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: Reader,
    _: Annotated[Principal, Depends(allow(Permission.READ))],
) -> dict[str, Any]:
    """The deployment's evidence record. `sealed` once it started (or failed at its gates): then
    `intact` says whether the stored record still matches its hash and the hash the audit log
    recorded. Before that, the record as it would be sealed now."""
    return evidence_of(session, deployment_id)
