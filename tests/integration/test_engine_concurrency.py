"""Many promotions to one environment at once, run by several workers with several slots."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from relman.configfile import load_config
from relman.domain.releases import ReleaseContent
from relman.drivers.base import LogSink, StepResult, StepRun
from relman.engine.worker import Worker, WorkerOptions
from relman.services.config_apply import apply_config
from relman.services.deployments import list_deployments
from relman.services.promotions import promote
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.notifications import WorkListener
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FakeDriver

from .concurrency import run_together

CONFIG = """
version: 1
environments: [{name: production, tier: production}]
lifecycles: [{name: one, phases: [{name: only, environments: [production]}]}]
services:
  - name: api
    lifecycle: one
    run: {driver: script, deploy: ["./deploy.sh"], verify: ["./check.sh"]}
"""


class CountingDriver(FakeDriver):
    """Counts steps that run at the same moment."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.most = 0
        self.guard = threading.Lock()

    def run(self, step: StepRun, log: LogSink, cancel: threading.Event) -> StepResult:
        with self.guard:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.005)  # widen the window in which an overlap would show
        try:
            return super().run(step, log, cancel)
        finally:
            with self.guard:
                self.active -= 1


def test_twenty_concurrent_promotions_run_one_at_a_time_oldest_first(
    database: Database,
) -> None:
    with UnitOfWork(database) as uow:
        apply_config(uow, load_config(CONFIG), actor="setup")
    for n in range(20):
        with UnitOfWork(database) as uow:
            create_release(uow, "api", ReleaseContent.build(f"1.{n}.0"), actor="ci")
    driver = CountingDriver()
    drivers = {"script": driver}

    def promote_one(n: int) -> int:
        with UnitOfWork(database) as uow:
            return promote(
                uow,
                drivers,
                service="api",
                version=f"1.{n}.0",
                environment="production",
                actor=f"user{n}",
            ).row.id

    ids, errors = run_together(20, promote_one)
    assert errors == []
    options = WorkerOptions(lease=timedelta(seconds=30), poll=0.01, slots=4)
    workers = [Worker(database, drivers, options=options) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with read_session(database) as session:
                views, _ = list_deployments(session, limit=50, offset=0)
            if all(v.row.state == "succeeded" for v in views) and len(views) == 20:
                break
            time.sleep(0.05)
    finally:
        for worker in workers:
            worker.stop()
    assert sorted(v.row.state for v in views) == ["succeeded"] * 20
    assert driver.most == 1
    ran = [(call.deployment_id, call.step) for call in driver.calls]
    assert ran == [(d, step) for d in sorted(ids) for step in ("deploy", "verify")]


@pytest.mark.postgres
def test_on_postgresql_a_notification_wakes_an_idle_worker(postgres_database: Database) -> None:
    database = postgres_database
    with UnitOfWork(database) as uow:
        apply_config(uow, load_config(CONFIG), actor="setup")
    with UnitOfWork(database) as uow:
        create_release(uow, "api", ReleaseContent.build("1.0.0"), actor="ci")
    woken = threading.Event()
    listener = WorkListener(database.url, woken.set)
    listener.start()
    try:
        assert listener.listening.wait(10)
        woken.clear()
        with UnitOfWork(database) as uow:  # as another process would
            promote(
                uow,
                {"script": FakeDriver()},
                service="api",
                version="1.0.0",
                environment="production",
                actor="me",
            )
        assert woken.wait(10)
    finally:
        listener.stop()
