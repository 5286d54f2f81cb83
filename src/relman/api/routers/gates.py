"""Gates: the go/no-go report, approvals, environment locks (docs/gates.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from relman.api.deps import MAX_ID, AppContext, Reader, allow, context, identified
from relman.api.schemas import (
    ApprovalCreate,
    ApprovalRead,
    GateReportRead,
    LockCreate,
    LockRead,
    PromotionCreate,
)
from relman.domain.roles import Permission
from relman.services.approvals import decide
from relman.services.locks import lock, unlock
from relman.services.lookups import get_environment
from relman.services.promotions import go_no_go
from relman.services.tokens import Principal
from relman.store.unit_of_work import UnitOfWork

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
        row = lock(uow, name, reason=body.reason, actor=caller.user, until=body.until)
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
        unlock(uow, name, actor=caller.user)
    ctx.wake()
    return Response(status_code=204)
