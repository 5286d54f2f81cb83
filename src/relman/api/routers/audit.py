"""The audit log: pages, the whole log as JSON Lines, and its verification (release-manager)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from relman.api.deps import AppContext, Page, Reader, allow, context
from relman.api.schemas import AuditRead, AuditVerifyRead, PageOf
from relman.domain.roles import Permission
from relman.services import audit
from relman.services.tokens import Principal
from relman.store.unit_of_work import read_session

router = APIRouter(tags=["audit"])

Auditor = Annotated[Principal, Depends(allow(Permission.READ_AUDIT))]


@router.get("/api/v1/audit", response_model=PageOf[AuditRead])
def get_audit(
    session: Reader,
    page: Page,
    _: Auditor,
    actor: Annotated[str | None, Query(max_length=100, description="Who acted")] = None,
    action: Annotated[
        str | None,
        Query(max_length=50, description="An action, or a prefix ending in * (deployment.*)"),
    ] = None,
    object: Annotated[
        str | None, Query(max_length=300, description="What was acted on (deployment/7)")
    ] = None,
) -> PageOf[AuditRead]:
    """Every state change and every refusal, newest first."""
    rows, total = audit.page(
        session, audit.AuditFilter(actor, action, object), page.limit, page.offset
    )
    return page.of([AuditRead.model_validate(r) for r in rows], total)


@router.get(
    "/api/v1/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
def export_audit(ctx: Annotated[AppContext, Depends(context)], _: Auditor) -> StreamingResponse:
    """The whole log, oldest first, one JSON object per line, with each entry's hashes: enough to
    check the chain without relman (docs/audit.md gives the formula)."""

    def lines() -> Iterator[str]:
        with read_session(ctx.database) as session:
            for entry in audit.entries(session):
                yield json.dumps(AuditRead.model_validate(entry).model_dump(mode="json")) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.get("/api/v1/audit/verify", response_model=AuditVerifyRead)
def verify_audit(session: Reader, _: Auditor) -> AuditVerifyRead:
    """Recompute the hash chain; `intact` is false and `problem` names the first bad entry
    when a row was changed, deleted or added behind relman's back."""
    return AuditVerifyRead.of(audit.verify_log(session))
