"""Progressive delivery as a user runs it: a real relman server, the demo app run by the
`process` driver in two slots behind a real HAProxy, Prometheus scraping HAProxy's own
exporter, and a bounded load on loopback whose responses are counted by slot and version.

A healthy canary ends with all traffic on its slot; a failing one is rolled back by itself;
a blue-green deployment switches all traffic at once and back at once; a server killed
during a canary's pause is replaced and the canary goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from relman.drivers.haproxy import HAProxyRuntime, HAProxyTraffic
from tests.e2e.infra import HAProxy, running_haproxy, running_prometheus
from tests.e2e.servers import Server, free_port, running_server

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None or shutil.which("prometheus") is None,
    reason="HAProxy or Prometheus is not installed ('make test' installs both)",
)

FINAL = {"succeeded", "failed", "rolled_back", "aborted"}
SERVICES = ("web", "shop", "api")

# HAProxy's exporter counts responses per server and class (code="5xx"); a slot's server is
# named SERVICE-SLOT. Measured over the last 5 s, from 3 s after the analysis begins.
ERROR_RATIO = (
    'sum(increase(haproxy_server_http_responses_total{proxy="{service}",'
    'server="{service}-{candidate_slot}",code="5xx"}[5s])) / '
    'sum(increase(haproxy_server_http_responses_total{proxy="{service}",'
    'server="{service}-{candidate_slot}"}[5s]))'
)

CONFIG = """\
version: 1
environments:
  - {{name: production, tier: production}}
lifecycles:
  - {{name: default, phases: [{{name: prod, environments: [production]}}]}}
services:
{services}
analyses:
  - name: errors
    provider: {{type: prometheus, address: "{prometheus}"}}
    initial_delay: 3s
    interval: 2s
    count: 3
    metrics:
      - name: error-ratio
        query: '{error_ratio}'
        success_condition: "result < 0.05"
"""

SERVICE = """\
  - name: {name}
    lifecycle: default
    run:
      driver: process
      command: ["{{python}}", "-m", "relman.demoapp", "--port", "{{port}}", "--version",
                "{{version}}", "--slot", "{{slot}}"]
      ports: {{blue: {blue}, green: {green}}}
      env: {{RELMAN_DEMO_ERROR_RATES: "1.2.0=0.3"}}
      state_dir: "{state}"
    traffic:
      driver: haproxy
      socket: "{socket}"
      backend: {name}
      slots: {{blue: {name}-blue, green: {name}-green}}
    strategies:
      production: {strategy}
"""

STRATEGIES = {
    "web": "{type: canary, steps: [{set_weight: 25}, {analysis: errors}, {set_weight: 100}]}",
    "shop": "{type: blue-green, auto_promote: true, post_promotion_analysis: errors, "
    "scale_down_delay: 1s}",
    "api": "{type: canary, steps: [{set_weight: 50}, {pause: 8s}, {set_weight: 100}]}",
}


@dataclass
class Load:
    """Requests to one frontend, one after the other, from a thread, until stopped or
    `limit` requests; each response kept as (status, body)."""

    url: str
    limit: int = 30_000
    responses: list[tuple[int, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Load:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=5) as client:
            while not self._stop.is_set() and len(self.responses) < self.limit:
                try:
                    response = client.get(self.url)
                    self.responses.append((response.status_code, response.text.strip()))
                except httpx.TransportError as exc:
                    self.responses.append((0, type(exc).__name__))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def mark(self) -> int:
        return len(self.responses)

    def since(self, mark: int) -> Counter[tuple[int, str]]:
        return Counter(self.responses[mark:])


@dataclass
class Stack:
    server: Server
    token: str
    haproxy: HAProxy
    root: Path

    def cli(self, *args: str) -> Any:
        result = self.server.cli(*args, "--json", token=self.token)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def get(self, path: str) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = httpx.get(f"{self.server.url}{path}", headers=headers, timeout=10)
        assert response.is_success, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        response = httpx.post(f"{self.server.url}{path}", json=body, headers=headers, timeout=10)
        assert response.is_success, response.text
        return response.json()

    def promote(self, service: str, version: str) -> int:
        self.post("/api/v1/releases", {"service": service, "version": version})
        body = {"service": service, "version": version, "environment": "production"}
        deployment_id: int = self.post("/api/v1/promotions", body)["id"]
        return deployment_id

    def wait(
        self, deployment_id: int, check: Callable[[dict[str, Any]], bool], seconds: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found: dict[str, Any] = self.get(f"/api/v1/deployments/{deployment_id}")
            if check(found):
                return found
            time.sleep(0.2)
        raise AssertionError(f"deployment {deployment_id} did not get there: {found}")

    def ended(self, deployment_id: int) -> dict[str, Any]:
        return self.wait(deployment_id, lambda d: d["state"] in FINAL)

    def weights(self, service: str) -> dict[str, int]:
        slots = {"blue": f"{service}-blue", "green": f"{service}-green"}
        return HAProxyTraffic(HAProxyRuntime(str(self.haproxy.socket)), service, slots).current()


def _config(root: Path, socket: Path, prometheus: str, ports: dict[str, dict[str, int]]) -> str:
    services = "".join(
        SERVICE.format(
            name=name,
            blue=ports[name][f"{name}-blue"],
            green=ports[name][f"{name}-green"],
            state=root / "processes",
            socket=socket,
            strategy=STRATEGIES[name],
        )
        for name in SERVICES
    )
    return CONFIG.format(services=services, prometheus=prometheus, error_ratio=ERROR_RATIO)


def _positive(value: object) -> bool:
    return isinstance(value, float) and value > 0


def _stop_demo_apps(root: Path) -> None:
    """Stop what the process driver started, by the PIDs in its pid files."""
    for pid_file in (root / "processes").glob("*.pid"):
        pid = json.loads(pid_file.read_text())["pid"]
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("delivery")
    ports = {name: {f"{name}-blue": free_port(), f"{name}-green": free_port()} for name in SERVICES}
    with running_haproxy(root, ports) as haproxy:
        target = f"127.0.0.1:{haproxy.metrics_port}"
        query = 'count(haproxy_server_http_responses_total{proxy="web"})'
        with (
            running_prometheus(root, [target], query, _positive) as prometheus,
            running_server(root / "home") as server,
        ):
            made = server.cli("token", "create", "--user", "ops", "--role", "admin")
            assert made.returncode == 0, made.stderr
            stack = Stack(server, made.stdout.strip(), haproxy, root)
            config = root / "relman.yaml"
            config.write_text(_config(root, haproxy.socket, prometheus.address, ports))
            applied = server.cli("apply", "-f", str(config), token=stack.token)
            assert applied.returncode == 0, applied.stderr
            try:
                yield stack
            finally:
                _stop_demo_apps(root)


def test_a_healthy_canary_takes_all_traffic_and_a_failing_one_rolls_back_by_itself(
    stack: Stack,
) -> None:
    first = stack.ended(stack.promote("web", "1.0.0"))
    assert first["state"] == "succeeded", first
    assert stack.weights("web") == {"blue": 100, "green": 0}
    load = Load(stack.haproxy.urls["web"]).start()
    try:
        healthy = stack.ended(stack.promote("web", "1.1.0"))
        assert healthy["state"] == "succeeded", healthy
        assert [m["phase"] for m in healthy["measurements"]] == ["successful"] * 3
        assert stack.weights("web") == {"blue": 0, "green": 100}
        after_healthy = load.mark()

        failing_id = stack.promote("web", "1.2.0")
        failing = stack.ended(failing_id)
        after_rollback = load.mark()
        time.sleep(1)  # traffic after the rollback
    finally:
        load.stop()

    # the candidate went to the idle slot (blue), took its share, failed, and is gone
    assert failing["state"] == "rolled_back", failing
    assert "analysis errors failed" in failing["reason"]
    assert failing["measurements"][-1]["phase"] == "failed"
    assert stack.weights("web") == {"blue": 0, "green": 100}
    during = load.since(after_healthy) - load.since(after_rollback)
    assert during[(500, "error from 1.2.0 (blue)")] > 0, during
    assert during[(200, "hello from 1.1.0 (green)")] > 0, during
    after = load.since(after_rollback)
    assert set(after) == {(200, "hello from 1.1.0 (green)")}, after

    shown = stack.server.cli("deployments", "show", str(failing_id), token=stack.token)
    assert "measurements:" in shown.stdout
    assert "errors/error-ratio (step 3)" in shown.stdout
    assert "result < 0.05 is false" in shown.stdout


def test_blue_green_switches_at_once_and_back_at_once(stack: Stack) -> None:
    assert stack.ended(stack.promote("shop", "1.0.0"))["state"] == "succeeded"
    load = Load(stack.haproxy.urls["shop"]).start()
    try:
        good = stack.ended(stack.promote("shop", "1.1.0"))
        mark = load.mark()
        bad = stack.ended(stack.promote("shop", "1.2.0"))
        time.sleep(1)
    finally:
        load.stop()

    assert good["state"] == "succeeded", good
    assert bad["state"] == "rolled_back", bad
    assert "post" not in bad["reason"] or "errors" in bad["reason"]
    served = load.since(mark)
    # 1.2.0 in blue took every request for a while, then 1.1.0 in green took them all back
    assert served[(500, "error from 1.2.0 (blue)")] > 0, served
    last = load.responses[-50:]
    assert set(last) == {(200, "hello from 1.1.0 (green)")}, Counter(last)
    assert stack.weights("shop") == {"blue": 0, "green": 100}
    names = [step["name"] for step in bad["steps"] if step["state"] == "succeeded"]
    assert names[-2:] == ["traffic green 100%, blue 0%", "stop blue"]


def test_a_canary_goes_on_after_its_server_is_killed_during_a_pause(stack: Stack) -> None:
    home = stack.root / "api-home"
    with running_server(home) as doomed:
        made = doomed.cli("token", "create", "--user", "ops", "--role", "admin")
        assert made.returncode == 0, made.stderr
        own = Stack(doomed, made.stdout.strip(), stack.haproxy, stack.root)
        applied = doomed.cli("apply", "-f", str(stack.root / "relman.yaml"), token=own.token)
        assert applied.returncode == 0, applied.stderr
        assert own.ended(own.promote("api", "1.0.0"))["state"] == "succeeded"
        canary = own.promote("api", "1.1.0")
        own.wait(canary, lambda d: _step_state(d, "pause 8s") == "running")
        os.kill(doomed.process.pid, signal.SIGKILL)  # the server and its worker, mid-pause
        doomed.process.wait()
    assert own.weights("api") == {"blue": 50, "green": 50}

    with running_server(home) as replacement:
        own.server = replacement
        ended = own.ended(canary)

    assert ended["state"] == "succeeded", ended
    assert _step_state(ended, "pause 8s") == "succeeded"
    assert own.weights("api") == {"blue": 0, "green": 100}
    with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
        answers = {client.get(stack.haproxy.urls["api"]).text.strip() for _ in range(20)}
    assert answers == {"hello from 1.1.0 (green)"}


def _step_state(deployment: dict[str, Any], name: str) -> str | None:
    return next((s["state"] for s in deployment["steps"] if s["name"] == name), None)
