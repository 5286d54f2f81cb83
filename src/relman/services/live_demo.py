"""The demo's live canary: `shop` runs for real while `relman serve --demo` runs.

Its two slots are demo apps started by the `process` run driver. With HAProxy and Prometheus
installed (or RELMAN_DEMO_TRAFFIC=haproxy), an HAProxy sends users to them by weight and
Prometheus scrapes HAProxy's own metrics; otherwise (or RELMAN_DEMO_TRAFFIC=router) relman's
development router (relman.router, for local use) does, and its request counts go into
relman's builtin metrics every second. A small steady load goes through either; the canary's
analyses read the metrics. The demo promotes a good release, which becomes stable, then a bad
one (it fails 40% of requests), which is rolled back by itself.

The ports were chosen when the demo was seeded and are read back from the service's settings,
so a restarted server finds its slots where they were.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import threading
import urllib.request
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select

from relman.drivers.base import StepRun
from relman.drivers.process import ProcessDriver
from relman.errors import RelmanError
from relman.router import Router
from relman.services.metric_samples import PostedSample, record_samples
from relman.store.database import Database
from relman.store.tables import DeploymentRow, ServiceRow
from relman.store.unit_of_work import UnitOfWork

__all__ = ["SERVICE", "LiveCanary", "demo_traffic", "shop_config"]

SERVICE = "shop"
logger = logging.getLogger("relman.demo")


def demo_traffic() -> str:
    """haproxy or router: what the demo's shop is seeded with."""
    chosen = os.environ.get("RELMAN_DEMO_TRAFFIC", "")
    if chosen in ("haproxy", "router"):
        return chosen
    return "haproxy" if _executable("haproxy") and _executable("prometheus") else "router"


def shop_config(state_dir: Path) -> str:
    """The demo's shop (a service, then the analyses) for the end of the demo's relman.yaml,
    with free ports, and where the demo apps' pid files and logs go."""
    text = resources.files("relman.demo").joinpath(f"shop-{demo_traffic()}.yaml").read_text()
    state_dir.mkdir(parents=True, exist_ok=True)
    for token, value in {
        "@BLUE_PORT@": str(_free_port()),
        "@GREEN_PORT@": str(_free_port()),
        "@ROUTER_ADMIN_PORT@": str(_free_port()),
        "@PROMETHEUS_PORT@": str(_free_port()),
        "@STATE_DIR@": str(state_dir.resolve()),
    }.items():
        text = text.replace(token, value)
    return text


@dataclass
class LiveCanary:
    """The router, the load and the metric recorder of the demo's `shop`; `start` returns the
    address users can browse (None when the store has no `shop`)."""

    database: Database
    requests_per_second: float = 20.0
    _router: Router | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    through: str = ""  # what carries the shop's traffic once started: HAProxy, or the router
    _run: dict[str, Any] | None = None  # the service's process-driver settings
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> str | None:
        with UnitOfWork(self.database) as uow:
            spec = uow.session.scalar(select(ServiceRow.spec).where(ServiceRow.name == SERVICE))
            stable = uow.session.scalar(
                select(DeploymentRow.spec)
                .join(ServiceRow, ServiceRow.id == DeploymentRow.service_id)
                .where(ServiceRow.name == SERVICE, DeploymentRow.state == "succeeded")
                .order_by(DeploymentRow.id.desc())
                .limit(1)
            )
        if not spec or not spec.get("traffic"):
            return None
        self._run = spec["run"]["settings"]
        weights = (stable or {}).get("weights") or {"blue": 100, "green": 0}
        try:
            if spec["traffic"]["driver"] == "haproxy":
                url = self._start_haproxy(spec, weights)
                self.through = "HAProxy, judged from Prometheus"
            else:
                url = self._start_router(spec["traffic"], weights)
                self.through = "relman's development router, judged from the builtin metrics"
        except (OSError, RelmanError) as exc:
            logger.warning("demo: %s's traffic cannot start: %s", SERVICE, exc)
            self.stop()
            return None
        thread = threading.Thread(target=self._load, args=(url,), name="demo-load", daemon=True)
        thread.start()
        self._threads.append(thread)
        return url

    def _start_router(self, traffic: dict[str, Any], weights: dict[str, int]) -> str:
        router = Router(SERVICE, traffic["slots"], admin=traffic["address"], weights=weights)
        router.start()
        self._router = router
        thread = threading.Thread(target=self._record, name="demo-record", daemon=True)
        thread.start()
        self._threads.append(thread)
        return f"http://{router.address}/"

    def _start_haproxy(self, spec: dict[str, Any], weights: dict[str, int]) -> str:
        """HAProxy with the shop's backend and its Prometheus exporter, and a Prometheus
        scraping it every second, both stopped with the demo."""
        assert self._run is not None
        traffic, ports = spec["traffic"], self._run["ports"]
        root = Path(self._run["state_dir"])
        front, exporter = _free_port(), _free_port()
        servers = "\n".join(
            f"    server {traffic['slots'][slot]} 127.0.0.1:{ports[slot]} "
            f"weight {weights.get(slot, 0)}"
            for slot in ("blue", "green")
        )
        (root / "haproxy.cfg").write_text(
            _HAPROXY.format(
                socket=traffic["socket"], front=front, exporter=exporter, servers=servers
            )
        )
        with contextlib.suppress(FileNotFoundError):
            Path(traffic["socket"]).unlink()  # a socket left by a demo that was killed
        self._spawn("haproxy", ["-W", "-db", "-f", str(root / "haproxy.cfg")], root)
        address = next(iter(spec["analyses"]))["provider"]["address"]
        (root / "prometheus.yml").write_text(_PROMETHEUS.format(exporter=exporter))
        self._spawn(
            "prometheus",
            [
                f"--config.file={root / 'prometheus.yml'}",
                f"--storage.tsdb.path={root / 'prometheus'}",
                f"--web.listen-address={address.removeprefix('http://')}",
            ],
            root,
        )
        return f"http://127.0.0.1:{front}/"

    def _spawn(self, name: str, args: list[str], root: Path) -> None:
        executable = _executable(name)
        if executable is None:
            raise OSError(f"{name} is not installed")
        with (root / f"{name}.log").open("ab") as log:
            process = subprocess.Popen([executable, *args], stdout=log, stderr=subprocess.STDOUT)
        self._processes.append(process)

    def stop(self) -> None:
        """Stop the load, the recorder and the router, and the demo apps by their pid files."""
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        if self._router is not None:
            self._router.stop()
        for process in self._processes:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
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

    def _load(self, url: str) -> None:
        while not self._stop.wait(1 / self.requests_per_second):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url, timeout=2).close()  # noqa: S310 - loopback

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


_HAPROXY = """\
global
    stats socket {socket} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend shop
    bind 127.0.0.1:{front}
    default_backend shop
frontend metrics
    bind 127.0.0.1:{exporter}
    http-request use-service prometheus-exporter if {{ path /metrics }}
backend shop
    balance roundrobin
{servers}
"""

_PROMETHEUS = """\
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: haproxy
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
"""


def _executable(name: str) -> str | None:
    """On PATH, or where Debian puts it (/usr/sbin is not on every user's PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/bin"):
        if os.access(f"{folder}/{name}", os.X_OK):
            return f"{folder}/{name}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
