"""`relman evidence ID`: what a deployment shipped and why it was allowed to."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from relman.cli.common import JsonOption, api
from relman.cli.gates import render_report
from relman.cli.output import EXIT_AUDIT_BROKEN, console, emit, err_console


def evidence(
    deployment_id: Annotated[int, typer.Argument(help="The deployment.")],
    as_json: JsonOption = False,
) -> None:
    """The deployment's evidence record: release, commits, gate verdicts with their inputs,
    approvals, exceptions and test reports; sealed (immutable) once it started. Exits 10 when
    a sealed record was changed."""
    with api() as client:
        record = client.get(f"/api/v1/deployments/{deployment_id}/evidence")
    emit(record, as_json, lambda: _render(record))
    if record["sealed"] and not record["intact"]:
        raise typer.Exit(EXIT_AUDIT_BROKEN)


def _render(record: dict[str, Any]) -> None:
    body = record["body"]
    d, release = body["deployment"], body["release"]
    console.print(
        f"[bold]Evidence of deployment {d['id']}[/]: {d['kind']} of {d['service']} "
        f"{d['version']} to {d['environment']}, requested by {d['requested_by']} at "
        f"{d['requested_at'][:16].replace('T', ' ')} UTC"
    )
    if record["sealed"]:
        state = "[green]intact[/]" if record["intact"] else f"[red]CHANGED[/]: {record['problem']}"
        console.print(
            f"  sealed {record['sealed_at'][:19]} UTC, sha256 {record['hash'][:16]}… ({state})"
        )
    else:
        console.print("  [yellow]not sealed yet[/]: it is sealed when the deployment starts")
    commits = body["commits"]
    authors = ", ".join(sorted({c["author"] for c in commits})) or "nobody recorded"
    console.print(
        f"  release {release['version']} (commit {(release['commit'] or '?')[:12]}), registered by "
        f"{release['registered_by']}; {len(commits)} commit{'' if len(commits) == 1 else 's'} "
        f"by {authors}"
    )
    if body["gates"]:
        gates = body["gates"]
        console.print(render_report(gates, f"Gates, judged {gates['at'][:19]}: {gates['verdict']}"))
    for a in body["approvals"]:
        said = f": {a['comment']}" if a["comment"] else ""
        decided = "approved" if a["decision"] == "approve" else "rejected"
        console.print(f"  {decided} by {a['user']} ({a['role']}) {a['at'][:16]}{said}")
    for e in body["freeze_exceptions"]:
        console.print(f"  freeze exception by {e['granted_by']}: {e['reason']}")
    for t in body["test_reports"][:3]:
        cover = f", coverage {t['coverage']:g}%" if t["coverage"] is not None else ""
        console.print(
            f"  tests: {t['tests']} run, {t['failures']} failed, {t['errors']} errors{cover} "
            f"({t['source']}, by {t['reported_by']})"
        )
    if record["sealed"] and not record["intact"]:
        err_console.print(f"[red]The evidence record was changed:[/] {record['problem']}")
