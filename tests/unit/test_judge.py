"""The sequential judge: its guarantees, checked by replaying synthetic traffic.

Replays are seeded, so each run of the suite sees the same traffic; the figures asserted are
the test's properties (false aborts at most alpha, power about 1 - beta), with room for the
sampling noise of a few hundred replays.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import pytest

from relman.domain.judge import Counts, JudgeState, SequentialJudge, Verdict
from relman.errors import InvalidInput

JUDGE = SequentialJudge(alpha=0.01, beta=0.10, ratio=2.0, min_requests=1000)


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method; the error counts of an interval are small."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


@dataclass
class Replay:
    verdict: Verdict
    requests: float  # the candidate's, when the verdict came
    errors: float  # both sides'
    naive_aborted: bool  # a fixed-horizon z-test, checked at every interval, aborted


def replay(
    rng: random.Random,
    *,
    stable_rate: float,
    candidate_rate: float,
    judge: SequentialJudge = JUDGE,
    candidate_requests: int = 250,
    stable_requests: int = 2250,
    intervals: int = 60,
) -> Replay:
    """A canary at 10%: each interval, both sides serve requests and some fail."""
    state = JudgeState()
    naive_aborted = False
    for _ in range(intervals):
        cand_errors = poisson(rng, candidate_requests * candidate_rate)
        stab_errors = poisson(rng, stable_requests * stable_rate)
        result = judge.add(state, candidate_requests, cand_errors, stable_requests, stab_errors)
        state = result.state
        naive_aborted = naive_aborted or _z(state) > 2.326  # one-sided, alpha 0.01
        if result.verdict is not Verdict.PENDING:
            errors = state.candidate_errors + state.stable_errors
            return Replay(result.verdict, state.candidate_requests, errors, naive_aborted)
    errors = state.candidate_errors + state.stable_errors
    return Replay(Verdict.PENDING, state.candidate_requests, errors, naive_aborted)


def _z(state: JudgeState) -> float:
    """The two-proportion z statistic of the cumulative counts (candidate worse: positive)."""
    n1, n2 = state.candidate_requests, state.stable_requests
    if not n1 or not n2:
        return 0.0
    p1, p2 = state.candidate_errors / n1, state.stable_errors / n2
    pooled = (state.candidate_errors + state.stable_errors) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) if 0 < pooled < 1 else 0
    return (p1 - p2) / spread if spread else 0.0


def replays(count: int, seed: int, *, stable_rate: float, candidate_rate: float) -> list[Replay]:
    rng = random.Random(seed)
    return [
        replay(rng, stable_rate=stable_rate, candidate_rate=candidate_rate) for _ in range(count)
    ]


def share(runs: list[Replay], verdict: Verdict) -> float:
    return sum(run.verdict is verdict for run in runs) / len(runs)


# --- the guarantees ------------------------------------------------------------------------


def test_a_good_candidate_is_rolled_back_at_most_alpha_of_the_time_however_often_checked() -> None:
    runs = replays(1000, seed=1, stable_rate=0.01, candidate_rate=0.01)

    assert share(runs, Verdict.FAIL) <= JUDGE.alpha
    # The same traffic judged by a fixed-horizon test at every interval, as Kayenta, Argo
    # Rollouts and Flagger do, aborts far more often than its nominal 1%.
    naive = sum(run.naive_aborted for run in runs) / len(runs)
    assert naive > 3 * JUDGE.alpha
    # Most good candidates are promoted early instead of waiting for the whole analysis.
    assert share(runs, Verdict.PASS) >= 0.9


@pytest.mark.parametrize(
    ("candidate_rate", "power"),
    [pytest.param(0.02, 0.85, id="1%->2%"), pytest.param(0.05, 0.99, id="1%->5%")],
)
def test_an_error_rate_regression_is_caught(candidate_rate: float, power: float) -> None:
    runs = replays(400, seed=2, stable_rate=0.01, candidate_rate=candidate_rate)

    assert share(runs, Verdict.FAIL) >= power
    assert share(runs, Verdict.PASS) <= JUDGE.beta


def test_a_regression_is_caught_near_walds_expected_sample_size_and_a_bigger_one_sooner() -> None:
    """With short intervals and no minimum sample, the errors it takes to catch a regression
    are close to Wald's figure for the SPRT, the floor for a test of this alpha and power."""
    judge = SequentialJudge(alpha=0.01, beta=0.10, ratio=2.0, min_requests=0)
    rng = random.Random(3)

    def fine(candidate_rate: float) -> Replay:  # 5 errors or so an interval
        return replay(
            rng,
            stable_rate=0.01,
            candidate_rate=candidate_rate,
            judge=judge,
            candidate_requests=50,
            stable_requests=450,
            intervals=2000,
        )

    doubled = [fine(0.02) for _ in range(300)]
    fivefold = [fine(0.05) for _ in range(300)]

    def mean_errors(runs: list[Replay]) -> float:
        caught = [run.errors for run in runs if run.verdict is Verdict.FAIL]
        return sum(caught) / len(caught)

    floor = judge.expected_errors(candidate_share=0.1, true_ratio=2.0)
    assert floor * 0.8 <= mean_errors(doubled) <= floor * 1.3
    assert mean_errors(fivefold) < mean_errors(doubled) / 2


def test_walds_operating_characteristic_is_alpha_and_one_minus_beta_at_the_hypotheses() -> None:
    judge = SequentialJudge(alpha=0.01, beta=0.1, ratio=2.0)
    # expected_errors under r = 1 and r = 2 use P(fail) ≈ alpha and ≈ 1 - beta respectively;
    # with a ratio of 1 the drift is negative, with 2 positive, so both are positive counts.
    assert judge.expected_errors(0.5, 1.0) > 0
    assert judge.expected_errors(0.5, 2.0) > judge.expected_errors(0.5, 5.0)
    assert judge.upper == pytest.approx(math.log(100))
    assert judge.lower == pytest.approx(math.log(0.1 / 0.99))


# --- the rules around the test -------------------------------------------------------------


def test_nothing_is_decided_below_the_minimum_sample_however_strong_the_evidence() -> None:
    judge = SequentialJudge(min_requests=1000)
    result = judge.add(JudgeState(), 500, 250, 4500, 0)  # half the candidate's requests fail

    assert result.verdict is Verdict.PENDING
    assert "500 of the 1000 candidate requests needed before a verdict" in result.reason
    assert result.state.llr > judge.upper

    result = judge.add(result.state, 500, 250, 4500, 0)
    assert result.verdict is Verdict.FAIL
    assert "candidate 500/1000 errors (50.00%), stable 0/9000 (0.00%)" in result.reason


def test_an_interval_where_one_side_served_nothing_says_nothing() -> None:
    judge = SequentialJudge(min_requests=0)
    result = judge.add(JudgeState(), 0, 0, 1000, 10)

    assert result.state == JudgeState()
    assert judge.add(JudgeState(), 1000, 40, 0, 0).state.intervals == 0


def test_cumulative_counts_start_from_a_baseline_and_survive_a_counter_restart() -> None:
    judge = SequentialJudge(min_requests=0)
    first = judge.observe(JudgeState(), Counts(5000, 500), Counts(90_000, 900))
    assert (first.state.candidate_requests, first.state.intervals) == (0, 0)  # the baseline

    second = judge.observe(first.state, Counts(6000, 510), Counts(99_000, 990))
    assert (second.state.candidate_requests, second.state.candidate_errors) == (1000, 10)
    assert (second.state.stable_requests, second.state.stable_errors) == (9000, 90)

    restarted = judge.observe(second.state, Counts(300, 3), Counts(100_000, 1000))
    assert (restarted.state.candidate_requests, restarted.state.candidate_errors) == (1300, 13)
    assert restarted.state.stable_requests == 10_000


def test_equal_error_rates_add_no_evidence_on_average() -> None:
    judge = SequentialJudge()
    # Errors exactly in proportion to traffic: evidence moves towards "pass".
    assert judge.step(1000, 10, 9000, 90) < 0
    # Twice the stable rate on the candidate moves it towards "fail".
    assert judge.step(1000, 20, 9000, 90) > 0


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"alpha": 0.0}, "alpha 0.0 must be above 0 and below 0.5"),
        ({"beta": 0.7}, "beta 0.7 must be above 0 and below 0.5"),
        ({"ratio": 1.0}, "ratio 1.0 must be above 1"),
        ({"min_requests": -1}, "min_requests -1 must not be negative"),
    ],
)
def test_bad_parameters_are_refused_with_what_is_wrong(
    fields: dict[str, float], problem: str
) -> None:
    with pytest.raises(InvalidInput, match="Bad sequential judge") as caught:
        SequentialJudge(**fields)  # type: ignore[arg-type]
    assert problem in caught.value.message
