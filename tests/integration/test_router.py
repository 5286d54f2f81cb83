"""The development router, its traffic driver and its reporter, with real HTTP on loopback."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from relman.drivers.router import RouterError, RouterTraffic
from relman.errors import InvalidInput
from relman.router import Reporter, Router
from tests.e2e.servers import free_port, tiny_http_server

ROUTER = [sys.executable, "-m", "relman.router"]
SLOT_ARGS = ["--service", "web", "--blue", "127.0.0.1:8101", "--green", "127.0.0.1:8102"]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """A loopback server that keeps every request and answers `status` with a JSON body."""

    server: ThreadingHTTPServer
    requests: list[Recorded] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"


def _recorder(status: int = 201) -> Recorder:
    recorder: Recorder

    class Keep(BaseHTTPRequestHandler):
        def _keep(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            recorder.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
            data = b'{"ok": true}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _keep

        def log_message(self, *args: object) -> None:
            pass

    recorder = Recorder(ThreadingHTTPServer(("127.0.0.1", 0), Keep))
    serve = recorder.server.serve_forever
    threading.Thread(target=serve, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return recorder


def _close(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def upstreams() -> Iterator[dict[str, str]]:
    blue, green = tiny_http_server("blue"), tiny_http_server("green")
    yield {
        "blue": f"127.0.0.1:{blue.server_address[1]}",
        "green": f"127.0.0.1:{green.server_address[1]}",
    }
    _close(blue)
    _close(green)


@pytest.fixture
def router(upstreams: dict[str, str]) -> Iterator[Router]:
    draw = random.Random(7)
    started = Router("web", upstreams, draw=lambda: draw.randrange(100)).start()
    yield started
    started.stop()


def _served(router: Router, requests: int) -> Counter[str]:
    with httpx.Client() as client:
        responses = [client.get(f"http://{router.address}/") for _ in range(requests)]
    for response in responses:
        assert response.headers["X-Relman-Slot"] == response.text
    return Counter(response.text for response in responses)


def _admin(router: Router, path: str) -> httpx.Response:
    return httpx.get(f"http://{router.admin_address}/-/{path}")


# --- routing ----------------------------------------------------------------------------------


def test_the_router_starts_with_all_traffic_on_blue(router: Router) -> None:
    assert _served(router, 40) == {"blue": 40}


def test_all_traffic_goes_to_green_at_0_100(router: Router) -> None:
    router.set_weights({"blue": 0, "green": 100})

    assert _served(router, 40) == {"green": 40}


def test_50_50_splits_the_requests_roughly_evenly(router: Router) -> None:
    router.set_weights({"blue": 50, "green": 50})

    served = _served(router, 400)

    assert set(served) == {"blue", "green"}
    assert 150 <= served["blue"] <= 250  # 5 standard deviations either side of 200


def test_a_dead_upstream_answers_502_counted_under_its_slot(upstreams: dict[str, str]) -> None:
    dead = f"127.0.0.1:{free_port()}"
    router = Router("web", {**upstreams, "green": dead}, weights={"green": 100}).start()
    try:
        response = httpx.get(f"http://{router.address}/")
        counters = _admin(router, "counters").json()
    finally:
        router.stop()

    assert response.status_code == 502
    assert response.headers["X-Relman-Slot"] == "green"
    assert response.text.startswith(f"relman router: green upstream {dead} unreachable")
    assert counters == {"service": "web", "counters": {"blue": {}, "green": {"502": 1}}}


def test_the_method_path_body_and_status_travel_through() -> None:
    upstream = _recorder(status=201)
    router = Router("web", {"blue": upstream.address, "green": upstream.address}).start()
    try:
        response = httpx.post(f"http://{router.address}/orders?x=1", json={"n": 1})
        counters = _admin(router, "counters").json()["counters"]
    finally:
        router.stop()
        _close(upstream.server)

    assert response.status_code == 201
    assert response.json() == {"ok": True}
    [seen] = upstream.requests
    assert (seen.method, seen.path, json.loads(seen.body)) == ("POST", "/orders?x=1", {"n": 1})
    assert seen.headers["X-Forwarded-For"] == "127.0.0.1"
    assert counters["blue"] == {"201": 1}


# --- admin API --------------------------------------------------------------------------------


def test_counters_and_prometheus_metrics_count_each_slot_and_code(router: Router) -> None:
    _served(router, 3)
    router.set_weights({"blue": 0, "green": 100})
    _served(router, 2)

    counters = _admin(router, "counters").json()
    metrics = _admin(router, "metrics")

    assert counters["counters"] == {"blue": {"200": 3}, "green": {"200": 2}}
    assert metrics.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert metrics.text.splitlines()[2:] == [
        'relman_router_requests_total{service="web",slot="blue",code="200"} 3',
        'relman_router_requests_total{service="web",slot="green",code="200"} 2',
    ]
    assert metrics.text.splitlines()[1] == "# TYPE relman_router_requests_total counter"


def test_put_weights_sets_them_and_get_reads_them(router: Router) -> None:
    url = f"http://{router.admin_address}/-/weights"

    answer = httpx.put(url, json={"blue": 90, "green": 10})

    assert answer.status_code == 200
    assert httpx.get(url).json()["weights"] == {"blue": 90, "green": 10}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"blue": 50}, "weights must add up to 100, not 50 (blue 50, green 0)"),
        ({"blue": 100, "red": 0}, "unknown slot red; slots: blue, green"),
        ({"blue": 100.0}, "weight 100.0 for slot blue is not a whole number 0-100"),
        ([100, 0], "weights must be an object like"),
    ],
)
def test_invalid_weights_are_refused_with_422_and_change_nothing(
    router: Router, body: Any, error: str
) -> None:
    answer = httpx.put(f"http://{router.admin_address}/-/weights", json=body)

    assert answer.status_code == 422
    assert answer.json()["error"].startswith(error)
    assert router.weights() == {"blue": 100, "green": 0}


def test_an_unknown_admin_path_is_404_naming_the_endpoints(router: Router) -> None:
    answer = _admin(router, "nope")

    assert answer.status_code == 404
    assert (
        "GET /-/weights, PUT /-/weights, GET /-/counters, GET /-/metrics" in answer.json()["error"]
    )


def test_the_router_refuses_an_address_off_the_loopback(upstreams: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"0\.0\.0\.0:8080 is not a loopback address"):
        Router("web", upstreams, listen="0.0.0.0:8080")


# --- the traffic driver -----------------------------------------------------------------------


def test_router_traffic_applies_and_reads_weights(router: Router) -> None:
    traffic = RouterTraffic(router.admin_address, "web")

    traffic.apply({"blue": 20, "green": 80})

    assert traffic.current() == {"blue": 20, "green": 80}
    assert router.weights() == {"blue": 20, "green": 80}


def test_router_traffic_ensure_sets_weights_again_after_a_restart(router: Router) -> None:
    traffic = RouterTraffic(f"http://{router.admin_address}", "web")
    traffic.apply({"green": 100})

    assert traffic.ensure({"blue": 0, "green": 100}) is False
    router.set_weights({"blue": 100})  # what a restarted router holds
    assert traffic.ensure({"blue": 0, "green": 100}) is True
    assert router.weights() == {"blue": 0, "green": 100}


def test_router_traffic_refuses_bad_weights_before_asking(router: Router) -> None:
    traffic = RouterTraffic(router.admin_address, "web")

    with pytest.raises(InvalidInput, match="unknown slot red"):
        traffic.apply({"red": 100})
    with pytest.raises(InvalidInput, match="weights must add up to 100, not 90"):
        traffic.apply({"blue": 80, "green": 10})


def test_router_traffic_names_the_address_when_nothing_answers() -> None:
    address = f"127.0.0.1:{free_port()}"

    with pytest.raises(RouterError, match="Nothing answers at the development router's") as error:
        RouterTraffic(address, "web").current()

    assert address in error.value.message
    assert error.value.code == "traffic_error"
    assert error.value.details == {"address": address}


def test_router_traffic_refuses_a_router_of_another_service(router: Router) -> None:
    with pytest.raises(RouterError, match="serves 'web', not 'api'"):
        RouterTraffic(router.admin_address, "api").current()


def test_router_traffic_refuses_an_address_that_is_not_a_router() -> None:
    other = tiny_http_server("<html>hello</html>", "text/html")
    address = f"127.0.0.1:{other.server_address[1]}"
    try:
        with pytest.raises(RouterError, match="is --admin the router's admin address"):
            RouterTraffic(address).current()
    finally:
        _close(other)


# --- the reporter -----------------------------------------------------------------------------


def _counts() -> dict[tuple[str, int], int]:
    return {("green", 500): 2, ("blue", 200): 41}


def test_the_reporter_posts_the_counters_as_samples_with_the_token() -> None:
    relman = _recorder()
    try:
        done = Reporter(relman.url + "/", "web", _counts, token="s3cret").report()
    finally:
        _close(relman.server)

    assert done is True
    [posted] = relman.requests
    assert (posted.method, posted.path) == ("POST", "/api/v1/metrics/samples")
    assert posted.headers["Authorization"] == "Bearer s3cret"
    assert json.loads(posted.body) == {
        "samples": [
            {
                "name": "http_requests_total",
                "labels": {"service": "web", "slot": "blue", "code": "200"},
                "value": 41,
            },
            {
                "name": "http_requests_total",
                "labels": {"service": "web", "slot": "green", "code": "500"},
                "value": 2,
            },
        ]
    }


def test_the_reporter_logs_a_refused_post_once_and_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusing = tiny_http_server("GET only")  # answers POST with 501
    url = f"http://127.0.0.1:{refusing.server_address[1]}"
    try:
        reporter = Reporter(url, "web", _counts)
        with caplog.at_level(logging.DEBUG, logger="relman.router"):
            results = [reporter.report(), reporter.report()]
    finally:
        _close(refusing)

    assert results == [False, False]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"could not report counters to {url}/api/v1/metrics/samples: relman answered 501 "
        "Unsupported method ('POST'); trying again"
    ]


def test_the_reporter_survives_relman_being_down(caplog: pytest.LogCaptureFixture) -> None:
    reporter = Reporter(f"http://127.0.0.1:{free_port()}", "web", _counts)

    with caplog.at_level(logging.WARNING, logger="relman.router"):
        assert reporter.report() is False

    assert "Connection refused" in caplog.text


# --- the command ------------------------------------------------------------------------------


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the router did not get there in 15s"
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_the_command_routes_reports_with_the_env_token_and_stops_on_sigterm(
    upstreams: dict[str, str],
) -> None:
    relman = _recorder()
    listen, admin = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env = {**os.environ, "RELMAN_TOKEN": "from-env"}
    command = [*ROUTER, "--listen", listen, "--admin", admin, "--service", "web"]
    command += ["--blue", upstreams["blue"], "--green", upstreams["green"]]
    command += ["--report-to", relman.url, "--report-interval", "0.1"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: _answers(f"http://{admin}/-/weights"), process)
        assert httpx.get(f"http://{listen}/").text == "blue"
        _wait_for(lambda: bool(relman.requests), process)
    finally:
        os.kill(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
        _close(relman.server)

    assert process.returncode == 0
    assert "local use only" in output
    posted = relman.requests[0]
    assert posted.headers["Authorization"] == "Bearer from-env"
    assert json.loads(posted.body)["samples"][0]["labels"] == {
        "service": "web",
        "slot": "blue",
        "code": "200",
    }


def test_the_command_refuses_to_listen_off_the_loopback() -> None:
    finished = subprocess.run(
        [*ROUTER, "--listen", "0.0.0.0:8080", *SLOT_ARGS],
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert finished.returncode == 2
    assert "0.0.0.0:8080 is not a loopback address" in finished.stderr
