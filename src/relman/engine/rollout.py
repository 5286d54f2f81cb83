"""Progressive delivery in the engine: canary, blue-green and rolling deployments.

A promotion to an environment whose strategy is canary, blue-green or rolling keeps the
strategy, the service's traffic settings and the analyses it names in the deployment's spec
(`rollout_settings`), so that later config changes do not change a deployment under way. Its
plan is made when it starts (`plan_rollout`), because only then is it known which slot is
stable. The engine runs the steps of kind `run` with the run driver and its own kinds here:

- `weight` sets the traffic weights of both slots at once;
- `pause` waits (a row's `due_at`, no thread) or, without a duration, pauses the deployment
  for a person;
- `analysis` takes one round of measurements each time it is due and stores them; it ends
  successful, or fails (the rollout rolls back), or is inconclusive (the rollout pauses for a
  person, whose resume accepts it);
- `promote` makes the candidate's slot the stable one.

A background analysis runs beside the steps from the first weight that gives the candidate
users until `promote`; it is measured while the rollout waits in a pause or an analysis.

A failed step or analysis before `promote` rolls back (`start_rollback`): the steps left are
skipped, and two are added — all traffic to the stable slot, then the candidate stopped — and
the deployment ends `rolled_back` with the reason. `abort` does the same for a person.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from relman.domain.analysis import (
    Measurement,
    Phase,
    RunPhase,
    RunStatus,
    analysis_status,
    judged,
    measure,
    measurement_due,
    run_status,
)
from relman.domain.delivery import (
    AnalysisSpec,
    MetricSpec,
    ProviderSpec,
    TrafficSpec,
    parse_analysis,
    parse_strategy,
    parse_traffic,
    strategy_to_dict,
)
from relman.domain.deployments import StepState
from relman.domain.expressions import parse_expression
from relman.domain.judge import Counts, JudgeState
from relman.domain.strategies import (
    SLOTS,
    AllAtOnce,
    BlueGreen,
    PlanStep,
    Rolling,
    plan_for,
    rollback_plan,
)
from relman.drivers.base import PlannedStep, StepResult, StepRun, Traffic
from relman.engine.transitions import StepSpec, add_steps, note, steps_of
from relman.errors import Conflict, RelmanError
from relman.metrics import MetricProvider
from relman.store.tables import AnalysisMeasurementRow, DeploymentRow, DeploymentStepRow
from relman.store.unit_of_work import UnitOfWork

__all__ = [
    "ENGINE_KINDS",
    "TICK",
    "Outcome",
    "RolloutRunner",
    "Taken",
    "background_active",
    "plan_rollout",
    "rollback_settings",
    "rollout_settings",
    "skip_to_full_traffic",
    "start_rollback",
]

ENGINE_KINDS = ("weight", "pause", "analysis", "promote")
WAITING_KINDS = ("pause", "analysis")  # a claim of these may go on waiting
TICK = "tick"  # a claim of a held (paused) deployment, for its background analysis only

TrafficFactory = Callable[[TrafficSpec], Traffic]
ProviderFactory = Callable[[ProviderSpec], MetricProvider]


# --- at promotion and at start ----------------------------------------------------------------


def rollout_settings(service_spec: Mapping[str, Any], environment: str) -> dict[str, Any] | None:
    """What a deployment to `environment` keeps of the service's progressive-delivery
    settings; None when the environment's strategy is all-at-once (the plain plan)."""
    raw = (service_spec.get("strategies") or {}).get(environment)
    if raw is None or isinstance(parse_strategy(raw, environment), AllAtOnce):
        return None
    return {
        "strategy": raw,
        "environment": environment,
        "traffic": service_spec.get("traffic"),
        "analyses": _analyses_by_name(service_spec.get("analyses")),
    }


def rollback_settings(rollout: Mapping[str, Any]) -> dict[str, Any]:
    """The rollout of a rollback: a rolling service goes back batch by batch as it came; a
    canary or blue-green one goes back like a blue-green deployment that promotes itself and
    stops the slot it leaves at once (no steps, no analysis: the way back is not judged)."""
    strategy = parse_strategy(rollout["strategy"], rollout["environment"])
    if isinstance(strategy, Rolling):
        return dict(rollout)
    quick = BlueGreen(auto_promote=True, scale_down_delay=timedelta(0))
    return {**rollout, "strategy": strategy_to_dict(quick)}


def plan_rollout(
    uow: UnitOfWork, row: DeploymentRow, stable_slot: str | None, driver_plan: Sequence[PlannedStep]
) -> None:
    """Store the plan of a progressive deployment starting now, the stable version being in
    `stable_slot` (None: nothing to shift traffic from)."""
    spec = dict(row.spec or {})
    rollout = spec["rollout"]
    plan = plan_for(parse_strategy(rollout["strategy"], rollout["environment"]), stable_slot)
    run_steps = {step.name: step for step in driver_plan}
    stored = (_stored(step, run_steps) for step in plan.steps)
    steps = [step for step in stored if step is not None]
    add_steps(uow, row.id, steps)
    spec.update(
        slot=plan.candidate_slot or spec.get("slot"),
        stable_slot=plan.stable_slot,
        background=plan.background_analysis,
    )
    row.spec = spec
    where = f" into {plan.candidate_slot}" if plan.candidate_slot else ""
    stable = f", {plan.stable_slot} stays stable" if plan.stable_slot else ""
    names = ", ".join(step.name for step in steps)
    note(uow, row.id, f"planned{where}{stable}: {names}", kind="plan")


def _stored(step: PlanStep, run_steps: Mapping[str, PlannedStep]) -> StepSpec | None:
    if step.kind in ("deploy", "verify", "stop"):
        if step.kind == "verify" and "verify" not in run_steps:
            return None  # the run settings have no check
        base = run_steps.get(step.kind) or PlannedStep(step.kind, idempotent=True)
        where = step.slot or ",".join(step.targets)
        params = {"action": step.kind, "slot": step.slot, "targets": list(step.targets)}
        return StepSpec(
            f"{step.kind} {where}".strip(),
            "run",
            params,
            timeout=base.timeout,
            retries=base.retries,
            idempotent=base.idempotent,
        )
    if step.kind == "weight":
        assert step.slot is not None
        assert step.weight is not None
        weights = _weights(step.slot, step.weight)
        return StepSpec(_weights_text(weights), "weight", {"weights": weights}, idempotent=True)
    if step.kind == "pause":
        seconds = None if step.duration is None else step.duration.total_seconds()
        return StepSpec(step.name, "pause", {"seconds": seconds}, idempotent=True)
    if step.kind == "analysis":
        return StepSpec(step.name, "analysis", {"analysis": step.analysis}, idempotent=True)
    return StepSpec(f"promote {step.slot or ''}".strip(), "promote", {}, idempotent=True)


def _weights(candidate: str, weight: int) -> dict[str, int]:
    """Both slots' weights: the candidate `weight`, the other slot the rest."""
    other = SLOTS[1] if candidate == SLOTS[0] else SLOTS[0]
    return {candidate: weight, other: 100 - weight}


def _weights_text(weights: Mapping[str, int]) -> str:
    return "traffic " + ", ".join(f"{slot} {weight}%" for slot, weight in weights.items())


# --- leaving the plan: rollback, promote -------------------------------------------------------


def start_rollback(uow: UnitOfWork, row: DeploymentRow, reason: str, actor: str) -> bool:
    """Skip what is left of the plan and add the way back: all traffic to the stable slot at
    once, then the candidate stopped; the deployment ends rolled_back with `reason`. False
    (and nothing done) when there is nothing to go back to or it was promoted already."""
    spec = dict(row.spec or {})
    candidate, stable = spec.get("slot"), spec.get("stable_slot")
    if (
        row.kind != "deploy"
        or "rollout" not in spec
        or spec.get("promoted")
        or spec.get("rollback")
    ):
        return False  # a rollback that fails stops for a person
    back = rollback_plan(candidate, stable)
    if not back:
        return False
    steps = sorted(steps_of(uow, row.id).values(), key=lambda step: step.position)
    if any(_stopped(step, stable) for step in steps):
        return False  # the old slot is gone: there is nothing to switch back to
    for step in steps:
        if step.position >= row.cursor and step.state in (
            StepState.PENDING.value,
            StepState.RUNNING.value,
        ):
            step.state = StepState.SKIPPED.value
            step.finished_at = uow.clock()
            step.summary = "skipped: rolled back"
    assert candidate is not None
    assert stable is not None
    weights = _weights(stable, 100)
    way_back = [
        StepSpec(_weights_text(weights), "weight", {"weights": weights}, idempotent=True),
        StepSpec(
            f"stop {candidate}",
            "run",
            {"action": "stop", "slot": candidate, "targets": []},
            timeout=60.0,
            idempotent=True,
        ),
    ]
    end = len(steps)
    add_steps(uow, row.id, way_back, start=end)
    row.cursor = end
    row.spec = {**spec, "rollback": reason, "hold": None}
    row.due_at = None
    note(uow, row.id, f"rolling back: {reason}", actor, kind="rollback", reason=reason)
    uow.audit(actor, "deployment.rollback_started", f"deployment/{row.id}", reason=reason)
    return True


def _stopped(step: DeploymentStepRow, slot: str | None) -> bool:
    """Whether the step stopped `slot`, or began to (it may be half gone)."""
    params = step.params or {}
    return step.attempts > 0 and params.get("action") == "stop" and params.get("slot") == slot


def skip_to_full_traffic(uow: UnitOfWork, row: DeploymentRow, actor: str) -> str | None:
    """Skip the steps before the one that gives the candidate all traffic; the steps after it
    (a blue-green's post-promotion analysis, promote, scale-down) still run. Returns that
    step's name, or None when no such step is ahead."""
    spec = row.spec or {}
    candidate = spec.get("slot")
    steps = sorted(steps_of(uow, row.id).values(), key=lambda step: step.position)
    full = next(
        (
            step
            for step in steps
            if step.position >= row.cursor
            and step.kind == "weight"
            and (step.params or {}).get("weights", {}).get(candidate) == 100
        ),
        None,
    )
    if full is None or spec.get("rollback"):
        return None
    unready = [s for s in steps if row.cursor <= s.position < full.position and s.kind == "run"]
    if unready:
        raise Conflict(
            f"Deployment {row.id} has not yet deployed and verified its candidate (it is at "
            f"{unready[0].name}); promote once the candidate takes traffic",
            details={"id": row.id, "step": unready[0].name},
        )
    for step in steps:
        if row.cursor <= step.position < full.position:
            step.state = StepState.SKIPPED.value
            step.finished_at = uow.clock()
            step.summary = f"skipped: promoted by {actor}"
    row.cursor = full.position
    row.spec = {**spec, "hold": None}
    row.due_at = None
    row.lease_owner = None
    row.lease_expires_at = None
    return full.name


# --- running the engine's steps ---------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """A measurement to store."""

    position: int | None  # None: the background analysis
    analysis: str
    metric: str
    query: str
    value: Any
    measurement: Measurement


@dataclass(frozen=True)
class Outcome:
    """What one claim of an engine step came to. `wait_until`: the step goes on then; `hold`:
    the deployment pauses for a person, with this reason; `spec`: changes to the deployment's
    spec; `measurements`: to store."""

    result: StepResult
    wait_until: datetime | None = None
    hold: str | None = None
    spec: Mapping[str, Any] = field(default_factory=dict)
    measurements: tuple[Taken, ...] = ()
    notes: tuple[str, ...] = ()  # for the timeline
    background_due: datetime | None = None  # when held: the background analysis' next turn


@dataclass(frozen=True)
class StepContext:
    """An engine step as claimed: its kind and parameters, the deployment's spec, the time
    the step began, whether a person released its hold, and what was measured before."""

    run: StepRun
    kind: str
    params: Mapping[str, Any]
    spec: Mapping[str, Any]
    started_at: datetime
    released: bool
    earlier: Sequence[AnalysisMeasurementRow]
    cancelled: Callable[[], bool] = lambda: False  # the claim was lost (abort, promote)


class RolloutRunner:
    """Runs the engine's own steps; the network calls (traffic, metrics) happen here, outside
    any transaction."""

    def __init__(self, traffic_for: TrafficFactory, provider_for: ProviderFactory) -> None:
        self.traffic_for = traffic_for
        self.provider_for = provider_for

    def run(self, step: StepContext, now: datetime) -> Outcome:
        if step.released and step.spec.get("background_held"):
            # the person accepted what the background analysis could not decide: it stops,
            # and the step goes on where it was
            accepted = {"background_held": None, "background_passed": True}
            step = replace(step, released=False, spec={**step.spec, **accepted})
            outcome = self._run(step, now)
            return replace(outcome, spec={**accepted, **outcome.spec})
        return self._run(step, now)

    def _run(self, step: StepContext, now: datetime) -> Outcome:
        try:
            if step.kind == "weight":
                return self._weight(step, now)
            if step.kind == "promote":
                slot = step.spec.get("slot")
                return Outcome(
                    StepResult(True, f"{slot} is stable now"),
                    spec={"promoted": True, "background_started": None},
                )
            if step.kind == TICK:
                return self._tick(step, now)
            if step.kind in WAITING_KINDS:
                notes = self._weights_kept(step)  # first: the measuring takes a while
                waited = self._pause(step, now) if step.kind == "pause" else None
                outcome = waited or self._analysis(step, now)
                outcome = replace(outcome, notes=(*notes, *outcome.notes))
                return self._waiting(step, now, outcome)
        except RelmanError as exc:
            return Outcome(StepResult(False, exc.message))
        return Outcome(StepResult(False, f"unknown step kind '{step.kind}'"))

    def _weight(self, step: StepContext, now: datetime) -> Outcome:
        weights = {slot: int(w) for slot, w in step.params["weights"].items()}
        self._traffic(step.spec).apply(weights)
        changes: dict[str, Any] = {"weights": weights}
        candidate = step.spec.get("slot")
        background = step.spec.get("background")
        if background and not step.spec.get("background_started") and weights.get(candidate):
            changes["background_started"] = now.isoformat()
        return Outcome(StepResult(True, _weights_text(weights)), spec=changes)

    def _pause(self, step: StepContext, now: datetime) -> Outcome:
        seconds = step.params.get("seconds")
        if seconds is None:
            if step.released:
                return Outcome(StepResult(True, "resumed by a person"))
            return Outcome(
                StepResult(True, "waiting for a person"),
                hold=f"waiting for a person: 'relman deployments resume {step.run.deployment_id}' "
                f"goes on, 'promote {step.run.deployment_id}' skips to full traffic, 'abort' "
                "rolls back",
            )
        until = step.started_at + timedelta(seconds=seconds)
        if now >= until:
            return Outcome(StepResult(True, f"waited {seconds:g}s"))
        return Outcome(StepResult(True, f"waiting until {until:%H:%M:%S}"), wait_until=until)

    def _analysis(self, step: StepContext, now: datetime) -> Outcome:
        name = step.params["analysis"]
        if step.released:
            return Outcome(StepResult(True, f"analysis {name}: accepted by a person"))
        spec = _analysis(step.spec, name)
        position = step.run.step_index
        earlier = [m for m in step.earlier if m.position == position]
        taken = _rounds(earlier)
        due = measurement_due(step.started_at, taken, spec.limits)
        if now < due:
            return Outcome(
                StepResult(True, f"analysis {name}: next measurement due"), wait_until=due
            )
        new = self._measure(spec, step, position, earlier)
        status = _status(spec, [*earlier, *new])
        if status.phase is RunPhase.RUNNING:
            later = _next_due(step.started_at, taken, spec, now)
            return Outcome(
                StepResult(True, f"analysis {name}: {status.reason}"),
                wait_until=later,
                measurements=tuple(new),
            )
        return _ended(f"analysis {name}", status, tuple(new))

    def _waiting(self, step: StepContext, now: datetime, outcome: Outcome) -> Outcome:
        """Add what a waiting step does besides: the weights put back if the load balancer
        lost them, and the background analysis when it is due."""
        if not outcome.result.ok or (outcome.wait_until is None and outcome.hold is None):
            return outcome
        background = self._background(step, now)
        if background is None:
            return outcome
        taken, status, due = background
        outcome = replace(outcome, measurements=(*outcome.measurements, *taken))
        name = f"background analysis {step.spec.get('background')}"
        if status.phase is RunPhase.INCONCLUSIVE:
            ended = _ended(name, status, outcome.measurements)
            return replace(ended, spec={**outcome.spec, "background_held": True})
        if status.phase is RunPhase.SUCCESSFUL:  # it has said all it will: the step goes on
            passed = f"{name} passed: {status.reason}"
            spec = {**outcome.spec, "background_passed": True}
            return replace(outcome, spec=spec, notes=(*outcome.notes, passed))
        if status.phase is RunPhase.RUNNING:
            if outcome.hold is not None:  # held: the background analysis still has its turns
                return replace(outcome, background_due=due)
            wait = outcome.wait_until
            if due is not None:
                wait = min(wait, due) if wait is not None else due
            return replace(outcome, wait_until=wait)
        return replace(_ended(name, status, outcome.measurements), notes=outcome.notes)

    def _tick(self, step: StepContext, now: datetime) -> Outcome:
        """Only the background analysis, for a deployment a person (or an undecided analysis)
        holds."""
        background = self._background(step, now)
        if background is None:
            return Outcome(StepResult(True, "no background analysis to measure"))
        taken, status, due = background
        name = f"background analysis {step.spec.get('background')}"
        if status.phase is RunPhase.RUNNING:
            return Outcome(StepResult(True, name), wait_until=due, measurements=tuple(taken))
        if status.phase is RunPhase.SUCCESSFUL:
            passed = f"{name} passed: {status.reason}"
            return Outcome(
                StepResult(True, passed),
                spec={"background_passed": True},
                measurements=tuple(taken),
                notes=(passed,),
            )
        ended = _ended(name, status, tuple(taken))
        if status.phase is RunPhase.INCONCLUSIVE:
            return replace(ended, spec={"background_held": True})
        return ended

    def _weights_kept(self, step: StepContext) -> tuple[str, ...]:
        """Put the weights back if the load balancer lost them (an HAProxy reload) — unless
        this claim was lost meanwhile (an abort or a promote took the deployment on)."""
        weights = step.spec.get("weights")
        if not weights or step.cancelled():
            return ()
        if not self._traffic(step.spec).ensure(weights):
            return ()
        return (f"the load balancer had lost the weights (reloaded?); re-applied {weights}",)

    def _background(
        self, step: StepContext, now: datetime
    ) -> tuple[list[Taken], RunStatus, datetime | None] | None:
        if not background_active(step.spec):
            return None
        spec = _analysis(step.spec, str(step.spec["background"]))
        since = datetime.fromisoformat(str(step.spec["background_started"]))
        earlier = [m for m in step.earlier if m.position is None]
        taken = _rounds(earlier)
        if now < measurement_due(since, taken, spec.limits):
            return [], RunStatus(RunPhase.RUNNING, ""), measurement_due(since, taken, spec.limits)
        new = self._measure(spec, step, None, earlier)
        status = _status(spec, [*earlier, *new])
        return new, status, _next_due(since, taken, spec, now)

    def _measure(
        self,
        spec: AnalysisSpec,
        step: StepContext,
        position: int | None,
        earlier: Sequence[AnalysisMeasurementRow],
    ) -> list[Taken]:
        provider = self.provider_for(spec.provider)
        values = _placeholders(step)
        taken = []
        for metric in spec.metrics:
            past = [m for m in earlier if m.metric == metric.name]
            if metric.judge is not None:
                query, value, measurement = _judge(provider, metric, values, past)
            else:
                query = _fill(metric.query or "", values)
                value, measurement = _threshold(provider, metric, query)
            taken.append(Taken(position, spec.name, metric.name, query, value, measurement))
        return taken

    def _traffic(self, spec: Mapping[str, Any]) -> Traffic:
        raw = (spec.get("rollout") or {}).get("traffic")
        if not raw:
            raise RelmanError("this service has no traffic settings; add 'traffic:' to it")
        return self.traffic_for(parse_traffic(raw))


def _next_due(started: datetime, taken: int, spec: AnalysisSpec, now: datetime) -> datetime:
    """When the measurement after this one is due: on the schedule, but never sooner than an
    interval from now — after a gap (workers down, a person's hold) the schedule is behind,
    and catching up would take several measurements of one moment."""
    return max(measurement_due(started, taken + 1, spec.limits), now + spec.limits.interval)


def background_active(spec: Mapping[str, Any]) -> bool:
    """Whether the deployment's background analysis is measuring."""
    return bool(
        spec.get("background")
        and spec.get("background_started")
        and not spec.get("background_passed")
        and not spec.get("promoted")
        and not spec.get("rollback")
    )


def _ended(what: str, status: RunStatus, measurements: tuple[Taken, ...]) -> Outcome:
    if status.phase is RunPhase.SUCCESSFUL:
        return Outcome(StepResult(True, f"{what}: {status.reason}"), measurements=measurements)
    if status.phase is RunPhase.INCONCLUSIVE:
        return Outcome(
            StepResult(True, f"{what} inconclusive: {status.reason}"),
            hold=f"{what} inconclusive: {status.reason}; resume to accept the candidate, "
            "abort to roll back",
            measurements=measurements,
        )
    verb = "failed" if status.phase is RunPhase.FAILED else "could not measure"
    return Outcome(StepResult(False, f"{what} {verb}: {status.reason}"), measurements=measurements)


# --- measurements -----------------------------------------------------------------------------


def _threshold(provider: MetricProvider, metric: MetricSpec, query: str) -> tuple[Any, Measurement]:
    try:
        value: Any = provider.query(query)
    except RelmanError as exc:
        return None, Measurement(Phase.ERROR, None, exc.message)
    success = _expression(metric.success_condition)
    failure = _expression(metric.failure_condition)
    return _jsonable(value), measure(value, success=success, failure=failure)


def _judge(
    provider: MetricProvider,
    metric: MetricSpec,
    values: Mapping[str, str],
    past: Sequence[AnalysisMeasurementRow],
) -> tuple[str, Any, Measurement]:
    """Four counter queries (requests and errors of each slot), judged with every earlier
    round of this metric; a slot without a series has served nothing yet (0)."""
    assert metric.judge is not None
    counts: dict[str, list[float]] = {}
    queries = []
    for side, slot_key in (("candidate", "candidate_slot"), ("stable", "stable_slot")):
        slot_values = {**values, "slot": values[slot_key]}
        pair = []
        for text in (metric.requests or "", metric.errors or ""):
            query = _fill(text, slot_values)
            queries.append(query)
            try:
                pair.append(_counter(provider.query(query), query))
            except RelmanError as exc:
                return "\n".join(queries), None, Measurement(Phase.ERROR, None, exc.message)
        counts[side] = pair
    state = JudgeState()
    for row in past:
        if isinstance(row.value, Mapping) and "candidate" in row.value:
            state = metric.judge.observe(
                state, _counts(row.value["candidate"]), _counts(row.value["stable"])
            ).state
    verdict = metric.judge.observe(state, _counts(counts["candidate"]), _counts(counts["stable"]))
    return "\n".join(queries), counts, judged(verdict)


def _counter(value: float | list[float], query: str) -> float:
    if isinstance(value, list):
        if len(value) > 1:
            raise RelmanError(f"{query!r} returned {len(value)} series; wrap it in sum(...)")
        value = value[0] if value else 0.0
    if math.isnan(value):
        raise RelmanError(f"{query!r} returned NaN; a judge needs counters")
    return value


def _counts(pair: Sequence[float]) -> Counts:
    return Counts(requests=pair[0], errors=pair[1])


def _status(spec: AnalysisSpec, rows: Sequence[AnalysisMeasurementRow | Taken]) -> RunStatus:
    metrics = []
    for metric in spec.metrics:
        measurements = [_measurement(row) for row in rows if row.metric == metric.name]
        metrics.append((metric.name, run_status(measurements, spec.limits)))
    return analysis_status(metrics)


def _measurement(row: AnalysisMeasurementRow | Taken) -> Measurement:
    if isinstance(row, Taken):
        return row.measurement
    phase = Phase(row.phase)
    judge_final = isinstance(row.value, Mapping) and phase in (Phase.SUCCESSFUL, Phase.FAILED)
    return Measurement(phase, row.value, row.reason, final=judge_final)


def _rounds(rows: Sequence[AnalysisMeasurementRow]) -> int:
    """How many rounds were taken: the most measurements of one metric."""
    per_metric: dict[str, int] = {}
    for row in rows:
        per_metric[row.metric] = per_metric.get(row.metric, 0) + 1
    return max(per_metric.values(), default=0)


def store_measurements(uow: UnitOfWork, deployment_id: int, taken: Sequence[Taken]) -> None:
    now = uow.clock()
    for item in taken:
        uow.session.execute(
            insert(AnalysisMeasurementRow).values(
                deployment_id=deployment_id,
                position=item.position,
                analysis=item.analysis,
                metric=item.metric,
                at=now,
                query=item.query,
                value=item.value,
                phase=item.measurement.phase.value,
                reason=item.measurement.reason,
            )
        )


def measurements_of(session: Session, deployment_id: int) -> list[AnalysisMeasurementRow]:
    return list(
        session.scalars(
            select(AnalysisMeasurementRow)
            .where(AnalysisMeasurementRow.deployment_id == deployment_id)
            .order_by(AnalysisMeasurementRow.id)
        )
    )


def _expression(source: str | None) -> Any:
    return None if source is None else parse_expression(source)


def _jsonable(value: Any) -> Any:
    """NaN and infinities as strings, which JSON columns can hold."""
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# --- placeholders -----------------------------------------------------------------------------

QUERY_PLACEHOLDERS = (
    "service",
    "environment",
    "version",
    "stable_version",
    "candidate_slot",
    "stable_slot",
    "weight",
    "deployment_id",
    "slot",
)
_PLACEHOLDER = re.compile(r"\{(" + "|".join(QUERY_PLACEHOLDERS) + r")\}")


def _placeholders(step: StepContext) -> dict[str, str]:
    spec = step.spec
    candidate = spec.get("slot") or ""
    weights = spec.get("weights") or {}
    return {
        "service": step.run.service,
        "environment": step.run.environment,
        "version": step.run.version,
        "stable_version": step.run.previous_version or "",
        "candidate_slot": candidate,
        "stable_slot": spec.get("stable_slot") or "",
        "weight": str(weights.get(candidate, 0)),
        "deployment_id": str(step.run.deployment_id),
    }


def _fill(text: str, values: Mapping[str, str]) -> str:
    """Put the values into `{name}` placeholders, leaving PromQL's own braces alone."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _analyses_by_name(raw: Any) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    return {item["name"]: item for item in raw or ()}


def _analysis(spec: Mapping[str, Any], name: str) -> AnalysisSpec:
    raw = (spec.get("rollout") or {}).get("analyses", {}).get(name)
    if raw is None:
        raise RelmanError(
            f"the deployment has no analysis '{name}'; was it removed from the config?"
        )
    return parse_analysis(raw)
