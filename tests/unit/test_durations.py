from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relman.domain.durations import format_duration, parse_duration
from relman.errors import InvalidInput

MAX_SECONDS = timedelta.max.days * 86_400 + 86_399


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("90m", timedelta(minutes=90)),
        ("0s", timedelta(0)),
        ("  5s  ", timedelta(seconds=5)),
    ],
)
def test_a_number_with_a_unit_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["90", "10 minutes", "1.5h", "1H", "h", "", "   ", "10 m", "1y", "1h-30m", "٣s"],
)
def test_anything_but_numbers_with_units_is_refused_with_the_accepted_form(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration(text)
    assert f"Bad duration '{text}'" in caught.value.message
    assert "like 30s, 10m, 1h30m, 2d" in caught.value.message


def test_a_negative_duration_is_refused() -> None:
    with pytest.raises(InvalidInput, match="can't be negative"):
        parse_duration("-5m")


@pytest.mark.parametrize("text", ["30m1h", "1h1h", "5s 2m"])
def test_units_must_come_once_and_largest_first(text: str) -> None:
    with pytest.raises(InvalidInput, match="largest first"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["1000000000w", "9" * 40 + "s"])
def test_a_duration_too_long_to_hold_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="too long"):
        parse_duration(text)


def test_the_error_names_the_value_in_its_details() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_duration("soon")
    assert caught.value.details == {"value": "soon"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(days=14), "2w"),
        (timedelta(days=1, seconds=1), "1d1s"),
    ],
)
def test_formatting_gives_the_canonical_short_form(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


@pytest.mark.parametrize("value", [timedelta(seconds=-1), timedelta(milliseconds=1500)])
def test_only_whole_non_negative_seconds_can_be_formatted(value: timedelta) -> None:
    with pytest.raises(ValueError, match="whole, non-negative seconds"):
        format_duration(value)


@given(st.integers(min_value=0, max_value=MAX_SECONDS))
def test_formatting_then_parsing_gives_back_the_same_duration(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    text = format_duration(value)
    assert parse_duration(text) == value
    assert format_duration(parse_duration(text)) == text


@given(
    st.lists(st.integers(min_value=0, max_value=10_000), min_size=5, max_size=5),
    st.lists(st.booleans(), min_size=5, max_size=5),
    st.sampled_from(["", " ", "  "]),
)
def test_any_written_form_settles_on_one_canonical_form(
    counts: list[int], present: list[bool], gap: str
) -> None:
    parts = [f"{n}{unit}" for n, unit, keep in zip(counts, "wdhms", present, strict=True) if keep]
    text = gap.join(parts) or "0s"
    canonical = format_duration(parse_duration(text))
    assert format_duration(parse_duration(canonical)) == canonical
    assert parse_duration(canonical) == parse_duration(text)
