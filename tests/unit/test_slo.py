"""SLOs: the `slos` section (what it refuses, where, and the fix), the error-budget and
burn-rate math against numbers worked out by hand, the gate's verdicts and reasons, and
measuring through a fake provider."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from relman.domain.checks import Issues
from relman.domain.delivery import ProviderSpec
from relman.domain.gates import Verdict
from relman.domain.slo import (
    BUILTIN_HISTORY,
    BurnRateLimit,
    SloSpec,
    SloStatus,
    WindowCounts,
    evaluate_slo,
    parse_slos,
    promql_duration,
    render,
    slo_from_dict,
)
from relman.errors import ConfigError, ConfigIssue
from relman.metrics.builtin import RETENTION
from relman.metrics.prometheus import MetricQueryError, MetricsUnavailable
from relman.metrics.slo import measure_slo
from relman.testing import FakeMetrics

GOOD = 'sum(increase(http_requests_total{code!~"5.."}[{window}]))'
TOTAL = "sum(increase(http_requests_total[{window}]))"
H1, H6, D28 = timedelta(hours=1), timedelta(hours=6), timedelta(days=28)


def raw_slo(**changes: Any) -> dict[str, Any]:
    """The example of the config contract as loaded data; `changes` replace its fields (None
    removes one)."""
    slo: dict[str, Any] = {
        "name": "checkout-availability",
        "provider": {"type": "prometheus", "address": "http://127.0.0.1:9090"},
        "objective": 99.9,
        "window": "28d",
        "good": GOOD,
        "total": TOTAL,
        "gate": {"min_budget_remaining": "10%", "max_burn_rate": {"1h": 14.4, "6h": 6}},
    }
    slo.update(changes)
    return {key: value for key, value in slo.items() if value is not None}


def gate(**changes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"min_budget_remaining": "10%", "max_burn_rate": {"1h": 14.4, "6h": 6}}
    found.update(changes)
    return {key: value for key, value in found.items() if value is not None}


def parsed(raw: object) -> tuple[tuple[SloSpec, ...], list[ConfigIssue]]:
    issues = Issues()
    slos = parse_slos(raw, ("slos",), issues)
    return slos, issues.found


def problems(*items: object) -> list[tuple[str, str]]:
    """(where, message) of each issue in `slos: [items]`."""
    return [(issue.field_name, issue.message) for issue in parsed(list(items))[1]]


SPEC = parsed([raw_slo()])[0][0]


# --- the config section -----------------------------------------------------------------------


def test_the_example_parses_to_a_spec_with_burn_windows_shortest_first() -> None:
    (spec,), found = parsed([raw_slo(gate=gate(max_burn_rate={"6h": 6, "1h": 14.4}))])
    assert found == []
    assert spec == SloSpec(
        name="checkout-availability",
        provider=ProviderSpec(type="prometheus", address="http://127.0.0.1:9090"),
        objective=99.9,
        window=D28,
        good=GOOD,
        total=TOTAL,
        min_budget_remaining=10.0,
        max_burn_rate=(BurnRateLimit(H1, "1h", 14.4), BurnRateLimit(H6, "6h", 6.0)),
    )
    assert spec.windows == (D28, H1, H6)


@pytest.mark.parametrize(
    ("written", "value"), [("10%", 10.0), (" 12.5 % ", 12.5), (10, 10.0), (0, 0.0), (2.5, 2.5)]
)
def test_a_percentage_is_a_number_or_text_with_a_percent_sign(
    written: object, value: float
) -> None:
    (spec,), found = parsed([raw_slo(gate=gate(min_budget_remaining=written))])
    assert found == []
    assert spec.min_budget_remaining == value


def test_the_objective_takes_a_percent_sign_too_and_the_gate_is_optional() -> None:
    (spec,), found = parsed([raw_slo(objective="99.5%", gate=None)])
    assert found == []
    assert (spec.objective, spec.min_budget_remaining, spec.max_burn_rate) == (99.5, None, ())
    assert spec.budget == pytest.approx(0.005)


def test_no_slos_section_is_no_slos() -> None:
    assert parsed(None) == ((), [])
    assert parsed([]) == ((), [])


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        ({"objective": 100}, "objective", "objective 100% leaves no error budget"),
        ({"objective": 0}, "objective", "objective 0% asks nothing"),
        ({"objective": "99.9"}, "objective", "got the text '99.9'; write a percentage as 10"),
        ({"objective": True}, "objective", "got true"),
        ({"objective": None}, "objective", "required field 'objective' is missing"),
        ({"window": None}, "window", "required field 'window' is missing"),
        ({"window": "28"}, "window", "Bad duration '28'"),
        ({"window": 28}, "window", "got the number 28; a duration needs a unit"),
        ({"window": "0s"}, "window", "a window of 0s holds no events"),
        ({"good": "sum(increase(x[28d]))"}, "good", "the good query has no {window}"),
        ({"total": "sum(x[{window}]) {service}"}, "total", "unknown placeholder {service}"),
        ({"total": "sum(x[{ window }])"}, "total", "unknown placeholder { window }"),
        ({"good": "  "}, "good", "the query is empty"),
        ({"good": None}, "good", "required field 'good' is missing"),
        ({"provider": None}, "provider", "required field 'provider' is missing"),
        ({"provider": {"type": "prometheus"}}, "provider.address", "required field 'address'"),
        ({"provider": {"type": "builtin"}}, "provider.type", "the builtin provider keeps the last"),
        ({"name": "Checkout"}, "name", "bad SLO name 'Checkout'"),
        ({"owner": "me"}, "owner", "unknown field 'owner'"),
        ({"gate": "strict"}, "gate", "got the text 'strict'"),
        ({"gate": gate(max_burn=1)}, "gate.max_burn", "did you mean 'max_burn_rate'?"),
    ],
)
def test_a_bad_slo_is_reported_at_its_field(
    changes: dict[str, Any], where: str, message: str
) -> None:
    found = problems(raw_slo(**changes))
    assert [issue[0] for issue in found] == [f"slos[0].{where}"]
    assert message in found[0][1]


@pytest.mark.parametrize(
    ("written", "where", "message"),
    [
        ({"min_budget_remaining": "10"}, "min_budget_remaining", "write a percentage as 10"),
        ({"min_budget_remaining": -5}, "min_budget_remaining", "-5% can't be negative"),
        ({"min_budget_remaining": "100%"}, "min_budget_remaining", "block at the first failed"),
        ({"max_burn_rate": {"1x": 14.4}}, "max_burn_rate.1x", "Bad duration '1x'"),
        ({"max_burn_rate": {"28d": 2}}, "max_burn_rate.28d", "not shorter than the SLO's window"),
        ({"max_burn_rate": {"0s": 2}}, "max_burn_rate.0s", "a window of 0s holds no events"),
        ({"max_burn_rate": {"1h": 0}}, "max_burn_rate.1h", "a burn rate limit of 0 blocks"),
        ({"max_burn_rate": {"1h": "fast"}}, "max_burn_rate.1h", "got the text 'fast'"),
        ({"max_burn_rate": {"1h": True}}, "max_burn_rate.1h", "got true"),
        ({"max_burn_rate": {"1h": 1000}}, "max_burn_rate.1h", "fastest burn (every request"),
        ({"max_burn_rate": {"1h": 14.4, "60m": 10}}, "max_burn_rate.60m", "same as '1h'"),
        ({"max_burn_rate": {}}, "max_burn_rate", "max_burn_rate is empty"),
        ({"max_burn_rate": [14.4]}, "max_burn_rate", "got a list"),
    ],
)
def test_a_bad_gate_is_reported_at_its_field(
    written: dict[str, Any], where: str, message: str
) -> None:
    found = problems(raw_slo(gate=gate(**written)))
    assert [issue[0] for issue in found] == [f"slos[0].gate.{where}"]
    assert message in found[0][1]


def test_a_burn_rate_the_objective_can_never_reach_says_the_fastest_there_is() -> None:
    issues = parsed([raw_slo(objective=90, gate=gate(max_burn_rate={"1h": 14.4}))])[1]
    assert [issue.message for issue in issues] == [
        "a burn rate of 14.4 can't be exceeded: with objective 90% the fastest burn (every "
        "request failing) is 10×"
    ]
    assert issues[0].expected == "a burn rate above 0 and below 10"


def test_every_problem_is_reported_in_one_run_with_the_fix() -> None:
    slos, issues = parsed(
        [
            raw_slo(objective=120, window="2x", good="up", gate=gate(min_budget_remaining="lots")),
            raw_slo(name="checkout-availability"),
            "checkout",
        ]
    )
    assert len(slos) == 3
    assert [(issue.field_name, issue.expected) for issue in issues] == [
        ("slos[0].window", "a duration like 30s, 10m, 1h30m, 2d"),
        ("slos[0].objective", "a percentage above 0 and below 100, like 99.9 or '99.9%'"),
        (
            "slos[0].gate.min_budget_remaining",
            "a percentage from 0 up to (not including) 100, like 10 or '10%'",
        ),
        (
            "slos[0].good",
            "a counter query with {window}, like 'sum(increase(http_requests_total[{window}]))'",
        ),
        (
            "slos[2]",
            "an SLO: a mapping with name, provider, objective, window, good, total and gate",
        ),
        ("slos[1].name", "a unique SLO name"),
    ]
    assert issues[-1].message == (
        "duplicate SLO name 'checkout-availability' (first defined at slos[0])"
    )


def test_slos_must_be_a_list() -> None:
    issues = parsed({"checkout": raw_slo()})[1]
    assert [(issue.field_name, issue.message) for issue in issues] == [("slos", "got a mapping")]


def test_the_builtin_provider_serves_windows_it_keeps_samples_for() -> None:
    assert BUILTIN_HISTORY == RETENTION
    builtin = raw_slo(provider={"type": "builtin"}, window="1d", gate=gate(max_burn_rate={"1h": 6}))
    (spec,), found = parsed([builtin])
    assert found == []
    assert spec.provider == ProviderSpec(type="builtin")


def test_the_server_copy_reads_back_to_an_equal_spec() -> None:
    written = SPEC.to_dict()
    assert json.loads(json.dumps(written)) == written
    assert written["window"] == "28d"
    assert written["gate"] == {"min_budget_remaining": 10.0, "max_burn_rate": {"1h": 14.4, "6h": 6}}
    assert written["provider"] == {
        "type": "prometheus",
        "address": "http://127.0.0.1:9090",
        "timeout": "10s",
    }
    assert slo_from_dict(written) == SPEC
    bare = slo_from_dict(raw_slo(gate=None, window="90m"))
    assert slo_from_dict(bare.to_dict()) == bare
    assert bare.to_dict()["window"] == "90m"


def test_bad_stored_data_is_a_config_error_at_the_slo() -> None:
    with pytest.raises(ConfigError) as caught:
        slo_from_dict(raw_slo(objective=101))
    assert [issue.field_name for issue in caught.value.issues] == [
        "slos.checkout-availability.objective"
    ]


# --- durations in PromQL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "promql"),
    [
        (D28, "28d"),
        (timedelta(weeks=1), "7d"),
        (H1, "1h"),
        (H6, "6h"),
        (timedelta(hours=36), "36h"),
        (timedelta(minutes=90), "90m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(days=1, seconds=1), "86401s"),
    ],
)
def test_a_window_is_written_in_the_largest_unit_that_divides_it(
    window: timedelta, promql: str
) -> None:
    assert promql_duration(window) == promql


def test_render_fills_every_window_placeholder() -> None:
    query = "sum(increase(a[{window}])) / sum(increase(b[{window}]))"
    assert render(query, timedelta(minutes=90)) == "sum(increase(a[90m])) / sum(increase(b[90m]))"
    assert SPEC.queries(H6) == (
        'sum(increase(http_requests_total{code!~"5.."}[6h]))',
        "sum(increase(http_requests_total[6h]))",
    )


@pytest.mark.parametrize("window", [timedelta(0), timedelta(milliseconds=1500), -H1])
def test_a_window_promql_cannot_write_is_refused(window: timedelta) -> None:
    with pytest.raises(ValueError, match="whole seconds > 0"):
        promql_duration(window)


# --- the math and the verdict -----------------------------------------------------------------


def status(
    slo: tuple[float | None, float | None] | None,
    h1: tuple[float | None, float | None] | None = (10_000, 10_000),
    h6: tuple[float | None, float | None] | None = (60_000, 60_000),
    spec: SloSpec = SPEC,
) -> SloStatus:
    """The status of `spec` from (good, total) over 28d, 1h and 6h; None leaves a window out."""
    given = {D28: slo, H1: h1, H6: h6}
    return evaluate_slo(
        spec, [WindowCounts(window, *counts) for window, counts in given.items() if counts]
    )


def test_a_budget_left_exactly_at_the_minimum_passes() -> None:
    # 900 bad of 1,000,000 is 0.09% of 0.1% allowed: 90% spent, 10% left (float: 9.99999999999)
    result = status((999_100, 1_000_000))
    assert result.error_ratio == pytest.approx(0.0009)
    assert result.budget_remaining == pytest.approx(10)
    assert result.verdict is Verdict.PASS
    assert result.reason == (
        "error budget 10% left (spent 90% of 0.1% errors allowed over 28d; the gate requires "
        "10%); burning 0× the sustainable rate over 1h (limit 14.4) and 0× over 6h (limit 6)"
    )


def test_a_budget_below_the_minimum_fails_saying_by_how_much() -> None:
    result = status((999_042, 1_000_000))  # 958 bad: 95.8% spent
    assert result.budget_remaining == pytest.approx(4.2)
    assert result.verdict is Verdict.FAIL
    assert result.reason == (
        "error budget 4.2% left, below the 10% the gate requires (spent 95.8% of 0.1% errors "
        "allowed over 28d)"
    )


def test_a_budget_just_below_the_minimum_does_not_read_as_at_it() -> None:
    result = status((999_099.6, 1_000_000))  # 900.4 bad: 90.04% spent, 9.96% left
    assert result.verdict is Verdict.FAIL
    assert result.reason.startswith("error budget 9.96% left, below the 10% the gate requires")


def test_an_over_spent_budget_is_negative() -> None:
    result = status((998_800, 1_000_000))  # 1,200 bad: 120% of the budget
    assert result.budget_remaining == pytest.approx(-20)
    assert result.verdict is Verdict.FAIL
    assert result.reason == (
        "error budget over-spent: -20% left, below the 10% the gate requires (spent 120% of "
        "0.1% errors allowed over 28d)"
    )


@pytest.mark.parametrize(
    ("counts", "missing"),
    [
        ((0, 0), "no traffic (total 0)"),
        ((None, None), "no series for the good and total queries"),
        ((5, None), "no series for the total query"),
        ((float("nan"), float("nan")), "good nan, total nan"),
        ((7, 5), "good 7 is more than total 5; the two queries do not count the same events"),
        ((-1, 5), "negative counts (good -1, total 5)"),
    ],
)
def test_no_usable_data_over_the_slo_window_is_pending_never_a_pass(
    counts: tuple[float | None, float | None], missing: str
) -> None:
    result = status(counts)
    assert result.verdict is Verdict.PENDING
    assert result.reason.startswith(f"no data over 28d: {missing}")
    assert result.reason.endswith("; the gate waits")
    assert (result.error_ratio, result.budget_remaining) == (None, None)


def test_a_window_left_out_counts_as_no_data() -> None:
    result = evaluate_slo(SPEC, [])
    assert result.verdict is Verdict.PENDING
    assert result.reason.startswith("no data over 28d: no series for the good and total")


def test_good_a_hair_above_total_from_float_sums_is_no_error() -> None:
    result = status((1_000_000 * (1 + 1e-12), 1_000_000))
    assert result.error_ratio == 0
    assert result.verdict is Verdict.PASS


def test_burning_over_every_window_fails_with_each_rate_and_limit() -> None:
    # 1h: 201 bad of 10,000 = 2.01% = 20.1× the 0.1% budget; 6h: 432 of 60,000 = 7.2×
    result = status((999_500, 1_000_000), h1=(9_799, 10_000), h6=(59_568, 60_000))
    assert [burn.rate for burn in result.burn_rates] == [pytest.approx(20.1), pytest.approx(7.2)]
    assert [burn.exceeded for burn in result.burn_rates] == [True, True]
    assert result.verdict is Verdict.FAIL
    assert result.reason == (
        "burning 20.1× the sustainable rate over 1h (limit 14.4) and 7.2× over 6h (limit 6)"
    )


def test_a_spike_that_stopped_is_over_the_long_window_only_and_passes() -> None:
    result = status((999_500, 1_000_000), h1=(10_000, 10_000), h6=(59_568, 60_000))
    assert result.verdict is Verdict.PASS
    assert result.reason.endswith(
        "burning 0× the sustainable rate over 1h (limit 14.4) and 7.2× over 6h (limit 6); only "
        "6h over the limit, and the gate blocks when every window is"
    )


def test_a_spike_that_just_began_is_over_the_short_window_only_and_passes() -> None:
    result = status((999_500, 1_000_000), h1=(9_799, 10_000), h6=(59_940, 60_000))
    assert [burn.exceeded for burn in result.burn_rates] == [True, False]
    assert result.verdict is Verdict.PASS


def test_a_burn_rate_exactly_at_its_limit_is_within_it() -> None:
    # 144 bad of 10,000 is 14.4× (float: 14.400000000000002); 36 of 6,000 is 6×
    result = status((999_500, 1_000_000), h1=(9_856, 10_000), h6=(5_964, 6_000))
    assert [burn.exceeded for burn in result.burn_rates] == [False, False]
    assert result.verdict is Verdict.PASS


def test_a_spent_budget_and_a_fast_burn_both_say_why() -> None:
    result = status((999_042, 1_000_000), h1=(9_799, 10_000), h6=(59_568, 60_000))
    assert result.verdict is Verdict.FAIL
    assert result.reason == (
        "error budget 4.2% left, below the 10% the gate requires (spent 95.8% of 0.1% errors "
        "allowed over 28d); burning 20.1× the sustainable rate over 1h (limit 14.4) and 7.2× "
        "over 6h (limit 6)"
    )


def test_a_burn_window_without_data_is_pending_when_the_verdict_hangs_on_it() -> None:
    result = status((999_500, 1_000_000), h1=(9_799, 10_000), h6=(0, 0))
    assert result.verdict is Verdict.PENDING
    assert result.reason == (
        "error budget 50% left (spent 50% of 0.1% errors allowed over 28d; the gate requires "
        "10%); burning 20.1× the sustainable rate over 1h (limit 14.4) but no data over 6h (no "
        "traffic (total 0)); the gate waits, as it blocks when every window burns over its limit"
    )


def test_a_burn_window_without_data_does_not_matter_when_another_is_under_its_limit() -> None:
    result = status((999_500, 1_000_000), h1=(10_000, 10_000), h6=None)
    assert result.verdict is Verdict.PASS
    assert result.burn_rates[1].rate is None


def test_a_spent_budget_fails_even_when_the_burn_rates_have_no_data() -> None:
    assert status((998_800, 1_000_000), h1=None, h6=None).verdict is Verdict.FAIL


def test_an_slo_without_limits_reports_its_budget_and_passes() -> None:
    bare = parsed([raw_slo(gate=None)])[0][0]
    result = status((998_800, 1_000_000), spec=bare)
    assert result.verdict is Verdict.PASS
    assert result.reason == "error budget -20% left (spent 120% of 0.1% errors allowed over 28d)"


def test_a_provider_problem_is_pending_whatever_was_measured() -> None:
    result = evaluate_slo(SPEC, [WindowCounts(D28, 999_500, 1e6)], problem="it is down")
    assert result.verdict is Verdict.PENDING
    assert result.reason == "can't measure the SLO: it is down"
    assert result.budget_remaining == pytest.approx(50)


def test_the_evidence_is_json_with_values_queries_and_windows() -> None:
    result = status((999_500, 1_000_000), h1=(9_799, 10_000), h6=(float("nan"), float("nan")))
    evidence = result.evidence()
    assert json.loads(json.dumps(evidence, allow_nan=False)) == evidence
    assert evidence["verdict"] == "pending"
    assert evidence["window"] == "28d"
    assert evidence["budget_remaining"] == pytest.approx(50)
    assert evidence["burn_rates"][0] == {
        "window": "1h",
        "rate": pytest.approx(20.1),
        "limit": 14.4,
        "exceeded": True,
        "missing": None,
    }
    assert evidence["burn_rates"][1]["rate"] is None
    assert evidence["measurements"][2] == {
        "window": "6h",
        "good": None,
        "total": None,
        "missing": "good nan, total nan",
        "queries": {
            "good": 'sum(increase(http_requests_total{code!~"5.."}[6h]))',
            "total": "sum(increase(http_requests_total[6h]))",
        },
    }


# --- measuring through a provider -------------------------------------------------------------


class Recorder:
    """A provider answering from a table of queries, keeping when each was asked for."""

    def __init__(self, answers: dict[str, float | list[float] | Exception]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, datetime | None]] = []

    def query(self, text: str, at: datetime | None = None) -> float | list[float]:
        self.asked.append((text, at))
        answer = self.answers[text]
        if isinstance(answer, Exception):
            raise answer
        return answer


def answers(**windows: tuple[float | list[float], float | list[float]]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for window, (good, total) in windows.items():
        good_query, total_query = SPEC.queries({"w28d": D28, "h1": H1, "h6": H6}[window])
        table.update({good_query: good, total_query: total})
    return table


def test_measuring_asks_each_window_at_one_instant_and_sums_several_series() -> None:
    provider = Recorder(
        answers(w28d=([600_000, 399_500], 1_000_000), h1=([9_000, 799], [9_000, 1_000]), h6=(1, 1))
    )
    at = datetime(2030, 1, 1, tzinfo=UTC)
    result = measure_slo(SPEC, provider, at=at)
    assert [text for text, _ in provider.asked] == [
        *SPEC.queries(D28),
        *SPEC.queries(H1),
        *SPEC.queries(H6),
    ]
    assert {when for _, when in provider.asked} == {at}
    assert result.budget_remaining == pytest.approx(50)
    assert result.burn_rates[0].rate == pytest.approx(20.1)
    assert result.verdict is Verdict.PASS  # 6h burns 0×


def test_without_a_time_every_query_is_asked_at_the_same_now() -> None:
    provider = Recorder(answers(w28d=(1.0, 1.0), h1=(1.0, 1.0), h6=(1.0, 1.0)))
    before = datetime.now(UTC)
    measure_slo(SPEC, provider)
    times = {when for _, when in provider.asked}
    assert len(times) == 1
    (when,) = times
    assert when is not None
    assert before <= when <= datetime.now(UTC)


def test_an_empty_vector_is_no_data() -> None:
    metrics = FakeMetrics(lambda query: [])
    result = measure_slo(SPEC, metrics)
    assert result.verdict is Verdict.PENDING
    assert result.reason == (
        "no data over 28d: no series for the good and total queries; the gate waits"
    )
    assert len(metrics.queries) == 6


@pytest.mark.parametrize(
    "error",
    [
        MetricsUnavailable("Prometheus at http://127.0.0.1:9090 is unavailable after 3 attempts"),
        MetricQueryError("Prometheus refused the query 'sum(': parse error"),
    ],
)
def test_a_failing_provider_makes_the_gate_pending_with_its_message(error: Exception) -> None:
    table = answers(w28d=(999_500, 1_000_000), h1=(1.0, 1.0), h6=(1.0, 1.0))
    table[SPEC.queries(H1)[1]] = error
    provider = Recorder(table)
    result = measure_slo(SPEC, provider)
    assert result.verdict is Verdict.PENDING
    assert result.reason == f"can't measure the SLO: {error}"
    assert len(provider.asked) == 4  # it stops at the failure
    assert [counts.window for counts in result.measured] == [D28]
