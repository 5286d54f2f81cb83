"""`relman deployments`: deployment records."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit

app = typer.Typer(help="Deployments.", no_args_is_help=True)


@app.command("list")
def list_(
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    env: Annotated[str | None, typer.Option(help="Only this environment.")] = None,
    limit: Annotated[int, typer.Option(help="How many at most.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List deployments, newest first."""
    with api() as client:
        page = client.get("/api/v1/deployments", service=service, environment=env, limit=limit)
    emit(page, as_json, lambda: _render(page["items"]))


def _render(items: list[dict[str, Any]]) -> None:
    table = Table("id", "service", "version", "environment", "state", "when", "by")
    for d in items:
        table.add_row(
            str(d["id"]),
            d["service"],
            d["version"],
            d["environment"],
            d["state"],
            (d["finished_at"] or d["created_at"])[:16],
            d["created_by"],
        )
    console.print(table)


@app.command("show")
def show(
    deployment_id: Annotated[int, typer.Argument(help="The deployment's id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one deployment."""
    with api() as client:
        d = client.get(f"/api/v1/deployments/{deployment_id}")
    emit(
        d,
        as_json,
        lambda: console.print(
            f"Deployment {d['id']}: {d['service']} {d['version']} → {d['environment']}: "
            f"{d['state']} ({d['created_at'][:16]} by {d['created_by']})"
        ),
    )


@app.command("record")
def record(
    service: Annotated[str, typer.Argument()],
    version: Annotated[str, typer.Argument()],
    env: Annotated[str, typer.Option(help="The environment it went to.")],
    state: Annotated[
        str, typer.Option(help="succeeded, failed, rolled_back or aborted.")
    ] = "succeeded",
    reason: Annotated[str | None, typer.Option(help="A note for the record.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a deployment that ran outside relman, so inventory shows it."""
    body = {
        "service": service,
        "version": version,
        "environment": env,
        "state": state,
        "reason": reason,
    }
    with api() as client:
        d = client.post("/api/v1/deployments", body)
    emit(
        d,
        as_json,
        lambda: console.print(
            f"Recorded deployment {d['id']}: {d['service']} {d['version']} → "
            f"{d['environment']} ({d['state']})."
        ),
    )
