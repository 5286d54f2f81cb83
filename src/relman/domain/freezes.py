"""Freeze windows: when releases must wait, from the `freezes:` list of relman.yaml.

    freezes:
      - {name: weekend, rrule: "FREQ=WEEKLY;BYDAY=FR;BYHOUR=17;BYMINUTE=0", duration: 64h,
         timezone: Europe/Berlin, environments: [production]}
      - {name: black-friday, start: "2026-11-27T00:00", end: "2026-12-01T00:00",
         timezone: America/New_York}

A freeze is recurring (`rrule` and `duration`, optionally `since`) or one-off (`start` and
`end`). `timezone` is an IANA name (default UTC); `environments` and `services` scope it (left out
or empty: all); `reason` says why.

Rules. `rrule` is an RFC 5545 recurrence rule made of FREQ (DAILY, WEEKLY, MONTHLY or YEARLY),
INTERVAL, BYDAY (MO..SU; with MONTHLY also the nth of the month, 1MO..5MO and -1MO..-5MO),
BYMONTHDAY (1..31, -31..-1 from the month's end), BYMONTH, BYHOUR, BYMINUTE, COUNT, UNTIL
(20261231T235959Z in UTC, 20261231T235959 local, or 20261231) and WKST. Other parts (BYSETPOS,
BYSECOND, BYWEEKNO, BYYEARDAY, ...) and the HOURLY, MINUTELY and SECONDLY frequencies are refused.
Parts combine as in RFC 5545 and python-dateutil: BYDAY, BYMONTHDAY and BYMONTH narrow the days
of each period (BYDAY's weekdays are alternatives, also when plain and numbered ones are mixed,
where python-dateutil wants both); BYHOUR x BYMINUTE give the times of each day. INTERVAL goes up
to 1000, COUNT to 10000; a recurring window lasts from 1s to 366d.

The series starts at `since`, the rule's DTSTART: a local time, by default 2000-01-03T00:00 (a
Monday). INTERVAL and COUNT count from it, and it fills what the rule leaves out: the hour and
minute, a WEEKLY rule's weekday, a MONTHLY rule's day of the month, a YEARLY rule's day and month.
As in python-dateutil, `since` is an occurrence only when the rule matches it.

Time. Occurrences are wall-clock times in `timezone`, and a window lasts `duration` on the wall
clock: a 64h freeze from Friday 17:00 ends Monday 09:00 local even when the clocks change in
between (it is then an hour shorter or longer in elapsed time). A local time that does not exist
(in the spring-forward gap) moves forward by the gap, 02:30 becoming 03:30; one that happens twice
(the autumn fall-back) means the first of the two; this is zoneinfo's reading with fold=0. A window
whose start moved forward ends `duration` after the moved start. One-off `start` and `end` are
read the same way. Local times are between the years 1900 and 7000.

Queries take aware datetimes and return `Window`s in UTC, start included, end excluded. Windows
that overlap or touch are merged, so a window's end is when the freeze really ends; a run of more
than 1,000 windows (a freeze that never ends) is cut into pieces after the queried time. A rule
with no occurrence for 50 years is taken to have ended.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice, takewhile
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from relman.domain import checks
from relman.domain.checks import DURATION_EXPECTED, Issues, Path
from relman.domain.durations import format_duration
from relman.domain.names import closest_name
from relman.errors import ConfigError

__all__ = [
    "DEFAULT_SINCE",
    "FreezeSpec",
    "Window",
    "active_freezes",
    "freeze_from_dict",
    "next_window",
    "occurrences",
    "parse_freeze",
    "parse_freezes",
    "window_at",
    "windows_between",
]

DEFAULT_SINCE = datetime(2000, 1, 3)  # a Monday, local midnight
_SUPPORTED = "FREQ, INTERVAL, BYDAY, BYMONTHDAY, BYMONTH, BYHOUR, BYMINUTE, COUNT, UNTIL, WKST"
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_NUMBERS = {"INTERVAL": (1, 1000), "COUNT": (1, 10_000)}
_LISTS = {"BYMONTHDAY": (-31, 31), "BYMONTH": (1, 12), "BYHOUR": (0, 23), "BYMINUTE": (0, 59)}
_WEEKDAY = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)", re.ASCII)
_UNTIL = re.compile(r"([0-9]{8})(?:T([0-9]{6})(Z?))?", re.ASCII)
_FIELDS = (
    *("name", "rrule", "duration", "since", "start", "end"),
    *("timezone", "environments", "services", "reason"),
)
_FREEZE_EXPECTED = "a freeze: a mapping with name and either rrule and duration or start and end"
_RULE_EXPECTED = f"a rule like FREQ=WEEKLY;BYDAY=FR;BYHOUR=17 made of {_SUPPORTED}"
_WEEKDAY_EXPECTED = "MO, TU, WE, TH, FR, SA, SU; with FREQ=MONTHLY also 1MO or -1FR"
_ZONE_EXPECTED = "an IANA time zone like Europe/Berlin or UTC"
_LOCAL_EXPECTED = "a local time like 2026-11-27T17:00, without a UTC offset: timezone gives it"
_LONGEST = timedelta(days=366)  # the longest window of a recurring freeze
_GIVE_UP = timedelta(days=50 * 366)  # a rule with no occurrence for this long has ended
_LAST = datetime(8000, 1, 1)  # expansion stops here, far from datetime's limits
_SLACK = timedelta(days=1)  # more than any daylight-saving shift
_MAX_JOINED = 1_000


@dataclass(frozen=True, slots=True)
class FreezeSpec:
    """A freeze as configured. `since`, `start` and `end` are naive wall-clock times in
    `timezone`; a recurring freeze has `rrule` and `duration`, a one-off one `start` and `end`."""

    name: str
    timezone: str = "UTC"
    rrule: str | None = None
    duration: timedelta | None = None
    since: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None
    environments: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    reason: str | None = None

    def applies_to(self, environment: str, service: str) -> bool:
        """Whether the freeze holds deployments of `service` to `environment`."""
        return (not self.environments or environment in self.environments) and (
            not self.services or service in self.services
        )

    def to_dict(self) -> dict[str, Any]:
        """The freeze in the file's syntax; `freeze_from_dict` reads it back."""
        return {
            "name": self.name,
            "timezone": self.timezone,
            "rrule": self.rrule,
            "duration": None if self.duration is None else format_duration(self.duration),
            "since": _iso(self.since),
            "start": _iso(self.start),
            "end": _iso(self.end),
            "environments": list(self.environments),
            "services": list(self.services),
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Window:
    """When freeze `name` holds: from `start` (included) to `end` (excluded), aware, in UTC."""

    name: str
    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class _Rule:
    frequency: str
    interval: int = 1
    weekdays: tuple[tuple[int, int], ...] = ()  # (nth of the month, or 0 for every; 0 is MO)
    monthdays: tuple[int, ...] = ()
    months: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    minutes: tuple[int, ...] = ()
    count: int | None = None
    until: datetime | None = None  # aware when given in UTC, else local
    week_start: int = 0


class _BadPart(Exception):
    def __init__(self, problem: str, expected: str) -> None:
        super().__init__(problem)
        self.problem, self.expected = problem, expected


# --- reading the config -----------------------------------------------------------------------


def parse_freezes(raw: object, path: Path, issues: Issues) -> tuple[FreezeSpec, ...]:
    """The `freezes:` list at `path` (None: no freezes); the freezes read without a problem."""
    if raw is None:
        return ()
    items = checks.list_of(raw, path, issues, "a list of freezes") or []
    read = [_read_freeze(item, (*path, index), issues) for index, item in enumerate(items)]
    checks.check_unique([name for name, _ in read], "freeze", path, issues)
    return tuple(spec for _, spec in read if spec is not None)


def parse_freeze(raw: object, path: Path, issues: Issues) -> FreezeSpec | None:
    """One freeze; None when it has a problem (reported to `issues`)."""
    return _read_freeze(raw, path, issues)[1]


def freeze_from_dict(data: object) -> FreezeSpec:
    """A freeze from `FreezeSpec.to_dict`'s form; ConfigError listing what is wrong."""
    issues = Issues()
    spec = parse_freeze(data, (), issues)
    if spec is None:
        raise ConfigError(issues.found)
    return spec


def _read_freeze(raw: object, path: Path, issues: Issues) -> tuple[str, FreezeSpec | None]:
    before = len(issues.found)
    found = checks.fields(raw, path, issues, _FREEZE_EXPECTED, _FIELDS)
    if found is None:
        return "", None
    zone = _zone(found, path, issues)
    since = _local_time(found, "since", path, issues)
    spec = FreezeSpec(
        name=checks.required_name(found, path, issues, "freeze"),
        timezone=zone.key if zone else "",
        rrule=_rule_text(found, path, issues, zone, since),
        duration=checks.optional_duration(found, "duration", path, issues),
        since=since,
        start=_local_time(found, "start", path, issues),
        end=_local_time(found, "end", path, issues),
        environments=checks.string_list(found, "environments", path, issues),
        services=checks.string_list(found, "services", path, issues),
        reason=checks.optional_string(found, "reason", path, issues),
    )
    _check_shape(found, spec, path, issues)
    return spec.name, spec if len(issues.found) == before else None


def _zone(found: Mapping[str, Any], path: Path, issues: Issues) -> ZoneInfo | None:
    raw = found.get("timezone")
    if raw is None:
        return ZoneInfo("UTC")
    name = checks.string(raw, (*path, "timezone"), issues, _ZONE_EXPECTED)
    if not isinstance(raw, str):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        known = sorted(available_timezones())
        guess = {key.lower(): key for key in known}.get(name.lower()) or closest_name(name, known)
        meant = f" (did you mean '{guess}'?)" if guess else ""
        issues.add((*path, "timezone"), f"unknown time zone '{name}'{meant}", _ZONE_EXPECTED)
        return None


def _local_time(found: Mapping[str, Any], key: str, path: Path, issues: Issues) -> datetime | None:
    """A wall-clock time: text in ISO 8601 form, or the date or time a YAML loader made of it."""
    raw, here = found.get(key), (*path, key)
    if raw is None:
        return None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        raw = datetime.combine(raw, time())
    try:
        value = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        shown = f"bad time '{raw}'" if isinstance(raw, str) else f"got {checks.describe(raw)}"
        issues.add(here, shown, _LOCAL_EXPECTED)
        return None
    if value.tzinfo is not None:
        issues.add(
            here, f"'{raw}' has a UTC offset; the freeze's timezone says it", _LOCAL_EXPECTED
        )
    elif not 1900 <= value.year <= 7000:
        issues.add(here, f"the year {value.year} is out of range", "a year from 1900 to 7000")
    else:
        return value
    return None


def _rule_text(
    found: Mapping[str, Any],
    path: Path,
    issues: Issues,
    zone: ZoneInfo | None,
    since: datetime | None,
) -> str | None:
    raw, here = found.get("rrule"), (*path, "rrule")
    if raw is None:
        return None
    text = checks.string(raw, here, issues, _RULE_EXPECTED)
    rule = _read_rule(text, here, issues) if text else None
    start = (since or DEFAULT_SINCE).replace(microsecond=0)
    if rule and zone and next(_expand(rule, start, zone, start), None) is None:
        message = f"the rule matches no time in the 50 years from {_iso(start)}"
        issues.add(here, message, "a rule that matches, e.g. days that exist in its months")
    return text


def _check_shape(found: Mapping[str, Any], spec: FreezeSpec, path: Path, issues: Issues) -> None:
    """Recurring or one-off, with what each needs and nothing of the other."""
    given = {
        key for key in ("rrule", "duration", "since", "start", "end") if found.get(key) is not None
    }
    if "rrule" in given and given & {"start", "end"}:
        issues.add(path, "a freeze has rrule or start and end, not both", _FREEZE_EXPECTED)
    elif "rrule" in given:
        if "duration" not in given:
            message = "required field 'duration' is missing; how long does each window last?"
            issues.add((*path, "duration"), message, DURATION_EXPECTED)
        elif spec.duration is not None and not timedelta(0) < spec.duration <= _LONGEST:
            message = f"a window of {format_duration(spec.duration)} is out of range"
            issues.add((*path, "duration"), message, "a duration from 1s to 366d")
    elif given & {"start", "end"}:
        for key in sorted(given & {"duration", "since"}):
            message = f"'{key}' is for a recurring freeze (with rrule); leave it out"
            issues.add((*path, key), message, "start and end only, for a one-off freeze")
        for key in ("start", "end"):
            if key not in given:
                issues.add((*path, key), f"required field '{key}' is missing", _LOCAL_EXPECTED)
        _check_order(spec, path, issues)
    else:
        issues.add(path, "a freeze needs rrule and duration, or start and end", _FREEZE_EXPECTED)


def _check_order(spec: FreezeSpec, path: Path, issues: Issues) -> None:
    if spec.start is None or spec.end is None or not spec.timezone:
        return
    expected, window = "an end later than start", _one_off(spec)
    if spec.end <= spec.start:
        issues.add((*path, "end"), f"end {_iso(spec.end)} is not after start", expected)
    elif window.end <= window.start:
        message = f"start {_iso(spec.start)} is in a daylight-saving gap that moves it past end"
        issues.add((*path, "end"), message, expected)


# --- reading a rule ---------------------------------------------------------------------------


def _read_rule(text: str, path: Path, issues: Issues) -> _Rule | None:
    """The rule in `text`, or None after reporting each bad part."""
    before = len(issues.found)
    parts: dict[str, str] = {}  # each part as written, by key
    values: dict[str, Any] = {}
    for part in filter(None, (item.strip() for item in text.upper().split(";"))):
        key, _, value = part.removeprefix("RRULE:").partition("=")
        try:
            if key in parts:
                raise _BadPart(f"{key} is given twice", "each part once")
            parts[key] = part
            values[key] = _read_part(key, value.strip())
        except _BadPart as bad:
            issues.add(path, f"{part}: {bad.problem}", bad.expected)
    frequency = values.get("FREQ")
    if "FREQ" not in parts:
        issues.add(path, "FREQ is missing", "FREQ=DAILY, WEEKLY, MONTHLY or YEARLY")
    if "COUNT" in values and "UNTIL" in values:
        issues.add(path, "COUNT and UNTIL both end the rule", "COUNT or UNTIL, not both")
    if frequency != "MONTHLY" and any(nth for nth, _ in values.get("BYDAY", ())):
        problem = "a weekday with a number (1MO, -1FR) needs FREQ=MONTHLY"
        issues.add(path, f"{parts['BYDAY']}: {problem}", "plain weekdays like MO, FR")
    if frequency == "WEEKLY" and "BYMONTHDAY" in values:
        message = f"{parts['BYMONTHDAY']}: a WEEKLY rule picks days with BYDAY"
        issues.add(path, message, "BYDAY, or FREQ=MONTHLY with BYMONTHDAY")
    if len(issues.found) > before or frequency is None:
        return None
    names = {"BYDAY": "weekdays", "BYMONTHDAY": "monthdays", "BYMONTH": "months"}
    names |= {"BYHOUR": "hours", "BYMINUTE": "minutes", "WKST": "week_start"}
    names |= {key: key.lower() for key in ("INTERVAL", "COUNT", "UNTIL")}
    return _Rule(frequency, **{names[key]: value for key, value in values.items() if key in names})


def _read_part(key: str, value: str) -> Any:
    if key == "FREQ":
        if value in _FREQUENCIES:
            return value
        if value in ("HOURLY", "MINUTELY", "SECONDLY"):
            expected = "DAILY, WEEKLY, MONTHLY or YEARLY; for several times a day, BYHOUR"
            raise _BadPart(f"{value} is not supported; windows repeat at most daily", expected)
        raise _BadPart(f"unknown frequency '{value}'", "DAILY, WEEKLY, MONTHLY or YEARLY")
    if key in _NUMBERS:
        return _number(value, *_NUMBERS[key])
    if key in _LISTS:
        return tuple(sorted({_number(item, *_LISTS[key]) for item in value.split(",")}))
    if key == "BYDAY":
        return tuple(sorted({_weekday(item) for item in value.split(",")}))
    if key == "WKST":
        if value not in _WEEKDAYS:
            raise _BadPart(f"unknown weekday '{value}'", ", ".join(_WEEKDAYS))
        return _WEEKDAYS.index(value)
    if key == "UNTIL":
        return _until(value)
    known = key in ("BYSETPOS", "BYSECOND", "BYWEEKNO", "BYYEARDAY", "DTSTART")
    problem = f"{key} is not supported" if known else f"unknown rule part '{key}'"
    raise _BadPart(problem, f"only {_SUPPORTED}")


def _number(text: str, low: int, high: int) -> int:
    """A whole number from `low` to `high`; 0 is refused where negative numbers count back."""
    number = int(text) if re.fullmatch(r"[+-]?[0-9]{1,5}", text, re.ASCII) else None
    if number is None or not low <= number <= high or (number == 0 and low < 0):
        but = " but not 0" if low < 0 else ""
        raise _BadPart(f"bad number '{text}'", f"a whole number from {low} to {high}{but}")
    return number


def _weekday(text: str) -> tuple[int, int]:
    found = _WEEKDAY.fullmatch(text)
    if found is None:
        raise _BadPart(f"unknown weekday '{text}'", _WEEKDAY_EXPECTED)
    nth = int(found[1] or 0)
    if found[1] and not (1 <= abs(nth) <= 5):
        raise _BadPart(f"'{text}': a month has 4 or 5 of each weekday", "1 to 5 or -1 to -5")
    return nth, _WEEKDAYS.index(found[2])


def _until(text: str) -> datetime:
    found = _UNTIL.fullmatch(text)
    try:
        if found is None:
            raise ValueError(text)
        moment = datetime.strptime(found[1] + (found[2] or "000000"), "%Y%m%d%H%M%S")
    except ValueError:
        expected = "20261231T235959Z (UTC), 20261231T235959 (local time) or 20261231"
        raise _BadPart(f"bad time '{text}'", expected) from None
    return moment.replace(tzinfo=UTC) if found[3] else moment


@lru_cache(maxsize=256)
def _compiled(text: str) -> _Rule:
    issues = Issues()
    rule = _read_rule(text, ("rrule",), issues)
    if rule is None:
        raise ValueError(f"Bad rrule '{text}': " + "; ".join(map(str, issues.found)))
    return rule


# --- expanding a rule -------------------------------------------------------------------------


def occurrences(spec: FreezeSpec, begin: datetime) -> Iterator[datetime]:
    """The starts of a recurring freeze's windows from naive local `begin` on, in order, as the
    rule gives them: naive wall-clock times in the freeze's zone, gaps and folds not resolved."""
    if spec.rrule is None:
        raise ValueError(f"Freeze '{spec.name}' is one-off: it has no rrule")
    if begin.tzinfo is not None:
        raise ValueError(f"occurrences() takes a naive local time, got {begin.isoformat()}")
    since = (spec.since or DEFAULT_SINCE).replace(microsecond=0)
    return _expand(_compiled(spec.rrule), since, ZoneInfo(spec.timezone), begin)


def _expand(rule: _Rule, since: datetime, zone: ZoneInfo, begin: datetime) -> Iterator[datetime]:
    rule = _with_defaults(rule, since)
    times = sorted(
        {time(hour, minute, since.second) for hour in rule.hours for minute in rule.minutes}
    )
    # Without COUNT, start from the period holding `begin`; COUNT counts from `since`.
    index = 0 if rule.count else _period_index(rule, since.date(), begin.date())
    counted, give_up = 0, _later(max(begin, since))
    while True:
        days = _period_days(rule, since.date(), index)
        if days[0] > give_up.date():
            return
        for moment in _candidates(rule, days, times, since):
            counted += 1
            if _past_until(rule, moment, zone) or (rule.count and counted > rule.count):
                return
            if moment >= begin:
                give_up = _later(moment)
                yield moment
        index += 1


def _candidates(
    rule: _Rule, days: Sequence[date], times: Sequence[time], since: datetime
) -> Iterator[datetime]:
    """The times of a period that the rule matches, from `since` on."""
    for day in days:
        if _matches(rule, day):
            moments = (datetime.combine(day, at) for at in times)
            yield from (moment for moment in moments if moment >= since)


def _with_defaults(rule: _Rule, since: datetime) -> _Rule:
    """The rule with what it leaves out taken from `since`, as RFC 5545 takes it from DTSTART."""
    weekdays, monthdays, months = rule.weekdays, rule.monthdays, rule.months
    if not weekdays and not monthdays:
        if rule.frequency == "WEEKLY":
            weekdays = ((0, since.weekday()),)
        elif rule.frequency in ("MONTHLY", "YEARLY"):
            monthdays = (since.day,)
        if rule.frequency == "YEARLY":
            months = months or (since.month,)
    hours, minutes = rule.hours or (since.hour,), rule.minutes or (since.minute,)
    return replace(
        rule, weekdays=weekdays, monthdays=monthdays, months=months, hours=hours, minutes=minutes
    )


def _period_index(rule: _Rule, first: date, day: date) -> int:
    """The period, counted in INTERVALs from the one holding `first`, that holds `day`."""
    if rule.frequency == "DAILY":
        units = (day - first).days
    elif rule.frequency == "WEEKLY":
        units = (_week_of(day, rule.week_start) - _week_of(first, rule.week_start)).days // 7
    elif rule.frequency == "MONTHLY":
        units = (day.year - first.year) * 12 + day.month - first.month
    else:
        units = day.year - first.year
    return max(0, units // rule.interval)


def _period_days(rule: _Rule, first: date, index: int) -> list[date]:
    """The days of the `index`th period (a day, week, month or year) from the one of `first`."""
    step = index * rule.interval
    if rule.frequency == "DAILY":
        return [first + timedelta(days=step)]
    if rule.frequency == "WEEKLY":
        monday = _week_of(first, rule.week_start) + timedelta(weeks=step)
        return [monday + timedelta(days=offset) for offset in range(7)]
    if rule.frequency == "MONTHLY":
        year, month = divmod(first.year * 12 + first.month - 1 + step, 12)
        return _month(year, month + 1)
    return [
        day for month in rule.months or range(1, 13) for day in _month(first.year + step, month)
    ]


def _matches(rule: _Rule, day: date) -> bool:
    length = _month_length(day.year, day.month)
    if rule.months and day.month not in rule.months:
        return False
    if rule.monthdays and not {day.day, day.day - length - 1} & set(rule.monthdays):
        return False
    return not rule.weekdays or any(
        weekday == day.weekday()
        and (nth == 0 or nth == (day.day + 6) // 7 or -nth == (length - day.day) // 7 + 1)
        for nth, weekday in rule.weekdays
    )


def _past_until(rule: _Rule, moment: datetime, zone: ZoneInfo) -> bool:
    if rule.until is None:
        return False
    if rule.until.tzinfo is None:
        return moment > rule.until
    return _to_utc(moment, zone) > rule.until


def _month(year: int, month: int) -> list[date]:
    return [date(year, month, day) for day in range(1, _month_length(year, month) + 1)]


def _month_length(year: int, month: int) -> int:
    return (date(year + month // 12, month % 12 + 1, 1) - date(year, month, 1)).days


def _week_of(day: date, week_start: int) -> date:
    return day - timedelta(days=(day.weekday() - week_start) % 7)


def _later(moment: datetime) -> datetime:
    return min(moment, _LAST - _GIVE_UP) + _GIVE_UP


# --- windows ----------------------------------------------------------------------------------


def window_at(spec: FreezeSpec, now: datetime) -> Window | None:
    """The window, merged with those it overlaps, that holds `now`; None when not frozen."""
    moment = _utc(now)
    window = next(_merged(spec, moment), None)
    return window if window is not None and window.start <= moment else None


def next_window(spec: FreezeSpec, after: datetime) -> Window | None:
    """The first window starting at or after `after`; None when the freeze has no more."""
    moment = _utc(after)
    return next((window for window in _merged(spec, moment) if window.start >= moment), None)


def windows_between(
    spec: FreezeSpec, start: datetime, end: datetime, *, limit: int = 100
) -> list[Window]:
    """The windows that overlap [start, end), in order, at most `limit` of them."""
    low, high = _utc(start), _utc(end)
    return list(islice(takewhile(lambda window: window.start < high, _merged(spec, low)), limit))


def active_freezes(
    specs: Iterable[FreezeSpec], environment: str, service: str, now: datetime
) -> list[Window]:
    """The windows holding `now` of the freezes that apply to `service` in `environment`."""
    held = (window_at(spec, now) for spec in specs if spec.applies_to(environment, service))
    return [window for window in held if window is not None]


def _merged(spec: FreezeSpec, moment: datetime) -> Iterator[Window]:
    """Windows merged where they overlap or touch, in order, from the one holding `moment` (or
    else the first after it); a run of more than _MAX_JOINED windows is cut after `moment`."""
    if spec.rrule is None:
        window = _one_off(spec)
        if window.end > moment:
            yield window
        return
    pending, joined = None, 0
    for window in _windows(spec, _run_start(spec, moment)):
        if (
            pending
            and window.start <= pending.end
            and (joined < _MAX_JOINED or pending.end <= moment)
        ):
            pending, joined = replace(pending, end=max(pending.end, window.end)), joined + 1
            continue
        if pending and pending.end > moment:
            yield pending
        pending, joined = window, 0
    if pending and pending.end > moment:
        yield pending


def _run_start(spec: FreezeSpec, moment: datetime) -> datetime:
    """Where the run of overlapping or touching windows that reaches `moment` starts (`moment`
    when none does), looking back over at most _MAX_JOINED / 2 windows."""
    reach = _duration(spec) + _SLACK  # longer than any window
    begin, joined = moment, 0
    while joined < _MAX_JOINED // 2:
        earlier = _starting_before(_windows(spec, begin - reach), begin)
        start = begin
        for window in reversed(earlier):
            if window.end >= start:
                start = window.start
        if start == begin:
            return begin
        joined += sum(1 for window in earlier if window.start >= start)
        begin = start
    return begin


def _starting_before(windows: Iterator[Window], limit: datetime) -> list[Window]:
    return list(takewhile(lambda window: window.start < limit, windows))


def _windows(spec: FreezeSpec, begin: datetime) -> Iterator[Window]:
    """A recurring freeze's windows that start at or after `begin`, in order of start."""
    zone, duration = ZoneInfo(spec.timezone), _duration(spec)
    starts = (_to_utc(local, zone) for local in occurrences(spec, _to_local(begin, zone) - _SLACK))
    # The wall-clock end: `duration` after the start as the clock shows it (gap resolved)
    spans = ((start, _to_utc(_to_local(start, zone) + duration, zone)) for start in starts)
    for start, end in _in_order(spans):
        if start >= begin:
            yield Window(spec.name, start, end)


def _in_order(spans: Iterable[tuple[datetime, datetime]]) -> Iterator[tuple[datetime, datetime]]:
    """`spans` sorted by start, given that none starts more than _SLACK before one seen before
    it (a start in a spring-forward gap moves forward, past the start of the next)."""
    waiting: list[tuple[datetime, datetime]] = []
    for span in spans:
        heapq.heappush(waiting, span)
        while waiting[0][0] <= span[0] - _SLACK:
            yield heapq.heappop(waiting)
    while waiting:
        yield heapq.heappop(waiting)


def _one_off(spec: FreezeSpec) -> Window:
    if spec.start is None or spec.end is None:
        raise ValueError(f"Freeze '{spec.name}' has neither an rrule nor a start and an end")
    zone = ZoneInfo(spec.timezone)
    return Window(spec.name, _to_utc(spec.start, zone), _to_utc(spec.end, zone))


def _duration(spec: FreezeSpec) -> timedelta:
    if spec.duration is None or spec.duration <= timedelta(0):
        raise ValueError(f"Recurring freeze '{spec.name}' needs a positive duration")
    return spec.duration


# --- time -------------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"Freeze queries need an aware datetime, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone` as UTC; fold=0: a gap's times move forward, a fold's are the
    first of the two."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _to_local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _iso(local: datetime | None) -> str | None:
    whole_minutes = local is not None and not local.second and not local.microsecond
    return None if local is None else local.isoformat("T", "minutes" if whole_minutes else "auto")
