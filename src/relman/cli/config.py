"""`relman validate` and `relman apply`: config as code."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit
from relman.configfile import load_config_file

FileOption = Annotated[
    Path, typer.Option("-f", "--file", help="The config file.", show_default=True)
]


def validate(file: FileOption = Path("relman.yaml"), as_json: JsonOption = False) -> None:
    """Check a config file without a server; exit 2 with every problem when it is bad."""
    doc = load_config_file(file)
    counts = {
        "environments": len(doc.environments),
        "lifecycles": len(doc.lifecycles),
        "services": len(doc.services),
    }
    emit(
        {"valid": True, "file": str(file), **counts},
        as_json,
        lambda: console.print(
            f"[green]✓[/] {file} is valid: "
            + ", ".join(f"{n} {kind if n != 1 else kind[:-1]}" for kind, n in counts.items())
        ),
    )


def apply(
    file: FileOption = Path("relman.yaml"),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make the server's environments, lifecycles and services match the file (idempotent)."""
    load_config_file(file)  # fail fast, with lines, before talking to the server
    with api() as client:
        result = client.post(
            "/api/v1/config/apply",
            {"text": file.read_text(encoding="utf-8"), "filename": str(file), "dry_run": dry_run},
        )
    emit(result, as_json, lambda: _render_apply(result))


def _render_apply(result: dict[str, Any]) -> None:
    for key in result["created"]:
        console.print(f"[green]+ created[/]   {key}")
    for key in result["changed"]:
        fields = ", ".join(result["changes"].get(key, []))
        console.print(f"[yellow]~ changed[/]   {key} ({fields})")
    for key in result.get("deleted", []):
        console.print(f"[red]- deleted[/]   {key}")
    for key in result["unchanged"]:
        console.print(f"[dim]= unchanged {key}[/]")
    summary = (
        f"{len(result['created'])} created, {len(result['changed'])} changed, "
        f"{len(result['unchanged'])} unchanged"
        + (f", {len(result['deleted'])} deleted" if result.get("deleted") else "")
    )
    if result["dry_run"]:
        summary += " [bold](dry run: nothing was changed)[/]"
    console.print(summary)
