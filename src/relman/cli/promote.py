"""`relman promote` and `relman rollback`: start a deployment, and optionally follow it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from relman.cli.common import JsonOption, api
from relman.cli.gates import parse_when, render_report
from relman.cli.output import EXIT_NOT_SUCCEEDED, EXIT_WOULD_WAIT, console, emit, err_console
from relman.cli.progress import follow, render_deployment, summary

if TYPE_CHECKING:
    from relman.cli.client import ApiClient  # httpx: imported only when a command calls

WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="Follow the deployment to its end; exit 0 only if it succeeded (9 otherwise).",
    ),
]


def promote(
    service: Annotated[str, typer.Argument(help="The service.")],
    version: Annotated[str, typer.Argument(help="The release's version, like 1.4.0.")],
    to: Annotated[str, typer.Option("--to", help="The environment to deploy to.")],
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print the go/no-go report (every gate's verdict, reason and evidence) and "
            "change nothing. Exits 0 for go, 11 for wait, 5 for no-go.",
        ),
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            help="Start no earlier than this (ISO 8601; local time without an offset). It "
            "waits until then; approvals may come before."
        ),
    ] = None,
    wait: WaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Deploy a release to an environment, judged by every gate: it starts when all pass, waits
    (state waiting) while some are pending, and is refused when one fails."""
    body = {"service": service, "version": version, "environment": to}
    if at is not None:
        body["at"] = parse_when(at, "--at") or ""
    if dry_run:
        with api() as client:
            report = client.post("/api/v1/promotions/check", body)
        emit(report, as_json, lambda: console.print(render_report(report)))
        if report["verdict"] != "pass":
            raise typer.Exit(EXIT_WOULD_WAIT if report["verdict"] == "pending" else 5)
        return
    _start("/api/v1/promotions", body, wait=wait, as_json=as_json)


def rollback(
    service: Annotated[str, typer.Argument(help="The service.")],
    env: Annotated[str, typer.Option("--env", help="The environment to roll back.")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="The version to go back to (default: the one before)."),
    ] = None,
    wait: WaitOption = False,
    as_json: JsonOption = False,
) -> None:
    """Put back the release that ran before (or --to VERSION); what runs now is marked
    rolled_back once it succeeds."""
    body = {"service": service, "environment": env, "to_version": to}
    _start("/api/v1/rollbacks", body, wait=wait, as_json=as_json)


def _start(path: str, body: dict[str, Any], *, wait: bool, as_json: bool) -> None:
    with api() as client:
        d = client.post(path, body)
        if client.last_status == 200 and not as_json:  # a repeated promotion
            err_console.print(
                f"Deployment {d['id']} of {d['service']} {d['version']} to {d['environment']} "
                f"is {d['state']} already; not queueing it twice."
            )
        if not wait:
            emit(summary(d), as_json, lambda: _started(d))
            return
        if not as_json:
            err_console.print(
                f"Deployment {d['id']} created; following it (Ctrl-C stops watching)."
            )
        d = follow_or_stop(client, d["id"], live=not as_json)
    finish(d, as_json)


@contextmanager
def watching(deployment_id: int) -> Iterator[None]:
    """Ctrl-C stops watching, not the deployment: say so, and exit 130."""
    try:
        yield
    except KeyboardInterrupt:
        err_console.print(
            f"Stopped watching; deployment {deployment_id} goes on: "
            f"'relman deployments watch {deployment_id}'"
        )
        raise typer.Exit(130) from None


def follow_or_stop(client: ApiClient, deployment_id: int, *, live: bool) -> Any:
    with watching(deployment_id):
        return follow(client, deployment_id, live=live)


def finish(d: dict[str, Any], as_json: bool) -> None:
    """Print how the deployment ended; exit non-zero unless it succeeded."""
    emit(summary(d), as_json, lambda: _ended(d))
    if d["state"] != "succeeded":
        raise typer.Exit(EXIT_NOT_SUCCEEDED)


def _started(d: dict[str, Any]) -> None:
    console.print(render_deployment(d, events=0))
    console.print(
        f"Follow it with 'relman deployments watch {d['id']}' "
        f"or 'relman deployments logs {d['id']} --follow'."
    )


def _ended(d: dict[str, Any]) -> None:
    if d["state"] == "succeeded":
        console.print(
            f"Deployment {d['id']}: {d['service']} {d['version']} runs in {d['environment']}."
        )
    else:
        err_console.print(f"[red]Deployment {d['id']} ended {d['state']}[/]: ", end="")
        err_console.print(d.get("reason") or "no reason recorded", markup=False, soft_wrap=True)
        rollback = d.get("rolled_back_by")
        if rollback and d["state"] == "failed":
            err_console.print(
                f"It is being rolled back in deployment {rollback}: "
                f"'relman deployments watch {rollback}'"
            )
