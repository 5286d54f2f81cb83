"""The engine end to end on each database, with the fake driver: promote, run, fail, retry,
pause, resume, abort, roll back, queue, and take over cut-off work."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from relman.configfile import load_config
from relman.domain.releases import ReleaseContent
from relman.drivers.base import LogSink, StepResult, StepRun
from relman.engine.rollout import Outcome
from relman.engine.worker import Worker, WorkerOptions
from relman.errors import Conflict, InvalidInput, NotFound, Refused
from relman.services.config_apply import apply_config
from relman.services.deployments import control_deployment, deployment_detail, list_deployments
from relman.services.inventory import build_inventory
from relman.services.promotions import promote, roll_back
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.tables import DeploymentRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FakeDriver, FrozenClock

CONFIG = """
version: 1
environments:
  - {name: dev, tier: development}
  - {name: staging, tier: staging}
  - {name: production, tier: production, on_failure: rollback}
lifecycles:
  - name: default
    phases:
      - {name: develop, environments: [dev]}
      - {name: test, environments: [staging], optional: true}
      - {name: prod, environments: [production], soak: 10m}
services:
  - name: api
    lifecycle: default
    run:
      driver: script
      deploy: ["./deploy.sh", "{version}"]
      verify: ["./check.sh"]
  - name: web
    lifecycle: default
  - name: worker
    lifecycle: default
    on_failure: fail
    run: {driver: script, deploy: ["./deploy.sh", "{version}"]}
"""

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
FAST = WorkerOptions(lease=timedelta(seconds=30), poll=0.01, retry_delay=0.0, slots=1)


class Engine:
    def __init__(self, database: Database, clock: FrozenClock) -> None:
        self.db = database
        self.clock = clock
        self.driver = FakeDriver()
        self.worker = Worker(database, {"script": self.driver}, options=FAST, clock=clock)
        with UnitOfWork(database, clock) as uow:
            apply_config(uow, load_config(CONFIG), actor="setup")

    def release(self, service: str, version: str) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            create_release(uow, service, ReleaseContent.build(version), actor="ci")

    def promote(self, service: str, version: str, env: str) -> int:
        with UnitOfWork(self.db, self.clock) as uow:
            promotion = promote(
                uow,
                self.worker.drivers,
                service=service,
                version=version,
                environment=env,
                actor="alice",
            )
        return promotion.row.id

    def ship(self, service: str, version: str, *envs: str) -> list[int]:
        """Promote through `envs`, running each to its end, ten minutes apart."""
        ids = []
        for env in envs:
            ids.append(self.promote(service, version, env))
            self.worker.run_until_idle()
            self.clock.advance(timedelta(minutes=10))
        return ids

    def roll_back(self, service: str, env: str, to: str | None = None) -> int:
        with UnitOfWork(self.db, self.clock) as uow:
            row = roll_back(
                uow,
                self.worker.drivers,
                service=service,
                environment=env,
                actor="bob",
                to_version=to,
            )
        return row.id

    def control(self, deployment_id: int, action: str) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            control_deployment(uow, deployment_id, action, actor="carol")

    def state(self, deployment_id: int) -> str:
        with read_session(self.db) as session:
            return deployment_detail(session, deployment_id).view.row.state

    def detail(self, deployment_id: int):  # type: ignore[no-untyped-def]
        with read_session(self.db) as session:
            return deployment_detail(session, deployment_id)

    def running_version(self, service: str, env: str) -> str | None:
        with read_session(self.db) as session:
            line = next(s for s in build_inventory(session).services if s.name == service)
        cell = line.cells[env]
        assert cell is not None
        return cell.current.version if cell.current else None


@pytest.fixture
def engine(database: Database, clock: FrozenClock) -> Engine:
    return Engine(database, clock)


def test_a_promotion_runs_its_plan_and_shows_in_the_inventory(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    deployment = engine.promote("api", "1.0.0", "dev")
    assert engine.state(deployment) == "queued"
    assert engine.worker.run_until_idle() == 1
    assert engine.state(deployment) == "succeeded"
    assert engine.driver.ran() == [("deploy", "1.0.0", "dev"), ("verify", "1.0.0", "dev")]
    assert engine.running_version("api", "dev") == "1.0.0"
    detail = engine.detail(deployment)
    assert [(s.name, s.state, s.attempts) for s in detail.steps] == [
        ("deploy", "succeeded", 1),
        ("verify", "succeeded", 1),
    ]
    messages = [e.message for e in detail.events]
    assert "queued → running" in messages
    assert "running → succeeded" in messages


def test_each_step_gets_its_own_idempotency_key(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    deployment = engine.promote("api", "1.0.0", "dev")
    engine.worker.run_until_idle()
    keys = [c.idempotency_key for c in engine.driver.calls]
    assert keys == [f"{deployment}-0-1", f"{deployment}-1-1"]


def test_production_is_refused_before_the_release_passed_dev(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    with pytest.raises(Refused) as refused:
        engine.promote("api", "1.0.0", "production")
    message = refused.value.message
    assert message.startswith("api 1.0.0 cannot go to production: it has not succeeded in dev")
    assert "api has never been deployed to dev" in message
    assert refused.value.details["rule"] == "RequirePreviousPhase"


def test_a_refusal_names_what_runs_in_the_missing_environment(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    engine.release("api", "1.1.0")
    engine.ship("api", "1.0.0", "dev")
    with pytest.raises(Refused, match=r"last dev deployment of api is 1\.0\.0"):
        engine.promote("api", "1.1.0", "production")


def test_production_waits_for_the_soak_time_after_the_previous_phase(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    engine.promote("api", "1.0.0", "dev")
    engine.worker.run_until_idle()
    engine.clock.advance(timedelta(minutes=9))
    with pytest.raises(Refused) as refused:
        engine.promote("api", "1.0.0", "production")
    assert refused.value.details["rule"] == "RequireSoakTime"
    assert "1m left" in refused.value.message
    engine.clock.advance(timedelta(minutes=1))
    deployment = engine.promote("api", "1.0.0", "production")
    engine.worker.run_until_idle()
    assert engine.state(deployment) == "succeeded"


def test_a_service_without_run_settings_cannot_be_promoted(engine: Engine) -> None:
    engine.release("web", "1.0.0")
    with pytest.raises(InvalidInput, match="web has no run settings"):
        engine.promote("web", "1.0.0", "dev")


def test_a_failing_step_is_retried_after_its_timer(database: Database, clock: FrozenClock) -> None:
    engine = Engine(database, clock)
    engine.driver.retries = 2
    engine.driver.fail[("deploy", "1.0.0")] = 2
    engine.release("api", "1.0.0")
    deployment = engine.promote("api", "1.0.0", "dev")
    engine.worker.run_until_idle()
    assert engine.state(deployment) == "succeeded"
    deploy = engine.detail(deployment).steps[0]
    assert deploy.attempts == 3
    assert [c.attempt for c in engine.driver.calls if c.step == "deploy"] == [1, 2, 3]


def test_a_retry_waits_for_its_due_time(database: Database, clock: FrozenClock) -> None:
    engine = Engine(database, clock)
    engine.worker.options = WorkerOptions(retry_delay=3600, poll=0.01)
    engine.driver.retries = 1
    engine.driver.fail[("deploy", "1.0.0")] = 1
    engine.release("api", "1.0.0")
    deployment = engine.promote("api", "1.0.0", "dev")
    assert engine.worker.run_until_idle() == 1
    assert engine.state(deployment) == "running"  # waiting on its timer, holding no lease
    with UnitOfWork(database, clock) as uow:
        row = uow.session.get_one(DeploymentRow, deployment)
        assert row.lease_owner is None
        assert row.due_at is not None
        uow.session.execute(update(DeploymentRow).values(due_at=row.due_at - timedelta(hours=2)))
        uow.commit()
    engine.worker.run_until_idle()
    assert engine.state(deployment) == "succeeded"


def test_a_step_that_keeps_failing_fails_the_deployment_with_its_reason(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    engine.driver.fail[("verify", "1.0.0")] = 1
    deployment = engine.promote("api", "1.0.0", "dev")
    engine.worker.run_until_idle()
    assert engine.state(deployment) == "failed"
    detail = engine.detail(deployment)
    assert detail.view.row.reason == "step 'verify' failed: exit 1"
    assert engine.running_version("api", "dev") is None


def test_a_failure_in_production_rolls_back_by_itself(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    engine.release("api", "1.1.0")
    engine.ship("api", "1.0.0", "dev", "production")
    engine.ship("api", "1.1.0", "dev")
    engine.driver.fail[("verify", "1.1.0")] = 1
    failed = engine.promote("api", "1.1.0", "production")
    engine.worker.run_until_idle()
    assert engine.state(failed) == "rolled_back"
    assert engine.running_version("api", "production") == "1.0.0"
    rollback = engine.detail(failed).view.row.id + 1
    assert engine.detail(failed).rolled_back_by == rollback
    assert engine.detail(failed).view.row.reason == (
        f"step 'verify' failed: exit 1; rolled back by deployment {rollback}"
    )
    detail = engine.detail(rollback)
    assert detail.view.row.kind == "rollback"
    assert detail.view.version == "1.0.0"
    assert detail.previous_version == "1.1.0"
    assert detail.view.row.state == "succeeded"
    assert engine.driver.ran()[-2:] == [
        ("deploy", "1.0.0", "production"),
        ("verify", "1.0.0", "production"),
    ]


def test_on_failure_fail_on_the_service_wins_over_the_environment(engine: Engine) -> None:
    engine.release("worker", "1.0.0")
    engine.release("worker", "1.1.0")
    engine.ship("worker", "1.0.0", "dev", "production")
    engine.ship("worker", "1.1.0", "dev")
    engine.driver.fail[("deploy", "1.1.0")] = 1
    failed = engine.promote("worker", "1.1.0", "production")
    engine.worker.run_until_idle()
    assert engine.state(failed) == "failed"
    assert engine.running_version("worker", "production") == "1.0.0"


def test_a_first_deployment_that_fails_has_nothing_to_roll_back_to(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    engine.ship("api", "1.0.0", "dev")
    engine.driver.fail[("deploy", "1.0.0")] = 1
    failed = engine.promote("api", "1.0.0", "production")
    engine.worker.run_until_idle()
    assert engine.state(failed) == "failed"
    assert any("nothing to roll back to" in e.message for e in engine.detail(failed).events)


def test_a_manual_rollback_puts_back_the_previous_release(engine: Engine) -> None:
    for version in ("1.0.0", "1.1.0"):
        engine.release("api", version)
        engine.ship("api", version, "dev")
    [current] = [engine.detail(i).view.row.id for i in (2,)]
    rollback = engine.roll_back("api", "dev")
    engine.worker.run_until_idle()
    assert engine.state(rollback) == "succeeded"
    assert engine.state(current) == "rolled_back"
    assert engine.running_version("api", "dev") == "1.0.0"
    assert engine.detail(rollback).view.row.rollback_of_id == current
    last = engine.driver.calls[-1]
    assert (last.version, last.previous_version) == ("1.0.0", "1.1.0")


def test_a_rollback_to_a_named_version_must_have_run_there(engine: Engine) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        engine.release("api", version)
    engine.ship("api", "1.0.0", "dev")
    engine.ship("api", "1.2.0", "dev")
    with pytest.raises(Refused, match="never ran in dev"):
        engine.roll_back("api", "dev", to="1.1.0")
    with pytest.raises(Conflict, match="is what runs in dev already"):
        engine.roll_back("api", "dev", to="1.2.0")
    rollback = engine.roll_back("api", "dev", to="1.0.0")
    engine.worker.run_until_idle()
    assert engine.state(rollback) == "succeeded"
    assert engine.running_version("api", "dev") == "1.0.0"


def test_nothing_to_roll_back_is_a_clear_error(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    with pytest.raises(NotFound, match="nothing to roll back"):
        engine.roll_back("api", "dev")
    engine.ship("api", "1.0.0", "dev")
    with pytest.raises(NotFound, match="nothing earlier to roll back to"):
        engine.roll_back("api", "dev")


def test_deployments_to_one_environment_queue_and_run_oldest_first(engine: Engine) -> None:
    versions = [f"1.{n}.0" for n in range(5)]
    for version in versions:
        engine.release("api", version)
    ids = [engine.promote("api", version, "dev") for version in versions]
    positions = [engine.detail(i).view.queue_position for i in ids]
    assert positions == [1, 2, 3, 4, 5]
    with read_session(engine.db) as session:
        listed, _ = list_deployments(session, service="api", limit=10, offset=0)
    assert [(v.row.id, v.queue_position) for v in listed] == [
        (ids[4], 5),
        (ids[3], 4),
        (ids[2], 3),
        (ids[1], 2),
        (ids[0], 1),
    ]
    engine.worker.run_until_idle()
    assert [engine.state(i) for i in ids] == ["succeeded"] * 5
    assert [v for step, v, _ in engine.driver.ran() if step == "deploy"] == versions


def test_a_second_deployment_waits_while_the_first_holds_the_environment(
    engine: Engine,
) -> None:
    engine.release("api", "1.0.0")
    engine.release("api", "1.1.0")
    first = engine.promote("api", "1.0.0", "dev")
    second = engine.promote("api", "1.1.0", "dev")
    claim = engine.worker._claim()  # first is now running and leased
    assert claim is not None
    assert claim.deployment_id == first
    other = Worker(engine.db, engine.worker.drivers, options=FAST, clock=engine.clock)
    assert other.work_one() is False  # the second may not start; the first is leased
    assert engine.state(second) == "queued"
    assert engine.detail(second).view.queue_position == 1


def test_pause_stops_before_the_next_step_and_resume_goes_on(
    database: Database, clock: FrozenClock
) -> None:
    engine = Engine(database, clock)

    def pause_during_deploy(step: StepRun) -> None:
        if step.step == "deploy":
            engine.control(step.deployment_id, "pause")

    engine.driver.during = pause_during_deploy
    engine.release("api", "1.0.0")
    deployment = engine.promote("api", "1.0.0", "dev")
    engine.worker.run_until_idle()
    assert engine.state(deployment) == "paused"
    assert engine.driver.ran() == [("deploy", "1.0.0", "dev")]
    engine.driver.during = None
    engine.control(deployment, "resume")
    engine.worker.run_until_idle()
    assert engine.state(deployment) == "succeeded"
    assert engine.driver.ran()[-1] == ("verify", "1.0.0", "dev")
    actors = [(e.actor, e.message) for e in engine.detail(deployment).events if e.kind == "state"]
    assert ("carol", "running → paused: pause by carol") in actors
    assert ("carol", "paused → running: resume by carol") in actors
    assert engine.detail(deployment).view.row.reason is None  # why it waited is history


def test_abort_during_a_step_drops_its_outcome_and_frees_the_environment(
    database: Database, clock: FrozenClock
) -> None:
    engine = Engine(database, clock)
    engine.driver.during = lambda step: engine.control(step.deployment_id, "abort")
    engine.release("api", "1.0.0")
    engine.release("api", "1.1.0")
    aborted = engine.promote("api", "1.0.0", "dev")
    following = engine.promote("api", "1.1.0", "dev")
    engine.worker.run_until_idle()
    assert engine.state(aborted) == "aborted"
    assert engine.detail(aborted).steps[0].state == "cancelled"
    assert engine.state(following) == "aborted"  # the hook aborts every deployment it sees


def test_a_queued_deployment_can_be_aborted_but_not_paused(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    deployment = engine.promote("api", "1.0.0", "dev")
    with pytest.raises(Conflict, match="only a deployment that is running can pause"):
        engine.control(deployment, "pause")
    with pytest.raises(Conflict, match="is queued; only a deployment that is paused can resume"):
        engine.control(deployment, "resume")
    engine.control(deployment, "abort")
    assert engine.state(deployment) == "aborted"
    assert engine.worker.run_until_idle() == 0
    with pytest.raises(Conflict, match="is aborted"):
        engine.control(deployment, "resume")


def _cut_off(engine: Engine) -> int:
    """Begin a step as a worker would, then lose that worker: its lease runs out."""
    claim = engine.worker._claim()
    assert claim is not None
    with UnitOfWork(engine.db, engine.clock) as uow:
        uow.session.execute(
            update(DeploymentRow)
            .where(DeploymentRow.id == claim.deployment_id)
            .values(lease_expires_at=LONG_AGO)
        )
        uow.commit()
    return claim.deployment_id


def test_a_cut_off_idempotent_step_is_run_again_by_another_worker(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    engine.promote("api", "1.0.0", "dev")
    deployment = _cut_off(engine)
    other = Worker(engine.db, engine.worker.drivers, options=FAST, clock=engine.clock)
    other.run_until_idle()
    assert engine.state(deployment) == "succeeded"
    deploy = engine.detail(deployment).steps[0]
    assert deploy.attempts == 2
    assert [c.attempt for c in engine.driver.calls if c.step == "deploy"] == [2]


def test_a_cut_off_step_that_is_not_idempotent_asks_a_person(engine: Engine) -> None:
    engine.driver.idempotent = False
    engine.release("api", "1.0.0")
    engine.promote("api", "1.0.0", "dev")
    deployment = _cut_off(engine)
    other = Worker(engine.db, engine.worker.drivers, options=FAST, clock=engine.clock)
    other.run_until_idle()
    assert engine.state(deployment) == "failed"
    reason = engine.detail(deployment).view.row.reason or ""
    assert "was cut off" in reason
    assert "not marked idempotent" in reason
    assert engine.driver.calls == []


def test_a_worker_that_lost_its_lease_cannot_record_an_outcome(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    engine.promote("api", "1.0.0", "dev")
    deployment = _cut_off(engine)
    other = Worker(engine.db, engine.worker.drivers, options=FAST, clock=engine.clock)
    claim = other._claim()  # the other worker takes over the cut-off step
    assert claim is not None
    late = engine.worker._record(claim, Outcome(StepResult(True, "exit 0")))  # the first's
    assert late is None
    assert engine.detail(deployment).steps[0].state == "running"
    with UnitOfWork(engine.db, engine.clock) as uow:
        owner = uow.session.scalar(
            select(DeploymentRow.lease_owner).where(DeploymentRow.id == deployment)
        )
    assert owner == other.owner


def test_a_worker_restarted_under_its_name_takes_its_deployments_back_at_once(
    engine: Engine,
) -> None:
    engine.release("api", "1.0.0")
    deployment = engine.promote("api", "1.0.0", "dev")
    long_lease = WorkerOptions(lease=timedelta(hours=1), poll=0.01, slots=1)
    first = Worker(engine.db, engine.worker.drivers, options=long_lease, name="host:serve:8000")
    assert first._claim() is not None  # then the process dies: its lease has an hour to run
    stranger = Worker(engine.db, engine.worker.drivers, options=long_lease)
    assert stranger.recover() == 0
    assert stranger.run_until_idle() == 0
    restarted = Worker(engine.db, engine.worker.drivers, options=long_lease, name=first.owner)
    assert restarted.recover() == 1
    restarted.run_until_idle()
    assert engine.state(deployment) == "succeeded"
    assert engine.detail(deployment).steps[0].attempts == 2


class BlockingDriver(FakeDriver):
    """Runs until cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.cancelled = threading.Event()

    def run(self, step: StepRun, log: LogSink, cancel: threading.Event) -> StepResult:
        self.started.set()
        if cancel.wait(30):
            self.cancelled.set()
            return StepResult(False, "cancelled")
        return StepResult(True, "exit 0")


def test_abort_cancels_the_running_step_when_the_worker_is_woken(
    database: Database, clock: FrozenClock
) -> None:
    engine = Engine(database, clock)
    driver = BlockingDriver()
    options = WorkerOptions(lease=timedelta(minutes=10), poll=0.01, slots=1)  # heartbeat: 200s
    worker = Worker(database, {"script": driver}, options=options, clock=clock)
    engine.release("api", "1.0.0")
    deployment = engine.promote("api", "1.0.0", "dev")
    worker.start()
    try:
        assert driver.started.wait(10)
        engine.control(deployment, "abort")
        worker.wake()  # what the API does after a change
        assert driver.cancelled.wait(10)
    finally:
        worker.stop()
    assert engine.state(deployment) == "aborted"
    assert engine.detail(deployment).steps[0].state == "cancelled"


def test_promoting_again_while_the_deployment_is_pending_returns_it(engine: Engine) -> None:
    engine.release("api", "1.0.0")
    with UnitOfWork(engine.db, engine.clock) as uow:
        first = promote(
            uow,
            engine.worker.drivers,
            service="api",
            version="1.0.0",
            environment="dev",
            actor="ci",
        )
    with UnitOfWork(engine.db, engine.clock) as uow:
        again = promote(
            uow,
            engine.worker.drivers,
            service="api",
            version="1.0.0",
            environment="dev",
            actor="ci",
        )
    assert first.created is True
    assert (again.row.id, again.created) == (first.row.id, False)
    engine.worker.run_until_idle()
    assert engine.promote("api", "1.0.0", "dev") != first.row.id  # ended: a new deployment
