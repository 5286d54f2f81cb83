"""`relman serve` and `relman db upgrade`: commands that work on the local store."""

from __future__ import annotations

import errno
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from relman.cli.common import JsonOption
from relman.cli.output import emit, err_console
from relman.cli.worker import worker_options
from relman.errors import RelmanError
from relman.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from relman.engine.worker import Worker

db_app = typer.Typer(help="The store's schema.", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed the demo workspace into an empty store.")
    ] = False,
    run_worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Run deployments in this process (off when separate 'relman worker's do).",
        ),
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Run the relman server (API, dashboard, metrics) and a worker; upgrades the schema first."""
    import uvicorn

    from relman.api.app import create_app
    from relman.bootstrap import default_drivers, open_database, safe_url
    from relman.engine.worker import Worker
    from relman.services.demo import seed_demo, start_demo_promotions
    from relman.services.live_demo import LiveCanary

    settings = Settings.from_env()
    listener = _bind(host, port)  # before touching the store: a busy port changes nothing
    database = open_database(settings)
    drivers = default_drivers()
    seeded = seed_demo(database, state_dir=settings.home / "demo") if demo else False
    live = LiveCanary(database)
    shop = live.start() if demo else None  # its router must be up before its first rollout
    if seeded:
        start_demo_promotions(database, drivers)
    url = f"http://{host}:{port}"
    started = {
        "url": url,
        "store": safe_url(settings.database_url),
        "demo_seeded": seeded,
        "demo_shop": shop,
    }

    def render() -> None:
        if demo:
            err_console.print(
                "Seeded the demo workspace." if seeded else "Store has services; demo not seeded."
            )
        if shop:
            err_console.print(
                f"Live canary: the demo's shop answers at {shop} (through {live.through})",
                soft_wrap=True,
            )
        err_console.print(f"relman serving on {url} (store: {started['store']})", soft_wrap=True)

    emit(started, as_json, render)
    # Named after this host and address: a restarted server takes its deployments back at once.
    name = f"{socket.gethostname()}:serve:{host}:{port}"
    worker = (
        Worker(database, drivers, options=worker_options(settings), name=name)
        if run_worker
        else None
    )
    app = create_app(
        database,
        anonymous_read=settings.anonymous_read,
        drivers=drivers,
        wake=worker.wake if worker else None,
    )
    config = uvicorn.Config(app, log_level="info", access_log=False)
    server = _server_with_worker(config, worker, live.stop)
    if worker:
        worker.start()
    server.run(sockets=[listener])


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        busy = exc.errno == errno.EADDRINUSE
        reason = "is in use: stop the other server or pick --port" if busy else exc.strerror
        raise RelmanError(
            f"Cannot listen on {host}:{port}: {reason}", details={"host": host, "port": port}
        ) from None
    sock.listen(2048)
    return sock


@db_app.command("upgrade")
def upgrade(as_json: JsonOption = False) -> None:
    """Bring the store's schema to the newest version (serve does this on start)."""
    from relman.bootstrap import open_database, safe_url

    settings = Settings.from_env()
    database = open_database(settings)
    result = {"store": safe_url(settings.database_url), "created": database.created}
    emit(
        result,
        as_json,
        lambda: err_console.print(f"Schema is current ({result['store']}).", soft_wrap=True),
    )


def _server_with_worker(
    config: uvicorn.Config, worker: Worker | None, then: Callable[[], None]
) -> uvicorn.Server:
    """A uvicorn server that, on SIGTERM or Ctrl-C, lets the worker's running steps finish and
    be recorded, then calls `then`, before the process ends (uvicorn raises the signal again
    as it leaves); a second signal ends it at once."""
    import uvicorn

    class Serving(uvicorn.Server):
        @contextmanager
        def capture_signals(self) -> Iterator[None]:
            with super().capture_signals():
                try:
                    yield
                finally:
                    if worker is not None:
                        _stop_worker(worker)
                    then()

    return Serving(config)


def _stop_worker(worker: Worker) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    if worker.busy:
        err_console.print(
            "Stopping: the running steps finish and are recorded (signal again to stop now)…"
        )
    worker.stop(timeout=None)
