"""The webhook gate against a real HTTP server on loopback that checks relman's signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from relman.configfile import load_config
from relman.domain.releases import ReleaseContent
from relman.engine.worker import Worker, WorkerOptions
from relman.errors import ConfigError, Refused
from relman.services.config_apply import apply_config
from relman.services.promotions import promote
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.tables import DeploymentRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FakeDriver, FrozenClock

SECRET = "s3cret-for-tests"


class Checker:
    """Answers like a CI system's check endpoint: verifies the signature, then says `verdict`."""

    def __init__(self) -> None:
        self.answer: tuple[int, dict[str, Any]] = (200, {"verdict": "pending", "reason": "CI runs"})
        self.seen: list[dict[str, Any]] = []
        checker = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers["X-Relman-Timestamp"]
                expected = hmac.new(
                    SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256
                ).hexdigest()
                valid = hmac.compare_digest(
                    self.headers["X-Relman-Signature"], f"sha256={expected}"
                )
                checker.seen.append({"valid": valid, **json.loads(body)})
                status, answer = checker.answer if valid else (401, {"error": "bad signature"})
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/check"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def checker() -> Iterator[Checker]:
    running = Checker()
    yield running
    running.server.shutdown()
    running.server.server_close()


def config(url: str) -> str:
    return f"""
version: 1
environments:
  - name: production
    tier: production
    gates:
      - webhook: {{url: "{url}", secret_env: RELMAN_CHECK_SECRET, timeout: 5s}}
lifecycles: [{{name: d, phases: [{{name: p, environments: [production]}}]}}]
services: [{{name: api, lifecycle: d, run: {{driver: script, deploy: ["./deploy.sh"]}}}}]
"""


def test_the_webhook_decides_signed_and_a_wrong_secret_holds_the_promotion(
    database: Database, checker: Checker, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FrozenClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    worker = Worker(
        database,
        {"script": FakeDriver()},
        options=WorkerOptions(lease=timedelta(seconds=30), poll=0.01, retry_delay=0.0, slots=1),
        clock=clock,
        timers_follow_clock=True,
    )
    with UnitOfWork(database, clock) as uow:
        apply_config(uow, load_config(config(checker.url)), actor="setup")

    def ask(version: str) -> int:
        with UnitOfWork(database, clock) as uow:
            create_release(uow, "api", ReleaseContent.build(version), actor="ci")
        with UnitOfWork(database, clock) as uow:
            return promote(
                uow,
                worker.drivers,
                service="api",
                version=version,
                environment="production",
                actor="alice",
            ).row.id

    def row(deployment: int) -> DeploymentRow:
        with read_session(database) as session:
            return session.get_one(DeploymentRow, deployment)

    monkeypatch.delenv("RELMAN_CHECK_SECRET", raising=False)
    unsigned = ask("1.0.0")
    assert "the server has no RELMAN_CHECK_SECRET" in (row(unsigned).reason or "")
    assert checker.seen == []

    monkeypatch.setenv("RELMAN_CHECK_SECRET", "not-the-shared-one")
    clock.advance(timedelta(seconds=31))
    worker.run_until_idle()
    assert (
        row(unsigned).reason
        == f"waiting for webhook {checker.url}: {checker.url} answered HTTP 401"
    )
    assert checker.seen[-1]["valid"] is False

    monkeypatch.setenv("RELMAN_CHECK_SECRET", SECRET)
    clock.advance(timedelta(seconds=31))
    worker.run_until_idle()
    assert row(unsigned).reason == f"waiting for webhook {checker.url}: CI runs"
    assert checker.seen[-1] == {
        "valid": True,
        "deployment": unsigned,
        "service": "api",
        "version": "1.0.0",
        "environment": "production",
        "requested_by": "alice",
    }
    checker.answer = (200, {"verdict": "pass", "reason": "all 212 checks green"})
    clock.advance(timedelta(seconds=31))
    worker.run_until_idle()
    assert row(unsigned).state == "succeeded"
    webhook = next(g for g in (row(unsigned).gates or {})["gates"] if g["gate"] == "webhook")
    assert webhook["reason"] == "all 212 checks green"
    assert webhook["evidence"]["answer"] == {"verdict": "pass", "reason": "all 212 checks green"}

    checker.answer = (200, {"verdict": "fail", "reason": "security scan: 2 critical"})
    with pytest.raises(Refused, match="security scan: 2 critical"):
        ask("1.0.1")
    checker.answer = (200, {"verdict": "maybe"})
    third = ask("1.0.2")
    assert "answered verdict 'maybe'" in (row(third).reason or "")


def test_a_webhook_gate_needs_a_url_and_a_secret_variable_name() -> None:
    bad = config("ftp://ci.example").replace("RELMAN_CHECK_SECRET", "hunter2-the-secret")
    with pytest.raises(ConfigError) as refused:
        load_config(bad)
    text = str(refused.value)
    assert "environments[0].gates[0].webhook.url: bad URL 'ftp://ci.example'" in text
    assert "'hunter2-the-secret' is not an environment variable name" in text
