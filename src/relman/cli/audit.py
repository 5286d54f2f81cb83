"""`relman audit`: list, export and verify the hash-chained audit log (release-manager)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from relman.cli.common import JsonOption, api
from relman.cli.output import EXIT_AUDIT_BROKEN, console, emit, err_console
from relman.domain.audit import Entry, verify_chain
from relman.errors import InvalidInput

app = typer.Typer(
    help="The audit log: who changed what, and who was refused.", no_args_is_help=True
)


@app.command("list")
def list_(
    actor: Annotated[str | None, typer.Option(help="Only what this user did.")] = None,
    action: Annotated[
        str | None, typer.Option(help="Only this action, or a prefix ending in * (deployment.*).")
    ] = None,
    obj: Annotated[
        str | None, typer.Option("--object", help="Only what touched this (deployment/7).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="How many newest to skip.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """The newest audit entries: time, actor, action, object and reason."""
    with api() as client:
        page = client.get(
            "/api/v1/audit", actor=actor, action=action, object=obj, limit=limit, offset=offset
        )
    emit(page, as_json, lambda: _render(page))


def _render(page: dict[str, Any]) -> None:
    items = page["items"]
    if not items:
        console.print("No audit entries match.")
        return
    table = Table("id", "at (UTC)", "actor", "action", "object", "details")
    for e in items:
        table.add_row(
            str(e["id"]),
            e["at"][:19].replace("T", " "),
            e["actor"],
            e["action"],
            e["object"],
            _summary(e["details"]),
        )
    console.print(table)
    shown = page["offset"] + len(items)
    if shown < page["total"]:
        console.print(f"[dim]{len(items)} of {page['total']}; --offset {shown} shows older ones[/]")


def _summary(details: dict[str, Any]) -> str:
    reason = details.get("reason")
    text = str(reason) if reason else ", ".join(f"{k}={v}" for k, v in details.items())
    return text if len(text) <= 80 else text[:79] + "…"


@app.command("export")
def export(
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="JSON Lines, one entry per line (the format).")
    ] = True,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """The whole log, oldest first, with each entry's hashes; 'relman audit verify --file'
    checks such an export without the server."""
    count, last = 0, None
    with api() as client, _open(output) as out:
        for line in client.lines("/api/v1/audit/export"):
            out.write(line + "\n")
            count, last = count + 1, line
    head = json.loads(last)["hash"][:16] + "…" if last else "none"
    where = f" to {output}" if output else ""
    err_console.print(f"Exported {count} audit entries{where}; the last hash is {head}")


class _open:
    """stdout, or a file written whole: a failed export leaves no half file behind."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.part = None if path is None else path.with_name(path.name + ".part")

    def __enter__(self) -> Any:
        if self.part is None:
            return sys.stdout
        self.file = self.part.open("w", encoding="utf-8")
        return self.file

    def __exit__(self, exc_type: object, *_: object) -> None:
        if self.part is None or self.path is None:
            return
        self.file.close()
        if exc_type is None:
            self.part.replace(self.path)
        else:
            self.part.unlink(missing_ok=True)


@app.command("verify")
def verify(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file", help="Check an export ('relman audit export') here, without the server."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the hash chain. Exits 10 and names the first bad entry when a row was changed,
    deleted or added behind relman's back; 0 when the log is intact."""
    if file is None:
        with api() as client:
            report = client.get("/api/v1/audit/verify")
    else:
        result = verify_chain(_read_export(file))
        problem = result.problem
        report = {
            "intact": result.intact,
            "entries": result.entries,
            "head_id": result.head_id,
            "head_hash": result.head_hash,
            "problem": None if problem is None else vars(problem),
        }

    def render() -> None:
        if report["intact"]:
            console.print(
                f"The audit log is intact: {report['entries']} entries, the last is entry "
                f"{report['head_id']} with hash {report['head_hash'][:16]}…"
            )
            if file is not None:
                console.print(
                    "[dim]An export alone cannot show that its newest entries were cut off: "
                    "compare its last hash with the server's ('relman audit verify').[/]"
                )
            return
        problem = report["problem"]
        err_console.print(f"[red]The audit log is broken at entry {problem['entry']}:[/] ", end="")
        err_console.print(problem["message"], markup=False, soft_wrap=True)
        err_console.print(f"{report['entries']} entries before it are intact.")

    emit(report, as_json, render)
    if not report["intact"]:
        raise typer.Exit(EXIT_AUDIT_BROKEN)


def _read_export(path: Path) -> Iterator[Entry]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield Entry.from_json(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:
                raise InvalidInput(
                    f"{path}:{number}: not an audit entry ({type(exc).__name__}: {exc}); "
                    "give a file written by 'relman audit export --jsonl'"
                ) from None
