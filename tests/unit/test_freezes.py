"""Freeze windows: reading `freezes:` (what it refuses, where, and what it says), the windows a
rule gives around daylight-saving changes in two zones, both ways, one-off windows and their
edges, merging, and the rule expansion checked against python-dateutil."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from itertools import islice, takewhile
from typing import Any

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from relman.domain.checks import Issues
from relman.domain.freezes import (
    DEFAULT_SINCE,
    FreezeSpec,
    Window,
    active_freezes,
    freeze_from_dict,
    next_window,
    occurrences,
    parse_freeze,
    parse_freezes,
    window_at,
    windows_between,
)
from relman.errors import ConfigError, ConfigIssue

WEEKEND_RULE = "FREQ=WEEKLY;BYDAY=FR;BYHOUR=17;BYMINUTE=0"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekend(timezone: str = "Europe/Berlin") -> dict[str, Any]:
    return {
        "name": "weekend",
        "rrule": WEEKEND_RULE,
        "duration": "64h",
        "timezone": timezone,
        "environments": ["production"],
    }


def black_friday() -> dict[str, Any]:
    return {
        "name": "black-friday",
        "start": "2026-11-27T00:00",
        "end": "2026-12-01T00:00",
        "timezone": "America/New_York",
        "reason": "peak sales",
    }


def freeze(raw: dict[str, Any]) -> FreezeSpec:
    issues = Issues()
    spec = parse_freeze(raw, ("freezes", 0), issues)
    assert spec is not None, [str(issue) for issue in issues.found]
    assert not issues.found
    return spec


def recurring(rule: str, duration: str = "1h", **more: Any) -> FreezeSpec:
    return freeze({"name": "f", "rrule": rule, "duration": duration, **more})


def issues_of(raw: object) -> list[ConfigIssue]:
    issues = Issues()
    assert parse_freeze(raw, ("freezes", 0), issues) is None
    return issues.found


def the_issue(raw: object, *path: str | int) -> ConfigIssue:
    """The one issue reported, which must be at freezes[0] + `path`."""
    issues = issues_of(raw)
    assert [issue.path for issue in issues] == [("freezes", 0, *path)], [str(i) for i in issues]
    return issues[0]


def spans(windows: list[Window]) -> list[tuple[datetime, datetime]]:
    return [(window.start, window.end) for window in windows]


# --- reading ----------------------------------------------------------------------------------


def test_the_examples_of_the_issue_read_as_specs() -> None:
    assert freeze(weekend()) == FreezeSpec(
        name="weekend",
        timezone="Europe/Berlin",
        rrule=WEEKEND_RULE,
        duration=timedelta(hours=64),
        environments=("production",),
    )
    assert freeze(black_friday()) == FreezeSpec(
        name="black-friday",
        timezone="America/New_York",
        start=datetime(2026, 11, 27),
        end=datetime(2026, 12, 1),
        reason="peak sales",
    )


@pytest.mark.parametrize(
    "raw",
    [
        weekend(),
        black_friday(),
        {**weekend(), "since": "2026-01-02T17:00", "services": ["api"], "reason": "rest"},
        {"name": "sec", "start": "2026-01-01T00:00:30", "end": "2026-01-02"},
    ],
)
def test_a_spec_reads_back_from_its_dict(raw: dict[str, Any]) -> None:
    spec = freeze(raw)
    assert freeze_from_dict(spec.to_dict()) == spec


def test_the_dict_uses_the_files_syntax() -> None:
    assert freeze(weekend()).to_dict()["duration"] == "2d16h"
    assert freeze(black_friday()).to_dict()["start"] == "2026-11-27T00:00"


def test_times_a_yaml_loader_made_are_taken_as_local_times() -> None:
    spec = freeze(
        {"name": "x", "start": datetime(2026, 1, 1, 8), "end": datetime(2026, 1, 2).date()}
    )
    assert (spec.start, spec.end) == (datetime(2026, 1, 1, 8), datetime(2026, 1, 2))


def test_a_freeze_without_timezone_is_in_utc() -> None:
    spec = freeze({"name": "x", "start": "2026-01-01T10:00", "end": "2026-01-01T11:00"})
    assert spec.timezone == "UTC"
    assert window_at(spec, utc(2026, 1, 1, 10)) == Window(
        "x", utc(2026, 1, 1, 10), utc(2026, 1, 1, 11)
    )


@pytest.mark.parametrize(
    ("environments", "services", "environment", "service", "applies"),
    [
        ((), (), "dev", "api", True),
        (("production",), (), "production", "api", True),
        (("production",), (), "staging", "api", False),
        ((), ("api", "web"), "dev", "web", True),
        (("production",), ("api",), "production", "web", False),
    ],
)
def test_environments_and_services_scope_a_freeze(
    environments: tuple[str, ...],
    services: tuple[str, ...],
    environment: str,
    service: str,
    applies: bool,
) -> None:
    spec = FreezeSpec(name="x", environments=environments, services=services)
    assert spec.applies_to(environment, service) is applies


def test_the_list_reads_every_freeze_and_refuses_a_name_twice() -> None:
    issues = Issues()
    specs = parse_freezes([weekend(), black_friday(), weekend()], ("freezes",), issues)
    assert [spec.name for spec in specs] == ["weekend", "black-friday", "weekend"]
    assert [(issue.path, issue.message) for issue in issues.found] == [
        (("freezes", 2, "name"), "duplicate freeze name 'weekend' (first defined at freezes[0])")
    ]


def test_no_list_is_no_freezes_and_a_mapping_is_refused() -> None:
    issues = Issues()
    assert parse_freezes(None, ("freezes",), issues) == ()
    assert parse_freezes({"weekend": 1}, ("freezes",), issues) == ()
    assert [issue.path for issue in issues.found] == [("freezes",)]


# --- what reading refuses ---------------------------------------------------------------------

BAD_RULES = [
    ("FREQ=WEEKLY;BYDAY=FX", "BYDAY=FX: unknown weekday 'FX'", "MO, TU, WE, TH, FR, SA, SU;"),
    ("FREQ=WEEKLY;BYDAY=1FR", "BYDAY=1FR: a weekday with a number", "plain weekdays"),
    ("FREQ=MONTHLY;BYDAY=6FR", "'6FR': a month has 4 or 5 of each weekday", "1 to 5"),
    ("FREQ=HOURLY", "FREQ=HOURLY: HOURLY is not supported", "DAILY, WEEKLY, MONTHLY or YEARLY"),
    ("FREQ=FORTNIGHTLY", "unknown frequency 'FORTNIGHTLY'", "DAILY, WEEKLY"),
    ("BYDAY=FR", "FREQ is missing", "FREQ=DAILY"),
    ("FREQ=MONTHLY;BYSETPOS=-1", "BYSETPOS=-1: BYSETPOS is not supported", "only FREQ, INTERVAL"),
    ("FREQ=DAILY;BYHOUR=24", "BYHOUR=24: bad number '24'", "a whole number from 0 to 23"),
    ("FREQ=MONTHLY;BYMONTHDAY=0", "bad number '0'", "from -31 to 31 but not 0"),
    ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0: bad number '0'", "from 1 to 1000"),
    ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT and UNTIL both end the rule", "COUNT or UNTIL"),
    ("FREQ=DAILY;UNTIL=2027-01-01", "UNTIL=2027-01-01: bad time", "20261231T235959Z (UTC)"),
    ("FREQ=WEEKLY;BYMONTHDAY=1", "BYMONTHDAY=1: a WEEKLY rule picks days with BYDAY", "BYDAY"),
    ("FREQ=DAILY;FREQ=WEEKLY", "FREQ=WEEKLY: FREQ is given twice", "each part once"),
    ("FREQ=DAILY;COLOR=RED", "unknown rule part 'COLOR'", "only FREQ"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "the rule matches no time in the 50 years", "a rule"),
    ("FREQ=DAILY;UNTIL=19991231", "the rule matches no time", "a rule that matches"),
]


@pytest.mark.parametrize(("rule", "message", "expected"), BAD_RULES)
def test_a_bad_rule_is_refused_naming_its_part(rule: str, message: str, expected: str) -> None:
    issue = the_issue({"name": "x", "rrule": rule, "duration": "1h"}, "rrule")
    assert message in issue.message
    assert issue.expected is not None
    assert issue.expected.startswith(expected) or expected in issue.expected


def test_every_bad_part_of_a_rule_is_reported() -> None:
    issues = issues_of({"name": "x", "rrule": "FREQ=WEEKLY;BYDAY=FX;BYHOUR=25", "duration": "1h"})
    assert [issue.message.split(":")[0] for issue in issues] == ["BYDAY=FX", "BYHOUR=25"]


@pytest.mark.parametrize(
    ("change", "path", "message", "expected"),
    [
        (
            {"timezone": "Europe/Berln"},
            ("timezone",),
            "unknown time zone 'Europe/Berln' (did you mean 'Europe/Berlin'?)",
            "an IANA time zone like Europe/Berlin or UTC",
        ),
        ({"timezone": "utc"}, ("timezone",), "(did you mean 'UTC'?)", "an IANA time zone"),
        ({"timezone": 1}, ("timezone",), "got the number 1", "an IANA time zone"),
        ({"duration": None}, ("duration",), "required field 'duration' is missing", "30s"),
        ({"duration": "0s"}, ("duration",), "a window of 0s is out of range", "from 1s to 366d"),
        ({"duration": "2h-"}, ("duration",), "Bad duration '2h-'", "a duration like"),
        ({"start": "2026-01-01T00:00"}, (), "rrule or start and end, not both", "a freeze"),
        ({"rrule": None}, (), "needs rrule and duration, or start and end", "a freeze: a mapping"),
        ({"since": "2026-01-02 17:00+01:00"}, ("since",), "has a UTC offset", "a local time"),
        ({"since": "soon"}, ("since",), "bad time 'soon'", "a local time like 2026-11-27T17:00"),
        ({"color": "red"}, ("color",), "unknown field 'color'", "one of: name, rrule"),
        ({"name": "Weekend"}, ("name",), "bad freeze name 'Weekend'", "a freeze name"),
    ],
)
def test_a_bad_recurring_freeze_is_refused_with_the_fix(
    change: dict[str, Any], path: tuple[str, ...], message: str, expected: str
) -> None:
    issue = the_issue({**weekend(), **change}, *path)
    assert message in issue.message
    assert issue.expected is not None
    assert expected in issue.expected


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"end": "2026-11-27T00:00"}, ("end",), "end 2026-11-27T00:00 is not after start"),
        ({"end": None}, ("end",), "required field 'end' is missing"),
        ({"duration": "1h"}, ("duration",), "'duration' is for a recurring freeze"),
        ({"start": 20261127}, ("start",), "got the number 20261127"),
        ({"start": "1066-10-14"}, ("start",), "the year 1066 is out of range"),
        (
            # 02:30 does not exist on 2027-03-14 in New York: it is 03:30, after the end
            {"start": "2027-03-14T02:30", "end": "2027-03-14T03:10"},
            ("end",),
            "start 2027-03-14T02:30 is in a daylight-saving gap that moves it past end",
        ),
    ],
)
def test_a_bad_one_off_freeze_is_refused(
    change: dict[str, Any], path: tuple[str, ...], message: str
) -> None:
    assert message in the_issue({**black_friday(), **change}, *path).message


def test_a_dict_with_problems_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus'"):
        freeze_from_dict({**black_friday(), "timezone": "Mars/Olympus"})


# --- windows across daylight-saving changes ---------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "around", "expected"),
    [
        # Berlin, autumn: back from +2 to +1 on Sunday 2026-10-25; Monday 09:00 is 08:00Z
        (
            "Europe/Berlin",
            utc(2026, 10, 20),
            [
                (utc(2026, 10, 23, 15), utc(2026, 10, 26, 8)),
                (utc(2026, 10, 30, 16), utc(2026, 11, 2, 8)),
            ],
        ),
        # Berlin, spring: on from +1 to +2 on Sunday 2027-03-28; the window is 63h long
        (
            "Europe/Berlin",
            utc(2027, 3, 23),
            [
                (utc(2027, 3, 26, 16), utc(2027, 3, 29, 7)),
                (utc(2027, 4, 2, 15), utc(2027, 4, 5, 7)),
            ],
        ),
        # New York, autumn: back from -4 to -5 on Sunday 2026-11-01; the window is 65h long
        (
            "America/New_York",
            utc(2026, 10, 27),
            [
                (utc(2026, 10, 30, 21), utc(2026, 11, 2, 14)),
                (utc(2026, 11, 6, 22), utc(2026, 11, 9, 14)),
            ],
        ),
        # New York, spring: on from -5 to -4 on Sunday 2027-03-14
        (
            "America/New_York",
            utc(2027, 3, 9),
            [
                (utc(2027, 3, 12, 22), utc(2027, 3, 15, 13)),
                (utc(2027, 3, 19, 21), utc(2027, 3, 22, 13)),
            ],
        ),
    ],
)
def test_the_weekend_freeze_runs_friday_17_to_monday_9_local_across_clock_changes(
    timezone: str, around: datetime, expected: list[tuple[datetime, datetime]]
) -> None:
    spec = freeze(weekend(timezone))
    assert spans(windows_between(spec, around, around + timedelta(days=14))) == expected


def test_a_window_includes_its_start_and_excludes_its_end() -> None:
    spec = freeze(weekend())
    start, end = utc(2026, 10, 23, 15), utc(2026, 10, 26, 8)
    tick = timedelta(microseconds=1)
    assert window_at(spec, start - tick) is None
    assert window_at(spec, start) == Window("weekend", start, end)
    assert Window("weekend", start, end).contains(end - tick)
    assert not Window("weekend", start, end).contains(end)
    assert window_at(spec, end - tick) == Window("weekend", start, end)
    assert window_at(spec, end) is None


def test_the_next_window_starts_at_or_after_the_time_asked() -> None:
    spec = freeze(weekend())
    first = Window("weekend", utc(2026, 10, 23, 15), utc(2026, 10, 26, 8))
    assert next_window(spec, utc(2026, 10, 20)) == first
    assert next_window(spec, first.start) == first
    assert next_window(spec, first.start + timedelta(seconds=1)) == Window(
        "weekend", utc(2026, 10, 30, 16), utc(2026, 11, 2, 8)
    )


def test_the_black_friday_window_is_midnight_to_midnight_in_new_york() -> None:
    spec = freeze(black_friday())
    window = Window("black-friday", utc(2026, 11, 27, 5), utc(2026, 12, 1, 5))
    tick = timedelta(microseconds=1)
    assert window_at(spec, window.start - tick) is None
    assert window_at(spec, window.start) == window
    assert window_at(spec, window.end - tick) == window
    assert window_at(spec, window.end) is None
    assert next_window(spec, utc(2026, 1, 1)) == window
    assert next_window(spec, window.start + tick) is None
    assert windows_between(spec, utc(2026, 11, 30), utc(2027, 1, 1)) == [window]
    assert windows_between(spec, window.end, utc(2027, 1, 1)) == []


def test_a_time_in_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    spec = recurring("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", timezone="Europe/Berlin")
    # The rule's 02:30 on 2027-03-28 does not exist: the window starts at 03:30 local (+2)
    assert datetime(2027, 3, 28, 2, 30) in islice(occurrences(spec, datetime(2027, 3, 27)), 3)
    gap = windows_between(spec, utc(2027, 3, 28), utc(2027, 3, 28, 12))
    assert spans(gap) == [(utc(2027, 3, 28, 1, 30), utc(2027, 3, 28, 2, 30))]
    day_before = windows_between(spec, utc(2027, 3, 27), utc(2027, 3, 27, 12))
    assert spans(day_before) == [(utc(2027, 3, 27, 1, 30), utc(2027, 3, 27, 2, 30))]


def test_an_end_in_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    spec = recurring("FREQ=DAILY;BYHOUR=1;BYMINUTE=30", timezone="Europe/Berlin")
    # 01:30 + 1h is 02:30, which does not exist on 2027-03-28: the window ends at 03:30 (+2)
    window = window_at(spec, utc(2027, 3, 28, 1))
    assert window == Window("f", utc(2027, 3, 28, 0, 30), utc(2027, 3, 28, 1, 30))


def test_a_time_that_happens_twice_at_fall_back_means_the_first() -> None:
    # 01:30 happens twice on 2026-11-01 in New York; take 01:30 EDT (05:30Z)
    spec = recurring("FREQ=DAILY;BYHOUR=1;BYMINUTE=30", timezone="America/New_York")
    windows = windows_between(spec, utc(2026, 11, 1), utc(2026, 11, 1, 12))
    # and the wall-clock hour after it is 02:30 EST, two hours later
    assert spans(windows) == [(utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7, 30))]


def test_a_wall_clock_duration_is_longer_in_elapsed_time_across_fall_back() -> None:
    spec = recurring("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", timezone="Europe/Berlin")
    window = window_at(spec, utc(2026, 10, 25, 1))
    # 02:30 first happens at +2 (00:30Z); an hour later on the wall clock is 03:30 at +1
    assert window == Window("f", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 2, 30))


# --- rules ------------------------------------------------------------------------------------


def local_starts(spec: FreezeSpec, begin: datetime, count: int) -> list[datetime]:
    return list(islice(occurrences(spec, begin), count))


def test_a_monthly_rule_takes_the_last_friday_of_each_month() -> None:
    spec = recurring("FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=12", timezone="Europe/Berlin")
    assert local_starts(spec, datetime(2026, 1, 1), 4) == [
        datetime(2026, 1, 30, 12),
        datetime(2026, 2, 27, 12),
        datetime(2026, 3, 27, 12),
        datetime(2026, 4, 24, 12),
    ]
    assert next_window(spec, utc(2026, 3, 1)) == Window(
        "f", utc(2026, 3, 27, 11), utc(2026, 3, 27, 12)
    )


def test_every_second_week_counts_from_since() -> None:
    spec = recurring("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", since="2026-01-02T17:00")
    assert local_starts(spec, datetime(2026, 6, 1), 2) == [
        datetime(2026, 6, 5, 17),
        datetime(2026, 6, 19, 17),
    ]
    assert local_starts(spec, datetime(2025, 1, 1), 2) == [
        datetime(2026, 1, 2, 17),
        datetime(2026, 1, 16, 17),
    ]


def test_without_since_weeks_count_from_monday_2000_01_03() -> None:
    spec = recurring("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO")
    assert datetime(2000, 1, 3) == DEFAULT_SINCE
    assert local_starts(spec, datetime(2026, 1, 1), 2) == [
        datetime(2026, 1, 12),
        datetime(2026, 1, 26),
    ]


def test_count_counts_from_since_and_ends_the_freeze() -> None:
    spec = recurring("FREQ=DAILY;COUNT=3", since="2026-05-01T09:00")
    assert spans(windows_between(spec, utc(2026, 1, 1), utc(2027, 1, 1))) == [
        (utc(2026, 5, day, 9), utc(2026, 5, day, 10)) for day in (1, 2, 3)
    ]
    assert next_window(spec, utc(2026, 5, 3, 9, 1)) is None
    assert window_at(spec, utc(2026, 5, 4, 9, 30)) is None


@pytest.mark.parametrize(
    ("until", "days"),
    [
        ("20260503T090000", [1, 2, 3]),  # local, inclusive
        ("20260503T065959Z", [1, 2]),  # 09:00 in Berlin is 07:00Z in May
        ("20260503T070000Z", [1, 2, 3]),
        ("20260503", [1, 2]),  # a date: its midnight
    ],
)
def test_until_ends_the_rule_in_local_time_or_in_utc(until: str, days: list[int]) -> None:
    rule = f"FREQ=DAILY;BYHOUR=9;UNTIL={until}"
    spec = recurring(rule, since="2026-05-01T00:00", timezone="Europe/Berlin")
    assert local_starts(spec, datetime(2026, 1, 1), 10) == [datetime(2026, 5, d, 9) for d in days]


def test_a_rule_reads_in_any_case_with_an_rrule_prefix_and_wkst() -> None:
    spec = recurring("RRULE:freq=weekly;byday=sa,su;wkst=mo;byhour=0")
    assert local_starts(spec, datetime(2026, 7, 1), 2) == [
        datetime(2026, 7, 4),
        datetime(2026, 7, 5),
    ]


def test_a_daily_rule_far_from_since_is_expanded_from_near_the_time_asked() -> None:
    spec = recurring("FREQ=DAILY;BYHOUR=0,12", since="1900-01-01T00:00")
    started = time.perf_counter()
    for day in range(1, 29):
        assert window_at(spec, utc(2026, 2, day, 12, 30)) is not None
    assert time.perf_counter() - started < 0.5


# --- merging ----------------------------------------------------------------------------------


def test_overlapping_windows_merge_so_the_end_is_when_the_freeze_ends() -> None:
    spec = recurring("FREQ=DAILY;BYHOUR=9;COUNT=3", "25h", since="2026-05-01T00:00")
    merged = Window("f", utc(2026, 5, 1, 9), utc(2026, 5, 4, 10))
    assert window_at(spec, utc(2026, 5, 2, 12)) == merged
    assert window_at(spec, utc(2026, 5, 3, 9, 30)) == merged
    assert windows_between(spec, utc(2026, 1, 1), utc(2027, 1, 1)) == [merged]


def test_touching_windows_merge() -> None:
    spec = recurring("FREQ=DAILY;BYHOUR=9;COUNT=2", "24h", since="2026-05-01T00:00")
    assert window_at(spec, utc(2026, 5, 1, 12)) == Window(
        "f", utc(2026, 5, 1, 9), utc(2026, 5, 3, 9)
    )


def test_a_freeze_that_never_ends_is_cut_after_the_time_asked() -> None:
    spec = recurring("FREQ=DAILY;BYHOUR=9", "48h")
    now = utc(2026, 5, 1, 12)
    started = time.perf_counter()
    window = window_at(spec, now)
    assert window is not None
    assert window.start < now < window.end
    assert window.end - window.start > timedelta(days=365)
    assert time.perf_counter() - started < 1


def test_active_freezes_are_those_holding_now_for_the_service_and_environment() -> None:
    specs = [freeze(weekend()), freeze(black_friday())]
    now = utc(2026, 11, 27, 18)  # Black Friday, and Friday 19:00 in Berlin
    assert [w.name for w in active_freezes(specs, "production", "api", now)] == [
        "weekend",
        "black-friday",
    ]
    assert [w.name for w in active_freezes(specs, "staging", "api", now)] == ["black-friday"]
    assert active_freezes(specs, "production", "api", utc(2026, 11, 25)) == []


def test_queries_need_aware_times() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        window_at(freeze(weekend()), datetime(2026, 1, 1))


# --- the expansion agrees with python-dateutil ------------------------------------------------

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def _some(values: st.SearchStrategy[Any], most: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(values, min_size=0, max_size=most, unique=True)


@st.composite
def rules(draw: st.DrawFn) -> str:
    """Supported rules that match now and then (python-dateutil looks for a rule's next match up
    to the year 9999): no numbered weekday with BYMONTHDAY, no day 29 to 31 with BYMONTH."""
    frequency = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    weekday = st.sampled_from(WEEKDAYS)
    numbered = frequency == "MONTHLY" and draw(st.booleans())
    nth = st.sampled_from(["-2", "-1", "1", "2", "4", "5"])
    months = draw(_some(st.integers(1, 12), 3))
    last = 28 if months else 31
    monthdays = st.integers(1, last) | st.integers(-last, -1)
    parts = {
        "INTERVAL": [draw(st.integers(1, 4))],
        "BYDAY": draw(_some(st.tuples(nth, weekday).map("".join) if numbered else weekday, 3)),
        "BYMONTHDAY": [] if frequency == "WEEKLY" or numbered else draw(_some(monthdays, 2)),
        "BYMONTH": months,
        "BYHOUR": draw(_some(st.integers(0, 23), 2)),
        "BYMINUTE": draw(_some(st.integers(0, 59), 2)),
        "WKST": [draw(weekday)],
    }
    end = draw(st.sampled_from(["", "COUNT", "UNTIL"]))
    if end == "COUNT":
        parts["COUNT"] = [draw(st.integers(1, 30))]
    elif end == "UNTIL":
        until = datetime(2024, 1, 1) + timedelta(hours=draw(st.integers(0, 4 * 8760)))
        parts["UNTIL"] = [f"{until:%Y%m%dT%H%M%S}"]
    chosen = (f"{key}={','.join(map(str, values))}" for key, values in parts.items() if values)
    return ";".join([f"FREQ={frequency}", *chosen])


@settings(max_examples=150, deadline=None)
@given(
    rules(),
    # days 1 to 28: a rule without days takes the day of `since`, which every month has
    st.datetimes(datetime(2020, 1, 1), datetime(2027, 12, 31)).map(
        lambda d: d.replace(day=min(d.day, 28), second=0, microsecond=0)
    ),
    st.integers(0, 3000),
)
def test_occurrences_match_python_dateutil(rule: str, since: datetime, later: int) -> None:
    spec = FreezeSpec(name="p", rrule=rule, duration=timedelta(hours=1), since=since)
    begin = since + timedelta(days=later)
    end = begin + timedelta(days=400)
    found = list(islice(takewhile(lambda moment: moment <= end, occurrences(spec, begin)), 40))
    assert found == rrulestr(rule, dtstart=since).between(begin, end, inc=True)[:40]
