"""`relman status`: the service × environment matrix."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit

_STATE_STYLE = {"failed": "red", "aborted": "red", "rolled_back": "yellow"}


def status(as_json: JsonOption = False) -> None:
    """What version runs in each environment, per service, and which environments are locked."""
    with api() as client:
        inventory = client.get("/api/v1/inventory")

    def render() -> None:
        console.print(render_inventory(inventory))
        for env in inventory["environments"]:
            lock = env.get("lock")
            if lock:
                until = (
                    f" until {lock['until'][:16].replace('T', ' ')} UTC" if lock["until"] else ""
                )
                console.print(
                    f"[bold red]{env['name']} is locked[/] by {lock['locked_by']}{until}: ",
                    end="",
                )
                console.print(lock["reason"], markup=False, soft_wrap=True)

    emit(inventory, as_json, render)


def render_inventory(inventory: dict[str, Any]) -> Table | Text:
    if not inventory["services"]:
        return Text("No services yet: describe them in relman.yaml and run 'relman apply'.")
    table = Table(title="What runs where")
    table.add_column("service", style="bold")
    for env in inventory["environments"]:
        locked = " [red]locked[/]" if env.get("lock") else ""
        table.add_column(f"{env['name']}{locked}\n[dim]{env['tier']}[/]")
    for service in inventory["services"]:
        row: list[Text | str] = [service["name"]]
        for env in inventory["environments"]:
            row.append(_cell(service["cells"][env["name"]]))
        table.add_row(*row)
    return table


def _cell(cell: dict[str, Any] | None) -> Text:
    if cell is None:
        return Text("n/a", style="dim")
    text = Text()
    if cell["version"]:
        text.append(cell["version"], style="bold green")
        text.append(f"\n{cell['deployed_at'][:16].replace('T', ' ')} {cell['deployed_by']}", "dim")
    latest = cell["latest"]
    if latest:
        if text:
            text.append("\n")
        style = _STATE_STYLE.get(latest["state"], "cyan")
        text.append(f"{latest['version']} {latest['state']}", style=style)
    return text or Text("—", style="dim")
