"""`relman serve` stopped with SIGTERM while its worker runs a step: the step finishes and is
recorded, the next one waits, and a restarted server goes on from there."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from relman.store.database import Database
from relman.store.tables import DeploymentRow, DeploymentStepRow
from relman.store.unit_of_work import read_session

from .servers import RELMAN, free_port

CONFIG = """
version: 1
environments: [{{name: dev, tier: development}}]
lifecycles: [{{name: one, phases: [{{name: only, environments: [dev]}}]}}]
services:
  - name: slow
    lifecycle: one
    run:
      driver: script
      deploy:
        - /bin/sh
        - -c
        - >-
          echo started; n=0;
          while [ ! -e {go} ] && [ $n -lt 600 ]; do sleep 0.05; n=$((n+1)); done;
          echo done
      verify: ["/bin/echo", "healthy"]
"""


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELMAN_")}
    env["RELMAN_HOME"] = str(home)
    with (home.parent / f"serve-{port}.log").open("ab") as log:
        process = subprocess.Popen(
            [RELMAN, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, (home.parent / f"serve-{port}.log").read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("relman serve did not become healthy")


def _until(check, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)


def test_sigterm_lets_the_running_step_finish_and_a_restart_goes_on(tmp_path: Path) -> None:
    home = tmp_path / "home"
    go = tmp_path / "go"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(home, port)
    try:
        made = subprocess.run(
            [RELMAN, "token", "create", "--user", "ops", "--role", "admin"],
            env={**os.environ, "RELMAN_HOME": str(home)},
            capture_output=True,
            text=True,
            check=True,
        )
        auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
        for path, body in [
            ("/api/v1/config/apply", {"text": CONFIG.format(go=go)}),
            ("/api/v1/releases", {"service": "slow", "version": "1.0.0"}),
            ("/api/v1/promotions", {"service": "slow", "version": "1.0.0", "environment": "dev"}),
        ]:
            response = httpx.post(url + path, json=body, headers=auth)
            assert response.status_code in (200, 201), response.text
        deployment = response.json()["id"]
        logs = f"{url}/api/v1/deployments/{deployment}/logs"
        _until(lambda: "started" in [x["line"] for x in httpx.get(logs).json()["items"]])

        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert server.poll() is None  # it waits for the step instead of cutting it off
        go.touch()
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    database = Database(f"sqlite:///{home / 'relman.db'}")
    try:
        with read_session(database) as session:
            row = session.get_one(DeploymentRow, deployment)
            steps = session.scalars(
                select(DeploymentStepRow).where(DeploymentStepRow.deployment_id == deployment)
            ).all()
            assert (row.state, row.lease_owner) == ("running", None)
            assert sorted((s.position, s.state, s.attempts) for s in steps) == [
                (0, "succeeded", 1),
                (1, "pending", 0),
            ]
    finally:
        database.dispose()

    restarted = _serve(home, port)
    try:
        detail = f"{url}/api/v1/deployments/{deployment}"
        _until(lambda: httpx.get(detail).json()["state"] == "succeeded")
        assert [s["attempts"] for s in httpx.get(detail).json()["steps"]] == [1, 1]
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)
