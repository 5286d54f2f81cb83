"""The demo's live canary: `shop` runs for real while `relman serve --demo` runs.

Its two slots are demo apps started by the `process` run driver; relman's development router
(relman.router, for local use) sends users to them by weight; a small steady load goes through
the router, whose request counts go into relman's builtin metrics every second; the canary's
analyses read them. The demo promotes a good release, which becomes stable, then a bad one
(it fails 40% of requests), which is rolled back by itself.

The ports were chosen when the demo was seeded and are read back from the service's settings,
so a restarted server finds its slots where they were.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from relman.drivers.base import StepRun
from relman.drivers.process import ProcessDriver
from relman.router import Router
from relman.services.metric_samples import PostedSample, record_samples
from relman.store.database import Database
from relman.store.tables import ServiceRow
from relman.store.unit_of_work import UnitOfWork

__all__ = ["SERVICE", "LiveCanary", "demo_settings"]

SERVICE = "shop"
logger = logging.getLogger("relman.demo")


def demo_settings(state_dir: Path) -> dict[str, str]:
    """The values the demo's relman.yaml leaves open: free ports, and where the demo apps'
    pid files and logs go."""
    return {
        "@BLUE_PORT@": str(_free_port()),
        "@GREEN_PORT@": str(_free_port()),
        "@ROUTER_ADMIN_PORT@": str(_free_port()),
        "@STATE_DIR@": str(state_dir),
    }


@dataclass
class LiveCanary:
    """The router, the load and the metric recorder of the demo's `shop`; `start` returns the
    address users can browse (None when the store has no `shop`)."""

    database: Database
    requests_per_second: float = 20.0
    _router: Router | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _run: dict[str, Any] | None = None  # the service's process-driver settings

    def start(self) -> str | None:
        with UnitOfWork(self.database) as uow:
            spec = uow.session.scalar(select(ServiceRow.spec).where(ServiceRow.name == SERVICE))
        if not spec or not spec.get("traffic"):
            return None
        traffic = spec["traffic"]
        self._run = spec["run"]["settings"]
        router = Router(SERVICE, traffic["slots"], admin=traffic["address"])
        try:
            router.start()
        except OSError as exc:
            logger.warning("demo: the router for %s cannot start: %s", SERVICE, exc)
            return None
        self._router = router
        for target in (self._load, self._record):
            thread = threading.Thread(target=target, name=f"demo-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return f"http://{router.address}/"

    def stop(self) -> None:
        """Stop the load, the recorder and the router, and the demo apps by their pid files."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        if self._router is not None:
            self._router.stop()
        if self._run is not None:
            for slot in self._run["ports"]:
                self._stop_slot(slot)

    def _stop_slot(self, slot: str) -> None:
        """The process driver's own stop step: it signals only a process it started."""
        assert self._run is not None
        step = StepRun(
            deployment_id=0,
            step_index=0,
            step="stop",
            attempt=1,
            service=SERVICE,
            version="",
            previous_version=None,
            environment="production",
            settings=self._run,
            slot=slot,
        )
        result = ProcessDriver().run(step, lambda line: None, threading.Event())
        if not result.ok:
            logger.warning("demo: stopping %s %s: %s", SERVICE, slot, result.summary)

    def _load(self) -> None:
        assert self._router is not None
        url = f"http://{self._router.address}/"
        while not self._stop.wait(1 / self.requests_per_second):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=2).close()

    def _record(self) -> None:
        assert self._router is not None
        while not self._stop.wait(1.0):
            samples = [
                PostedSample(
                    "http_requests_total",
                    {"service": SERVICE, "slot": slot, "code": str(code)},
                    float(count),
                )
                for (slot, code), count in self._router.counters.snapshot().items()
            ]
            if not samples:
                continue
            try:
                with UnitOfWork(self.database) as uow:
                    record_samples(uow, samples)
            except Exception:  # the demo goes on; the analysis will call it no data
                logger.exception("demo: recording %s's request counts failed", SERVICE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
