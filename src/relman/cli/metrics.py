"""`relman metrics`: push samples to the builtin metric provider, and try its queries."""

from __future__ import annotations

import math
from typing import Annotated, Any

import typer

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit
from relman.errors import InvalidInput

app = typer.Typer(help="Metric samples of the builtin provider.", no_args_is_help=True)

AtOption = Annotated[
    str | None,
    typer.Option("--at", help="A time with a zone, like 2026-11-30T12:00:00Z (default: now)."),
]


@app.command("query")
def query(
    text: Annotated[str, typer.Argument(metavar="QUERY", help="A query, like 'sum(x)'.")],
    at: AtOption = None,
    as_json: JsonOption = False,
) -> None:
    """Answer a query as an analysis with the builtin provider would get it."""
    with api() as client:
        answer = client.get("/api/v1/metrics/query", query=text, at=at)
    emit(answer, as_json, lambda: _render(answer["result"]))


def _render(result: Any) -> None:
    if not isinstance(result, list):
        console.print(_number(result))
    elif not result:
        console.print("No data: no series matches (an analysis counts this as inconclusive).")
    else:
        console.print(f"{len(result)} series:")
        for value in result:
            console.print(f"  {_number(value)}")


def _number(value: float | str) -> str:
    number = float(value)  # the API writes "NaN", "Infinity", "-Infinity" as strings
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return format(number, ".15g")


# Unknown options pass as arguments, so a negative VALUE like -3.5 needs no '--'.
@app.command("push", context_settings={"ignore_unknown_options": True})
def push(
    name: Annotated[str, typer.Argument(help="The metric, like http_requests_total.")],
    value: Annotated[float, typer.Argument(help="Its value, like 17 or -3.5.")],
    label: Annotated[
        list[str] | None,
        typer.Option("--label", "-l", help="A label NAME=VALUE; repeat for more."),
    ] = None,
    at: AtOption = None,
    as_json: JsonOption = False,
) -> None:
    """Post one sample to the builtin provider (deployer)."""
    if not math.isfinite(value):
        raise InvalidInput(f"VALUE must be a finite number; got {value}", details={"value": value})
    sample: dict[str, Any] = {"name": name, "labels": _labels(label or []), "value": value}
    if at is not None:
        sample["at"] = at
    with api() as client:
        answer = client.post("/api/v1/metrics/samples", {"samples": [sample]})
    emit(answer, as_json, lambda: console.print(f"Accepted {answer['accepted']} sample."))


def _labels(pairs: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(
                f"Bad --label {pair!r}; use NAME=VALUE, like --label slot=green",
                details={"label": pair},
            )
        if key in labels:
            raise InvalidInput(f"--label {key} is given twice", details={"label": key})
        labels[key] = value
    return labels
