"""Metric analysis of a candidate, with Argo Rollouts' semantics and defaults.

A metric is measured `count` times (or until the deployment ends, without a count), every
`interval` after an `initial_delay`. Each measurement gets a phase:

- no data (nothing, an empty vector, NaN anywhere in it) is **inconclusive, never a pass**;
- `failure_condition` true: failed; else `success_condition` true: successful;
- only `success_condition` given and false: failed; only `failure_condition` given and false:
  successful; both given and neither true: inconclusive;
- a condition that cannot be evaluated, or a query that failed: error;
- a sequential judge's verdict (domain/judge.py): fail is failed, pass is successful and ends
  the metric at once (a clean candidate is promoted early), pending waits.

The metric's run then stands by the counts, checked in this order after every measurement:
failed when failures exceed `failure_limit` (default 0: the first failure fails it), error when
consecutive errors exceed `consecutive_error_limit` (default 4), inconclusive when inconclusive
measurements exceed `inconclusive_limit` (default 0) — which pauses the rollout for a person —
and successful once `count` measurements are taken (every measurement counts, errors too). An
analysis of several metrics fails or errs if one does, is inconclusive if one is, and succeeds
when all do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from relman.domain.expressions import Expression, ExpressionError
from relman.domain.judge import JudgeVerdict, Verdict

__all__ = [
    "AnalysisLimits",
    "Measurement",
    "Phase",
    "RunPhase",
    "RunStatus",
    "analysis_status",
    "judged",
    "measure",
    "measurement_due",
    "run_status",
]


class Phase(StrEnum):
    """One measurement's verdict."""

    SUCCESSFUL = "successful"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"
    PENDING = "pending"  # a sequential judge that has not decided yet


class RunPhase(StrEnum):
    """Where a metric's run, or a whole analysis, stands."""

    RUNNING = "running"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"

    @property
    def is_final(self) -> bool:
        return self is not RunPhase.RUNNING


@dataclass(frozen=True, slots=True)
class Measurement:
    phase: Phase
    value: object  # what the provider returned: a number, a list of numbers, None
    reason: str
    final: bool = False  # a judge's decision: the metric ends with it


@dataclass(frozen=True, slots=True)
class AnalysisLimits:
    """A metric's schedule and limits; the defaults are Argo Rollouts'."""

    count: int | None = None  # None: until the deployment ends (background analysis)
    interval: timedelta = timedelta(seconds=60)
    initial_delay: timedelta = timedelta(0)
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = 4


@dataclass(frozen=True, slots=True)
class RunStatus:
    phase: RunPhase
    reason: str


def measure(
    value: object, *, success: Expression | None = None, failure: Expression | None = None
) -> Measurement:
    """The phase of one measurement from the value a query returned."""
    if success is None and failure is None:
        raise ValueError("a metric needs success_condition, failure_condition or a judge")
    missing = _no_data(value)
    if missing:
        return Measurement(Phase.INCONCLUSIVE, value, missing)
    names = {"result": value}
    try:
        if failure is not None and failure.test(names):
            return Measurement(Phase.FAILED, value, f"{failure.source} is true for {_show(value)}")
        if success is None:
            assert failure is not None  # one of the two is given
            return Measurement(
                Phase.SUCCESSFUL, value, f"{failure.source} is false for {_show(value)}"
            )
        if success.test(names):
            return Measurement(Phase.SUCCESSFUL, value, f"{success.source} for {_show(value)}")
    except ExpressionError as exc:
        return Measurement(Phase.ERROR, value, str(exc))
    if failure is None:
        return Measurement(Phase.FAILED, value, f"{success.source} is false for {_show(value)}")
    return Measurement(
        Phase.INCONCLUSIVE,
        value,
        f"neither {success.source} nor {failure.source} holds for {_show(value)}",
    )


def judged(result: JudgeVerdict) -> Measurement:
    """A measurement from a sequential judge's verdict."""
    phase = {
        Verdict.FAIL: Phase.FAILED,
        Verdict.PASS: Phase.SUCCESSFUL,
        Verdict.PENDING: Phase.PENDING,
    }[result.verdict]
    return Measurement(phase, result.state.llr, result.reason, final=phase is not Phase.PENDING)


def run_status(measurements: Sequence[Measurement], limits: AnalysisLimits) -> RunStatus:
    """Where a metric's run stands after these measurements (oldest first)."""
    failed = [m for m in measurements if m.phase is Phase.FAILED]
    inconclusive = [m for m in measurements if m.phase is Phase.INCONCLUSIVE]
    errors_in_a_row = _trailing(measurements, Phase.ERROR)
    if failed and failed[-1].final:  # a judge's fail is the end, whatever failure_limit says
        return RunStatus(RunPhase.FAILED, failed[-1].reason)
    if len(failed) > limits.failure_limit:
        return RunStatus(
            RunPhase.FAILED,
            f"{_count(len(failed), 'measurement')} failed, more than failure_limit "
            f"{limits.failure_limit}; last: {failed[-1].reason}",
        )
    if errors_in_a_row > limits.consecutive_error_limit:
        return RunStatus(
            RunPhase.ERROR,
            f"{_count(errors_in_a_row, 'measurement')} in a row could not be taken, more than "
            f"consecutive_error_limit {limits.consecutive_error_limit}; last: "
            f"{measurements[-1].reason}",
        )
    if len(inconclusive) > limits.inconclusive_limit:
        return RunStatus(
            RunPhase.INCONCLUSIVE,
            f"{_count(len(inconclusive), 'measurement')} inconclusive, more than "
            f"inconclusive_limit {limits.inconclusive_limit}; last: {inconclusive[-1].reason}",
        )
    if measurements and measurements[-1].final and measurements[-1].phase is Phase.SUCCESSFUL:
        return RunStatus(RunPhase.SUCCESSFUL, measurements[-1].reason)
    if limits.count is not None and len(measurements) >= limits.count:
        judge = [m for m in measurements if m.phase is Phase.PENDING]
        if judge:  # a judge that never decided: a person decides
            return RunStatus(
                RunPhase.INCONCLUSIVE,
                f"undecided after {_count(len(measurements), 'measurement')}: {judge[-1].reason}",
            )
        if not any(m.phase is Phase.SUCCESSFUL for m in measurements):
            return RunStatus(
                RunPhase.INCONCLUSIVE,
                f"none of the {_count(len(measurements), 'measurement')} succeeded; last: "
                f"{measurements[-1].reason}",
            )
        return RunStatus(
            RunPhase.SUCCESSFUL,
            f"{_count(len(measurements), 'measurement')} taken, "
            f"{len(failed)} failed (failure_limit {limits.failure_limit})",
        )
    taken = _count(len(measurements), "measurement")
    return RunStatus(RunPhase.RUNNING, f"{taken} of {limits.count or 'unlimited'} taken")


def analysis_status(metrics: Sequence[tuple[str, RunStatus]]) -> RunStatus:
    """An analysis of several metrics: fails or errs if one does, is inconclusive if one is,
    succeeds when all do, runs otherwise."""
    for phase in (RunPhase.FAILED, RunPhase.ERROR, RunPhase.INCONCLUSIVE):
        hit = [(name, status) for name, status in metrics if status.phase is phase]
        if hit:
            name, status = hit[0]
            return RunStatus(phase, f"metric {name}: {status.reason}")
    if metrics and all(status.phase is RunPhase.SUCCESSFUL for _, status in metrics):
        return RunStatus(RunPhase.SUCCESSFUL, f"{_count(len(metrics), 'metric')} successful")
    running = [name for name, status in metrics if status.phase is RunPhase.RUNNING]
    return RunStatus(RunPhase.RUNNING, f"waiting for {', '.join(running) or 'measurements'}")


def measurement_due(started: datetime, taken: int, limits: AnalysisLimits) -> datetime:
    """When measurement number `taken` + 1 is due, counted from the analysis' start."""
    return started + limits.initial_delay + taken * limits.interval


def _no_data(value: object) -> str | None:
    if value is None:
        return "no data: the query returned nothing"
    if isinstance(value, list | tuple):
        if not value:
            return "no data: the query returned an empty vector"
        if any(_is_nan(item) for item in value):
            return f"no data: NaN in {_show(value)}"
        return None
    if _is_nan(value):
        return "no data: the query returned NaN"
    return None


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _trailing(measurements: Sequence[Measurement], phase: Phase) -> int:
    count = 0
    for measurement in reversed(measurements):
        if measurement.phase is not phase:
            break
        count += 1
    return count


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        shown = ", ".join(_show(item) for item in value[:5])
        more = f", … ({len(value)} values)" if len(value) > 5 else ""
        return f"[{shown}{more}]"
    return repr(value)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"
