"""Real HAProxy and Prometheus on loopback for tests (Debian's packages; `make test` installs
them), each stopped by the context that started it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from relman.drivers.haproxy import HAProxyError, HAProxyRuntime
from relman.metrics.prometheus import MetricsUnavailable, PrometheusProvider
from tests.e2e.servers import free_port


def eventually(check: Callable[[], bool], seconds: float = 10, what: str = "it") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {seconds:g}s")


@dataclass
class HAProxy:
    urls: dict[str, str]  # backend → the URL of its frontend
    socket: Path  # the admin socket
    metrics_port: int  # HAProxy's own Prometheus exporter, at /metrics
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return next(iter(self.urls.values()))


def answers(socket: Path) -> bool:
    try:
        HAProxyRuntime(str(socket), timeout=1).command("show info")
    except HAProxyError:
        return False
    return True


@contextmanager
def running_haproxy(root: Path, backends: dict[str, dict[str, int]]) -> Iterator[HAProxy]:
    """HAProxy in master-worker mode with a frontend per backend, each backend balancing its
    servers (name → port; the first one weight 100, the others 0), and its Prometheus
    exporter on another port."""
    ports = {backend: free_port() for backend in backends}
    metrics_port = free_port()
    admin = root / "admin.sock"
    sections = []
    for backend, servers in backends.items():
        lines = [
            f"    server {name} 127.0.0.1:{port} weight {100 if index == 0 else 0}"
            for index, (name, port) in enumerate(servers.items())
        ]
        sections.append(
            f"frontend {backend}\n    bind 127.0.0.1:{ports[backend]}\n"
            f"    default_backend {backend}\n"
            f"backend {backend}\n    balance roundrobin\n" + "\n".join(lines)
        )
    config = root / "haproxy.cfg"
    config.write_text(
        f"""
global
    stats socket {admin} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend metrics
    bind 127.0.0.1:{metrics_port}
    http-request use-service prometheus-exporter if {{ path /metrics }}
"""
        + "\n".join(sections)
        + "\n"
    )
    log = (root / "haproxy.log").open("wb")
    process = subprocess.Popen(
        ["haproxy", "-W", "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        eventually(lambda: answers(admin), what="HAProxy answering on its socket")
        urls = {backend: f"http://127.0.0.1:{port}/" for backend, port in ports.items()}
        yield HAProxy(urls, admin, metrics_port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@contextmanager
def running_prometheus(
    root: Path, targets: list[str], ready_query: str, ready: Callable[[object], bool]
) -> Iterator[PrometheusProvider]:
    """Prometheus scraping `targets` (host:port) every second; yields once `ready_query`
    answers something `ready` accepts (the first scrape is in)."""
    port = free_port()
    quoted = ", ".join(f'"{target}"' for target in targets)
    (root / "prometheus.yml").write_text(
        f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: app
    static_configs:
      - targets: [{quoted}]
"""
    )
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    provider = PrometheusProvider(f"http://127.0.0.1:{port}", timeout=5)

    def scraped() -> bool:
        try:
            return ready(provider.query(ready_query))
        except MetricsUnavailable:
            return False

    try:
        try:
            eventually(scraped, 60, "Prometheus' first scrape")
        except AssertionError:
            said = (root / "prometheus.log").read_text()[-2000:]
            raise AssertionError(f"Prometheus did not scrape in time:\n{said}") from None
        yield provider
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
