"""Freezes as gates on each database: a weekend freeze across a daylight-saving change, one-off
and hand-made freezes, stop-the-line and exceptions, a lock that comes while a deployment
queues. The worker follows the test clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relman.configfile import load_config
from relman.domain.releases import ReleaseContent
from relman.engine.worker import Worker, WorkerOptions
from relman.errors import Conflict, Forbidden, Refused
from relman.services.config_apply import apply_config
from relman.services.freezes import (
    create_freeze,
    delete_freeze,
    grant_exception,
    lift_the_line,
    list_freezes,
    stop_the_line,
)
from relman.services.locks import lock
from relman.services.promotions import promote
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.tables import DeploymentRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FakeDriver, FakeMetrics, FrozenClock

CONFIG = """
version: 1
environments:
  - {name: staging, tier: staging}
  - {name: production, tier: production}
lifecycles:
  - name: any
    phases:
      - {name: all, environments: [staging, production], minimum: 1}
services:
  - {name: api, lifecycle: any, run: {driver: script, deploy: ["./deploy.sh"]}}
  - {name: web, lifecycle: any, run: {driver: script, deploy: ["./deploy.sh"]}}
freezes:
  - name: weekend
    rrule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=17;BYMINUTE=0"
    duration: 64h
    timezone: Europe/Berlin
    environments: [production]
    reason: nobody is on call
"""

FAST = WorkerOptions(lease=timedelta(seconds=30), poll=0.01, retry_delay=0.0, slots=1)
# Friday 23 October 2026, 18:00 in Berlin (summer time); the clocks go back on Sunday the 25th.
FRIDAY_EVENING = datetime(2026, 10, 23, 16, 0, tzinfo=UTC)


class Desk:
    def __init__(self, database: Database, clock: FrozenClock, config: str = CONFIG) -> None:
        self.db, self.clock = database, clock
        self.worker = Worker(
            database, {"script": FakeDriver()}, options=FAST, clock=clock, timers_follow_clock=True
        )
        self.apply(config)
        self.versions = 0

    def apply(self, config: str) -> list[str]:
        with UnitOfWork(self.db, self.clock) as uow:
            return apply_config(uow, load_config(config), actor="setup").deleted

    def promote(self, service: str, env: str, by: str = "alice") -> int:
        self.versions += 1
        version = f"1.0.{self.versions}"
        with UnitOfWork(self.db, self.clock) as uow:
            create_release(uow, service, ReleaseContent.build(version), actor="ci")
        with UnitOfWork(self.db, self.clock) as uow:
            return promote(
                uow,
                self.worker.drivers,
                service=service,
                version=version,
                environment=env,
                actor=by,
            ).row.id

    def row(self, deployment: int) -> DeploymentRow:
        with read_session(self.db) as session:
            return session.get_one(DeploymentRow, deployment)

    def run(self) -> None:
        self.worker.run_until_idle()


@pytest.fixture
def desk(database: Database) -> Desk:
    return Desk(database, FrozenClock(FRIDAY_EVENING))


def test_the_weekend_freeze_holds_production_until_monday_9_local_after_the_clocks_change(
    desk: Desk,
) -> None:
    held = desk.promote("api", "production")
    free = desk.promote("api", "staging")
    desk.run()
    assert desk.row(free).state == "succeeded"  # staging is not frozen
    row = desk.row(held)
    assert row.state == "waiting"
    # Monday 26 October 09:00 in Berlin is 08:00 UTC: winter time since Sunday
    assert row.reason == "waiting for freezes: weekend until 2026-10-26 08:00 UTC"
    assert row.due_at == FRIDAY_EVENING + timedelta(seconds=30)
    freeze = next(g for g in (row.gates or {})["gates"] if g["gate"] == "freeze")
    assert freeze["clears_at"] == "2026-10-26T08:00:00+00:00"
    assert freeze["evidence"]["windows"] == [
        {
            "freeze": "weekend",
            "start": "2026-10-23T15:00:00+00:00",
            "end": "2026-10-26T08:00:00+00:00",
        }
    ]
    desk.clock.now = datetime(2026, 10, 26, 7, 59, tzinfo=UTC)
    desk.run()
    assert desk.row(held).state == "waiting"
    desk.clock.now = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    desk.run()
    assert desk.row(held).state == "succeeded"


def test_a_hand_made_freeze_scoped_to_a_service_and_its_deletion(desk: Desk) -> None:
    desk.clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a Tuesday: no weekend freeze
    with UnitOfWork(desk.db, desk.clock) as uow:
        create_freeze(
            uow,
            {
                "name": "black-friday",
                "start": "2026-11-24T00:00",
                "end": "2026-12-01T00:00",
                "timezone": "America/New_York",
                "services": ["web"],
            },
            actor="rita",
        )
    with UnitOfWork(desk.db, desk.clock) as uow, pytest.raises(Conflict, match="exists"):
        create_freeze(
            uow,
            {"name": "black-friday", "start": "2026-12-01T00:00", "end": "2026-12-02T00:00"},
            actor="rita",
        )
    web, api = desk.promote("web", "staging"), desk.promote("api", "staging")
    desk.run()
    assert desk.row(api).state == "succeeded"
    assert desk.row(web).reason == "waiting for freezes: black-friday until 2026-12-01 05:00 UTC"
    with read_session(desk.db) as session:
        views = {v.row.name: v.to_dict() for v in list_freezes(session, desk.clock())}
    black = views["black-friday"]
    assert views["weekend"]["active"] is False
    assert views["weekend"]["next"]["start"] == "2026-11-27T16:00:00+00:00"
    assert black["active"] is True
    assert black["window"]["end"] == "2026-12-01T05:00:00+00:00"
    with UnitOfWork(desk.db, desk.clock) as uow, pytest.raises(Conflict, match=r"relman\.yaml"):
        delete_freeze(uow, "weekend", actor="rita")
    with UnitOfWork(desk.db, desk.clock) as uow:
        delete_freeze(uow, "black-friday", actor="rita")
    desk.run()
    assert desk.row(web).state == "succeeded"


def test_stop_the_line_holds_everything_and_an_exception_lets_one_through(desk: Desk) -> None:
    desk.clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    with UnitOfWork(desk.db, desk.clock) as uow:
        stop_the_line(uow, reason="payments outage", actor="rita")
    hotfix, other = desk.promote("api", "production", by="alice"), desk.promote("web", "staging")
    desk.run()
    assert desk.row(hotfix).reason == (
        "waiting for freezes: the line is stopped by rita: payments outage"
    )
    with UnitOfWork(desk.db, desk.clock) as uow, pytest.raises(Forbidden, match="alice asked for"):
        grant_exception(uow, hotfix, reason="the fix", actor="alice")
    with UnitOfWork(desk.db, desk.clock) as uow:
        grant_exception(uow, hotfix, reason="this is the fix for the outage", actor="rex")
    desk.run()
    assert desk.row(hotfix).state == "succeeded"
    freeze = next(g for g in (desk.row(hotfix).gates or {})["gates"] if g["gate"] == "freeze")
    assert freeze["reason"].startswith("exception granted by rex (this is the fix for the outage)")
    assert desk.row(other).state == "waiting"
    with UnitOfWork(desk.db, desk.clock) as uow, pytest.raises(Conflict, match="only a waiting"):
        grant_exception(uow, hotfix, reason="again", actor="rex")
    with UnitOfWork(desk.db, desk.clock) as uow:
        assert lift_the_line(uow, actor="rita") is not None
    desk.run()
    assert desk.row(other).state == "succeeded"


def test_a_lock_that_comes_while_a_deployment_queues_holds_it(desk: Desk) -> None:
    desk.clock.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    queued = desk.promote("api", "staging")
    assert desk.row(queued).state == "queued"
    with UnitOfWork(desk.db, desk.clock) as uow:
        lock(uow, "staging", reason="data migration", actor="ops")
    desk.run()
    row = desk.row(queued)
    assert row.state == "waiting"
    assert row.reason == "waiting for lock on staging: staging is locked by ops: data migration"


def test_apply_keeps_the_files_freezes_and_drops_those_it_no_longer_has(desk: Desk) -> None:
    assert desk.apply(CONFIG) == []
    without = CONFIG[: CONFIG.index("freezes:")]
    assert desk.apply(without) == []  # no freezes: section, say a team's own file: left alone
    with read_session(desk.db) as session:
        assert [v.row.name for v in list_freezes(session, desk.clock())] == ["weekend"]
    assert desk.apply(without + "freezes: []\n") == ["freeze/weekend"]
    with read_session(desk.db) as session:
        assert list_freezes(session, desk.clock()) == []


# production with a metric gate, and no freezes
METRIC = CONFIG.split("freezes:")[0].replace(
    "  - {name: production, tier: production}\n",
    "  - name: production\n"
    "    tier: production\n"
    "    gates:\n"
    "      - metric:\n"
    "          provider: {type: prometheus, address: 'http://127.0.0.1:9'}\n"
    "          query: 'sum(rate(errors[5m]))'\n"
    "          success_condition: result < 0.5\n",
)


def test_a_metric_gate_waits_without_data_and_passes_or_refuses_on_its_value(
    database: Database,
) -> None:
    answers: list[object] = [[], 0.2, 0.9]
    metrics = FakeMetrics(lambda _query: answers[0])  # type: ignore[arg-type,return-value]
    desk = Desk(database, FrozenClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)), METRIC)
    desk.worker = Worker(
        database,
        {"script": FakeDriver()},
        options=FAST,
        clock=desk.clock,
        timers_follow_clock=True,
        provider_for=lambda _spec: metrics,
    )

    def ask() -> int:
        desk.versions += 1
        version = f"2.0.{desk.versions}"
        with UnitOfWork(desk.db, desk.clock) as uow:
            create_release(uow, "api", ReleaseContent.build(version), actor="ci")
        with UnitOfWork(desk.db, desk.clock) as uow:
            return promote(
                uow,
                desk.worker.drivers,
                service="api",
                version=version,
                environment="production",
                actor="alice",
                providers=lambda _spec: metrics,
            ).row.id

    waiting = ask()
    assert desk.row(waiting).reason == "waiting for metric sum(rate(errors[5m])): no data"
    answers.pop(0)  # 0.2 from now on
    desk.clock.advance(timedelta(seconds=31))
    desk.run()
    row = desk.row(waiting)
    assert row.state == "succeeded"
    metric = next(g for g in (row.gates or {})["gates"] if g["gate"] == "metric")
    assert metric["reason"] == "result < 0.5 is true for 0.2"
    assert metric["evidence"]["value"] == 0.2
    answers.pop(0)  # 0.9
    with pytest.raises(Refused, match=r"result < 0\.5 is false for 0\.9"):
        ask()
    assert metrics.queries == ["sum(rate(errors[5m]))"] * 4


def test_a_gate_that_breaks_keeps_its_deployment_waiting_and_the_worker_going(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """A provider that raises what it should not (a bug, an unexpected answer): the gate is
    pending, and the worker runs the deployments behind the broken one."""

    def broken(_query: str) -> float:
        raise RuntimeError("unexpected answer")

    metrics = FakeMetrics(broken)
    desk = Desk(database, FrozenClock(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)), METRIC)
    desk.worker = Worker(
        database,
        {"script": FakeDriver()},
        options=FAST,
        clock=desk.clock,
        timers_follow_clock=True,
        provider_for=lambda _spec: metrics,
    )
    with UnitOfWork(desk.db, desk.clock) as uow:
        create_release(uow, "api", ReleaseContent.build("3.0.0"), actor="ci")
    with UnitOfWork(desk.db, desk.clock) as uow:
        held = promote(
            uow,
            desk.worker.drivers,
            service="api",
            version="3.0.0",
            environment="production",
            actor="alice",
            providers=lambda _spec: metrics,
        ).row.id
    behind = desk.promote("web", "staging")
    desk.clock.advance(timedelta(seconds=31))
    desk.run()
    assert desk.row(behind).state == "succeeded"
    row = desk.row(held)
    assert row.state == "waiting"
    assert row.reason == (
        "waiting for metric: could not be judged (RuntimeError); the server log has the details"
    )
    assert "metric gate: unexpected error" in caplog.text
