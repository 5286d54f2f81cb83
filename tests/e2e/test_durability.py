"""Durability as an operator meets it: `relman worker` processes killed with SIGKILL mid-step.

Each step's command appends `start KEY` and `end KEY` to a ledger, KEY being its idempotency
key (deployment-step-attempt), so the ledger shows every attempt that really ran.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from relman.bootstrap import default_drivers
from relman.configfile import load_config
from relman.domain.releases import ReleaseContent
from relman.services.config_apply import apply_config
from relman.services.promotions import promote
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.tables import DeploymentEventRow, DeploymentRow, DeploymentStepRow
from relman.store.unit_of_work import UnitOfWork, read_session

from .servers import RELMAN

STEP = (
    'echo "start $RELMAN_IDEMPOTENCY_KEY" >> {ledger}; sleep 0.3; '
    'echo "end $RELMAN_IDEMPOTENCY_KEY" >> {ledger}'
)

CONFIG = """
version: 1
environments: [{{name: dev, tier: development}}]
lifecycles: [{{name: one, phases: [{{name: only, environments: [dev]}}]}}]
services:
"""
SERVICE = """  - name: {name}
    lifecycle: one
    run:
      driver: script
      shell: true
      idempotent: true
      deploy: '{step}'
      verify: '{step}'
"""


def _setup(database: Database, ledger: Path, services: int, versions: int) -> list[int]:
    """Apply the config, register releases and queue every promotion; return their ids."""
    step = STEP.format(ledger=ledger)
    text = CONFIG.format() + "".join(
        SERVICE.format(name=f"s{n}", step=step) for n in range(services)
    )
    with UnitOfWork(database) as uow:
        apply_config(uow, load_config(text), actor="setup")
    ids = []
    for v in range(versions):
        for n in range(services):
            with UnitOfWork(database) as uow:
                create_release(uow, f"s{n}", ReleaseContent.build(f"1.{v}.0"), actor="ci")
            with UnitOfWork(database) as uow:
                promotion = promote(
                    uow,
                    default_drivers(),
                    service=f"s{n}",
                    version=f"1.{v}.0",
                    environment="dev",
                    actor="setup",
                )
                ids.append(promotion.row.id)
    return ids


@contextmanager
def _worker_env(
    database: Database, tmp_path: Path
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELMAN_")}
    env.update(RELMAN_DATABASE_URL=database.url, RELMAN_LEASE="2s")

    def start(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker-{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [RELMAN, "worker", "--name", name, "--slots", "3"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


def _ledger(path: Path) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    return [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]  # type: ignore[misc]


def _running_attempt(path: Path, skip: int, *, timeout: float = 60) -> tuple[str, int]:
    """Wait for an attempt (after the first `skip` ledger lines) that started and has not
    ended; return its key and the ledger's length."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = _ledger(path)
        ended = {key for word, key in lines if word == "end"}
        for word, key in lines[skip:]:
            if word == "start" and key not in ended:
                return key, len(lines)
        time.sleep(0.01)
    raise AssertionError(f"no step started within {timeout}s; ledger: {lines[-5:]}")


def _wait_all_ended(database: Database, ids: list[int], timeout: float = 120) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with read_session(database) as session:
            states = list(
                session.scalars(
                    select(DeploymentRow.state)
                    .where(DeploymentRow.id.in_(ids))
                    .order_by(DeploymentRow.id)
                )
            )
        if all(s in ("succeeded", "failed", "aborted", "rolled_back") for s in states):
            return states
        time.sleep(0.1)
    raise AssertionError(f"deployments did not end within {timeout}s: {states}")


def _attempts(database: Database, ids: list[int]) -> dict[tuple[int, int], int]:
    with read_session(database) as session:
        rows = session.execute(
            select(
                DeploymentStepRow.deployment_id,
                DeploymentStepRow.position,
                DeploymentStepRow.attempts,
            ).where(DeploymentStepRow.deployment_id.in_(ids))
        )
        return {(d, p): a for d, p, a in rows}


def _successes(database: Database, ids: list[int]) -> dict[tuple[int, int], list[int]]:
    """(deployment, step) → the attempts recorded as finished, from the timeline."""
    found: dict[tuple[int, int], list[int]] = {}
    with read_session(database) as session:
        events = session.scalars(
            select(DeploymentEventRow).where(
                DeploymentEventRow.deployment_id.in_(ids), DeploymentEventRow.kind == "step"
            )
        )
        for event in events:
            if event.details.get("ok"):
                key = (event.deployment_id, event.details["position"])
                found.setdefault(key, []).append(event.details["attempt"])
    return found


def _split(key: str) -> tuple[int, int, int]:
    deployment, position, attempt = (int(part) for part in key.split("-"))
    return deployment, position, attempt


def _check_ledger(ledger: Path, database: Database, ids: list[int]) -> None:
    """Every step was recorded as finished exactly once, no attempt began after that, and
    the recorded attempt really ran to its end."""
    lines = _ledger(ledger)
    started = [_split(key) for word, key in lines if word == "start"]
    ended = {_split(key) for word, key in lines if word == "end"}
    finished = _successes(database, ids)
    assert set(finished) == set(_attempts(database, ids))
    for (deployment, position), recorded in finished.items():
        assert len(recorded) == 1, f"step {position} of {deployment} finished {recorded}"
        assert (deployment, position, recorded[0]) in ended
    for deployment, position, attempt in started:
        [recorded] = finished[(deployment, position)]
        assert attempt <= recorded, (
            f"step {position} of deployment {deployment} ran again (attempt {attempt}) after "
            f"attempt {recorded} was recorded as finished"
        )


def test_deployments_survive_their_worker_being_killed_twice_mid_step(
    database: Database, tmp_path: Path
) -> None:
    ledger = tmp_path / "ledger"
    ids = _setup(database, ledger, services=6, versions=4)
    assert len(ids) == 24
    cut_off: list[str] = []
    with _worker_env(database, tmp_path) as start:
        worker = start("first")
        seen = 0
        for name in ("second", "third"):
            key, seen = _running_attempt(ledger, seen)
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            cut_off.append(key)
            worker = start(name)
        states = _wait_all_ended(database, ids)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    assert states == ["succeeded"] * len(ids)
    _check_ledger(ledger, database, ids)
    attempts = _attempts(database, ids)
    for key in cut_off:  # each step cut off by a kill ran again, as it is idempotent
        deployment, position, attempt = _split(key)
        assert attempts[(deployment, position)] > attempt


@pytest.mark.postgres
def test_a_live_worker_takes_over_from_a_dead_one_after_its_lease(
    postgres_database: Database, tmp_path: Path
) -> None:
    database = postgres_database
    ledger = tmp_path / "ledger"
    ids = _setup(database, ledger, services=4, versions=2)
    with _worker_env(database, tmp_path) as start:
        doomed = start("doomed")
        survivor = start("survivor")
        seen = 0
        while True:
            key, seen = _running_attempt(ledger, seen)
            deployment, position, attempt = _split(key)
            with read_session(database) as session:
                owner = session.get_one(DeploymentRow, deployment).lease_owner
            if owner == "doomed":
                break
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        states = _wait_all_ended(database, ids)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=30) == 0
    assert states == ["succeeded"] * len(ids)
    _check_ledger(ledger, database, ids)
    attempts = _attempts(database, ids)
    assert attempts[(deployment, position)] > attempt  # the survivor ran the cut-off step
