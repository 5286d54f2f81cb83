"""`relman serve` and `relman db upgrade`: commands that work on the local store."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from relman.api.app import create_app
from relman.bootstrap import open_database, safe_url
from relman.cli.output import err_console
from relman.services.demo import seed_demo
from relman.settings import Settings
from relman.store.unit_of_work import UnitOfWork

db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed the demo workspace into an empty store.")
    ] = False,
) -> None:
    """Run the relman server (API, dashboard, metrics); upgrades the schema first."""
    settings = Settings.from_env()
    database = open_database(settings)
    if demo:
        with UnitOfWork(database) as uow:
            seeded = seed_demo(uow)
        err_console.print(
            "Seeded the demo workspace." if seeded else "Store has services; demo not seeded."
        )
    err_console.print(
        f"relman serving on http://{host}:{port} (store: {safe_url(settings.database_url)})",
        soft_wrap=True,
    )
    app = create_app(database, anonymous_read=settings.anonymous_read)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@db_app.command("upgrade")
def upgrade() -> None:
    """Bring the store's schema to the newest version (serve does this on start)."""
    settings = Settings.from_env()
    open_database(settings)
    err_console.print(f"Schema is current ({safe_url(settings.database_url)}).")
