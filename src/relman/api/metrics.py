"""/metrics in Prometheus text format: request counters and a few store gauges."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from relman.domain.deployments import DeploymentState
from relman.store.database import Database
from relman.store.tables import DeploymentRow, EnvironmentRow, ReleaseRow, ServiceRow
from relman.store.unit_of_work import read_session

__all__ = ["Metrics"]


class _StoreCollector(Collector):
    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with read_session(self.database) as session:
            for name, model in (
                ("services", ServiceRow),
                ("environments", EnvironmentRow),
                ("releases", ReleaseRow),
            ):
                count = session.scalar(select(func.count()).select_from(model)) or 0
                yield GaugeMetricFamily(f"relman_{name}", f"Number of {name} known", value=count)
            states = dict(
                session.execute(
                    select(DeploymentRow.state, func.count()).group_by(DeploymentRow.state)
                ).all()
            )
        family = GaugeMetricFamily(
            "relman_deployments", "Number of deployments by state", labels=["state"]
        )
        for state in DeploymentState:
            family.add_metric([state.value], states.get(state.value, 0))
        yield family


class Metrics:
    def __init__(self, database: Database) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "relman_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "relman_http_request_duration_seconds",
            "Time to serve an HTTP request",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(_StoreCollector(database))

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        self.latency.labels(request.method, path).observe(time.perf_counter() - started)
        self.requests.labels(request.method, path, str(response.status_code)).inc()
        return response
