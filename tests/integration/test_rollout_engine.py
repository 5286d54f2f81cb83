"""Canary, blue-green and rolling deployments in the engine, on each database, with fake run,
traffic and metric drivers and a frozen clock: weights, pauses, analyses as steps and in the
background, the sequential judge, automatic rollback, abort, promote, and a worker that
stops during a pause."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from relman.configfile import load_config
from relman.domain.releases import ReleaseContent
from relman.drivers.base import StepRun
from relman.engine.worker import Worker, WorkerOptions
from relman.errors import Conflict
from relman.metrics.prometheus import MetricsUnavailable
from relman.services.config_apply import apply_config
from relman.services.deployments import control_deployment, deployment_detail
from relman.services.promotions import promote, roll_back
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.tables import AnalysisMeasurementRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FakeDriver, FakeMetrics, FakeTraffic, FrozenClock

CONFIG = """
version: 1
environments:
  - {name: staging, tier: staging}
  - {name: production, tier: production}
  - {name: edge, tier: production}
lifecycles:
  - name: default
    phases:
      - {name: any, environments: [staging, production, edge], minimum: 1}
services:
  - name: web
    lifecycle: default
    run:
      driver: script
      deploy: ["./start.sh", "{version}", "{slot}"]
      verify: ["./check.sh", "{slot}"]
      stop: ["./stop.sh", "{slot}"]
    traffic: {driver: haproxy, socket: /tmp/none.sock, backend: web,
              slots: {blue: web-blue, green: web-green}}
    strategies:
      staging: {type: blue-green, pre_promotion_analysis: smoke, scale_down_delay: 30s}
      production:
        type: canary
        steps:
          - set_weight: 10
          - pause: 30s
          - analysis: error-rate
          - set_weight: 50
          - pause: {}
        background_analysis: background
      edge: {type: rolling, targets: [h1, h2, h3], batch: 2}
  - name: cart
    lifecycle: default
    run:
      driver: script
      deploy: ["./start.sh", "{version}", "{slot}"]
      stop: ["./stop.sh", "{slot}"]
    traffic: {driver: haproxy, socket: /tmp/none.sock, backend: cart,
              slots: {blue: cart-blue, green: cart-green}}
    strategies:
      production:
        type: canary
        steps: [{set_weight: 10}, {pause: 30s}]
        background_analysis: undecided
analyses:
  - name: error-rate
    provider: {type: prometheus, address: "http://127.0.0.1:9"}
    interval: 10s
    count: 3
    consecutive_error_limit: 1
    metrics:
      - name: error-ratio
        query: 'errors{slot="{candidate_slot}", version="{version}"}'
        success_condition: "result < 0.01"
  - name: smoke
    provider: {type: prometheus, address: "http://127.0.0.1:9"}
    interval: 5s
    count: 1
    metrics:
      - {name: up, query: 'up{slot="{candidate_slot}"}', success_condition: "result == 1"}
  - name: background
    provider: {type: prometheus, address: "http://127.0.0.1:9"}
    interval: 10s
    metrics:
      - name: vs-stable
        judge: {type: sequential, min_requests: 100}
        requests: 'requests{slot="{slot}"}'
        errors: 'errors_total{slot="{slot}"}'
  - name: undecided
    provider: {type: prometheus, address: "http://127.0.0.1:9"}
    interval: 10s
    count: 2
    metrics:
      - name: vs-stable
        judge: {type: sequential, min_requests: 1000000000}
        requests: 'requests{slot="{slot}"}'
        errors: 'errors_total{slot="{slot}"}'
"""

FAST = WorkerOptions(lease=timedelta(seconds=30), poll=0.01, retry_delay=0.0, slots=1)


class Metrics:
    """Answers by query: the error ratio, `up`, and counters growing each time they are read
    (the stable slot errs 1%, the candidate `candidate_errors`)."""

    def __init__(self) -> None:
        self.error_ratio: float | list[float] | Exception = 0.001
        self.candidate_errors = 0.01
        self.reads: dict[str, int] = {}
        self.during: Callable[[], None] | None = None  # called as the error ratio is read

    def __call__(self, query: str) -> float | list[float] | Exception:
        if query.startswith("errors{"):
            if self.during is not None:
                self.during()
            return self.error_ratio
        if query.startswith("up{"):
            return 1.0
        self.reads[query] = self.reads.get(query, 0) + 1
        requests = 1000.0 * self.reads[query]
        if query.startswith("requests"):
            return requests
        stable = f'slot="{self.stable}"' in query
        return requests * (0.01 if stable else self.candidate_errors)

    stable = "blue"


class Rollouts:
    def __init__(self, database: Database, clock: FrozenClock) -> None:
        self.db = database
        self.clock = clock
        self.driver = FakeDriver()
        self.traffic = FakeTraffic()
        self.metrics = Metrics()
        self.provider = FakeMetrics(self.metrics)
        self.worker = self.new_worker("w1")
        with UnitOfWork(database, clock) as uow:
            apply_config(uow, load_config(CONFIG), actor="setup")

    def new_worker(self, name: str) -> Worker:
        return Worker(
            self.db,
            {"script": self.driver},
            options=FAST,
            clock=self.clock,
            name=name,
            traffic_for=lambda spec: self.traffic,
            provider_for=lambda spec: self.provider,
            timers_follow_clock=True,
        )

    def promote(self, version: str, env: str = "production", service: str = "web") -> int:
        with UnitOfWork(self.db, self.clock) as uow:
            create_release(uow, service, ReleaseContent.build(version), actor="ci")
        with UnitOfWork(self.db, self.clock) as uow:
            row = promote(
                uow,
                self.worker.drivers,
                service=service,
                version=version,
                environment=env,
                actor="alice",
            ).row
        return row.id

    def run(self, seconds: float = 0) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        self.worker.run_until_idle()

    def run_until(self, deployment_id: int, done: Callable[[], bool], step: float = 5) -> None:
        for _ in range(200):
            if done():
                return
            self.run(step)
        raise AssertionError(
            f"deployment {deployment_id} did not get there: {self.detail(deployment_id)}"
        )

    def control(self, deployment_id: int, action: str) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            control_deployment(uow, deployment_id, action, actor="carol", reason="by hand")

    def detail(self, deployment_id: int):  # type: ignore[no-untyped-def]
        with read_session(self.db) as session:
            return deployment_detail(session, deployment_id)

    def state(self, deployment_id: int) -> str:
        return str(self.detail(deployment_id).view.row.state)

    def steps(self, deployment_id: int) -> list[tuple[str, str]]:
        return [(s.name, s.state) for s in self.detail(deployment_id).steps]

    def measurements(self, deployment_id: int) -> list[AnalysisMeasurementRow]:
        with read_session(self.db) as session:
            return list(
                session.scalars(
                    select(AnalysisMeasurementRow)
                    .where(AnalysisMeasurementRow.deployment_id == deployment_id)
                    .order_by(AnalysisMeasurementRow.id)
                )
            )

    def first_release(self, service: str = "web") -> int:
        """1.0.0 to production: nothing is stable yet, so it goes straight to 100% in blue."""
        first = self.promote("1.0.0", service=service)
        self.run()
        assert self.state(first) == "succeeded"
        return first


@pytest.fixture
def rollouts(database: Database, clock: FrozenClock) -> Rollouts:
    return Rollouts(database, clock)


def test_a_first_deployment_goes_straight_to_full_traffic(rollouts: Rollouts) -> None:
    first = rollouts.first_release()

    assert rollouts.steps(first) == [
        ("deploy blue", "succeeded"),
        ("verify blue", "succeeded"),
        ("traffic blue 100%, green 0%", "succeeded"),
        ("promote blue", "succeeded"),
    ]
    assert rollouts.traffic.applied == [{"blue": 100, "green": 0}]
    assert [(c.step, c.slot) for c in rollouts.driver.calls] == [
        ("deploy", "blue"),
        ("verify", "blue"),
    ]


def test_a_healthy_canary_moves_traffic_step_by_step_and_becomes_stable(rollouts: Rollouts) -> None:
    rollouts.first_release()
    canary = rollouts.promote("1.1.0")

    rollouts.run()  # deploy green, verify, 10%, then the 30 s pause
    assert rollouts.traffic.weights == {"green": 10, "blue": 90}
    assert rollouts.state(canary) == "running"
    assert rollouts.detail(canary).view.row.due_at is not None

    rollouts.run_until(canary, lambda: rollouts.state(canary) == "paused")
    assert rollouts.traffic.weights == {"green": 50, "blue": 50}
    detail = rollouts.detail(canary)
    assert "waiting for a person" in (detail.view.row.reason or "")
    analysis = [m for m in rollouts.measurements(canary) if m.analysis == "error-rate"]
    assert [(m.metric, m.phase) for m in analysis] == [("error-ratio", "successful")] * 3
    assert analysis[0].query == 'errors{slot="green", version="1.1.0"}'
    assert analysis[0].value == 0.001

    rollouts.control(canary, "resume")
    rollouts.run()
    assert rollouts.state(canary) == "succeeded"
    assert rollouts.traffic.weights == {"green": 100, "blue": 0}
    assert [w["green"] for w in rollouts.traffic.applied[1:]] == [10, 50, 100]
    background = [m for m in rollouts.measurements(canary) if m.position is None]
    assert background, "the background analysis measured while the canary waited"
    assert all(m.phase in ("pending", "successful") for m in background)

    # green is stable now: the next candidate goes to blue
    rollouts.metrics.stable = "green"
    following = rollouts.promote("1.2.0")
    rollouts.run()
    assert rollouts.steps(following)[0] == ("deploy blue", "succeeded")
    assert rollouts.traffic.weights == {"blue": 10, "green": 90}


def test_a_failing_analysis_rolls_back_at_once(rollouts: Rollouts) -> None:
    rollouts.first_release()
    rollouts.metrics.error_ratio = 0.2
    canary = rollouts.promote("1.1.0")

    rollouts.run()
    rollouts.run(30)  # the pause ends, the first measurement fails, traffic goes back

    assert rollouts.state(canary) == "rolled_back"
    assert rollouts.traffic.weights == {"blue": 100, "green": 0}
    reason = rollouts.detail(canary).view.row.reason or ""
    assert "analysis error-rate failed" in reason
    assert "result < 0.01 is false for 0.2" in reason
    steps = rollouts.steps(canary)
    assert ("analysis error-rate", "failed") in steps
    assert ("traffic green 50%, blue 50%", "skipped") in steps
    assert steps[-2:] == [("traffic blue 100%, green 0%", "succeeded"), ("stop green", "succeeded")]
    assert (rollouts.driver.calls[-1].step, rollouts.driver.calls[-1].slot) == ("stop", "green")
    failed = rollouts.measurements(canary)[-1]
    assert (failed.phase, failed.value) == ("failed", 0.2)


def test_no_data_is_inconclusive_and_waits_for_a_person(rollouts: Rollouts) -> None:
    rollouts.first_release()
    rollouts.metrics.error_ratio = []
    canary = rollouts.promote("1.1.0")

    rollouts.run()
    rollouts.run(30)

    detail = rollouts.detail(canary)
    assert detail.view.row.state == "paused"
    assert "inconclusive" in (detail.view.row.reason or "")
    assert "empty vector" in (detail.view.row.reason or "")

    rollouts.control(canary, "resume")  # the person accepts the candidate
    rollouts.run()
    assert ("analysis error-rate", "succeeded") in rollouts.steps(canary)
    assert rollouts.traffic.weights == {"green": 50, "blue": 50}


def test_query_errors_up_to_the_limit_then_the_analysis_errs(rollouts: Rollouts) -> None:
    rollouts.first_release()
    rollouts.metrics.error_ratio = MetricsUnavailable(
        "Prometheus at http://127.0.0.1:9 did not answer"
    )
    canary = rollouts.promote("1.1.0")

    rollouts.run()
    rollouts.run_until(canary, lambda: rollouts.state(canary) != "running")

    assert rollouts.state(canary) == "rolled_back"
    reason = rollouts.detail(canary).view.row.reason or ""
    assert "2 measurements in a row could not be taken" in reason
    assert "more than consecutive_error_limit 1" in reason
    errors = [m for m in rollouts.measurements(canary) if m.analysis == "error-rate"]
    assert len(errors) == 2
    assert {m.phase for m in errors} == {"error"}


def test_the_judge_in_the_background_rolls_back_a_candidate_erring_five_times_more(
    rollouts: Rollouts,
) -> None:
    rollouts.first_release()
    rollouts.metrics.candidate_errors = 0.05
    canary = rollouts.promote("1.1.0")

    rollouts.run()
    rollouts.run_until(canary, lambda: rollouts.state(canary) != "running")

    assert rollouts.state(canary) == "rolled_back"
    reason = rollouts.detail(canary).view.row.reason or ""
    assert "background analysis background failed" in reason
    judged = [m for m in rollouts.measurements(canary) if m.position is None]
    assert judged[-1].phase == "failed"
    assert set(judged[-1].value) == {"candidate", "stable"}
    assert rollouts.traffic.weights == {"blue": 100, "green": 0}


def test_abort_rolls_a_canary_back(rollouts: Rollouts) -> None:
    rollouts.first_release()
    canary = rollouts.promote("1.1.0")
    rollouts.run()

    rollouts.control(canary, "abort")
    rollouts.run()

    detail = rollouts.detail(canary)
    assert detail.view.row.state == "rolled_back"
    assert detail.view.row.reason == "aborted by carol: by hand"
    assert rollouts.traffic.weights == {"blue": 100, "green": 0}


def test_promote_skips_to_full_traffic(rollouts: Rollouts) -> None:
    rollouts.first_release()
    canary = rollouts.promote("1.1.0")
    rollouts.run()  # in the 30 s pause

    rollouts.control(canary, "promote")
    rollouts.run()

    assert rollouts.state(canary) == "succeeded"
    assert rollouts.traffic.weights == {"green": 100, "blue": 0}
    skipped = [name for name, state in rollouts.steps(canary) if state == "skipped"]
    assert skipped == ["pause 30s", "analysis error-rate", "traffic green 50%, blue 50%", "pause"]
    with pytest.raises(Conflict, match="is succeeded"):
        rollouts.control(canary, "promote")


def test_weights_lost_in_a_reload_are_put_back(rollouts: Rollouts) -> None:
    rollouts.first_release()
    canary = rollouts.promote("1.1.0")
    rollouts.run()
    rollouts.traffic.reload()

    rollouts.run(10)

    assert rollouts.traffic.weights == {"green": 10, "blue": 90}
    timeline = [event.message for event in rollouts.detail(canary).events]
    assert any("had lost the weights (reloaded?); re-applied" in line for line in timeline)


def test_another_worker_takes_over_a_pause(rollouts: Rollouts) -> None:
    rollouts.first_release()
    canary = rollouts.promote("1.1.0")
    rollouts.run()  # worker w1 leaves the canary in its 30 s pause, then is gone

    rollouts.worker = rollouts.new_worker("w2")
    rollouts.run_until(canary, lambda: rollouts.state(canary) == "paused")

    assert rollouts.traffic.weights == {"green": 50, "blue": 50}
    assert ("pause 30s", "succeeded") in rollouts.steps(canary)


def test_blue_green_previews_then_switches_at_once_and_stops_the_old_slot(
    rollouts: Rollouts,
) -> None:
    first = rollouts.promote("1.0.0", "staging")
    rollouts.run()
    assert rollouts.state(first) == "succeeded"
    candidate = rollouts.promote("1.1.0", "staging")

    rollouts.run()
    rollouts.run(5)  # the smoke analysis on the preview, then the pause for a person
    assert rollouts.state(candidate) == "paused"
    assert rollouts.traffic.weights == {"green": 0, "blue": 100}

    rollouts.control(candidate, "resume")
    rollouts.run()
    assert rollouts.traffic.weights == {"green": 100, "blue": 0}
    assert rollouts.state(candidate) == "running"  # keeping blue for scale_down_delay

    rollouts.run(30)
    assert rollouts.state(candidate) == "succeeded"
    assert (rollouts.driver.calls[-1].step, rollouts.driver.calls[-1].slot) == ("stop", "blue")


def test_rolling_deploys_targets_in_batches(rollouts: Rollouts) -> None:
    rolling = rollouts.promote("1.0.0", "edge")
    rollouts.run()

    assert rollouts.state(rolling) == "succeeded"
    assert [(c.step, c.target) for c in rollouts.driver.calls] == [
        ("deploy", "h1"),
        ("deploy", "h2"),
        ("verify", "h1"),
        ("verify", "h2"),
        ("deploy", "h3"),
        ("verify", "h3"),
    ]
    assert rollouts.traffic.applied == []


def test_rolling_back_a_promoted_canary_switches_back_through_the_slots(rollouts: Rollouts) -> None:
    rollouts.first_release()
    canary = rollouts.promote("1.1.0")
    rollouts.run()
    rollouts.control(canary, "promote")
    rollouts.run()
    assert rollouts.state(canary) == "succeeded"

    with UnitOfWork(rollouts.db, rollouts.clock) as uow:
        back = roll_back(
            uow, rollouts.worker.drivers, service="web", environment="production", actor="bob"
        ).id
    rollouts.run()

    assert rollouts.state(back) == "succeeded"
    assert rollouts.state(canary) == "rolled_back"
    assert rollouts.traffic.weights == {"blue": 100, "green": 0}
    assert [name for name, _ in rollouts.steps(back)] == [
        "deploy blue",
        "verify blue",
        "traffic blue 0%, green 100%",
        "traffic blue 100%, green 0%",
        "pause 0s",
        "stop green",
        "promote blue",
    ]
    deployed = [(c.step, c.version, c.slot) for c in rollouts.driver.calls[-3:]]
    assert deployed == [
        ("deploy", "1.0.0", "blue"),
        ("verify", "1.0.0", "blue"),
        ("stop", "1.0.0", "green"),
    ]


def test_blue_green_switches_back_at_once_when_aborted_before_the_old_slot_stops(
    rollouts: Rollouts,
) -> None:
    rollouts.promote("1.0.0", "staging")
    rollouts.run()
    candidate = rollouts.promote("1.1.0", "staging")
    rollouts.run()
    rollouts.run(5)
    rollouts.control(candidate, "resume")
    rollouts.run()  # all traffic on green; blue kept for 30 s
    assert rollouts.traffic.weights == {"green": 100, "blue": 0}

    rollouts.control(candidate, "abort")
    rollouts.run()

    assert rollouts.state(candidate) == "rolled_back"
    assert rollouts.traffic.weights == {"blue": 100, "green": 0}
    assert (rollouts.driver.calls[-1].step, rollouts.driver.calls[-1].slot) == ("stop", "green")


def test_promote_waits_until_the_candidate_is_deployed_and_verified(rollouts: Rollouts) -> None:
    rollouts.first_release()
    refusals: list[str] = []

    def promote_now(run: StepRun) -> None:  # a person, while the candidate is being deployed
        try:
            rollouts.control(canary, "promote")
        except Conflict as exc:
            refusals.append(exc.message)

    rollouts.driver.during = promote_now
    canary = rollouts.promote("1.1.0")
    rollouts.run()

    assert refusals[0] == (
        f"Deployment {canary} has not yet deployed and verified its candidate (it is at "
        "deploy green); promote once the candidate takes traffic"
    )
    assert rollouts.traffic.weights == {"green": 10, "blue": 90}  # it went on as planned


def test_an_undecided_background_analysis_waits_for_a_person_whose_resume_accepts_it(
    rollouts: Rollouts,
) -> None:
    rollouts.first_release("cart")
    canary = rollouts.promote("1.1.0", service="cart")
    rollouts.run()
    rollouts.run(10)  # the second background measurement: still undecided, and that was all

    detail = rollouts.detail(canary)
    assert detail.view.row.state == "paused"
    assert "background analysis undecided inconclusive" in (detail.view.row.reason or "")
    assert rollouts.steps(canary)[2] == ("pause 30s", "running")

    rollouts.control(canary, "resume")
    rollouts.run()
    assert rollouts.state(canary) == "running"  # the pause goes on to its end
    rollouts.run(20)

    assert rollouts.state(canary) == "succeeded"
    assert len([m for m in rollouts.measurements(canary) if m.position is None]) == 2


def test_a_failure_while_a_person_paused_the_canary_still_rolls_it_back(rollouts: Rollouts) -> None:
    rollouts.first_release()
    rollouts.metrics.error_ratio = 0.2
    canary = rollouts.promote("1.1.0")
    rollouts.run()
    rollouts.metrics.during = lambda: rollouts.control(canary, "pause")  # mid-measurement

    rollouts.run(30)

    assert rollouts.state(canary) == "rolled_back"
    assert rollouts.traffic.weights == {"blue": 100, "green": 0}


def test_an_inconclusive_result_while_a_person_paused_the_canary_keeps_it_paused(
    rollouts: Rollouts,
) -> None:
    rollouts.first_release()
    rollouts.metrics.error_ratio = []
    canary = rollouts.promote("1.1.0")
    rollouts.run()
    rollouts.metrics.during = lambda: rollouts.control(canary, "pause")

    rollouts.run(30)

    detail = rollouts.detail(canary)
    assert detail.view.row.state == "paused"
    assert "inconclusive" in (detail.view.row.reason or "")
    assert len([m for m in rollouts.measurements(canary) if m.analysis == "error-rate"]) == 1


def test_after_a_gap_one_measurement_is_taken_not_a_burst(rollouts: Rollouts) -> None:
    rollouts.first_release()
    canary = rollouts.promote("1.1.0")
    rollouts.run()
    rollouts.run(30)  # the analysis' first measurement; the next is due in 10 s
    rollouts.worker = rollouts.new_worker("w2")

    rollouts.run(600)  # but no worker ran for ten minutes

    taken = [m for m in rollouts.measurements(canary) if m.analysis == "error-rate"]
    assert len(taken) == 2  # one now, not the two the schedule fell behind by
    assert ("analysis error-rate", "running") in rollouts.steps(canary)


def test_the_background_analysis_goes_on_while_a_person_holds_the_canary(
    rollouts: Rollouts,
) -> None:
    rollouts.first_release()
    rollouts.metrics.candidate_errors = 0.05
    canary = rollouts.promote("1.1.0")
    rollouts.run()  # at 10%, in the 30 s pause
    rollouts.control(canary, "pause")  # a person holds it there

    rollouts.run_until(canary, lambda: rollouts.state(canary) != "paused")

    assert rollouts.state(canary) == "rolled_back"
    reason = rollouts.detail(canary).view.row.reason or ""
    assert reason.startswith("background analysis background failed"), reason
    assert rollouts.traffic.weights == {"blue": 100, "green": 0}
    assert ("pause 30s", "skipped") in rollouts.steps(canary)
    assert not [m for m in rollouts.measurements(canary) if m.analysis == "error-rate"]
