"""Following a deployment until it ends: live progress for people, one JSON for scripts."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from relman.cli.output import err_console
from relman.domain.deployments import DeploymentState

if TYPE_CHECKING:
    from relman.cli.client import ApiClient  # httpx: imported only when a command calls

__all__ = ["FINAL_STATES", "follow", "render_deployment", "summary"]

FINAL_STATES = {state.value for state in DeploymentState if state.is_final}
_DECIDED = {"approve": "approved", "reject": "rejected"}
_STEP_MARK = {
    "succeeded": ("✓", "green"),
    "failed": ("✗", "red"),
    "cancelled": ("✗", "red"),
    "running": ("●", "cyan"),
    "pending": ("·", "dim"),
    "skipped": ("-", "dim"),
}
_PHASE_STYLE = {"successful": "green", "failed": "red", "error": "red", "inconclusive": "yellow"}
_STATE_STYLE = {
    "succeeded": "bold green",
    "failed": "bold red",
    "aborted": "bold red",
    "rolled_back": "bold yellow",
    "paused": "bold yellow",
}


def summary(d: dict[str, Any]) -> dict[str, Any]:
    """The fields a script needs (contract: promote --json)."""
    keys = ("id", "service", "version", "environment", "state", "kind", "reason")
    return {key: d.get(key) for key in keys}


def follow(client: ApiClient, deployment_id: int, *, live: bool, interval: float = 0.5) -> Any:
    """Poll the deployment until it ends; show it live on stderr when `live`."""
    d = client.get(f"/api/v1/deployments/{deployment_id}")
    if not live:
        while d["state"] not in FINAL_STATES:
            time.sleep(interval)
            d = client.get(f"/api/v1/deployments/{deployment_id}")
        return d
    with Live(render_deployment(d), console=err_console, refresh_per_second=8) as view:
        while d["state"] not in FINAL_STATES:
            time.sleep(interval)
            d = client.get(f"/api/v1/deployments/{deployment_id}")
            view.update(render_deployment(d))
    if not err_console.is_terminal:
        err_console.line()  # Live leaves its last line open when it is not on a terminal
    return d


def render_deployment(d: dict[str, Any], *, events: int = 3, measurements: bool = False) -> Group:
    """Header, traffic, plan of steps with their marks, the newest timeline lines, and with
    `measurements` every analysis measurement (why a candidate passed or failed)."""
    state = d["state"]
    header = Text()
    header.append(f"Deployment {d['id']} ", style="bold")
    what = "rollback of " if d.get("kind") == "rollback" else ""
    header.append(f"{what}{d['service']} {d['version']} → {d['environment']}: ")
    header.append(state, style=_STATE_STYLE.get(state, "bold cyan"))
    if d.get("queue_position"):
        header.append(f" (position {d['queue_position']} in the queue)", style="yellow")
    created = d["created_at"][:16].replace("T", " ")
    parts: list[Any] = [header, Text(f"  created {created} UTC by {d['created_by']}", "dim")]
    if d.get("reason") and state in FINAL_STATES | {"paused"}:
        parts.append(Text(f"  {d['reason']}", style="dim"))
    if state == "waiting" and d.get("gates"):
        for gate in d["gates"]["gates"]:
            if gate["verdict"] == "pending":
                parts.append(Text(f"  waiting for {gate['name']}: {gate['reason']}", "yellow"))
    for approval in d.get("approvals", []):
        said = f": {approval['comment']}" if approval["comment"] else ""
        who = f"{approval['user']} ({approval['role']})"
        parts.append(Text(f"  {_DECIDED[approval['decision']]} by {who}{said}"))
    steps = Table.grid(padding=(0, 1))
    for step in d.get("steps", []):
        mark, style = _STEP_MARK.get(step["state"], ("?", ""))
        tries = f"attempt {step['attempts']}" if step["attempts"] > 1 else ""
        steps.add_row(
            Text(f"  {mark}", style=style),
            Text(step["name"], style="bold"),
            Text(step["summary"] or step["state"], style="dim"),
            Text(tries, style="yellow"),
        )
    parts.append(steps)
    for event in d.get("events", [])[-events:] if events else []:
        when = event["at"][11:19]
        parts.append(Text(f"  {when} {event['actor']}: {event['message']}", style="dim"))
    if measurements and d.get("measurements"):
        parts.append(Text("  measurements:", style="bold"))
        table = Table.grid(padding=(0, 1))
        for m in d["measurements"]:
            where = "background" if m["step"] is None else f"step {m['step']}"
            table.add_row(
                Text(f"    {m['at'][11:19]}", style="dim"),
                Text(f"{m['analysis']}/{m['metric']} ({where})"),
                Text(m["phase"], style=_PHASE_STYLE.get(m["phase"], "cyan")),
                Text(m["reason"], style="dim"),
            )
        parts.append(table)
    return Group(*parts)
