"""The builtin provider's query language, evaluated over samples in memory."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relman.metrics.builtin import (
    LOOKBACK,
    MemorySamples,
    Sample,
    evaluate,
    parse_query,
)
from relman.metrics.prometheus import MetricQueryError

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


@pytest.fixture
def samples() -> MemorySamples:
    """Two slots of a web service: cumulative requests by code, sampled every 10 seconds."""
    source = MemorySamples()
    for step, seconds in enumerate((30, 20, 10, 0)):
        for slot, ok, errors in (("blue", 100, 1), ("green", 50, 5)):
            labels = {"service": "web", "slot": slot}
            source.append("http_requests_total", ok * step, ago(seconds), code="200", **labels)
            source.append("http_requests_total", errors * step, ago(seconds), code="500", **labels)
    return source


def query(source: MemorySamples, text: str) -> float | list[float]:
    return evaluate(text, source, NOW)


def refusal(text: str, source: MemorySamples | None = None) -> MetricQueryError:
    with pytest.raises(MetricQueryError) as caught:
        evaluate(text, source or MemorySamples(), NOW)
    return caught.value


# --- selectors -----------------------------------------------------------------------------


def test_a_selector_gives_the_latest_value_of_each_series_ordered_by_labels(
    samples: MemorySamples,
) -> None:
    # Like Prometheus: label sets compared name by name, in the order of the names.
    assert query(samples, "http_requests_total") == [300.0, 150.0, 3.0, 15.0]


def test_one_matching_series_is_a_float(samples: MemorySamples) -> None:
    result = query(samples, 'http_requests_total{slot="green", code="500"}')
    assert result == 15.0
    assert isinstance(result, float)


def test_no_matching_series_is_an_empty_list(samples: MemorySamples) -> None:
    assert query(samples, 'http_requests_total{slot="purple"}') == []
    assert query(samples, "no_such_metric") == []


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        pytest.param('slot="green"', [150.0, 15.0], id="equal"),
        pytest.param('slot!="green"', [300.0, 3.0], id="not-equal"),
        pytest.param('code=~"5.."', [3.0, 15.0], id="regex"),
        pytest.param('code!~"5.."', [300.0, 150.0], id="not-regex"),
        pytest.param('code=~"5"', [], id="regex-is-anchored-at-both-ends"),
        pytest.param('code=~"00"', [], id="regex-does-not-search"),
        pytest.param('slot="green",code="500",', 15.0, id="trailing-comma"),
        pytest.param('region=""', [300.0, 150.0, 3.0, 15.0], id="a-missing-label-is-empty"),
        pytest.param('region!=""', [], id="a-missing-label-is-not-set"),
        pytest.param('slot=~"gr.*|bl.*", code="200"', [300.0, 150.0], id="alternatives"),
    ],
)
def test_label_matchers_work_like_promql(
    samples: MemorySamples, matchers: str, expected: float | list[float]
) -> None:
    assert query(samples, f"http_requests_total{{{matchers}}}") == expected


def test_braces_are_optional_and_may_be_empty(samples: MemorySamples) -> None:
    assert query(samples, "http_requests_total{}") == query(samples, "http_requests_total")


def test_strings_may_use_single_quotes_backticks_and_escapes() -> None:
    source = MemorySamples()
    source.append("m", 1, ago(1), path='/a"b')
    source.append("m", 2, ago(1), path="c\\d")
    assert query(source, "m{path='/a\"b'}") == 1.0
    assert query(source, 'm{path="/a\\"b"}') == 1.0
    assert query(source, "m{path=`c\\d`}") == 2.0
    assert query(source, 'm{path=~"c\\\\\\\\d"}') == 2.0


def test_a_series_is_its_name_and_its_full_label_set() -> None:
    source = MemorySamples()
    source.append("m", 1, ago(20), slot="green")
    source.append("m", 2, ago(10), slot="green", pod="a")
    assert query(source, 'm{slot="green"}') == [2.0, 1.0]  # {pod, slot} sorts first


def test_the_latest_sample_wins_and_a_later_post_wins_a_tie() -> None:
    source = MemorySamples()
    source.append("m", 1, ago(30))
    source.append("m", 2, ago(10))
    source.append("m", 3, ago(10))
    source.append("m", 9, NOW + timedelta(seconds=1))  # after `at`: not seen
    assert query(source, "m") == 3.0


def test_a_series_without_a_sample_in_the_lookback_is_stale() -> None:
    source = MemorySamples()
    source.append("m", 1, NOW - LOOKBACK, slot="old")
    source.append("m", 2, NOW - LOOKBACK + timedelta(seconds=1), slot="fresh")
    assert query(source, "m") == 2.0


def test_a_query_at_an_earlier_time_sees_the_samples_of_then(samples: MemorySamples) -> None:
    text = 'http_requests_total{slot="green", code="500"}'
    assert evaluate(text, samples, ago(15)) == 5.0


def test_evaluate_refuses_a_naive_time(samples: MemorySamples) -> None:
    with pytest.raises(ValueError, match="aware"):
        evaluate("m", samples, datetime(2026, 11, 30, 12, 0))


# --- rate and increase ---------------------------------------------------------------------


def test_increase_is_the_last_minus_the_first_sample_in_the_range(samples: MemorySamples) -> None:
    assert query(samples, 'increase(http_requests_total{slot="green", code="500"}[1m])') == 15.0
    # (NOW - 25s, NOW] holds the samples of 20s, 10s and 0s ago: 5, 10, 15.
    assert query(samples, 'increase(http_requests_total{slot="green", code="500"}[25s])') == 10.0


def test_rate_divides_the_increase_by_the_seconds_between_first_and_last_sample(
    samples: MemorySamples,
) -> None:
    assert query(samples, 'rate(http_requests_total{slot="blue", code="200"}[1m])') == 10.0
    assert query(samples, 'rate(http_requests_total{code="500"}[1m])') == [0.1, 0.5]


def test_a_counter_that_drops_restarted_from_zero() -> None:
    source = MemorySamples()
    for value, seconds in ((10, 40), (20, 30), (5, 20), (8, 10), (2, 0)):
        source.append("c", value, ago(seconds))
    # +10, restart to 5 (+5), +3, restart to 2 (+2)
    assert query(source, "increase(c[1m])") == 20.0
    assert query(source, "rate(c[1m])") == 0.5


def test_a_series_needs_two_samples_at_different_times_in_the_range() -> None:
    source = MemorySamples()
    source.append("c", 1, ago(50), slot="one")
    source.append("c", 5, ago(5), slot="two")
    source.append("c", 7, ago(5), slot="two")
    assert query(source, "increase(c[1m])") == []
    assert query(source, "rate(c[1m])") == []


@pytest.mark.parametrize(
    ("duration", "seconds"),
    [("500ms", 0.5), ("45s", 45), ("1m30s", 90), ("2h", 7200), ("1d", 86400)],
)
def test_ranges_take_promql_durations(duration: str, seconds: float) -> None:
    source = MemorySamples()
    source.append("c", 0, ago(seconds))  # just outside: the range is (at - d, at]
    source.append("c", 100, ago(seconds) + timedelta(milliseconds=1))
    source.append("c", 150, NOW)
    assert query(source, f"increase(c[{duration}])") == 50.0


# --- sum and arithmetic --------------------------------------------------------------------


def test_sum_adds_every_series_into_one_number(samples: MemorySamples) -> None:
    assert query(samples, "sum(http_requests_total)") == 468.0
    assert query(samples, 'sum(rate(http_requests_total{slot="green"}[1m]))') == 5.5


def test_the_sum_of_no_series_is_no_series(samples: MemorySamples) -> None:
    assert query(samples, 'sum(http_requests_total{slot="purple"})') == []


def test_an_error_ratio_of_the_canary_slot(samples: MemorySamples) -> None:
    text = """
        sum(rate(http_requests_total{service="web", slot="green", code=~"5.."}[1m]))
          /
        sum(rate(http_requests_total{service="web", slot="green"}[1m]))
    """
    assert query(samples, text) == pytest.approx(5 / 55)


def test_a_ratio_without_traffic_is_nan_so_the_analysis_calls_it_inconclusive() -> None:
    source = MemorySamples()
    for seconds in (20, 0):
        source.append("r", 7, ago(seconds), code="200")
        source.append("r", 0, ago(seconds), code="500")
    value = query(source, 'sum(rate(r{code="500"}[1m])) / sum(rate(r[1m]))')
    assert isinstance(value, float)
    assert math.isnan(value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),
        ("12 / 3 / 2", 2.0),
        ("-2 * -3", 6.0),
        ("- (1 + 1)", -2.0),
        ("+4", 4.0),
        ("1.5e2 / .5", 300.0),
        ("1 / 0", math.inf),
        ("-1 / 0", -math.inf),
        ("1 / -0", -math.inf),
    ],
)
def test_arithmetic_on_numbers(text: str, expected: float) -> None:
    assert query(MemorySamples(), text) == expected


def test_zero_divided_by_zero_is_nan() -> None:
    value = query(MemorySamples(), "0 / 0")
    assert isinstance(value, float)
    assert math.isnan(value)


def test_a_number_applies_to_each_series(samples: MemorySamples) -> None:
    assert query(samples, 'http_requests_total{code="500"} * 100') == [300.0, 1500.0]
    assert query(samples, '1000 - http_requests_total{code="500"}') == [997.0, 985.0]


def test_two_single_series_combine_whatever_their_labels(samples: MemorySamples) -> None:
    errors = 'http_requests_total{slot="green", code="500"}'
    total = 'sum(http_requests_total{slot="green"})'
    assert query(samples, f"{errors} / {total}") == pytest.approx(15 / 165)


def test_a_side_without_series_gives_no_series(samples: MemorySamples) -> None:
    assert query(samples, "sum(http_requests_total) / sum(nothing)") == []
    assert query(samples, "nothing * 2") == []


def test_several_series_on_both_sides_are_refused_naming_the_operator(
    samples: MemorySamples,
) -> None:
    error = refusal("http_requests_total / http_requests_total", samples)
    assert error.details["position"] == 20
    assert "4 series on the left, 4 on the right" in error.message
    assert "wrap them in sum()" in error.message


# --- what it refuses -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        pytest.param("sum(rate(x[1m])", 15, "')' to close sum(", id="unclosed-sum"),
        pytest.param("rate(x)", 6, "a range like [1m]", id="rate-without-range"),
        pytest.param("rate(x[5])", 7, "a duration", id="range-without-unit"),
        pytest.param("rate(x[0s])", 7, "a range above 0", id="empty-range"),
        pytest.param("rate(x[2d])", 7, "at most 24h", id="range-beyond-retention"),
        pytest.param("x[5m]", 1, "an operator or the end", id="bare-range"),
        pytest.param("avg(x)", 0, "one of the functions", id="unknown-function"),
        pytest.param("sum by (slot) (x)", 4, "'(' after sum", id="sum-by"),
        pytest.param("sum(x) by (slot)", 7, "an operator or the end", id="sum-by-after"),
        pytest.param("sum(1 + 2)", 0, "series inside sum()", id="sum-of-numbers"),
        pytest.param("x{slot=green}", 7, "a quoted string", id="unquoted-value"),
        pytest.param("x{slot~'a'}", 6, "an operator", id="bad-operator"),
        pytest.param("x{1slot='a'}", 2, "a label name", id="bad-label-name"),
        pytest.param("x{slot:a='b'}", 2, "a label name", id="colon-in-label-name"),
        pytest.param("x{slot='a' code='b'}", 11, "',' or '}'", id="missing-comma"),
        pytest.param("x{slot=~'('}", 8, "a valid regular expression", id="bad-regex"),
        pytest.param("x{slot='a", 7, "a string or an operator", id="unterminated-string"),
        pytest.param("x % 2", 2, "a string or an operator", id="unknown-operator"),
        pytest.param("x y", 2, "an operator (+ - * /) or the end", id="two-selectors"),
        pytest.param("(1 + 2", 6, "')'", id="unclosed-parenthesis"),
        pytest.param("", 0, "a number, a metric name", id="empty"),
        pytest.param("1 +", 3, "a number, a metric name", id="missing-operand"),
    ],
)
def test_a_bad_query_is_refused_with_its_position_and_what_was_expected(
    text: str, position: int, expected: str
) -> None:
    error = refusal(text)
    assert error.details["position"] == position
    assert expected in error.details["expected"]
    assert f"at position {position}" in error.message
    assert error.details["query"] == text


def test_the_message_shows_where_the_problem_is() -> None:
    error = refusal("sum(rate(x[1m])")
    assert error.message == (
        "Bad query at position 15 (after 'sum(rate(x[1m])', at the end): expected ')' to close "
        "sum( or an operator (+ - * /), found the end of the query"
    )


def test_deep_nesting_and_long_chains_are_refused_before_they_hurt() -> None:
    assert "levels of nesting" in refusal("(" * 60 + "1" + ")" * 60).details["expected"]
    assert "operators" in refusal("+".join(["1"] * 200)).details["expected"]
    assert "10001 characters long; at most 10000" in refusal("x" * 10_001).message


def test_a_huge_number_in_a_range_is_refused_not_crashed() -> None:
    assert "a range above 0" in refusal(f"rate(x[{'9' * 5000}s])").details["expected"]


@given(st.text(alphabet="abcsumrateincrease_:{}[]()\"=~!,+-*/ 0123456789.ms`'", max_size=40))
def test_any_text_parses_or_is_refused_with_a_position(text: str) -> None:
    position = None
    try:
        parse_query(text)
    except MetricQueryError as exc:
        position = exc.details["position"]
    assert position is None or 0 <= position <= len(text)


# --- the fake source -----------------------------------------------------------------------


def test_memory_samples_keep_the_source_contract() -> None:
    source = MemorySamples(
        [
            Sample("m", {}, 2, ago(10)),
            Sample("m", {}, 1, ago(20)),
            Sample("other", {}, 3, ago(10)),
            Sample("m", {}, 4, ago(60)),
        ]
    )
    chosen = list(source.samples("m", ago(60), NOW))
    assert [s.value for s in chosen] == [1, 2]
