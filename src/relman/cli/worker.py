"""`relman worker`: a process that runs deployments, beside `relman serve` or other workers."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from relman.cli.common import JsonOption
from relman.cli.output import emit, err_console
from relman.domain.durations import format_duration
from relman.settings import Settings

if TYPE_CHECKING:
    from relman.engine.worker import WorkerOptions


def worker_options(settings: Settings, slots: int | None = None) -> WorkerOptions:
    from relman.engine.worker import WorkerOptions

    return WorkerOptions(lease=settings.lease, slots=slots or settings.worker_slots)


def worker(
    slots: Annotated[
        int | None,
        typer.Option(
            min=1, max=64, help="Deployments run at once (default RELMAN_WORKER_SLOTS or 4)."
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            help="Name in leases and logs. Restarted with the same name, a worker takes its "
            "deployments back at once; never run two live workers with one name.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run deployments from the store until stopped (SIGTERM or Ctrl-C).

    Start as many as you like on PostgreSQL; each claims due work with a lease
    (RELMAN_LEASE, default 15s) and takes over the work of a worker that died once its lease
    ran out.
    """
    from relman.bootstrap import default_drivers, open_database, safe_url
    from relman.engine.worker import Worker

    settings = Settings.from_env()
    database = open_database(settings)
    options = worker_options(settings, slots)
    running = Worker(database, default_drivers(), options=options, name=name)
    started: dict[str, Any] = {
        "worker": running.owner,
        "store": safe_url(settings.database_url),
        "slots": options.slots,
        "lease": format_duration(options.lease),
    }
    emit(
        started,
        as_json,
        lambda: err_console.print(
            f"relman worker {started['worker']} on {started['store']} "
            f"({started['slots']} slots, lease {started['lease']})",
            soft_wrap=True,
        ),
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    running.start()
    stop.wait()
    # A second signal ends the process at once; its running steps are then cut off, and taken
    # over (or failed) when their leases run out.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    err_console.print(
        "Stopping: the running steps finish and are recorded (signal again to stop now)…"
    )
    running.stop(timeout=None)
    database.dispose()
