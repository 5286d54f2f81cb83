"""`relman approve|reject`, `relman lock|unlock`, and the go/no-go report of `promote --dry-run`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit
from relman.errors import InvalidInput

__all__ = ["approve", "lock", "parse_when", "reject", "render_report", "unlock"]

_VERDICT_STYLE = {"pass": "green", "pending": "yellow", "fail": "red"}
_VERDICT_MARK = {"pass": "✓", "pending": "…", "fail": "✗"}


def parse_when(text: str | None, option: str) -> str | None:
    """An ISO 8601 time for the API; without an offset it is this machine's local time."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise InvalidInput(
            f"{option} '{text}' is not a time; give ISO 8601 like 2026-12-01T22:00 (local "
            "time) or 2026-12-01T21:00Z (UTC)",
            details={"option": option, "value": text},
        ) from None
    return (moment if moment.tzinfo else moment.astimezone()).isoformat()


def render_report(report: dict[str, Any], title: str | None = None) -> Table:
    verdict = report["verdict"]
    title = (
        title
        or {
            "pass": "GO: every gate passes; it would start now",
            "pending": "WAIT: it would wait for the gates marked …",
            "fail": "NO-GO: it would be refused",
        }[verdict]
    )
    table = Table(title=title, title_style=_VERDICT_STYLE[verdict], title_justify="left")
    table.add_column("")
    table.add_column("gate", style="bold")
    table.add_column("verdict")
    table.add_column("reason")
    for gate in report["gates"]:
        style = _VERDICT_STYLE[gate["verdict"]]
        table.add_row(
            Text(_VERDICT_MARK[gate["verdict"]], style=style),
            gate["name"],
            Text(gate["verdict"], style=style),
            _reason(gate),
        )
    return table


def _reason(gate: dict[str, Any]) -> str:
    clears = (
        f" (clears {gate['clears_at'][:16].replace('T', ' ')} UTC)" if gate["clears_at"] else ""
    )
    return str(gate["reason"]) + clears


def approve(
    deployment_id: Annotated[int, typer.Argument(help="The waiting deployment.")],
    comment: Annotated[str | None, typer.Option(help="Why, for the record.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a waiting deployment (as the approval rule allows)."""
    _decide(deployment_id, "approve", comment, as_json)


def reject(
    deployment_id: Annotated[int, typer.Argument(help="The waiting deployment.")],
    reason: Annotated[str, typer.Option(help="Why: the requester reads it.")],
    as_json: JsonOption = False,
) -> None:
    """Reject a waiting deployment: it ends failed, with your reason."""
    _decide(deployment_id, "reject", reason, as_json)


def _decide(deployment_id: int, decision: str, comment: str | None, as_json: bool) -> None:
    with api() as client:
        client.post(
            f"/api/v1/deployments/{deployment_id}/approvals",
            {"decision": decision, "comment": comment},
        )
        d = client.get(f"/api/v1/deployments/{deployment_id}")
    done = "approved" if decision == "approve" else "rejected"

    def render() -> None:
        console.print(f"Deployment {d['id']} {done}; it is {d['state']}.", end="")
        console.print(f" {d['reason']}" if d["state"] == "waiting" and d["reason"] else "")

    emit(d, as_json, render)


def lock(
    environment: Annotated[str, typer.Argument(help="The environment to lock.")],
    reason: Annotated[str, typer.Option(help="Why: everyone it holds up reads it.")],
    until: Annotated[
        str | None,
        typer.Option(help="Unlock by itself then (ISO 8601; local time without an offset)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Lock an environment: nothing deploys there until 'relman unlock' (or --until)."""
    body = {"reason": reason, "until": parse_when(until, "--until")}
    with api() as client:
        row = client.put(f"/api/v1/environments/{environment}/lock", body)
    until_text = f" until {row['until'][:16].replace('T', ' ')} UTC" if row["until"] else ""
    emit(
        row,
        as_json,
        lambda: console.print(
            f"{row['environment']} is locked{until_text}: promotions there wait. "
            f"'relman unlock {row['environment']}' lifts it."
        ),
    )


def unlock(
    environment: Annotated[str, typer.Argument(help="The environment to unlock.")],
    as_json: JsonOption = False,
) -> None:
    """Lift an environment's lock; promotions waiting for it go on."""
    with api() as client:
        client.delete(f"/api/v1/environments/{environment}/lock")
    data = {"environment": environment, "locked": False}
    emit(data, as_json, lambda: console.print(f"{environment} is unlocked."))
