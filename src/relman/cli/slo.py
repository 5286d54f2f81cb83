"""`relman slo status`: each SLO's error budget and burn rates, measured now."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit

app = typer.Typer(help="Service level objectives and their error budgets.", no_args_is_help=True)

_STYLE = {"pass": "green", "pending": "yellow", "fail": "red"}


@app.command("status")
def status(as_json: JsonOption = False) -> None:
    """Budget remaining and burn rates of every SLO, and what its gate would say now."""
    with api() as client:
        slos = client.get("/api/v1/slos")
    emit(slos, as_json, lambda: _render(slos))


def _render(slos: list[dict[str, Any]]) -> None:
    if not slos:
        console.print("No SLOs: define them under slos: in relman.yaml and run 'relman apply'.")
        return
    table = Table("SLO", "objective", "budget left", "burn rates", "gate", "reason")
    for slo in slos:
        left = slo["budget_remaining"]
        burns = ", ".join(
            f"{b['window']} {b['rate']:.1f}×/{b['limit']:g}"
            if b["rate"] is not None
            else f"{b['window']} ?"
            for b in slo["burn_rates"]
        )
        table.add_row(
            slo["slo"],
            f"{slo['objective']:g}% over {slo['window']}",
            "?" if left is None else f"{left:.1f}%",
            burns or "-",
            Text(slo["verdict"], style=_STYLE[slo["verdict"]]),
            slo["reason"],
        )
    console.print(table)
