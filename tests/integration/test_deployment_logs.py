"""The deployment log: lines reach the store in order, also the last one before a quiet spell."""

from __future__ import annotations

import threading

from relman.configfile import load_config
from relman.domain.releases import ReleaseContent
from relman.engine.logs import LogWriter
from relman.services.config_apply import apply_config
from relman.services.deployments import deployment_logs
from relman.services.promotions import promote
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FakeDriver, FrozenClock

CONFIG = """
version: 1
environments: [{name: dev, tier: development}]
lifecycles: [{name: one, phases: [{name: only, environments: [dev]}]}]
services:
  - {name: api, lifecycle: one, run: {driver: script, deploy: ["./deploy.sh"]}}
"""


def _deployment(database: Database, clock: FrozenClock) -> int:
    with UnitOfWork(database, clock) as uow:
        apply_config(uow, load_config(CONFIG), actor="setup")
    with UnitOfWork(database, clock) as uow:
        create_release(uow, "api", ReleaseContent.build("1.0.0"), actor="ci")
    with UnitOfWork(database, clock) as uow:
        drivers = {"script": FakeDriver()}
        return promote(
            uow, drivers, service="api", version="1.0.0", environment="dev", actor="me"
        ).row.id


def _lines(database: Database, deployment: int) -> list[str]:
    with read_session(database) as session:
        return [x.line for x, _ in deployment_logs(session, deployment, after=0, limit=100)]


def test_a_line_written_just_after_a_flush_is_stored_without_waiting_for_more(
    database: Database, clock: FrozenClock
) -> None:
    deployment = _deployment(database, clock)
    writer = LogWriter(database, clock, deployment_id=deployment, position=0, attempt=1)
    writer.interval = 0.05
    writer.write("first")  # written at once
    writer.write("waiting for the load balancer")  # within the interval: a timer writes it
    assert _lines(database, deployment) == ["first"]
    stored = threading.Event()
    for _ in range(200):
        if _lines(database, deployment) == ["first", "waiting for the load balancer"]:
            stored.set()
            break
        stored.wait(0.02)
    assert stored.is_set()
    writer.close()
    assert _lines(database, deployment) == ["first", "waiting for the load balancer"]


def test_closing_writes_what_is_left_and_long_lines_are_cut(
    database: Database, clock: FrozenClock
) -> None:
    deployment = _deployment(database, clock)
    writer = LogWriter(database, clock, deployment_id=deployment, position=0, attempt=1)
    writer.interval = 3600
    for n in range(3):
        writer.write(f"line {n}")
    writer.write("x" * 5000)
    writer.close()
    lines = _lines(database, deployment)
    assert lines[:3] == ["line 0", "line 1", "line 2"]
    assert len(lines[3]) == 4000
