"""Judging a candidate against the stable version: a sequential test on their error counts.

The question: is the candidate's error rate worse than the stable version's, by at least the
factor `ratio` worth catching? Both serve traffic at the same time, so whatever moves the
baseline (time of day, a bad upstream) moves both, and the test compares their errors with each
other, not with a fixed threshold.

The test. Given that an error happened in an interval, it came from the candidate with
probability p = r·n_c / (r·n_c + n_s), where n_c and n_s are the requests each side served in
that interval and r the ratio of their error rates. Under "no worse" (r = 1) that is the
candidate's share of the traffic, p0; under "worse by `ratio`" it is p1 > p0. Each interval adds
to the log-likelihood ratio

    llr += e_c · log(p1 / p0) + e_s · log((1 − p1) / (1 − p0))

with e_c and e_s the errors of each side: Wald's sequential probability ratio test (SPRT) over
the errors, one Bernoulli trial per error, with the traffic split free to change between
intervals (canary weights move).

Deciding:
- fail (roll back) when llr ≥ log(1/alpha). Under r = 1 the likelihood ratio is a non-negative
  martingale with mean 1, so by Ville's inequality it ever reaches 1/alpha with probability at
  most alpha — however often it is checked. A fixed-horizon test checked at every interval does
  not have this property: 20 looks at alpha = 0.01 abort a good candidate about 6.5% of the time.
- pass (promote early) when llr ≤ log(beta / (1 − alpha)): the candidate looks clean enough that
  a regression of `ratio` would have shown, missed with probability about beta (Wald's bound).
- otherwise pending; and nothing at all is decided before the candidate has served
  `min_requests` (a handful of requests proves nothing either way).

An interval in which one side served nothing says nothing about the comparison and is skipped;
a counter that went down (a restart) counts from zero again, as Prometheus' rate() does. The
first cumulative counts are the baseline; `add` takes per-interval increments instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from relman.errors import InvalidInput

__all__ = [
    "Counts",
    "JudgeState",
    "JudgeVerdict",
    "SequentialJudge",
    "Verdict",
]


class Verdict(StrEnum):
    PENDING = "pending"
    PASS = "pass"  # noqa: S105 - a verdict, not a password: promote, no regression
    FAIL = "fail"  # roll back: the candidate errs more than the stable version


@dataclass(frozen=True, slots=True)
class Counts:
    """Cumulative requests and errors of one side, as counters report them."""

    requests: float
    errors: float


@dataclass(frozen=True, slots=True)
class JudgeState:
    """What the judge has seen so far; start with JudgeState()."""

    llr: float = 0.0
    candidate_requests: float = 0.0
    candidate_errors: float = 0.0
    stable_requests: float = 0.0
    stable_errors: float = 0.0
    last_candidate: Counts | None = None
    last_stable: Counts | None = None
    intervals: int = 0  # intervals that carried information


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    verdict: Verdict
    reason: str
    state: JudgeState


@dataclass(frozen=True, slots=True)
class SequentialJudge:
    """The parameters of the test (see the module docstring and docs/analysis.md)."""

    alpha: float = 0.01  # at most this share of good candidates rolled back
    beta: float = 0.10  # about this share of `ratio`-times-worse candidates promoted
    ratio: float = 2.0  # the error-rate regression worth catching
    min_requests: int = 1000  # the candidate's requests before any verdict

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.alpha < 0.5:
            problems.append(f"alpha {self.alpha} must be above 0 and below 0.5")
        if not 0 < self.beta < 0.5:
            problems.append(f"beta {self.beta} must be above 0 and below 0.5")
        if not self.ratio > 1:
            problems.append(f"ratio {self.ratio} must be above 1 (2 catches a doubled error rate)")
        if self.min_requests < 0:
            problems.append(f"min_requests {self.min_requests} must not be negative")
        if problems:
            raise InvalidInput(
                "Bad sequential judge: " + "; ".join(problems),
                details={"problems": problems},
            )

    @property
    def upper(self) -> float:
        """The log-likelihood ratio at which the candidate fails."""
        return math.log(1 / self.alpha)

    @property
    def lower(self) -> float:
        """The log-likelihood ratio at which the candidate passes."""
        return math.log(self.beta / (1 - self.alpha))

    def observe(self, state: JudgeState, candidate: Counts, stable: Counts) -> JudgeVerdict:
        """Take the next cumulative counts of both sides and say where the test stands. The
        first counts are the baseline: what the counters held before the analysis began is
        not the candidate's doing."""
        last_candidate, last_stable = state.last_candidate, state.last_stable
        state = replace(state, last_candidate=candidate, last_stable=stable)
        if last_candidate is None or last_stable is None:
            return self.verdict(state)
        cand_requests, cand_errors = _delta(last_candidate, candidate)
        stab_requests, stab_errors = _delta(last_stable, stable)
        return self.add(state, cand_requests, cand_errors, stab_requests, stab_errors)

    def add(
        self,
        state: JudgeState,
        cand_requests: float,
        cand_errors: float,
        stab_requests: float,
        stab_errors: float,
    ) -> JudgeVerdict:
        """Take one interval's requests and errors of both sides (what `increase()` over the
        interval gives) and say where the test stands."""
        if cand_requests > 0 and stab_requests > 0:
            state = replace(
                state,
                llr=state.llr + self.step(cand_requests, cand_errors, stab_requests, stab_errors),
                candidate_requests=state.candidate_requests + cand_requests,
                candidate_errors=state.candidate_errors + cand_errors,
                stable_requests=state.stable_requests + stab_requests,
                stable_errors=state.stable_errors + stab_errors,
                intervals=state.intervals + 1,
            )
        return self.verdict(state)

    def step(
        self, cand_requests: float, cand_errors: float, stab_requests: float, stab_errors: float
    ) -> float:
        """The log-likelihood ratio one interval adds."""
        p0 = cand_requests / (cand_requests + stab_requests)
        p1 = self.ratio * cand_requests / (self.ratio * cand_requests + stab_requests)
        return cand_errors * math.log(p1 / p0) + stab_errors * math.log((1 - p1) / (1 - p0))

    def verdict(self, state: JudgeState) -> JudgeVerdict:
        rates = _rates(state)
        if state.candidate_requests < self.min_requests:
            return JudgeVerdict(
                Verdict.PENDING,
                f"{state.candidate_requests:.0f} of the {self.min_requests} candidate requests "
                f"needed before a verdict; {rates}",
                state,
            )
        if state.llr >= self.upper:
            return JudgeVerdict(
                Verdict.FAIL,
                f"the candidate errs more than the stable version ({rates}); evidence "
                f"{state.llr:.2f} reached {self.upper:.2f} (alpha {self.alpha})",
                state,
            )
        if state.llr <= self.lower:
            return JudgeVerdict(
                Verdict.PASS,
                f"no {self.ratio:g}x regression ({rates}); evidence {state.llr:.2f} reached "
                f"{self.lower:.2f} (beta {self.beta})",
                state,
            )
        return JudgeVerdict(
            Verdict.PENDING,
            f"not yet decided ({rates}); evidence {state.llr:.2f}, fails at {self.upper:.2f}, "
            f"passes at {self.lower:.2f}",
            state,
        )

    def expected_errors(self, candidate_share: float, true_ratio: float) -> float:
        """Wald's approximation of the errors (both sides) the test needs on average when the
        candidate takes `candidate_share` of the traffic and errs `true_ratio` times as often:
        the floor a judge of this alpha and beta can reach."""
        p0 = candidate_share
        p1 = self.ratio * p0 / (self.ratio * p0 + 1 - p0)
        p = true_ratio * p0 / (true_ratio * p0 + 1 - p0)
        drift = p * math.log(p1 / p0) + (1 - p) * math.log((1 - p1) / (1 - p0))
        if drift == 0:
            return self.upper * -self.lower / _second_moment(p0, p1, p)
        fail = _probability_of_failing(self, p0, p1, p)
        return (fail * self.upper + (1 - fail) * self.lower) / drift


def _probability_of_failing(judge: SequentialJudge, p0: float, p1: float, p: float) -> float:
    """Wald's operating characteristic: the chance the test fails when each error is the
    candidate's with probability p. Solve for h ≠ 0 with p(p1/p0)^h + (1−p)((1−p1)/(1−p0))^h = 1
    by bisection; then P(fail) = (1 − e^{h·lower}) / (e^{h·upper} − e^{h·lower})."""

    def moment(h: float) -> float:
        up, down = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
        return p * math.exp(h * up) + (1 - p) * math.exp(h * down) - 1

    # The non-zero root lies on the side where the drift points away from.
    drift = p * math.log(p1 / p0) + (1 - p) * math.log((1 - p1) / (1 - p0))
    low, high = (-60.0, -1e-9) if drift > 0 else (1e-9, 60.0)
    for _ in range(200):
        middle = (low + high) / 2
        if (moment(low) > 0) == (moment(middle) > 0):
            low = middle
        else:
            high = middle
    h = (low + high) / 2
    a, b = judge.upper, judge.lower
    return (1 - math.exp(h * b)) / (math.exp(h * a) - math.exp(h * b))


def _second_moment(p0: float, p1: float, p: float) -> float:
    up, down = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    return p * up * up + (1 - p) * down * down


def _delta(last: Counts | None, now: Counts) -> tuple[float, float]:
    if last is None:
        return now.requests, now.errors
    requests = now.requests - last.requests
    errors = now.errors - last.errors
    if requests < 0 or errors < 0:  # the counter restarted: count from zero
        return now.requests, now.errors
    return requests, errors


def _rates(state: JudgeState) -> str:
    cand = _rate(state.candidate_errors, state.candidate_requests)
    stab = _rate(state.stable_errors, state.stable_requests)
    return (
        f"candidate {state.candidate_errors:.0f}/{state.candidate_requests:.0f} errors ({cand}), "
        f"stable {state.stable_errors:.0f}/{state.stable_requests:.0f} ({stab})"
    )


def _rate(errors: float, requests: float) -> str:
    return f"{100 * errors / requests:.2f}%" if requests else "no requests"
