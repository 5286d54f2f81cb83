"""`relman token`: create (on the local store), list and revoke (through the API)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from relman.cli.common import JsonOption, api
from relman.cli.output import console, emit, err_console
from relman.settings import Settings

app = typer.Typer(help="API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    user: Annotated[str, typer.Option(help="Who the token is for.")],
    role: Annotated[str, typer.Option(help="viewer, deployer, release-manager or admin.")],
    description: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token directly in the local store (how the first admin token is made).

    The token goes to standard output and is shown only this once:
    export RELMAN_TOKEN=$(relman token create --user me --role admin)
    """
    from relman.bootstrap import open_database, safe_url  # the store: local commands only
    from relman.services.tokens import create_token
    from relman.store.unit_of_work import UnitOfWork

    settings = Settings.from_env()
    database = open_database(settings)
    if database.created:
        err_console.print(
            f"[yellow]warning:[/] there was no relman store at {safe_url(settings.database_url)}; "
            "made a new one. A server using another RELMAN_HOME or RELMAN_DATABASE_URL will not "
            "know this token.",
            soft_wrap=True,
        )
    with UnitOfWork(database) as uow:
        issued = create_token(
            uow,
            user=user,
            role=role,
            description=description,
            actor=f"local:{getpass.getuser()}",
        )
    row = issued.row
    data = {
        "id": row.id,
        "user": row.user,
        "role": row.role,
        "token": issued.secret,
        "store": safe_url(settings.database_url),
    }

    def render() -> None:
        err_console.print(
            f"Token {row.id} for {row.user} ({row.role}). It is shown only now: store it."
        )
        sys.stdout.write(issued.secret + "\n")

    emit(data, as_json, render)


@app.command("list")
def list_(
    include_revoked: Annotated[bool, typer.Option("--all", help="Show revoked ones too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List tokens (admin)."""
    with api() as client:
        page = client.get("/api/v1/tokens", include_revoked=include_revoked, limit=500)
    emit(page, as_json, lambda: _render(page["items"]))


def _render(items: list[dict[str, Any]]) -> None:
    table = Table("id", "user", "role", "created", "last used", "revoked")
    for t in items:
        table.add_row(
            t["id"],
            t["user"],
            t["role"],
            t["created_at"][:16],
            (t["last_used_at"] or "never")[:16],
            (t["revoked_at"] or "")[:16],
        )
    console.print(table)


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (see 'relman token list').")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a token (admin); it stops working at once."""
    with api() as client:
        row = client.delete(f"/api/v1/tokens/{token_id}")
    emit(row, as_json, lambda: console.print(f"Token {row['id']} of {row['user']} is revoked."))
