"""A tiny web app for the demo and for trying the `process` run driver by hand.

    python -m relman.demoapp --port 8101 --version 1.2.0 --slot blue [--error-rate 0.2]

It listens on 127.0.0.1 only. GET / answers 200 "hello from 1.2.0 (blue)", except for a share
`--error-rate` (0 to 1) of the requests, which answer 500; GET /healthz answers 200 always. The
failures are spread evenly and deterministically (rate 0.2: requests 5, 10, 15, …; rate 0.25:
4, 8, 12, …), so a test or a demo sees the same share every time. Without `--error-rate` the rate
comes from RELMAN_DEMO_ERROR_RATES, a list of VERSION=RATE pairs ("1.2.0=0.3,2.0.0=0.5": a
demo's bad releases), then RELMAN_DEMO_ERROR_RATE, else 0. SIGTERM or SIGINT stops it cleanly
(exit 0).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

__all__ = ["DemoApp", "fails", "main"]

ERROR_RATE_ENV = "RELMAN_DEMO_ERROR_RATE"
ERROR_RATES_ENV = "RELMAN_DEMO_ERROR_RATES"


def fails(request_number: int, error_rate: float) -> bool:
    """Whether the `request_number`-th request (from 1) fails: exactly floor(n * rate) of the
    first n requests do, spread evenly."""
    return math.floor(request_number * error_rate) > math.floor((request_number - 1) * error_rate)


class DemoApp:
    """The app's state: what it says, and how many requests to / it has answered."""

    def __init__(self, version: str, slot: str, error_rate: float) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"error rate {error_rate:g} is not between 0 and 1")
        self.version = version
        self.slot = slot
        self.error_rate = error_rate
        self._requests = 0
        self._lock = threading.Lock()

    def answer(self) -> tuple[int, str]:
        """Status and body for the next GET /."""
        with self._lock:
            self._requests += 1
            number = self._requests
        if fails(number, self.error_rate):
            return 500, f"error from {self.version} ({self.slot})\n"
        return 200, f"hello from {self.version} ({self.slot})\n"

    def server(self, port: int) -> ThreadingHTTPServer:
        """A server on 127.0.0.1:`port` (0: any free port), not yet serving."""
        app = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # no delayed-ACK wait behind the router

            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] == "/healthz":
                    self._send(200, "ok\n")
                elif self.path.split("?", 1)[0] == "/":
                    self._send(*app.answer())
                else:
                    self._send(404, f"no page {self.path}; try / or /healthz\n")

            def _send(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # one line per request would flood the process driver's log

        return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def _error_rate(given: float | None, version: str) -> float:
    if given is not None:
        return given
    for pair in os.environ.get(ERROR_RATES_ENV, "").split(","):
        name, _, rate = pair.partition("=")
        if name.strip() == version:
            try:
                return float(rate)
            except ValueError:
                raise ValueError(f"{ERROR_RATES_ENV}: {pair!r} is not VERSION=RATE") from None
    raw = os.environ.get(ERROR_RATE_ENV, "").strip()
    try:
        return float(raw) if raw else 0.0
    except ValueError:
        raise ValueError(f"{ERROR_RATE_ENV}={raw!r} is not a number between 0 and 1") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m relman.demoapp", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--slot", default="default")
    parser.add_argument("--error-rate", type=float, default=None, help="0 to 1; default 0")
    args = parser.parse_args(argv)
    try:
        app = DemoApp(args.version, args.slot, _error_rate(args.error_rate, args.version))
        server = app.server(args.port)
    except (ValueError, OSError) as exc:
        print(f"demoapp: cannot start: {exc}", file=sys.stderr, flush=True)
        return 1
    stopping = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    serving = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    serving.start()
    print(
        f"demoapp {app.version} ({app.slot}) listening on http://127.0.0.1:"
        f"{server.server_address[1]}, error rate {app.error_rate:g}",
        flush=True,
    )
    stopping.wait()
    server.shutdown()
    server.server_close()
    print(f"demoapp {app.version} ({app.slot}) stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
