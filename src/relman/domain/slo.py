"""Service level objectives (SLOs) and their error-budget gate, after the Google SRE workbook,
ch. 5 "Alerting on SLOs".

An SLO says which share of events must be good over a rolling `window`: objective 99.9 over
28d allows 0.1% of requests to fail, the error budget. Two counter queries measure it, `good`
and `total`, each a PromQL template whose `{window}` relman fills with the window it measures:

    error ratio       bad / total = (total - good) / total, over a window
    budget            1 - objective / 100, the error ratio the objective allows
    budget remaining  1 - error ratio / budget over the SLO window, in percent: 100% when nothing
                      failed, 0% when exactly the allowed share did, negative when over-spent
    burn rate         error ratio / budget over a shorter window: 1 spends the budget exactly
                      by the end of the SLO window; 14.4 over 1h spends 2% of a 30-day budget
                      in that hour

The gate (an environment's `- slo: NAME`) reads an `SloStatus` and its verdict:

- **fail** when the budget remaining is below `min_budget_remaining` (exactly at it passes),
  or when **every** window of `max_burn_rate` burns faster than its own limit. That is the
  workbook's multi-window rule: a long window (6h) shows the burn is significant, a short
  one (1h) that it is still going on, and only both together alert. A spike that already
  stopped keeps the long window high but no longer the short one, and does not block; a spike
  that just began lifts the short window but not yet the long one. One listed window blocks
  alone; list two (or more) for the workbook's rule.
- **pending** when it cannot tell, never pass: no data over the SLO window (no series, NaN,
  or no traffic: total 0), measurements that make no sense (good above total, negative
  counts), a provider that refused a query or did not answer; and when every burn-rate window
  measured is over its limit but another has no data, so the verdict hangs on the missing one
  (when a measured window is under its limit, the rule cannot block and a missing one does
  not matter).
- **pass** otherwise. Equality counts as within a limit; values within 1e-9 of a limit count as
  equal, so that float rounding (1 - 99.9 / 100 is 0.0010000000000000009) does not decide.

Percentages in the file are numbers (`10`, `99.9`) or text with a percent sign (`"10%"`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, NamedTuple

from relman.domain import checks
from relman.domain.checks import Issues, Path
from relman.domain.delivery import ProviderSpec
from relman.domain.delivery_config import checked, read_provider
from relman.domain.durations import format_duration, parse_duration
from relman.domain.gates import Verdict
from relman.errors import InvalidInput

__all__ = [
    "BUILTIN_HISTORY",
    "SLO_PLACEHOLDERS",
    "BurnRate",
    "BurnRateLimit",
    "SloSpec",
    "SloStatus",
    "WindowCounts",
    "evaluate_slo",
    "parse_slos",
    "promql_duration",
    "read_slo",
    "render",
    "slo_from_dict",
]

SLO_PLACEHOLDERS = ("window",)  # what good and total may use; relman fills it in
# How far back the builtin provider keeps posted samples (relman.metrics.builtin.RETENTION; a
# unit test pins the two together): an SLO window longer than that would read a part as all.
BUILTIN_HISTORY = timedelta(hours=24)
_CLOSE = 1e-9  # relative and absolute tolerance of the gate's comparisons


class BurnRateLimit(NamedTuple):
    """One `max_burn_rate` entry: `label` is the window as written ("1h"), `limit` the burn
    rate above which that window counts as burning too fast."""

    window: timedelta
    label: str
    limit: float


@dataclass(frozen=True, slots=True)
class SloSpec:
    """One item of the file's `slos`. `objective` and `min_budget_remaining` are percents;
    `good` and `total` are query templates with `{window}`."""

    name: str
    provider: ProviderSpec
    objective: float
    window: timedelta
    good: str
    total: str
    min_budget_remaining: float | None = None
    max_burn_rate: tuple[BurnRateLimit, ...] = ()  # shortest window first

    @property
    def budget(self) -> float:
        """The error ratio the objective allows: 0.001 for 99.9."""
        return 1 - self.objective / 100

    @property
    def windows(self) -> tuple[timedelta, ...]:
        """Every window to measure: the SLO's, then each burn-rate window."""
        return (self.window, *(limit.window for limit in self.max_burn_rate))

    def queries(self, window: timedelta) -> tuple[str, str]:
        """The good and total queries for `window`, ready for the provider."""
        return render(self.good, window), render(self.total, window)

    def to_dict(self) -> dict[str, Any]:
        """The file's syntax (`slo_from_dict` reads it back to an equal spec); the window in
        one unit, as PromQL writes it (28d rather than relman's canonical 4w)."""
        gate: dict[str, Any] = {}
        if self.min_budget_remaining is not None:
            gate["min_budget_remaining"] = self.min_budget_remaining
        if self.max_burn_rate:
            gate["max_burn_rate"] = {limit.label: limit.limit for limit in self.max_burn_rate}
        return {
            "name": self.name,
            "provider": {
                "type": self.provider.type,
                "address": self.provider.address,
                "timeout": format_duration(timedelta(seconds=self.provider.timeout)),
            },
            "objective": self.objective,
            "window": promql_duration(self.window),
            "good": self.good,
            "total": self.total,
            "gate": gate,
        }


# --- rendering --------------------------------------------------------------------------------

_PROMQL_UNITS = (("d", 86_400), ("h", 3_600), ("m", 60))


def promql_duration(window: timedelta) -> str:
    """A window in Prometheus' duration syntax, in the largest unit that divides it: 28d, 6h,
    90m (not 1h30m, which Prometheus before 2.24 refuses), 45s. Weeks and years are left out
    (Prometheus' y is 365d, and 4w reads worse than 28d)."""
    seconds, rest = divmod(window, timedelta(seconds=1))
    if rest or seconds <= 0:
        raise ValueError(f"Can't write {window!r} as a PromQL range: it needs whole seconds > 0")
    for unit, size in _PROMQL_UNITS:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render(query_template: str, window: timedelta) -> str:
    """The query with every `{window}` replaced by the window in PromQL's syntax."""
    return query_template.replace("{window}", promql_duration(window))


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """Good and total events over one window, as measured; None where there was no data."""

    window: timedelta
    good: float | None
    total: float | None

    @property
    def missing(self) -> str | None:
        """Why these counts can't be judged, in a few words; None when they can."""
        good, total = self.good, self.total
        if total is None or good is None:
            names = [name for name, value in (("good", good), ("total", total)) if value is None]
            queries = "query" if len(names) == 1 else "queries"
            return f"no series for the {' and '.join(names)} {queries}"
        if not (math.isfinite(good) and math.isfinite(total)):
            return f"good {_number(good)}, total {_number(total)}"
        if total == 0:
            return "no traffic (total 0)"
        if good < 0 or total < 0:
            return (
                f"negative counts (good {_number(good)}, total {_number(total)}); the queries "
                "should count events, like sum(increase(...[{window}]))"
            )
        if good > total and not _close(good, total):
            return (
                f"good {_number(good)} is more than total {_number(total)}; the two queries "
                "do not count the same events"
            )
        return None

    @property
    def error_ratio(self) -> float | None:
        if self.missing or self.good is None or self.total is None:
            return None
        return max(self.total - self.good, 0.0) / self.total


@dataclass(frozen=True, slots=True)
class BurnRate:
    """How fast one window of `max_burn_rate` burns the budget; `rate` None when it has no
    data (`missing` says why)."""

    label: str
    window: timedelta
    limit: float
    rate: float | None
    missing: str | None = None

    @property
    def exceeded(self) -> bool | None:
        """Over its limit; None when unknown."""
        return None if self.rate is None else _above(self.rate, self.limit)

    def describe(self, *, first: bool = False) -> str:
        """Like "20.1× over 1h (limit 14.4)"; the first of a list says what the number is."""
        rate = "no data" if self.rate is None else f"{_beside(self.rate, self.limit)}×"
        what = " the sustainable rate" if first else ""
        return f"{rate}{what} over {self.label} (limit {_number(self.limit)})"


@dataclass(frozen=True, slots=True)
class SloStatus:
    """An SLO as measured: the verdict of its gate and why, with the numbers it stands on.
    `budget_remaining` is in percent; None (like `error_ratio`) when there was no data."""

    spec: SloSpec
    verdict: Verdict
    reason: str
    error_ratio: float | None
    budget_remaining: float | None
    burn_rates: tuple[BurnRate, ...]
    measured: tuple[WindowCounts, ...]

    def evidence(self) -> dict[str, Any]:
        """What the verdict was decided from, JSON-able (no NaN: unknown numbers are null)."""
        spec = self.spec
        return {
            "slo": spec.name,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "provider": {"type": spec.provider.type, "address": spec.provider.address},
            "objective": spec.objective,
            "window": promql_duration(spec.window),
            "budget": spec.budget,
            "error_ratio": _json(self.error_ratio),
            "budget_remaining": _json(self.budget_remaining),
            "min_budget_remaining": spec.min_budget_remaining,
            "burn_rates": [
                {
                    "window": burn.label,
                    "rate": _json(burn.rate),
                    "limit": burn.limit,
                    "exceeded": burn.exceeded,
                    "missing": burn.missing,
                }
                for burn in self.burn_rates
            ],
            "measurements": [self._measurement(counts) for counts in self.measured],
        }

    def _measurement(self, counts: WindowCounts) -> dict[str, Any]:
        good_query, total_query = self.spec.queries(counts.window)
        return {
            "window": promql_duration(counts.window),
            "good": _json(counts.good),
            "total": _json(counts.total),
            "missing": counts.missing,
            "queries": {"good": good_query, "total": total_query},
        }


def evaluate_slo(
    spec: SloSpec, measured: Iterable[WindowCounts], *, problem: str | None = None
) -> SloStatus:
    """The status of `spec` from counts measured over its windows (a window left out counts
    as no data). `problem` (a provider that failed) makes it pending whatever the counts."""
    counts = tuple(measured)
    by_window = {item.window: item for item in counts}
    over_slo = by_window.get(spec.window, WindowCounts(spec.window, None, None))
    error_ratio = over_slo.error_ratio
    remaining = None if error_ratio is None else 100 * (1 - error_ratio / spec.budget)
    burns = tuple(
        _burn_rate(spec, limit, by_window.get(limit.window)) for limit in spec.max_burn_rate
    )
    verdict, reason = _judge(spec, over_slo, remaining, burns, problem)
    return SloStatus(spec, verdict, reason, error_ratio, remaining, burns, counts)


def _burn_rate(spec: SloSpec, limit: BurnRateLimit, counts: WindowCounts | None) -> BurnRate:
    counts = counts or WindowCounts(limit.window, None, None)
    ratio = counts.error_ratio
    rate = None if ratio is None else ratio / spec.budget
    return BurnRate(limit.label, limit.window, limit.limit, rate, counts.missing)


def _judge(
    spec: SloSpec,
    over_slo: WindowCounts,
    remaining: float | None,
    burns: Sequence[BurnRate],
    problem: str | None,
) -> tuple[Verdict, str]:
    if problem is not None:
        return Verdict.PENDING, f"can't measure the SLO: {problem}"
    if remaining is None:
        window = promql_duration(spec.window)
        return Verdict.PENDING, f"no data over {window}: {over_slo.missing}; the gate waits"
    minimum = spec.min_budget_remaining
    failures = []
    if minimum is not None and _below(remaining, minimum):
        failures.append(_budget_failure(spec, remaining, minimum))
    burning = _burning(burns)
    if all(burn.exceeded for burn in burns) and burns:
        failures.append(burning)
    if failures:
        return Verdict.FAIL, "; ".join(failures)
    budget = _budget_state(spec, remaining)
    unknown = [burn for burn in burns if burn.rate is None]
    if unknown and not any(burn.exceeded is False for burn in burns):
        missing = _join([f"no data over {burn.label} ({burn.missing})" for burn in unknown])
        waits = "the gate waits, as it blocks when every window burns over its limit"
        known = f"{burning} but " if burning else ""
        return Verdict.PENDING, f"{budget}; {known}{missing}; {waits}"
    return Verdict.PASS, f"{budget}; {burning}" if burning else budget


def _budget_failure(spec: SloSpec, remaining: float, minimum: float) -> str:
    left = ("over-spent: " if remaining < 0 else "") + _beside(remaining, minimum)
    return (
        f"error budget {left}% left, below the {_number(minimum)}% the gate requires "
        f"(spent {_number(100 - remaining)}% of {_number(100 * spec.budget)}% errors allowed "
        f"over {promql_duration(spec.window)})"
    )


def _budget_state(spec: SloSpec, remaining: float) -> str:
    required = spec.min_budget_remaining
    needs = "" if required is None else f"; the gate requires {_number(required)}%"
    return (
        f"error budget {_number(remaining)}% left (spent {_number(100 - remaining)}% of "
        f"{_number(100 * spec.budget)}% errors allowed over {promql_duration(spec.window)}"
        f"{needs})"
    )


def _burning(burns: Sequence[BurnRate]) -> str:
    """ "burning 20.1× the sustainable rate over 1h (limit 14.4) and 7.2× over 6h (limit 6)",
    the windows without data left out; when only some are over their limits, which."""
    known = [burn for burn in burns if burn.rate is not None]
    if not known:
        return ""
    text = "burning " + _join([burn.describe(first=not i) for i, burn in enumerate(known)])
    over = [burn.label for burn in known if burn.exceeded]
    if over and len(over) < len(burns) and len(known) == len(burns):
        text += f"; only {_join(over)} over the limit, and the gate blocks when every window is"
    return text


# --- reading the file -------------------------------------------------------------------------

_SLO_FIELDS = ("name", "provider", "objective", "window", "good", "total", "gate")
_GATE_FIELDS = ("min_budget_remaining", "max_burn_rate")
_SLOS_EXPECTED = "a list of SLOs, each with name, provider, objective, window, good and total"
_SLO_EXPECTED = "an SLO: a mapping with name, provider, objective, window, good, total and gate"
_GATE_EXPECTED = "a gate like {min_budget_remaining: 10%, max_burn_rate: {1h: 14.4, 6h: 6}}"
_OBJECTIVE_EXPECTED = "a percentage above 0 and below 100, like 99.9 or '99.9%'"
_MIN_BUDGET_EXPECTED = "a percentage from 0 up to (not including) 100, like 10 or '10%'"
_BURN_EXPECTED = "a mapping of window to burn rate, like {1h: 14.4, 6h: 6}"
_LIMIT_EXPECTED = "a burn rate above 0, like 14.4"
_QUERY_EXPECTED = (
    "a counter query with {window}, like 'sum(increase(http_requests_total[{window}]))'"
)
_PERCENT = re.compile(r"\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*%\s*", re.ASCII)
# A placeholder is `{name}` (see relman.domain.delivery_config): PromQL's own braces always hold
# a label matcher with an operator, or nothing.
_PLACEHOLDER = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_-]*\s*\}", re.ASCII)


def parse_slos(raw: object, path: Path, issues: Issues) -> tuple[SloSpec, ...]:
    """The file's `slos` (absent: none); each problem reported to `issues` with its path."""
    if raw is None:
        return ()
    items = checks.list_of(raw, path, issues, _SLOS_EXPECTED) or []
    slos = tuple(read_slo(item, (*path, index), issues) for index, item in enumerate(items))
    checks.check_unique([slo.name for slo in slos], "SLO", path, issues)
    return slos


def slo_from_dict(data: object) -> SloSpec:
    """An SLO as plain data (as `SloSpec.to_dict` writes it); ConfigError listing what is
    wrong."""
    name = data.get("name") if isinstance(data, Mapping) else None
    path = ("slos", name) if isinstance(name, str) else ("slos",)
    return checked(lambda issues: read_slo(data, path, issues))


def read_slo(raw: object, path: Path, issues: Issues) -> SloSpec:
    """One item of the file's `slos`."""
    found = checks.fields(raw, path, issues, _SLO_EXPECTED, _SLO_FIELDS)
    if found is None:
        return SloSpec("", ProviderSpec(type=""), 0.0, timedelta(0), "", "")
    name = checks.required_name(found, path, issues, "SLO")
    window = _window(found, path, issues)
    objective = _objective(found, path, issues)
    minimum, burn = _gate(found.get("gate"), (*path, "gate"), issues, window, objective)
    return SloSpec(
        name=name,
        provider=_provider(found, path, issues, window),
        objective=objective or 0.0,
        window=window or timedelta(0),
        good=_query(found, "good", path, issues),
        total=_query(found, "total", path, issues),
        min_budget_remaining=minimum,
        max_burn_rate=burn,
    )


def _provider(
    found: Mapping[str, Any], path: Path, issues: Issues, window: timedelta | None
) -> ProviderSpec:
    provider = read_provider(found, path, issues)
    if provider.type == "builtin" and window is not None and window > BUILTIN_HISTORY:
        message = (
            f"the builtin provider keeps the last {promql_duration(BUILTIN_HISTORY)} of "
            f"samples, too little for a {promql_duration(window)} window; use type: prometheus"
        )
        expected = f"type: prometheus, or a window of {promql_duration(BUILTIN_HISTORY)} or less"
        issues.add((*path, "provider", "type"), message, expected)
    return provider


def _window(found: Mapping[str, Any], path: Path, issues: Issues) -> timedelta | None:
    here = (*path, "window")
    if found.get("window") is None:
        issues.add(here, "required field 'window' is missing", "the SLO's window, like 28d")
        return None
    window = checks.optional_duration(found, "window", path, issues)
    if window == timedelta(0):
        issues.add(here, "a window of 0s holds no events", "a duration above 0s, like 28d")
        return None
    return window


def _objective(found: Mapping[str, Any], path: Path, issues: Issues) -> float | None:
    here, raw = (*path, "objective"), found.get("objective")
    if raw is None:
        issues.add(here, "required field 'objective' is missing", _OBJECTIVE_EXPECTED)
        return None
    objective = _percent(raw, here, issues, _OBJECTIVE_EXPECTED)
    if objective is None:
        return None
    if objective >= 100:
        message = f"objective {_number(objective)}% leaves no error budget: one failure spends it"
        issues.add(here, message, _OBJECTIVE_EXPECTED)
        return None
    if objective <= 0:
        issues.add(here, f"objective {_number(objective)}% asks nothing", _OBJECTIVE_EXPECTED)
        return None
    return objective


def _percent(raw: object, path: Path, issues: Issues, expected: str) -> float | None:
    """A number, or text like "10%" or "99.9 %"; None (reported) when neither."""
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str) and (match := _PERCENT.fullmatch(raw)):
        value = float(match.group(1))
    if value is None or not math.isfinite(value):
        hint = "; write a percentage as 10 or '10%'" if isinstance(raw, str) else ""
        issues.add(path, f"got {checks.describe(raw)}{hint}", expected)
        return None
    return value


def _query(found: Mapping[str, Any], key: str, path: Path, issues: Issues) -> str:
    here, raw = (*path, key), found.get(key)
    if raw is None:
        issues.add(here, f"required field '{key}' is missing", _QUERY_EXPECTED)
        return ""
    text = checks.string(raw, here, issues, _QUERY_EXPECTED)
    problem = _query_problem(text, key) if isinstance(raw, str) else None
    if problem:
        issues.add(here, problem, _QUERY_EXPECTED)
    return text


def _query_problem(text: str, key: str) -> str | None:
    if not text.strip():
        return "the query is empty"
    known = ["{" + name + "}" for name in SLO_PLACEHOLDERS]
    for match in _PLACEHOLDER.finditer(text):
        if match.group() not in known:
            available = ", ".join(known)
            return f"unknown placeholder {match.group()} in '{text}'; available: {available}"
    if "{window}" not in text:
        return (
            f"the {key} query has no {{window}}: relman measures it over the SLO's window and "
            "over each burn-rate window, and fills in {window} with each"
        )
    return None


def _gate(
    raw: object, path: Path, issues: Issues, window: timedelta | None, objective: float | None
) -> tuple[float | None, tuple[BurnRateLimit, ...]]:
    if raw is None:
        return None, ()
    found = checks.fields(raw, path, issues, _GATE_EXPECTED, _GATE_FIELDS)
    if found is None:
        return None, ()
    return (
        _min_budget(found.get("min_budget_remaining"), (*path, "min_budget_remaining"), issues),
        _burn_limits(
            found.get("max_burn_rate"), (*path, "max_burn_rate"), issues, window, objective
        ),
    )


def _min_budget(raw: object, path: Path, issues: Issues) -> float | None:
    if raw is None:
        return None
    value = _percent(raw, path, issues, _MIN_BUDGET_EXPECTED)
    if value is not None and not 0 <= value < 100:
        why = "can't be negative" if value < 0 else "would block at the first failed request"
        issues.add(path, f"min_budget_remaining {_number(value)}% {why}", _MIN_BUDGET_EXPECTED)
        return None
    return value


def _burn_limits(
    raw: object, path: Path, issues: Issues, window: timedelta | None, objective: float | None
) -> tuple[BurnRateLimit, ...]:
    if raw is None:
        return ()
    found = checks.mapping(raw, path, issues, _BURN_EXPECTED)
    if found is None:
        return ()
    if not found:
        issues.add(path, "max_burn_rate is empty", f"{_BURN_EXPECTED}, or leave it out")
    limits: dict[timedelta, BurnRateLimit] = {}
    for label, value in found.items():
        here = (*path, label)
        burn_window = _burn_window(label, here, issues, window)
        limit = _burn_limit(value, here, issues, objective)
        if burn_window is None or limit is None:
            continue
        if burn_window in limits:
            first = limits[burn_window].label
            issues.add(here, f"window '{label}' is the same as '{first}'", "each window once")
            continue
        limits[burn_window] = BurnRateLimit(burn_window, label, limit)
    return tuple(sorted(limits.values()))


def _burn_window(
    label: str, path: Path, issues: Issues, window: timedelta | None
) -> timedelta | None:
    expected = "a window shorter than the SLO's, like 1h or 6h"
    try:
        burn_window = parse_duration(label)
    except InvalidInput as exc:
        issues.add(path, exc.message, expected)
        return None
    if burn_window == timedelta(0):
        issues.add(path, "a window of 0s holds no events", expected)
        return None
    if window is not None and burn_window >= window:
        message = (
            f"window '{label}' is not shorter than the SLO's window {promql_duration(window)}; "
            "a burn rate watches a part of it"
        )
        issues.add(path, message, expected)
        return None
    return burn_window


def _burn_limit(raw: object, path: Path, issues: Issues, objective: float | None) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        issues.add(path, f"got {checks.describe(raw)}", _LIMIT_EXPECTED)
        return None
    if raw <= 0:
        issues.add(path, f"a burn rate limit of {_number(raw)} blocks always", _LIMIT_EXPECTED)
        return None
    if objective is not None and 0 < objective < 100:
        fastest = 100 / (100 - objective)  # every event failing
        if raw >= fastest or _close(raw, fastest):
            message = (
                f"a burn rate of {_number(raw)} can't be exceeded: with objective "
                f"{_number(objective)}% the fastest burn (every request failing) is "
                f"{_number(fastest)}×"
            )
            issues.add(path, message, f"a burn rate above 0 and below {_number(fastest)}")
            return None
    return float(raw)


# --- small words ------------------------------------------------------------------------------


def _number(value: float, decimals: int = 1) -> str:
    """A number as reasons write it: 1 decimal (95.8, 50, -20.3), 2 significant digits below 1
    (0.1, 0.05, 0.43)."""
    if value == 0:
        return "0"
    if not math.isfinite(value):
        return f"{value:g}"
    text = f"{value:.{decimals}f}" if abs(value) >= 1 else f"{value:.{decimals + 1}g}"
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def _beside(value: float, limit: float) -> str:
    """`value` with the decimals it takes not to read like `limit` when it differs from it
    (9.96% left is not "10% left, below the 10% required")."""
    text = _number(value)
    for decimals in range(2, 7):
        if text != _number(limit) or _close(value, limit):
            break
        text = _number(value, decimals)
    return text


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _close(value: float, limit: float) -> bool:
    return math.isclose(value, limit, rel_tol=_CLOSE, abs_tol=_CLOSE)


def _below(value: float, limit: float) -> bool:
    return value < limit and not _close(value, limit)


def _above(value: float, limit: float) -> bool:
    return value > limit and not _close(value, limit)


def _json(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
