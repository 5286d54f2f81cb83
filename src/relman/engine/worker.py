"""Workers: claim due deployments with a lease, run their steps, record every outcome.

One step at a time: the attempt is recorded as begun (`running`) in the same transaction that
takes the lease, the driver runs it, and its outcome is recorded in a transaction fenced on
`lease_owner = me AND cursor = k`, which also begins the next step. A worker that dies leaves
its lease to expire; whoever claims the deployment next finds the cut-off step still `running`
and re-runs it only when the plan marks it idempotent, otherwise the deployment fails and asks
a person to decide. Waiting (retry timers, pauses, queues) holds no thread: it is a row.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import aliased

from relman.domain.deployments import DeploymentState, StepState
from relman.domain.gates import Verdict
from relman.domain.strategies import SLOTS
from relman.drivers.base import DEFAULT_SLOT, Driver, StepResult, StepRun
from relman.engine.connectors import provider_factory, traffic_factory
from relman.engine.evidence import seal
from relman.engine.gates import recheck
from relman.engine.leases import database_now, due_deployment, locked_deployment
from relman.engine.logs import LogWriter
from relman.engine.rollout import (
    ENGINE_KINDS,
    TICK,
    WAITING_KINDS,
    Outcome,
    ProviderFactory,
    RolloutRunner,
    StepContext,
    TrafficFactory,
    background_active,
    measurements_of,
    plan_rollout,
    start_rollback,
    store_measurements,
)
from relman.engine.transitions import (
    SYSTEM,
    create_deployment,
    current_deployment,
    move,
    note,
    planned_rollback,
    steps_of,
)
from relman.store.database import Database
from relman.store.notifications import WorkListener
from relman.store.tables import (
    DeploymentRow,
    DeploymentStepRow,
    EnvironmentRow,
    ReleaseRow,
    ServiceRow,
)
from relman.store.unit_of_work import Clock, UnitOfWork, utcnow

__all__ = ["Claim", "Worker", "WorkerOptions"]

logger = logging.getLogger("relman.engine")


@dataclass(frozen=True)
class WorkerOptions:
    """`lease`: how long a claim lasts without a heartbeat; `poll`: seconds between looks for
    work when idle; `retry_delay`: seconds before the first retry (doubling, at most 60)."""

    lease: timedelta = timedelta(seconds=15)
    poll: float = 0.5
    retry_delay: float = 1.0
    slots: int = 4


@dataclass(frozen=True)
class Claim:
    """A step attempt this worker has begun and must run, then record. `kind`, `params`,
    `spec`, `started_at` and `released` matter to the engine's own steps (engine/rollout.py)."""

    deployment_id: int
    driver: str
    run: StepRun
    steps: int  # how many steps the plan has
    kind: str = "run"
    params: Mapping[str, Any] = field(default_factory=dict)
    spec: Mapping[str, Any] = field(default_factory=dict)
    started_at: datetime | None = None
    released: bool = False  # a person resumed the hold this step had put the deployment in

    @property
    def plain(self) -> bool:
        """A run-driver step of a deployment without a rollout: the fast path may record it."""
        return self.kind == "run" and "rollout" not in self.spec


class Worker:
    def __init__(
        self,
        database: Database,
        drivers: Mapping[str, Driver],
        *,
        options: WorkerOptions | None = None,
        clock: Clock = utcnow,
        name: str | None = None,
        traffic_for: TrafficFactory | None = None,
        provider_for: ProviderFactory | None = None,
        timers_follow_clock: bool = False,
    ) -> None:
        """`timers_follow_clock`: leases, pauses and analysis schedules are judged by `clock`
        instead of the database's time (for tests with a clock they move by hand)."""
        self.database = database
        self.drivers = drivers
        self.rollouts = RolloutRunner(
            traffic_for or traffic_factory(), provider_for or provider_factory(database)
        )
        self.options = options or WorkerOptions()
        self.clock = clock
        self.timers_follow_clock = timers_follow_clock
        self.owner = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._held: dict[int, threading.Event] = {}  # deployment id → cancel of its running step
        self._held_lock = threading.Lock()
        self._wake = threading.Event()
        self._beat = threading.Event()  # set: renew leases and check for cancels now
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener: WorkListener | None = None

    # --- running in threads ---------------------------------------------------------------

    def start(self) -> None:
        """Take back this worker name's leases, then run `slots` loops and a heartbeat in
        daemon threads until `stop`."""
        self.recover()
        self._stop.clear()
        if not self.database.is_sqlite:
            self._listener = WorkListener(self.database.url, self.wake)
            self._listener.start()
        loops = [f"relman-worker-{n}" for n in range(self.options.slots)]
        self._threads = [threading.Thread(target=self._loop, name=n, daemon=True) for n in loops]
        self._threads.append(
            threading.Thread(target=self._heartbeats, name="relman-heartbeat", daemon=True)
        )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop claiming; wait up to `timeout` seconds (None: as long as it takes) for each
        running step to be recorded."""
        self._stop.set()
        self._wake.set()
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def recover(self) -> int:
        """Free the leases held under this worker's name by a process that is gone, so their
        deployments go on now rather than when the leases run out. Returns how many.

        Only safe when no other live process uses the name: `relman serve` names its worker
        after its host and listening address, which no live process can share with it.
        """
        with UnitOfWork(self.database, self.clock) as uow:
            held = uow.session.scalars(
                select(DeploymentRow).where(DeploymentRow.lease_owner == self.owner)
            ).all()
            for row in held:
                _release(row)
            uow.commit()
        if held:
            logger.info(
                "worker %s: took back %d deployment(s) after a restart", self.owner, len(held)
            )
        return len(held)

    def _fixed_now(self) -> datetime | None:
        return self.clock() if self.timers_follow_clock else None

    def _now(self, uow: UnitOfWork) -> datetime:
        """The time timers are judged by: the database's (one clock for every worker)."""
        return self.clock() if self.timers_follow_clock else database_now(uow.session)

    def wake(self) -> None:
        """Look for work now, and check at once whether a running step was aborted."""
        self._wake.set()
        self._beat.set()

    @property
    def busy(self) -> bool:
        """Whether a step runs here now."""
        with self._held_lock:
            return bool(self._held)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.work_one()
            except (OperationalError, IntegrityError) as exc:
                logger.warning(
                    "worker %s: store error, retrying: %s", self.owner, type(exc).__name__
                )
                worked = False
            except Exception:
                logger.exception("worker %s: unexpected error", self.owner)
                worked = False
            if not worked:
                self._wake.wait(self.options.poll)
                self._wake.clear()

    def _heartbeats(self) -> None:
        interval = self.options.lease.total_seconds() / 3
        while not self._stop.is_set():
            self._beat.wait(interval)
            self._beat.clear()
            if self._stop.is_set():
                return
            try:
                self.heartbeat()
            except Exception:
                logger.exception("worker %s: heartbeat failed", self.owner)

    def heartbeat(self) -> None:
        """Extend the leases of the steps running here; cancel those whose lease was lost
        (the deployment was aborted, or another worker took it over)."""
        with self._held_lock:
            held = dict(self._held)
        if not held:
            return
        with UnitOfWork(self.database, self.clock) as uow:
            expires = self._now(uow) + self.options.lease
            mine = (DeploymentRow.id.in_(held), DeploymentRow.lease_owner == self.owner)
            uow.session.execute(update(DeploymentRow).where(*mine).values(lease_expires_at=expires))
            kept = set(uow.session.scalars(select(DeploymentRow.id).where(*mine)))
            uow.commit()
        for deployment_id, cancel in held.items():
            if deployment_id not in kept:
                cancel.set()

    # --- one unit of work at a time --------------------------------------------------------

    def run_until_idle(self, limit: int = 10_000) -> int:
        """Work in this thread until nothing is due; return how many claims were worked."""
        count = 0
        while count < limit and self.work_one():
            count += 1
        return count

    def work_one(self) -> bool:
        """Claim one due deployment and run its steps until it ends or has to wait."""
        claim = self._claim()
        if claim is None:
            return False
        # Held until the claim ends: heartbeats renew the lease, also between steps.
        cancel = threading.Event()
        with self._held_lock:
            self._held[claim.deployment_id] = cancel
        try:
            next_claim: Claim | None = claim
            while next_claim is not None:
                outcome = self._run(next_claim, cancel)
                next_claim = self._record(next_claim, outcome)
        finally:
            with self._held_lock:
                self._held.pop(claim.deployment_id, None)
        return True

    def _claim(self) -> Claim | None:
        while True:
            with UnitOfWork(self.database, self.clock) as uow:
                due = due_deployment(uow.session, self._fixed_now())
                if due is None:
                    return None
                row, now = due
                if row.state == DeploymentState.WAITING.value:
                    recheck(uow, row, now, self.rollouts.provider_for)
                    uow.commit()
                    continue
                if row.state == DeploymentState.PAUSED.value:
                    claim = self._tick(uow, row, now)
                    uow.commit()
                    if claim is not None:
                        return claim
                    continue
                if row.state == DeploymentState.QUEUED.value:
                    # a deploy's gates are judged again as it starts: a lock or a freeze may
                    # have come while it queued (rollbacks are never held)
                    if row.kind == "deploy":
                        report = recheck(uow, row, now, self.rollouts.provider_for)
                        if report.verdict is not Verdict.PASS:
                            uow.commit()
                            continue
                    self._admit(uow, row)
                    seal(uow, row)
                row.lease_owner = self.owner
                row.lease_expires_at = now + self.options.lease
                row.due_at = None
                steps = steps_of(uow, row.id)
                claim = self._resume_step(uow, row, steps[row.cursor], len(steps), now)
                uow.commit()
            if claim is not None:
                return claim

    def _tick(self, uow: UnitOfWork, row: DeploymentRow, now: datetime) -> Claim | None:
        """A paused deployment whose timer is due: a held canary's background analysis
        measures (the step it is held at stays as it is); anything else just loses the timer."""
        row.due_at = None
        if not background_active(row.spec or {}):
            return None
        row.lease_owner = self.owner
        row.lease_expires_at = now + self.options.lease
        steps = steps_of(uow, row.id)
        step = steps[row.cursor]
        run = replace(
            self._step_run(uow, row),
            step_index=step.position,
            step=step.name,
            attempt=step.attempts,
        )
        spec = row.spec or {}
        return Claim(
            row.id, spec.get("driver", ""), run, len(steps), TICK, spec=spec, started_at=now
        )

    def _admit(self, uow: UnitOfWork, row: DeploymentRow) -> None:
        current = current_deployment(uow, row.service_id, row.environment_id)
        if row.kind == "deploy":
            row.previous_release_id = current.release_id if current else None
        move(uow, row, DeploymentState.RUNNING, actor=SYSTEM)
        uow.session.flush()  # the one-per-cell index judges the move here
        spec = row.spec or {}
        if "rollout" in spec and not steps_of(uow, row.id):
            stable = (current.spec or {}).get("slot") if current is not None else None
            driver = self.drivers.get(spec.get("driver", ""))
            run_plan = driver.plan(spec.get("settings", {}), rollback=False) if driver else []
            plan_rollout(uow, row, stable if stable in SLOTS else None, run_plan)

    def _resume_step(
        self,
        uow: UnitOfWork,
        row: DeploymentRow,
        step: DeploymentStepRow,
        steps: int,
        now: datetime,
    ) -> Claim | None:
        if step.state == StepState.RUNNING.value and step.kind not in ENGINE_KINDS:
            attempt = step.attempts
            if not step.idempotent:
                step.state = StepState.FAILED.value
                step.summary = f"cut off: attempt {attempt} never reported back"
                move(uow, row, DeploymentState.FAILED, actor=SYSTEM, reason=_cut_off(step))
                return None
            note(
                uow,
                row.id,
                f"step {step.name}: attempt {attempt} was cut off; running it again "
                "(the step is idempotent)",
                kind="step",
                step=step.name,
            )
        return self._begin(uow, row, step, self._step_run(uow, row), steps, now)

    def _begin(
        self,
        uow: UnitOfWork,
        row: DeploymentRow,
        step: DeploymentStepRow,
        base: StepRun,
        steps: int,
        now: datetime,
    ) -> Claim:
        going_on = step.state == StepState.RUNNING.value and step.kind in WAITING_KINDS
        if not going_on:  # a pause or an analysis that waits goes on in the same attempt
            step.state = StepState.RUNNING.value
            step.attempts += 1
            step.started_at = now  # the timers' clock: a pause counts from here
            step.finished_at = None
        spec = row.spec or {}
        params = step.params or {}
        run = replace(
            base,
            step_index=step.position,
            step=params.get("action") or step.name,
            attempt=step.attempts,
            timeout=step.timeout,
            slot=params.get("slot") or spec.get("slot", DEFAULT_SLOT),
        )
        return Claim(
            deployment_id=row.id,
            driver=spec.get("driver", ""),
            run=run,
            steps=steps,
            kind=step.kind,
            params=params,
            spec=spec,
            started_at=step.started_at,
            released=spec.get("hold") == step.position,
        )

    def _step_run(self, uow: UnitOfWork, row: DeploymentRow) -> StepRun:
        spec = row.spec or {}
        previous = aliased(ReleaseRow)
        service, version, environment, previous_version = uow.session.execute(
            select(ServiceRow.name, ReleaseRow.version, EnvironmentRow.name, previous.version)
            .select_from(DeploymentRow)
            .join(ServiceRow, ServiceRow.id == DeploymentRow.service_id)
            .join(ReleaseRow, ReleaseRow.id == DeploymentRow.release_id)
            .join(EnvironmentRow, EnvironmentRow.id == DeploymentRow.environment_id)
            .outerjoin(previous, previous.id == DeploymentRow.previous_release_id)
            .where(DeploymentRow.id == row.id)
        ).one()
        return StepRun(
            deployment_id=row.id,
            step_index=row.cursor,
            step="",
            attempt=0,
            service=service,
            version=version,
            previous_version=previous_version,
            environment=environment,
            settings=spec.get("settings", {}),
            slot=spec.get("slot", DEFAULT_SLOT),
        )

    def _run(self, claim: Claim, cancel: threading.Event) -> Outcome:
        if claim.kind in (*ENGINE_KINDS, TICK):
            return self._run_engine_step(claim, cancel)
        targets = claim.params.get("targets") or [""]
        results = []
        for target in targets:  # a rolling batch: one host after the other
            result = self._run_driver(replace(claim, run=replace(claim.run, target=target)), cancel)
            results.append(f"{target}: {result.summary}" if target else result.summary)
            if not result.ok:
                return Outcome(StepResult(False, "; ".join(results), result.details))
        return Outcome(StepResult(True, "; ".join(results)))

    def _run_engine_step(self, claim: Claim, cancel: threading.Event) -> Outcome:
        with UnitOfWork(self.database, self.clock) as uow:
            measuring = claim.kind in (*WAITING_KINDS, TICK)  # weight and promote read none
            earlier = measurements_of(uow.session, claim.deployment_id) if measuring else []
            now = self._now(uow)
        assert claim.started_at is not None
        step = StepContext(
            run=claim.run,
            kind=claim.kind,
            params=claim.params,
            spec=claim.spec,
            started_at=claim.started_at,
            released=claim.released,
            earlier=earlier,
            cancelled=cancel.is_set,
        )
        try:
            return self.rollouts.run(step, now)
        except Exception as exc:  # a bug fails the step, never the worker
            logger.exception("step %s raised", claim.run.step)
            return Outcome(StepResult(False, f"step {claim.run.step} failed: {type(exc).__name__}"))

    def _run_driver(self, claim: Claim, cancel: threading.Event) -> StepResult:
        driver = self.drivers.get(claim.driver)
        if driver is None:
            known = ", ".join(sorted(self.drivers)) or "none"
            return StepResult(False, f"unknown driver '{claim.driver}'; this worker has: {known}")
        log = LogWriter(
            self.database,
            self.clock,
            deployment_id=claim.deployment_id,
            position=claim.run.step_index,
            attempt=claim.run.attempt,
        )
        try:
            return driver.run(claim.run, log.write, cancel)
        except Exception as exc:  # a driver bug fails the step, never the worker
            logger.exception("driver %s raised", claim.driver)
            return StepResult(False, f"the {claim.driver} driver failed: {type(exc).__name__}")
        finally:
            log.close()

    def _record(self, claim: Claim, outcome: Outcome) -> Claim | None:
        """Record the attempt's outcome; return the next step's claim when it goes on here."""
        result = outcome.result
        with UnitOfWork(self.database, self.clock) as uow:
            going_on = not self._stop.is_set() and claim.run.step_index + 1 < claim.steps
            if result.ok and going_on and claim.plain:
                following = self._advance(uow, claim, result)
                if following is not None:
                    uow.commit()
                    return following
            row, now = locked_deployment(uow.session, claim.deployment_id, self._fixed_now())
            index = claim.run.step_index
            if row.lease_owner != self.owner or row.cursor != index:
                logger.warning(
                    "worker %s: lost deployment %d before recording step %d; outcome dropped",
                    self.owner,
                    claim.deployment_id,
                    index,
                )
                return None
            store_measurements(uow, row.id, outcome.measurements)
            if claim.kind == TICK:
                following = self._record_tick(uow, row, outcome, now)
                uow.commit()
                return following
            steps = steps_of(uow, row.id, index)
            step = steps[index]
            step.summary = result.summary
            for line in outcome.notes:
                note(uow, row.id, f"step {step.name}: {line}", kind="step", step=step.name)
            if outcome.spec:
                row.spec = {**(row.spec or {}), **outcome.spec}
            if claim.released:  # the person's resume is used up by this claim
                row.spec = {**(row.spec or {}), "hold": None}
            if result.ok and (outcome.wait_until is not None or outcome.hold is not None):
                self._wait(uow, row, outcome)
                uow.commit()
                return None
            step.finished_at = uow.clock()
            _note_outcome(uow, claim, result)
            following = None
            if result.ok:
                following = self._after_success(uow, row, steps, claim, now)
            else:
                following = self._after_failure(uow, row, step, result, now)
            uow.commit()
            return following

    def _record_tick(
        self, uow: UnitOfWork, row: DeploymentRow, outcome: Outcome, now: datetime
    ) -> Claim | None:
        """The background analysis measured while the deployment was held: it stays paused
        (until the next measurement), or rolls back at once when the analysis failed."""
        _release(row)
        row.spec = {**(row.spec or {}), **outcome.spec}
        for line in outcome.notes:
            note(uow, row.id, line)
        if not outcome.result.ok:
            reason = outcome.result.summary
            if not start_rollback(uow, row, reason, SYSTEM):
                move(uow, row, DeploymentState.FAILED, actor=SYSTEM, reason=reason)
                return None
            move(uow, row, DeploymentState.RUNNING, actor=SYSTEM, reason=reason)
            uow.session.flush()
            steps = steps_of(uow, row.id, row.cursor)
            row.lease_owner = self.owner
            row.lease_expires_at = now + self.options.lease
            base = self._step_run(uow, row)
            return self._begin(uow, row, steps[row.cursor], base, row.cursor + 2, now)
        if outcome.hold is not None:  # undecided: resume accepts it, as when it ran
            row.spec = {**row.spec, "hold": row.cursor}
            row.reason = outcome.hold
        row.due_at = outcome.wait_until
        return None

    def _wait(self, uow: UnitOfWork, row: DeploymentRow, outcome: Outcome) -> None:
        """The step goes on later: at `wait_until`, or when a person resumes the hold."""
        _release(row)
        if outcome.hold is None:
            row.due_at = outcome.wait_until
            return
        row.spec = {**(row.spec or {}), "hold": row.cursor}
        row.due_at = outcome.background_due  # held, the background analysis still measures
        if row.state == DeploymentState.RUNNING.value:  # a person may have paused it already
            move(uow, row, DeploymentState.PAUSED, actor=SYSTEM, reason=outcome.hold)
        else:
            row.reason = outcome.hold

    def _advance(self, uow: UnitOfWork, claim: Claim, result: StepResult) -> Claim | None:
        """The common case, in a few plain statements: step k succeeded and step k+1 begins.

        None when the deployment is not running under this worker's lease at step k (paused,
        aborted, taken over): then the general path decides, in the same transaction.
        """
        connection = uow.session.connection()
        d, s = DeploymentRow, DeploymentStepRow
        index, now = claim.run.step_index, uow.clock()
        fenced = connection.execute(
            update(d)
            .where(
                d.id == claim.deployment_id,
                d.lease_owner == self.owner,
                d.cursor == index,
                d.state == DeploymentState.RUNNING.value,
            )
            .values(cursor=index + 1)
        )
        if fenced.rowcount != 1:
            return None
        this_step = (s.deployment_id == claim.deployment_id, s.position == index)
        connection.execute(
            update(s)
            .where(*this_step)
            .values(state=StepState.SUCCEEDED.value, finished_at=now, summary=result.summary)
        )
        next_step = (s.deployment_id == claim.deployment_id, s.position == index + 1)
        name, attempt, timeout = connection.execute(
            update(s)
            .where(*next_step)
            .values(
                state=StepState.RUNNING.value,
                attempts=s.attempts + 1,
                started_at=now,
                finished_at=None,
            )
            .returning(s.name, s.attempts, s.timeout)
        ).one()
        _note_outcome(uow, claim, result)
        run = replace(claim.run, step_index=index + 1, step=name, attempt=attempt, timeout=timeout)
        return replace(claim, run=run)

    def _after_success(
        self,
        uow: UnitOfWork,
        row: DeploymentRow,
        steps: dict[int, DeploymentStepRow],
        claim: Claim,
        now: datetime,
    ) -> Claim | None:
        steps[row.cursor].state = StepState.SUCCEEDED.value
        row.cursor += 1
        if row.cursor not in steps:
            rollback = (row.spec or {}).get("rollback")
            if rollback:
                move(uow, row, DeploymentState.ROLLED_BACK, actor=SYSTEM, reason=rollback)
                return None
            move(uow, row, DeploymentState.SUCCEEDED, actor=SYSTEM)
            self._mark_undone(uow, row)
            return None
        if row.state != DeploymentState.RUNNING.value or self._stop.is_set():
            _release(row)  # paused, or this worker stops: the next step waits for a claim
            return None
        row.lease_expires_at = now + self.options.lease
        return self._begin(uow, row, steps[row.cursor], claim.run, claim.steps, now)

    def _after_failure(
        self,
        uow: UnitOfWork,
        row: DeploymentRow,
        step: DeploymentStepRow,
        result: StepResult,
        now: datetime,
    ) -> Claim | None:
        """Retry the step later, roll a progressive deployment back (returning the first step
        of the way back, which begins at once), or fail the deployment."""
        if step.attempts <= step.retries:
            delay = min(self.options.retry_delay * 2 ** (step.attempts - 1), 60.0)
            step.state = StepState.PENDING.value
            row.due_at = now + timedelta(seconds=delay)
            _release(row)
            left = step.retries - step.attempts + 1
            note(
                uow, row.id, f"step {step.name}: retrying in {delay:g}s ({left} left)", kind="step"
            )
            return None
        step.state = StepState.FAILED.value
        # the engine's own steps say what failed themselves ("analysis errors failed: …")
        reason = (
            result.summary
            if step.kind in ENGINE_KINDS
            else f"step '{step.name}' failed: {result.summary}"
        )
        if start_rollback(uow, row, reason, SYSTEM):
            if row.state == DeploymentState.PAUSED.value:  # a person paused it meanwhile
                move(uow, row, DeploymentState.RUNNING, actor=SYSTEM, reason=reason)
            uow.session.flush()
            steps = steps_of(uow, row.id, row.cursor)
            row.lease_expires_at = now + self.options.lease
            base = self._step_run(uow, row)
            return self._begin(uow, row, steps[row.cursor], base, row.cursor + 2, now)
        move(uow, row, DeploymentState.FAILED, actor=SYSTEM, reason=reason)
        self._roll_back_if_asked(uow, row)
        return None

    def _mark_undone(self, uow: UnitOfWork, row: DeploymentRow) -> None:
        if row.rollback_of_id is None:
            return
        undone = uow.session.get_one(DeploymentRow, row.rollback_of_id)
        if undone.state in (DeploymentState.SUCCEEDED.value, DeploymentState.FAILED.value):
            reason = f"rolled back by deployment {row.id}"
            if undone.reason:  # keep why it failed
                reason = f"{undone.reason}; {reason}"
            move(uow, undone, DeploymentState.ROLLED_BACK, actor=SYSTEM, reason=reason)

    def _roll_back_if_asked(self, uow: UnitOfWork, row: DeploymentRow) -> None:
        spec = row.spec or {}
        if row.kind != "deploy" or spec.get("on_failure") != "rollback":
            return
        if "rollout" in spec:  # its own way back failed, or had nothing to go back to
            note(
                uow,
                row.id,
                "on_failure is rollback, but a canary, blue-green or rolling "
                "deployment that failed here needs a person: see its steps",
            )
            return
        if row.previous_release_id is None:
            note(
                uow,
                row.id,
                "on_failure is rollback, but nothing ran here before: nothing to roll back to",
            )
            return
        driver = self.drivers.get(spec.get("driver", ""))
        if driver is None:
            note(uow, row.id, f"cannot roll back: this worker has no '{spec.get('driver')}' driver")
            return
        uow.session.flush()  # the failed deployment leaves its cell before the rollback takes it
        settings = spec.get("settings", {})
        rollback = create_deployment(
            uow,
            planned_rollback(row, row.previous_release_id, driver, settings),
            actor=SYSTEM,
            state=DeploymentState.RUNNING,
            reason=f"automatic rollback of deployment {row.id} (on_failure: rollback)",
        )
        seal(uow, rollback)
        note(uow, row.id, f"rolling back automatically in deployment {rollback.id}")


def _note_outcome(uow: UnitOfWork, claim: Claim, result: StepResult) -> None:
    step = claim.run
    outcome = "succeeded" if result.ok else "failed"
    note(
        uow,
        claim.deployment_id,
        f"step {step.step}: attempt {step.attempt} {outcome}: {result.summary}",
        kind="step",
        step=step.step,
        position=step.step_index,
        attempt=step.attempt,
        ok=result.ok,
    )


def _release(row: DeploymentRow) -> None:
    row.lease_owner = None
    row.lease_expires_at = None


def _cut_off(step: DeploymentStepRow) -> str:
    return (
        f"step '{step.name}' (attempt {step.attempts}) was cut off when its worker stopped, and "
        "its outcome is unknown; it is not marked idempotent, so relman will not run it again "
        "by itself. Check the environment, then promote again or roll back"
    )
