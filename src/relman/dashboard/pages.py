"""Server-rendered pages: the inventory matrix and the newest deployments at `/`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from relman import __version__
from relman.api.deps import AppContext, Reader, Reading, context
from relman.domain.deployments import DeploymentState
from relman.services.deployments import list_deployments
from relman.services.inventory import build_inventory

router = APIRouter(include_in_schema=False)
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    session: Reader,
    _: Reading,
    ctx: Annotated[AppContext, Depends(context)],
) -> HTMLResponse:
    inventory = build_inventory(session, ctx.clock())
    recent, _total = list_deployments(session, limit=10, offset=0)
    moving = any(not DeploymentState(v.row.state).is_final for v in recent)
    html = _templates.get_template("inventory.html").render(
        inventory=inventory,
        recent=recent,
        refresh=3 if moving else 30,  # seconds: faster while deployments move
        version=__version__,
    )
    return HTMLResponse(html)
