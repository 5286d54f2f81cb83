"""relman's development router: a small HTTP reverse proxy between a service's blue and green
slots, for LOCAL use only (the demo, a laptop without HAProxy or Prometheus).

Not for production: it listens on the loopback only, speaks plain HTTP (no TLS), reads each
request and response whole into memory, opens a new upstream connection per request (no
keep-alive pooling), supports no WebSocket or other upgrades, needs a Content-Length on request
bodies, and its admin API has no authentication. Use HAProxy (the `haproxy` traffic driver)
anywhere else.

    python -m relman.router --listen 127.0.0.1:8080 --admin 127.0.0.1:8081 --service web \\
        --blue 127.0.0.1:8101 --green 127.0.0.1:8102 [--report-to URL --report-interval 1]

Every request to the listen address goes to blue or green by weighted random choice (weights
are percentages that add up to 100; a slot at 0 gets nothing; the router starts at blue 100),
with a response header `X-Relman-Slot`. An upstream that does not answer gives 502. Responses
are counted per slot and status code.

The admin API is on its own address (`--admin`), so the proxied service keeps all its paths:

    GET  /-/weights     {"service": "web", "weights": {"blue": 90, "green": 10}, "upstreams": …}
    PUT  /-/weights     body {"blue": 90, "green": 10} (a slot left out gets 0); 422 if invalid
    GET  /-/counters    {"service": "web", "counters": {"blue": {"200": 41, "502": 1}, …}}
    GET  /-/metrics     Prometheus text: relman_router_requests_total{service,slot,code}

With `--report-to` (relman's URL), a `Reporter` posts the counters every `--report-interval`
seconds to relman's builtin metrics API as `http_requests_total{service,slot,code}` samples,
with the token from RELMAN_TOKEN (never from the command line, where `ps` would show it).
A failed post is logged and tried again at the next interval.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import random
import signal
import socket
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from http.client import HTTPConnection, HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

__all__ = [
    "SLOTS",
    "Counters",
    "Reporter",
    "Router",
    "Weights",
    "choose_slot",
    "main",
    "parse_address",
    "parse_weights",
    "render_metrics",
]

SLOTS = ("blue", "green")
UPSTREAM_TIMEOUT = 30.0  # seconds an upstream may take to answer
IDLE_TIMEOUT = 30.0  # seconds a client connection may idle between requests
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_METRIC = "relman_router_requests_total"

log = logging.getLogger(__name__)

Weights = dict[str, int]
Address = tuple[str, int]


# --- pure parts -------------------------------------------------------------------------------


def parse_weights(raw: object) -> Weights:
    """Weights from JSON-like data: {"blue": 90, "green": 10}; a slot left out gets 0.

    ValueError, naming the value, unless every weight is a whole number 0-100 for a known slot
    and they add up to 100.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f'weights must be an object like {{"blue": 90, "green": 10}}, not {raw!r}')
    unknown = sorted(str(slot) for slot in raw if slot not in SLOTS)
    if unknown:
        raise ValueError(f"unknown slot {', '.join(unknown)}; slots: {', '.join(SLOTS)}")
    weights = {slot: raw.get(slot, 0) for slot in SLOTS}
    for slot, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight <= 100:
            raise ValueError(f"weight {weight!r} for slot {slot} is not a whole number 0-100")
    total = sum(weights.values())
    if total != 100:
        shares = ", ".join(f"{slot} {weight}" for slot, weight in weights.items())
        raise ValueError(f"weights must add up to 100, not {total} ({shares})")
    return weights


def choose_slot(weights: Mapping[str, int], draw: int) -> str:
    """The slot for a request, given `draw`, a number 0-99 drawn uniformly: blue takes the draws
    below its weight, green the rest."""
    return "blue" if draw < weights.get("blue", 0) else "green"


def parse_address(text: str, *, loopback_only: bool = True) -> Address:
    """("127.0.0.1", 8080) from "127.0.0.1:8080" (or "localhost:8080"); ValueError otherwise,
    and for an address off the loopback unless `loopback_only` is False."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bad address {text!r}; expected host:port, like 127.0.0.1:8080")
    if loopback_only and not _is_loopback(host):
        raise ValueError(
            f"{text} is not a loopback address; the development router is for local use "
            "only, so it listens on 127.0.0.1 (use HAProxy to serve other machines)"
        )
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def render_metrics(service: str, counts: Mapping[tuple[str, int], int]) -> str:
    """The counters in Prometheus' text format."""
    lines = [
        f"# HELP {_METRIC} Responses of the relman development router by slot and status code.",
        f"# TYPE {_METRIC} counter",
    ]
    for (slot, code), value in sorted(counts.items()):
        labels = f'service="{_escape(service)}",slot="{_escape(slot)}",code="{code}"'
        lines.append(f"{_METRIC}{{{labels}}} {value}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Counters:
    """Responses per (slot, status code); safe to share between threads."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def add(self, slot: str, code: int) -> None:
        with self._lock:
            self._counts[(slot, code)] = self._counts.get((slot, code), 0) + 1

    def snapshot(self) -> dict[tuple[str, int], int]:
        with self._lock:
            return dict(self._counts)

    def by_slot(self) -> dict[str, dict[str, int]]:
        """{"blue": {"200": 41, "502": 1}, "green": {}}: every slot, codes as strings (JSON)."""
        out: dict[str, dict[str, int]] = {slot: {} for slot in SLOTS}
        for (slot, code), value in sorted(self.snapshot().items()):
            out.setdefault(slot, {})[str(code)] = value
        return out


# --- the router -------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    block_on_close = False  # stop() must not wait for clients that keep a connection open
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away
            super().handle_error(request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


def _serve(address: Address, handler: type[BaseHTTPRequestHandler]) -> _Server:
    return (_Server6 if ":" in address[0] else _Server)(address, handler)


class Router:
    """The proxy on `listen` and its admin API on `admin` (port 0: any free port), both on the
    loopback. `draw` returns a number 0-99 per request (tests pass a seeded one)."""

    def __init__(
        self,
        service: str,
        upstreams: Mapping[str, str],
        *,
        listen: str = "127.0.0.1:0",
        admin: str = "127.0.0.1:0",
        weights: Mapping[str, int] | None = None,
        draw: Callable[[], int] | None = None,
        upstream_timeout: float = UPSTREAM_TIMEOUT,
    ) -> None:
        missing = [slot for slot in SLOTS if slot not in upstreams]
        if missing:
            raise ValueError(f"no upstream for slot {', '.join(missing)}; give blue and green")
        self.service = service
        self.upstreams = {
            slot: parse_address(upstreams[slot], loopback_only=False) for slot in SLOTS
        }
        self.counters = Counters()
        self.upstream_timeout = upstream_timeout
        self._weights = parse_weights(weights if weights is not None else {"blue": 100})
        self._lock = threading.Lock()
        self._draw = draw or _draw_percent
        self._listen = parse_address(listen)
        self._admin = parse_address(admin)
        self._servers: list[_Server] = []

    @property
    def address(self) -> str:
        """host:port the proxy listens on (after start)."""
        return self._bound(0)

    @property
    def admin_address(self) -> str:
        """host:port of the admin API (after start)."""
        return self._bound(1)

    def weights(self) -> Weights:
        with self._lock:
            return dict(self._weights)

    def set_weights(self, raw: object) -> Weights:
        """Validate and apply new weights (see parse_weights); returns them."""
        weights = parse_weights(raw)
        with self._lock:
            self._weights = weights
        log.info("weights of %s now %s", self.service, weights)
        return dict(weights)

    def pick(self) -> str:
        """The slot for the next request."""
        return choose_slot(self.weights(), self._draw())

    def start(self) -> Router:
        """Bind both addresses and serve in daemon threads; OSError if an address is taken."""
        if self._servers:
            raise RuntimeError("the router is already started")
        proxy = _serve(self._listen, _proxy_handler(self))
        try:
            admin = _serve(self._admin, _admin_handler(self))
        except OSError:
            proxy.server_close()
            raise
        self._servers = [proxy, admin]
        for server in self._servers:
            threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
        return self

    def stop(self) -> None:
        """Stop serving and close both listening sockets."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = []

    def status(self) -> dict[str, Any]:
        """What GET /-/weights answers."""
        return {
            "service": self.service,
            "weights": self.weights(),
            "upstreams": {slot: f"{host}:{port}" for slot, (host, port) in self.upstreams.items()},
        }

    def _bound(self, index: int) -> str:
        if not self._servers:
            raise RuntimeError("the router is not started")
        host, port = self._servers[index].server_address[:2]
        return f"[{host!s}]:{port}" if ":" in str(host) else f"{host!s}:{port}"


def _draw_percent() -> int:
    return random.randrange(100)  # noqa: S311 - load balancing, not security


# --- request handlers -------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT
    disable_nagle_algorithm = True  # headers and body are two writes: no 40ms delayed-ACK wait

    def send_body(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self) -> bytes | None:
        """The request body; None (after answering 411) when it has no Content-Length."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self.send_body(411, b"the development router needs a Content-Length\n", "text/plain")
            return None
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def _proxy_handler(router: Router) -> type[_Handler]:
    class Proxy(_Handler):
        def forward(self) -> None:
            body = self.read_body()
            if body is None:
                return
            slot = router.pick()
            try:
                status, reason, headers, payload = self._ask(slot, body)
            except (OSError, HTTPException) as exc:
                router.counters.add(slot, HTTPStatus.BAD_GATEWAY)
                host, port = router.upstreams[slot]
                message = f"relman router: {slot} upstream {host}:{port} unreachable: {exc}\n"
                self.send_body(
                    HTTPStatus.BAD_GATEWAY,
                    message.encode(),
                    "text/plain; charset=utf-8",
                    [("X-Relman-Slot", slot)],
                )
                return
            router.counters.add(slot, status)
            self.log_request(status)
            self.send_response_only(status, reason)  # the upstream's Date and Server stay
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("X-Relman-Slot", slot)
            if not any(name.lower() == "content-length" for name, _ in headers):
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _ask(self, slot: str, body: bytes) -> tuple[int, str, list[tuple[str, str]], bytes]:
            host, port = router.upstreams[slot]
            connection = HTTPConnection(host, port, timeout=router.upstream_timeout)
            try:
                connection.request(self.command, self.path, body or None, self._upstream_headers())
                response = connection.getresponse()
                payload = response.read()
                headers = [
                    (name, value)
                    for name, value in response.getheaders()
                    if name.lower() not in _HOP_BY_HOP
                    and (self.command == "HEAD" or name.lower() != "content-length")
                ]
                return response.status, response.reason, headers, payload
            finally:
                connection.close()

        def _upstream_headers(self) -> dict[str, str]:
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in _HOP_BY_HOP
            }
            forwarded = headers.get("X-Forwarded-For")
            client = self.client_address[0]
            headers["X-Forwarded-For"] = f"{forwarded}, {client}" if forwarded else client
            headers["Connection"] = "close"
            return headers

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = forward

    return Proxy


def _admin_handler(router: Router) -> type[_Handler]:
    class Admin(_Handler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/-/weights":
                self._json(200, router.status())
            elif path == "/-/counters":
                self._json(200, {"service": router.service, "counters": router.counters.by_slot()})
            elif path == "/-/metrics":
                text = render_metrics(router.service, router.counters.snapshot())
                self.send_body(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._not_found()

        def do_PUT(self) -> None:
            body = self.read_body()
            if body is None:
                return
            if self.path.split("?", 1)[0] != "/-/weights":
                self._not_found()
                return
            try:
                router.set_weights(json.loads(body or b"null"))
            except ValueError as exc:  # JSONDecodeError is a ValueError too
                self._json(422, {"error": str(exc)})
                return
            self._json(200, router.status())

        def _not_found(self) -> None:
            endpoints = "GET /-/weights, PUT /-/weights, GET /-/counters, GET /-/metrics"
            self._json(404, {"error": f"no endpoint {self.command} {self.path}; {endpoints}"})

        def _json(self, status: int, data: object) -> None:
            self.send_body(status, json.dumps(data).encode(), "application/json")

    return Admin


# --- reporting to relman ----------------------------------------------------------------------


class Reporter:
    """Posts a router's counters to relman's builtin metrics API (`{relman_url}/api/v1/metrics/
    samples`) as cumulative `http_requests_total` samples, one per slot and status code.

    `report()` posts once and says whether relman took it; a failure is logged (once, until a
    post succeeds again) and never raised. `start()` reports every `interval` seconds in a
    daemon thread until `stop()`.
    """

    def __init__(
        self,
        relman_url: str,
        service: str,
        counts: Callable[[], Mapping[tuple[str, int], int]],
        *,
        token: str | None = None,
        interval: float = 5.0,
        timeout: float = 5.0,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"report interval {interval:g} must be more than 0 seconds")
        if not relman_url.startswith(("http://", "https://")):
            raise ValueError(f"relman URL {relman_url!r} must start with http:// or https://")
        self.url = relman_url.rstrip("/") + "/api/v1/metrics/samples"
        self.service = service
        self.counts = counts
        self.token = token
        self.interval = interval
        self.timeout = timeout
        self._failing = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def samples(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "http_requests_total",
                "labels": {"service": self.service, "slot": slot, "code": str(code)},
                "value": value,
            }
            for (slot, code), value in sorted(self.counts().items())
        ]

    def report(self) -> bool:
        """Post the counters once (nothing to post counts as done); True if relman took them."""
        samples = self.samples()
        if not samples:
            return True
        request = urllib.request.Request(  # noqa: S310 - the URL is relman's, http(s) checked
            self.url,
            data=json.dumps({"samples": samples}).encode(),
            headers=self._headers(),
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            exc.close()
            return self._failed(f"relman answered {exc.code} {exc.reason}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return self._failed(str(getattr(exc, "reason", exc)))
        if self._failing:
            log.info("reporting to %s works again", self.url)
        self._failing = False
        return True

    def start(self) -> Reporter:
        self._thread = threading.Thread(target=self._loop, name="relman-reporter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the loop after one last report."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            self.report()
        self.report()

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _failed(self, reason: str) -> bool:
        level = logging.DEBUG if self._failing else logging.WARNING
        log.log(level, "could not report counters to %s: %s; trying again", self.url, reason)
        self._failing = True
        return False


# --- command line -----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s router %(message)s")
    try:
        router = Router(
            args.service,
            {"blue": args.blue, "green": args.green},
            listen=args.listen,
            admin=args.admin,
        ).start()
        reporter = _reporter(args, router)
    except (ValueError, OSError) as exc:
        print(f"relman router: {exc}", file=sys.stderr, flush=True)
        return 2
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(
        f"relman development router for {args.service} (local use only): "
        f"http://{router.address} -> blue {args.blue}, green {args.green}; "
        f"admin http://{router.admin_address}/-/weights",
        flush=True,
    )
    stopping.wait()
    if reporter is not None:
        reporter.stop()
    router.stop()
    return 0


def _reporter(args: argparse.Namespace, router: Router) -> Reporter | None:
    if not args.report_to:
        return None
    token = os.environ.get("RELMAN_TOKEN")
    if not token:
        log.warning("RELMAN_TOKEN is not set; reporting to %s without a token", args.report_to)
    reporter = Reporter(
        args.report_to,
        router.service,
        router.counters.snapshot,
        token=token,
        interval=args.report_interval,
    )
    return reporter.start()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m relman.router",
        description="relman's development router: blue/green by weight, for local use only.",
    )
    parser.add_argument("--listen", default="127.0.0.1:8080", help="host:port (loopback)")
    parser.add_argument("--admin", default="127.0.0.1:8081", help="host:port of the admin API")
    parser.add_argument("--service", required=True, help="the service's name in relman")
    parser.add_argument("--blue", required=True, help="host:port of the blue slot")
    parser.add_argument("--green", required=True, help="host:port of the green slot")
    parser.add_argument("--report-to", help="relman's URL; token from RELMAN_TOKEN")
    parser.add_argument("--report-interval", type=float, default=5.0, help="seconds")
    return parser


if __name__ == "__main__":
    sys.exit(main())
