"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI

from relman import __version__
from relman.api.deps import AppContext
from relman.api.errors import install_error_handlers
from relman.api.metrics import Metrics
from relman.api.routers import (
    audit,
    catalog,
    deployments,
    gates,
    metrics,
    releases,
    system,
    tokens,
)
from relman.bootstrap import default_drivers
from relman.dashboard import pages
from relman.drivers.base import Driver
from relman.engine.connectors import provider_factory
from relman.store.database import Database
from relman.store.unit_of_work import Clock, utcnow

__all__ = ["create_app"]


def create_app(
    database: Database,
    *,
    clock: Clock = utcnow,
    anonymous_read: bool = True,
    drivers: Mapping[str, Driver] | None = None,
    wake: Callable[[], None] | None = None,
) -> FastAPI:
    """An app over `database` (whose schema must be current).

    `drivers` plan new deployments (default: every driver relman ships); `wake` is called
    after a deployment changes, to wake an in-process worker.
    """
    app = FastAPI(
        title="relman",
        version=__version__,
        description="Release management: releases, environments, deployments, inventory.",
    )
    app.state.relman = AppContext(
        database=database,
        clock=clock,
        anonymous_read=anonymous_read,
        drivers=default_drivers() if drivers is None else drivers,
        providers=provider_factory(database),
        **({"wake": wake} if wake else {}),
    )
    app.state.metrics = Metrics(database)
    app.middleware("http")(app.state.metrics.middleware)
    install_error_handlers(app)
    for module in (catalog, releases, deployments, gates, tokens, metrics, audit):
        app.include_router(module.router)
    app.include_router(system.router)
    app.include_router(pages.router)
    return app
