"""Metric analysis: each measurement's phase, and the run's phase by Argo Rollouts' limits."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from relman.domain.analysis import (
    AnalysisLimits,
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
from relman.domain.expressions import parse_expression
from relman.domain.judge import JudgeState, SequentialJudge

LOW = parse_expression("result < 0.01")
HIGH = parse_expression("result >= 0.05")


def phases(*names: str) -> list[Measurement]:
    return [Measurement(Phase(name), 0.0, f"measurement {n}") for n, name in enumerate(names)]


# --- one measurement -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "phase"),
    [
        pytest.param(0.001, Phase.SUCCESSFUL, id="below"),
        pytest.param(0.02, Phase.FAILED, id="above"),
        pytest.param([0.001], Phase.ERROR, id="a-vector-compared-as-a-number"),
        pytest.param(None, Phase.INCONCLUSIVE, id="nothing"),
        pytest.param([], Phase.INCONCLUSIVE, id="empty-vector"),
        pytest.param(math.nan, Phase.INCONCLUSIVE, id="nan"),
        pytest.param([0.001, math.nan], Phase.INCONCLUSIVE, id="nan-in-a-vector"),
    ],
)
def test_a_success_condition_alone_passes_fails_or_has_no_data(value: object, phase: Phase) -> None:
    assert measure(value, success=LOW).phase is phase


def test_no_data_is_never_a_pass_even_when_the_condition_would_hold_for_nothing() -> None:
    anything = parse_expression("true")
    measurement = measure(None, success=anything)
    assert measurement.phase is Phase.INCONCLUSIVE
    assert measurement.reason == "no data: the query returned nothing"
    assert measure([], success=anything).reason == "no data: the query returned an empty vector"


@pytest.mark.parametrize(
    ("value", "phase"),
    [
        pytest.param(0.001, Phase.SUCCESSFUL, id="success-holds"),
        pytest.param(0.07, Phase.FAILED, id="failure-holds"),
        pytest.param(0.02, Phase.INCONCLUSIVE, id="neither"),
    ],
)
def test_with_both_conditions_failure_wins_and_neither_is_inconclusive(
    value: float, phase: Phase
) -> None:
    measurement = measure(value, success=LOW, failure=HIGH)
    assert measurement.phase is phase
    if phase is Phase.INCONCLUSIVE:
        assert measurement.reason == ("neither result < 0.01 nor result >= 0.05 holds for 0.02")


def test_a_failure_condition_alone_passes_when_false() -> None:
    assert measure(0.02, failure=HIGH).phase is Phase.SUCCESSFUL
    failed = measure(0.07, failure=HIGH)
    assert (failed.phase, failed.reason) == (Phase.FAILED, "result >= 0.05 is true for 0.07")


def test_a_condition_that_cannot_be_evaluated_is_an_error_of_the_measurement() -> None:
    first = parse_expression("result[3] < 1")
    measurement = measure([0.5], success=first)
    assert measurement.phase is Phase.ERROR
    assert "result[3] < 1" in measurement.reason


def test_a_metric_without_any_condition_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="success_condition, failure_condition or a judge"):
        measure(0.1)


def test_a_judges_verdict_becomes_a_measurement_and_a_decision_ends_the_metric() -> None:
    judge = SequentialJudge(min_requests=0)
    pending = judged(judge.add(JudgeState(), 100, 1, 900, 9))
    assert (pending.phase, pending.final) == (Phase.PENDING, False)
    failed = judged(judge.add(JudgeState(), 1000, 200, 9000, 90))
    assert (failed.phase, failed.final) == (Phase.FAILED, True)
    assert "the candidate errs more than the stable version" in failed.reason

    limits = AnalysisLimits(count=10)
    passed = judged(judge.add(JudgeState(), 100_000, 900, 900_000, 9000))
    assert passed.phase is Phase.SUCCESSFUL
    assert run_status([pending, passed], limits).phase is RunPhase.SUCCESSFUL  # early
    undecided = run_status([pending] * 10, limits)
    assert undecided.phase is RunPhase.INCONCLUSIVE
    assert undecided.reason.startswith("undecided after 10 measurements")


# --- the run -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taken", "limits", "phase"),
    [
        pytest.param(["successful"] * 2, AnalysisLimits(count=3), RunPhase.RUNNING, id="running"),
        pytest.param(["successful"] * 3, AnalysisLimits(count=3), RunPhase.SUCCESSFUL, id="done"),
        pytest.param(["failed"], AnalysisLimits(count=3), RunPhase.FAILED, id="first-failure"),
        pytest.param(
            ["failed", "successful", "successful"],
            AnalysisLimits(count=3, failure_limit=1),
            RunPhase.SUCCESSFUL,
            id="failure-within-limit",
        ),
        pytest.param(
            ["failed", "successful", "failed"],
            AnalysisLimits(count=5, failure_limit=1),
            RunPhase.FAILED,
            id="failures-exceed-limit",
        ),
        pytest.param(
            ["inconclusive"], AnalysisLimits(count=3), RunPhase.INCONCLUSIVE, id="inconclusive"
        ),
        pytest.param(
            ["inconclusive", "successful", "successful"],
            AnalysisLimits(count=3, inconclusive_limit=1),
            RunPhase.SUCCESSFUL,
            id="inconclusive-within-limit",
        ),
        pytest.param(["error"] * 4, AnalysisLimits(count=9), RunPhase.RUNNING, id="4-errors"),
        pytest.param(["error"] * 5, AnalysisLimits(count=9), RunPhase.ERROR, id="5-errors"),
        pytest.param(
            ["error"] * 4 + ["successful"] + ["error"] * 4,
            AnalysisLimits(count=10),
            RunPhase.RUNNING,
            id="errors-not-in-a-row",
        ),
        pytest.param(
            ["error", "error", "successful"],
            AnalysisLimits(count=3),
            RunPhase.SUCCESSFUL,
            id="errors-count-toward-count",
        ),
        pytest.param(["successful"] * 50, AnalysisLimits(), RunPhase.RUNNING, id="no-count"),
    ],
)
def test_the_run_stands_by_argo_rollouts_limits(
    taken: list[str], limits: AnalysisLimits, phase: RunPhase
) -> None:
    assert run_status(phases(*taken), limits).phase is phase


def test_the_defaults_are_argo_rollouts() -> None:
    limits = AnalysisLimits()
    assert (limits.failure_limit, limits.inconclusive_limit, limits.consecutive_error_limit) == (
        0,
        0,
        4,
    )
    assert limits.count is None


def test_the_run_says_why_it_ended() -> None:
    failed = run_status(phases("successful", "failed"), AnalysisLimits(count=5))
    assert failed.reason == "1 measurement failed, more than failure_limit 0; last: measurement 1"
    errors = run_status(phases(*["error"] * 5), AnalysisLimits(count=9))
    assert errors.reason.startswith("5 measurements in a row could not be taken")


def test_failure_is_checked_before_errors_and_inconclusive() -> None:
    status = run_status(phases("inconclusive", *["error"] * 5, "failed"), AnalysisLimits())
    assert status.phase is RunPhase.FAILED


def test_an_analysis_fails_if_one_metric_fails_and_succeeds_when_all_do() -> None:
    ok = RunStatus(RunPhase.SUCCESSFUL, "fine")
    running = RunStatus(RunPhase.RUNNING, "1 of 3 taken")
    bad = RunStatus(RunPhase.FAILED, "too many errors")
    unsure = RunStatus(RunPhase.INCONCLUSIVE, "no data")

    assert analysis_status([("a", ok), ("b", ok)]).phase is RunPhase.SUCCESSFUL
    assert analysis_status([("a", ok), ("b", running)]).phase is RunPhase.RUNNING
    failed = analysis_status([("a", unsure), ("b", bad)])
    assert (failed.phase, failed.reason) == (RunPhase.FAILED, "metric b: too many errors")
    assert analysis_status([("a", unsure), ("b", running)]).phase is RunPhase.INCONCLUSIVE


def test_measurements_are_due_after_the_initial_delay_every_interval() -> None:
    start = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    limits = AnalysisLimits(interval=timedelta(seconds=10), initial_delay=timedelta(seconds=30))
    assert measurement_due(start, 0, limits) == start + timedelta(seconds=30)
    assert measurement_due(start, 2, limits) == start + timedelta(seconds=50)


def test_a_judges_fail_ends_the_run_whatever_the_failure_limit() -> None:
    judge = SequentialJudge(min_requests=0)
    failed = judged(judge.add(JudgeState(), 1000, 200, 9000, 90))
    status = run_status(
        [*phases("successful") * 4, failed], AnalysisLimits(count=5, failure_limit=1)
    )
    assert status.phase is RunPhase.FAILED


@pytest.mark.parametrize(
    "taken",
    [
        pytest.param(["error"] * 4, id="only-errors"),
        pytest.param(["inconclusive", "error"], id="no-success"),
        pytest.param(["pending", "pending", "error"], id="judge-undecided-then-error"),
    ],
)
def test_a_run_with_no_successful_measurement_is_never_a_pass(taken: list[str]) -> None:
    limits = AnalysisLimits(count=len(taken), inconclusive_limit=5)
    assert run_status(phases(*taken), limits).phase is RunPhase.INCONCLUSIVE
