"""`relman freeze list|create|delete|exception` and `relman stop-the-line`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit
from relman.errors import InvalidInput

app = typer.Typer(help="Freeze windows: when promotions wait.", no_args_is_help=True)


def _when(window: dict[str, str] | None) -> str:
    if window is None:
        return ""
    return f"{window['start'][:16].replace('T', ' ')} → {window['end'][:16].replace('T', ' ')}"


@app.command("list")
def list_(as_json: JsonOption = False) -> None:
    """Every freeze, whether it is in force now, and its next window (UTC)."""
    with api() as client:
        freezes = client.get("/api/v1/freezes")

    def render() -> None:
        if not freezes:
            console.print("No freezes: add them to relman.yaml or 'relman freeze create'.")
            return
        table = Table("name", "from", "scope", "now (UTC)", "next (UTC)", "reason")
        for f in freezes:
            spec = f["spec"]
            scope = ", ".join([*spec.get("environments", []), *spec.get("services", [])]) or "all"
            now = "[red]STOPPED[/]" if f["source"] == "stop" else _when(f["window"]) or "-"
            table.add_row(
                f["name"], f["source"], scope, now, _when(f["next"]), spec.get("reason") or ""
            )
        console.print(table)

    emit(freezes, as_json, render)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The freeze's name.")],
    start: Annotated[
        str | None, typer.Option(help="One-off: local start, 2026-12-24T00:00.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="One-off: local end (excluded).")] = None,
    rrule: Annotated[
        str | None, typer.Option(help="Recurring: an RFC 5545 rule, FREQ=WEEKLY;BYDAY=FR;…")
    ] = None,
    duration: Annotated[str | None, typer.Option(help="Recurring: how long, like 64h.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the times.")] = "UTC",
    env: Annotated[
        list[str] | None, typer.Option("--env", help="Only this environment (repeatable).")
    ] = None,
    service: Annotated[
        list[str] | None, typer.Option("--service", help="Only this service (repeatable).")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why: shown to everyone held up.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Make a freeze by hand (the fields of relman.yaml's freezes:)."""
    if (start or end) and (rrule or duration):
        raise InvalidInput("Give --start and --end (one-off) or --rrule and --duration, not both")
    body: dict[str, Any] = {"name": name, "timezone": timezone}
    for key, value in (
        ("start", start),
        ("end", end),
        ("rrule", rrule),
        ("duration", duration),
        ("environments", env),
        ("services", service),
        ("reason", reason),
    ):
        if value:
            body[key] = value
    with api() as client:
        made = client.post("/api/v1/freezes", body)

    def render() -> None:
        state = f"in force until {made['window']['end'][:16]} UTC" if made["active"] else ""
        upcoming = f"next {_when(made['next'])} UTC" if made["next"] else "no window ahead"
        console.print(f"Freeze {made['name']} created: {state or upcoming}.")

    emit(made, as_json, render)


@app.command("delete")
def delete(
    name: Annotated[str, typer.Argument(help="The freeze's name.")],
    as_json: JsonOption = False,
) -> None:
    """Delete a freeze made by hand; waiting promotions it held go on."""
    with api() as client:
        client.delete(f"/api/v1/freezes/{name}")
    emit(
        {"freeze": name, "deleted": True}, as_json, lambda: console.print(f"Freeze {name} deleted.")
    )


@app.command("exception")
def exception(
    deployment_id: Annotated[int, typer.Argument(help="The waiting deployment.")],
    reason: Annotated[str, typer.Option(help="Why it may go now: it is audited.")],
    as_json: JsonOption = False,
) -> None:
    """Let one waiting deployment through the freezes (release-manager; never its requester)."""
    with api() as client:
        granted = client.post(
            f"/api/v1/deployments/{deployment_id}/freeze-exception", {"reason": reason}
        )
        d = client.get(f"/api/v1/deployments/{deployment_id}")
    emit(
        {**granted, "state": d["state"]},
        as_json,
        lambda: console.print(
            f"Deployment {deployment_id} may pass the freezes; it is {d['state']}."
        ),
    )


def stop_the_line(
    reason: Annotated[str | None, typer.Option(help="Why everything stops.")] = None,
    lift: Annotated[bool, typer.Option("--lift", help="End it: promotions go on.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Freeze everything at once (--reason), or end it (--lift)."""
    if lift == (reason is not None):
        raise InvalidInput("Give --reason to stop the line, or --lift to end it")
    with api() as client:
        if lift:
            client.delete("/api/v1/stop-the-line")
        else:
            client.put("/api/v1/stop-the-line", {"reason": reason})
    said = (
        "The line is lifted: promotions go on."
        if lift
        else "The line is stopped: every promotion waits until --lift."
    )
    emit({"stopped": not lift, "reason": reason}, as_json, lambda: console.print(said))
