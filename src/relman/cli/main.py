"""`relman`: the command line. Each group lives in its own module; errors map to exit codes here.

Client commands start fast: the server stack (FastAPI, SQLAlchemy, Alembic) is imported only
inside the commands that use the store (`serve`, `worker`, `db upgrade`, `token create`).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from relman import __version__
from relman.cli import (
    audit,
    config,
    deployments,
    evidence,
    freezes,
    gates,
    metrics,
    promote,
    releases,
    report,
    server,
    slo,
    status,
    tokens,
    versions,
    worker,
)
from relman.cli.output import exit_code_for, report_error
from relman.errors import RelmanError, StoreUnavailable

__all__ = ["app", "main"]

app = typer.Typer(
    name="relman",
    help="Release management: config as code, releases, deployments, what runs where.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # tracebacks with locals could show tokens
    add_completion=False,
)
app.command("serve")(server.serve)
app.command("worker")(worker.worker)
app.command("promote")(promote.promote)
app.command("rollback")(promote.rollback)
app.command("approve")(gates.approve)
app.command("reject")(gates.reject)
app.command("lock")(gates.lock)
app.command("unlock")(gates.unlock)
app.command("evidence")(evidence.evidence)
app.command("validate")(config.validate)
app.command("apply")(config.apply)
app.command("status")(status.status)
app.command("notes")(versions.notes)
app.add_typer(versions.version_app, name="version")
app.add_typer(server.db_app, name="db")
app.add_typer(tokens.app, name="token")
app.add_typer(releases.app, name="release")
app.add_typer(deployments.app, name="deployments")
app.add_typer(metrics.app, name="metrics")
app.add_typer(audit.app, name="audit")
app.add_typer(report.app, name="report")
app.add_typer(freezes.app, name="freeze")
app.add_typer(slo.app, name="slo")
app.command("stop-the-line")(freezes.stop_the_line)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"relman {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print relman's version."
        ),
    ] = False,
) -> None:
    """Release management: config as code, releases, deployments, what runs where.

    The server commands use RELMAN_URL (default http://127.0.0.1:8000) and RELMAN_TOKEN.
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turn RelmanError into a message and its exit code.

    Typer's standalone mode handles usage errors (exit 2) and exits on success.
    """
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="relman")
    except RelmanError as exc:
        report_error(exc, as_json="--json" in args)
        sys.exit(exit_code_for(exc))
    except Exception as exc:
        if not _is_store_error(exc):
            raise
        # A local command's store failed mid-way. Only the driver's first line: the full text
        # may carry SQL parameters.
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        failure = StoreUnavailable(f"The store failed: {type(exc).__name__}: {reason}")
        report_error(failure, as_json="--json" in args)
        sys.exit(exit_code_for(failure))


def _is_store_error(exc: Exception) -> bool:
    """An SQLAlchemy error, without importing SQLAlchemy in commands that never load it."""
    store_errors = sys.modules.get("sqlalchemy.exc")
    return store_errors is not None and isinstance(exc, store_errors.SQLAlchemyError)
