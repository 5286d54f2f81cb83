"""Start a real `relman serve` on a free loopback port (stopped by PID), and tiny HTTP servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

RELMAN = str(Path(sys.executable).parent / "relman")


def tiny_http_server(body: str, content_type: str = "text/plain") -> ThreadingHTTPServer:
    """A loopback HTTP server that answers every GET with `body`, in a daemon thread; the
    caller stops it with shutdown() and server_close()."""

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    home: Path
    process: subprocess.Popen[bytes]

    def env(self, token: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RELMAN_")}
        env.update(RELMAN_URL=self.url, RELMAN_HOME=str(self.home), COLUMNS="200", **extra)
        if token:
            env["RELMAN_TOKEN"] = token
        return env

    def cli(self, *args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RELMAN, *args], capture_output=True, text=True, env=self.env(token), timeout=60
        )


@contextmanager
def running_server(
    home: Path, *extra_args: str, env_extra: dict[str, str] | None = None
) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELMAN_")}
    env["RELMAN_HOME"] = str(home)
    env.update(env_extra or {})
    log = (home.parent / f"serve-{port}.log").open("wb")
    process = subprocess.Popen(
        [RELMAN, "serve", "--host", "127.0.0.1", "--port", str(port), *extra_args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_until_healthy(url, process, home.parent / f"serve-{port}.log")
        yield Server(url, home, process)
    finally:
        if process.poll() is None:  # a test may have killed it
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"relman serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"relman serve did not become healthy:\n{log.read_text()}")
