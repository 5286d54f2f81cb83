"""Server-rendered pages: for now the inventory matrix at `/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from relman import __version__
from relman.api.deps import Reader, Reading
from relman.services.inventory import build_inventory

router = APIRouter(include_in_schema=False)
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, session: Reader, _: Reading) -> HTMLResponse:
    inventory = build_inventory(session)
    html = _templates.get_template("inventory.html").render(
        inventory=inventory, version=__version__
    )
    return HTMLResponse(html)
