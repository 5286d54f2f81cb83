"""Inventory, config, health and metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import text

from relman.api.deps import AppContext, Reader, Reading, Writer, allow, context
from relman.api.schemas import ApplyRead, ConfigRequest
from relman.configfile import load_config
from relman.domain.roles import Permission
from relman.services.config_apply import apply_config
from relman.services.inventory import build_inventory
from relman.services.tokens import Principal

router = APIRouter()


@router.get("/api/v1/inventory", tags=["inventory"])
def get_inventory(
    session: Reader, _: Reading, ctx: Annotated[AppContext, Depends(context)]
) -> dict[str, Any]:
    """What version runs in each environment, per service (the last successful deployment),
    and who locked which environment and why."""
    return build_inventory(session, ctx.clock()).to_dict()


@router.post("/api/v1/config/validate", tags=["config"])
def validate_config(
    body: ConfigRequest, _: Annotated[Principal, Depends(allow(Permission.READ))]
) -> dict[str, Any]:
    """Check a relman.yaml text; 422 with every issue (file, line, field) when it is bad."""
    doc = load_config(body.text, body.filename)
    return {
        "valid": True,
        "environments": len(doc.environments),
        "lifecycles": len(doc.lifecycles),
        "services": len(doc.services),
    }


@router.post("/api/v1/config/apply", response_model=ApplyRead, tags=["config"])
def post_apply(
    body: ConfigRequest,
    uow: Writer,
    caller: Annotated[Principal, Depends(allow(Permission.APPLY_CONFIG))],
) -> ApplyRead:
    """Make environments, lifecycles and services match the file, all or nothing."""
    doc = load_config(body.text, body.filename)
    result = apply_config(uow, doc, actor=caller.user, dry_run=body.dry_run)
    return ApplyRead(**result.to_dict())


@router.get("/healthz", tags=["system"])
def healthz(session: Reader) -> dict[str, str]:
    session.execute(text("SELECT 1"))
    return {"status": "ok"}


@router.get("/metrics", tags=["system"], response_class=Response)
def metrics(request: Request) -> Response:
    body, content_type = request.app.state.metrics.render()
    return Response(content=body, media_type=content_type)
