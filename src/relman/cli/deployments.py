"""`relman deployments`: list, show, watch, logs, pause, resume, abort, promote, record."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit
from relman.cli.progress import FINAL_STATES, render_deployment
from relman.cli.promote import finish, follow_or_stop, watching

app = typer.Typer(help="Deployments.", no_args_is_help=True)

DeploymentId = Annotated[int, typer.Argument(help="The deployment's id.", min=1)]


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
    table = Table("id", "kind", "service", "version", "environment", "state", "when", "by")
    for d in items:
        table.add_row(
            str(d["id"]),
            d["kind"],
            d["service"],
            d["version"],
            d["environment"],
            f"queued ({d['queue_position']})" if d.get("queue_position") else d["state"],
            (d["finished_at"] or d["created_at"])[:16],
            d["created_by"],
        )
    console.print(table)


@app.command("show")
def show(deployment_id: DeploymentId, as_json: JsonOption = False) -> None:
    """Show a deployment: its plan of steps and its timeline (who, when, why)."""
    with api() as client:
        d = client.get(f"/api/v1/deployments/{deployment_id}")
    emit(
        d,
        as_json,
        lambda: console.print(render_deployment(d, events=len(d["events"]), measurements=True)),
    )


@app.command("watch")
def watch(deployment_id: DeploymentId, as_json: JsonOption = False) -> None:
    """Follow a deployment live until it ends; exit 0 only if it succeeded (9 otherwise)."""
    with api() as client:
        d = follow_or_stop(client, deployment_id, live=not as_json)
    finish(d, as_json)


@app.command("logs")
def logs(
    deployment_id: DeploymentId,
    follow_: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines until it ends.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print the output of the deployment's steps."""
    after = 0
    with api() as client, watching(deployment_id):
        while True:
            page = client.get(f"/api/v1/deployments/{deployment_id}/logs", after=after)
            for line in page["items"]:
                _print_line(line, as_json)
            after = page["next_after"]
            if not follow_ or (page["state"] in FINAL_STATES and not page["items"]):
                return
            if not page["items"]:
                time.sleep(0.5)


def _print_line(line: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(line))
        return
    console.print(f"[dim]{line['at'][11:19]} {line['step_name']}[/] ", end="")
    console.print(line["line"], markup=False, highlight=False, soft_wrap=True)


def _control(action: str, help_text: str) -> None:
    def command(
        deployment_id: DeploymentId,
        reason: Annotated[str | None, typer.Option(help="Why, for the timeline.")] = None,
        as_json: JsonOption = False,
    ) -> None:
        with api() as client:
            d = client.post(f"/api/v1/deployments/{deployment_id}/{action}", {"reason": reason})
        emit(d, as_json, lambda: console.print(render_deployment(d, events=1)))

    command.__doc__ = help_text
    app.command(action)(command)


_control("pause", "Pause a running deployment: its current step finishes, the next waits.")
_control("resume", "Resume a paused deployment.")
_control(
    "abort",
    "Abort a deployment now: the running step is cancelled, nothing more runs; a canary or "
    "blue-green under way rolls back (traffic to the stable slot, the candidate stopped).",
)
_control("promote", "Promote a canary or blue-green now: skip its steps up to full traffic.")


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
