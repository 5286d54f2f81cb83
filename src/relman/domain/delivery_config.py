"""Reading progressive-delivery settings from plain data: a service's `traffic` and
`strategies`, and the file's `analyses` (docs/config.md, "Progressive delivery").

Each `read_*` reports what is wrong to an `Issues` and returns a spec all the same (see
relman.domain.checks). relman.domain.config calls them while it reads a whole file, with the
names the file defines, so that references are checked; the `parse_*` functions of
relman.domain.delivery call them on the server's copy of a service, where they are not.
Which run settings a strategy needs (a `{slot}` in deploy, a `stop` step) is checked in
relman.domain.config, which knows the run drivers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from types import MappingProxyType
from typing import Any, TypeVar

from relman.domain import checks
from relman.domain.analysis import AnalysisLimits
from relman.domain.checks import Defined, Issues, Path
from relman.domain.delivery import (
    ADDRESS_FIELDS,
    JUDGE_PLACEHOLDERS,
    JUDGES,
    PROVIDERS,
    QUERY_PLACEHOLDERS,
    STRATEGY_TYPES,
    TRAFFIC_DRIVERS,
    AnalysisSpec,
    MetricSpec,
    ProviderSpec,
    TrafficSpec,
    moves_traffic,
)
from relman.domain.durations import DURATION_EXAMPLES, parse_duration
from relman.domain.expressions import parse_expression
from relman.domain.judge import SequentialJudge
from relman.domain.strategies import (
    SLOTS,
    AllAtOnce,
    BlueGreen,
    Canary,
    CanaryStep,
    Rolling,
    Strategy,
)
from relman.errors import ConfigError, InvalidInput

__all__ = [
    "checked",
    "read_analysis",
    "read_provider",
    "read_strategies",
    "read_strategy",
    "read_traffic",
]

_T = TypeVar("_T")
_UNCHECKED = Defined("analysis", None)  # the server's copy: the names were checked on apply


def checked(read: Callable[[Issues], _T]) -> _T:
    """What `read` returns, or ConfigError with every problem it reported."""
    issues = Issues()
    value = read(issues)
    if issues.found:
        raise ConfigError(issues.found)
    return value


# --- traffic ---------------------------------------------------------------------------------

_TRAFFIC_EXPECTED = (
    "traffic settings: {driver: haproxy, socket: …, backend: …, slots: {blue: …, green: …}} "
    "or {driver: router, address: host:port, slots: {blue: host:port, green: host:port}}"
)
# HAProxy's own rule for proxy and server names; it also keeps runtime commands one line.
_HAPROXY_NAME = re.compile(r"[A-Za-z0-9_.:-]+", re.ASCII)
_HAPROXY_NAME_EXPECTED = "an HAProxy name: letters, digits and - _ . :"
_HOST_PORT = re.compile(
    r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})", re.ASCII
)
_SOCKET_EXPECTED = (
    "a UNIX socket path like /run/haproxy/admin.sock, or host:port like 127.0.0.1:9999"
)
_ROUTER_EXPECTED = "the router's admin address, host:port like 127.0.0.1:8081 (http:// optional)"
_UPSTREAM_EXPECTED = "the slot's upstream address, host:port like 127.0.0.1:8001"


def read_traffic(raw: object, path: Path, issues: Issues, *, service: str = "") -> TrafficSpec:
    """A service's `traffic`; the router's `backend` defaults to the `service` name."""
    found = checks.mapping(raw, path, issues, _TRAFFIC_EXPECTED)
    if found is None:
        return TrafficSpec(driver="", address="", backend="")
    driver = checks.choice(found, "driver", path, issues, TRAFFIC_DRIVERS)
    if driver not in TRAFFIC_DRIVERS:
        return TrafficSpec(driver=driver, address="", backend="")
    _refuse_other_address_field(found, driver, path, issues)
    checks.check_fields(found, ("driver", ADDRESS_FIELDS[driver], "backend", "slots"), path, issues)
    address = _traffic_address(found, driver, path, issues)
    return TrafficSpec(
        driver=driver,
        address=address,
        backend=_backend(found, driver, path, issues, service),
        slots=MappingProxyType(_slots(found, driver, path, issues)),
    )


def _refuse_other_address_field(
    found: dict[str, Any], driver: str, path: Path, issues: Issues
) -> None:
    """`address` on haproxy or `socket` on the router: say which one the driver takes."""
    wanted = ADDRESS_FIELDS[driver]
    for other in set(ADDRESS_FIELDS.values()) - {wanted}:
        if found.pop(other, None) is not None:
            message = f"the {driver} driver takes '{wanted}', not '{other}'; rename the field"
            issues.add((*path, other), message, f"{wanted}: …")


def _traffic_address(found: Mapping[str, Any], driver: str, path: Path, issues: Issues) -> str:
    key = ADDRESS_FIELDS[driver]
    expected = _SOCKET_EXPECTED if driver == "haproxy" else _ROUTER_EXPECTED
    text = _required_text(found, key, path, issues, expected)
    if not text:
        return text
    is_socket_path = driver == "haproxy" and "/" in text  # as the HAProxy driver reads it
    host_port = text.removeprefix("http://") if driver == "router" else text
    if not is_socket_path and not _is_host_port(host_port):
        issues.add((*path, key), f"bad {key} '{text}'", expected)
    return text


def _backend(
    found: Mapping[str, Any], driver: str, path: Path, issues: Issues, service: str
) -> str:
    """HAProxy's backend of the two slots' servers; the service the router serves (by default
    the service's name)."""
    if driver == "router" and found.get("backend") is None:
        return service
    expected = _HAPROXY_NAME_EXPECTED if driver == "haproxy" else "the service the router serves"
    backend = _required_text(found, "backend", path, issues, expected)
    if driver == "haproxy":
        _check_haproxy_name(backend, (*path, "backend"), issues)
    return backend


def _required_text(
    found: Mapping[str, Any], key: str, path: Path, issues: Issues, expected: str
) -> str:
    """A required, non-empty string."""
    raw, here = found.get(key), (*path, key)
    if raw is None:
        issues.add(here, f"required field '{key}' is missing", expected)
        return ""
    text = checks.string(raw, here, issues, expected)
    if isinstance(raw, str) and not text.strip():
        issues.add(here, f"the {key} is empty", expected)
        return ""
    return text


def _slots(found: Mapping[str, Any], driver: str, path: Path, issues: Issues) -> dict[str, str]:
    """Exactly blue and green, each to its own HAProxy server (or router upstream)."""
    here = (*path, "slots")
    item = _HAPROXY_NAME_EXPECTED if driver == "haproxy" else _UPSTREAM_EXPECTED
    expected = f"a mapping of blue and green, each to {item}"
    raw = found.get("slots")
    if raw is None:
        issues.add(here, "required field 'slots' is missing", expected)
        return {}
    given = checks.mapping(raw, here, issues, expected) or {}
    for key in (key for key in given if key not in SLOTS):
        issues.add((*here, key), f"unknown slot '{key}'; the slots are blue and green", expected)
    missing = [slot for slot in SLOTS if slot not in given]
    if missing and isinstance(raw, Mapping):
        issues.add(here, f"slot {' and '.join(missing)} is missing", expected)
    slots = {
        slot: _slot(given[slot], driver, (*here, slot), issues) for slot in SLOTS if slot in given
    }
    if len(slots) == 2 and slots["blue"] and slots["blue"] == slots["green"]:
        message = f"blue and green are both '{slots['blue']}'; each slot needs its own"
        issues.add(here, message, expected)
    return slots


def _slot(raw: object, driver: str, path: Path, issues: Issues) -> str:
    expected = _HAPROXY_NAME_EXPECTED if driver == "haproxy" else _UPSTREAM_EXPECTED
    text = checks.string(raw, path, issues, expected)
    if not isinstance(raw, str):
        return text
    if not text.strip():
        issues.add(path, "the text is empty", expected)
    elif driver == "haproxy":
        _check_haproxy_name(text, path, issues)
    elif not _is_host_port(text):
        issues.add(path, f"bad upstream address '{text}'", expected)
    return text


def _check_haproxy_name(text: str, path: Path, issues: Issues) -> None:
    if text and not _HAPROXY_NAME.fullmatch(text):
        issues.add(path, f"bad HAProxy name '{text}'", _HAPROXY_NAME_EXPECTED)


def _is_host_port(text: str) -> bool:
    match = _HOST_PORT.fullmatch(text)
    return match is not None and 1 <= int(match.group(3)) <= 65535


# --- strategies ------------------------------------------------------------------------------

_STRATEGIES_EXPECTED = (
    "a mapping of environment name to strategy, like {production: {type: canary, steps: [...]}}"
)
_STRATEGY_EXPECTED = "a strategy: a mapping with type (one of: " + ", ".join(STRATEGY_TYPES) + ")"
_STRATEGY_FIELDS = {
    "canary": ("type", "steps", "background_analysis"),
    "blue-green": (
        "type",
        "auto_promote",
        "pre_promotion_analysis",
        "post_promotion_analysis",
        "scale_down_delay",
    ),
    "rolling": ("type", "targets", "batch"),
    "all-at-once": ("type",),
}
_TRAFFIC_HINT = (
    "add traffic: {driver: haproxy, socket: …, backend: …, slots: {blue: …, green: …}} "
    "(or driver: router) to the service"
)


def read_strategies(
    raw: object,
    path: Path,
    issues: Issues,
    *,
    environments: Defined,
    analyses: Defined,
    has_traffic: bool,
) -> dict[str, Strategy]:
    """A service's `strategies`: environment name → strategy; absent, all-at-once everywhere."""
    if raw is None:
        return {}
    found = checks.mapping(raw, path, issues, _STRATEGIES_EXPECTED) or {}
    strategies: dict[str, Strategy] = {}
    for environment, item in found.items():
        here = (*path, environment)
        environments.check(environment, here, issues)
        strategies[environment] = read_strategy(
            item, here, issues, analyses, has_traffic=has_traffic
        )
    return strategies


def read_strategy(
    raw: object,
    path: Path,
    issues: Issues,
    analyses: Defined = _UNCHECKED,
    *,
    has_traffic: bool | None = None,
) -> Strategy:
    """One strategy; `has_traffic` None (the server's copy) skips the traffic check."""
    found = checks.mapping(raw, path, issues, _STRATEGY_EXPECTED)
    if found is None:
        return AllAtOnce()
    kind = checks.choice(found, "type", path, issues, STRATEGY_TYPES)
    if kind not in _STRATEGY_READERS:
        return AllAtOnce()
    checks.check_fields(found, _STRATEGY_FIELDS[kind], path, issues)
    strategy = _STRATEGY_READERS[kind](found, path, issues, analyses)
    if has_traffic is False and moves_traffic(strategy):
        message = (
            f"a {kind} strategy moves users between the blue and green slots, but this "
            f"service has no traffic settings; {_TRAFFIC_HINT}"
        )
        issues.add(path, message, "traffic settings on the service, or type rolling")
    return strategy


def _analysis_name(
    found: Mapping[str, Any], key: str, path: Path, issues: Issues, analyses: Defined
) -> str | None:
    raw = found.get(key)
    if raw is None:
        return None
    here = (*path, key)
    name = checks.string(raw, here, issues, "the name of an analysis defined in this file")
    analyses.check(name, here, issues)
    return name


def _canary(found: Mapping[str, Any], path: Path, issues: Issues, analyses: Defined) -> Canary:
    expected = "a non-empty list of steps: set_weight, pause, analysis"
    items = checks.required_list(found, "steps", path, issues, expected)
    steps = tuple(
        _canary_step(item, (*path, "steps", index), issues, analyses)
        for index, item in enumerate(items)
    )
    background = _analysis_name(found, "background_analysis", path, issues, analyses)
    return Canary(steps=steps, background_analysis=background)


_STEP_KINDS = ("set_weight", "pause", "analysis")
_STEP_EXPECTED = (
    "a step with one of: set_weight: 10, pause: 30s, pause: {} (until a person resumes), "
    "analysis: NAME"
)
_WEIGHT_EXPECTED = "a whole percentage from 0 to 100"
_PAUSE_EXPECTED = (
    f"a duration like {DURATION_EXAMPLES}, or {{}} to wait until a person resumes or promotes"
)


def _canary_step(raw: object, path: Path, issues: Issues, analyses: Defined) -> CanaryStep:
    found = checks.fields(raw, path, issues, _STEP_EXPECTED, _STEP_KINDS)
    if found is None:
        return CanaryStep()
    given = [kind for kind in _STEP_KINDS if kind in found]
    if len(given) > 1:
        message = f"a step has both {given[0]} and {given[1]}; write each as a step of its own"
        issues.add(path, message, _STEP_EXPECTED)
        return CanaryStep()
    if not given:
        if not found:  # unknown fields were reported already
            issues.add(path, "the step is empty", _STEP_EXPECTED)
        return CanaryStep()
    if given[0] == "set_weight":
        return CanaryStep(set_weight=_weight(found["set_weight"], (*path, "set_weight"), issues))
    if given[0] == "pause":
        return _pause(found["pause"], (*path, "pause"), issues)
    here = (*path, "analysis")
    name = checks.string(found["analysis"], here, issues, "the name of an analysis")
    analyses.check(name, here, issues)
    return CanaryStep(analysis=name)


def _weight(raw: object, path: Path, issues: Issues) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        issues.add(path, f"got {checks.describe(raw)}", _WEIGHT_EXPECTED)
        return 0
    if not 0 <= raw <= 100:
        issues.add(path, f"weight {raw} is out of range", _WEIGHT_EXPECTED)
    return raw


def _pause(raw: object, path: Path, issues: Issues) -> CanaryStep:
    """`pause: 30s`, or `pause: {}` / `pause: {duration: 30s}` (the mapping form)."""
    if isinstance(raw, Mapping):
        found = checks.fields(raw, path, issues, _PAUSE_EXPECTED, ("duration",)) or {}
        duration = checks.optional_duration(found, "duration", path, issues)
        return CanaryStep(pause=True, duration=duration)
    if not isinstance(raw, str):
        unit = "; a duration needs a unit" if checks.is_int(raw) else ""
        issues.add(path, f"got {checks.describe(raw)}{unit}", _PAUSE_EXPECTED)
        return CanaryStep(pause=True)
    try:
        return CanaryStep(pause=True, duration=parse_duration(raw))
    except InvalidInput as exc:
        issues.add(path, exc.message, _PAUSE_EXPECTED)
        return CanaryStep(pause=True)


def _blue_green(
    found: Mapping[str, Any], path: Path, issues: Issues, analyses: Defined
) -> BlueGreen:
    delay = checks.optional_duration(found, "scale_down_delay", path, issues)
    return BlueGreen(
        auto_promote=checks.optional_bool(found, "auto_promote", path, issues),
        pre_promotion_analysis=_analysis_name(
            found, "pre_promotion_analysis", path, issues, analyses
        ),
        post_promotion_analysis=_analysis_name(
            found, "post_promotion_analysis", path, issues, analyses
        ),
        scale_down_delay=BlueGreen().scale_down_delay if delay is None else delay,
    )


_BATCH = re.compile(r"([0-9]{1,3})%", re.ASCII)
_BATCH_EXPECTED = "a number of targets ≥ 1, or a percentage of them from '1%' to '100%'"


def _rolling(found: Mapping[str, Any], path: Path, issues: Issues, _: Defined) -> Rolling:
    return Rolling(targets=_targets(found, path, issues), batch=_batch(found, path, issues))


def _targets(found: Mapping[str, Any], path: Path, issues: Issues) -> tuple[str, ...]:
    expected = "a non-empty list of target names (hosts), each once"
    items = checks.required_list(found, "targets", path, issues, expected)
    targets: list[str] = []
    for index, item in enumerate(items):
        here = (*path, "targets", index)
        target = checks.string(item, here, issues, expected)
        if isinstance(item, str) and not target.strip():
            issues.add(here, "the target is empty", expected)
        elif target and target in targets:
            first = checks.dotted((*path, "targets", targets.index(target)))
            issues.add(here, f"target '{target}' is listed twice (first at {first})", expected)
        targets.append(target)
    return tuple(targets)


def _batch(found: Mapping[str, Any], path: Path, issues: Issues) -> int | str:
    raw = found.get("batch")
    if raw is None:
        return 1
    here = (*path, "batch")
    if isinstance(raw, int) and not isinstance(raw, bool):
        if raw < 1:
            issues.add(here, f"a batch of {raw} would deploy nothing", _BATCH_EXPECTED)
        return raw
    match = _BATCH.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or not 1 <= int(match.group(1)) <= 100:
        issues.add(here, f"got {checks.describe(raw)}", _BATCH_EXPECTED)
        return 1
    return f"{int(match.group(1))}%"


_StrategyReader = Callable[[Mapping[str, Any], Path, Issues, Defined], Strategy]
_STRATEGY_READERS: dict[str, _StrategyReader] = {
    "canary": _canary,
    "blue-green": _blue_green,
    "rolling": _rolling,
    "all-at-once": lambda found, path, issues, analyses: AllAtOnce(),
}


# --- analyses --------------------------------------------------------------------------------

_ANALYSIS_FIELDS = (
    "name",
    "provider",
    "interval",
    "count",
    "initial_delay",
    "failure_limit",
    "inconclusive_limit",
    "consecutive_error_limit",
    "metrics",
)
_PROVIDER_EXPECTED = (
    "a provider: {type: prometheus, address: 'http://127.0.0.1:9090'} or {type: builtin}, "
    "with an optional timeout"
)
_PROMETHEUS_EXPECTED = "the Prometheus server's URL, like 'http://127.0.0.1:9090'"


def read_analysis(raw: object, path: Path, issues: Issues) -> AnalysisSpec:
    """One item of the file's `analyses`."""
    expected = "an analysis: a mapping with name, provider and metrics"
    found = checks.fields(raw, path, issues, expected, _ANALYSIS_FIELDS)
    if found is None:
        return AnalysisSpec(name="", provider=ProviderSpec(type=""), metrics=())
    return AnalysisSpec(
        name=checks.required_name(found, path, issues, "analysis"),
        provider=read_provider(found, path, issues),
        metrics=_metrics(found, path, issues),
        limits=_limits(found, path, issues),
    )


def read_provider(found: Mapping[str, Any], path: Path, issues: Issues) -> ProviderSpec:
    """The `provider` field of `found` (an analysis, an SLO, a metric gate)."""
    here = (*path, "provider")
    raw = found.get("provider")
    if raw is None:
        issues.add(here, "required field 'provider' is missing", _PROVIDER_EXPECTED)
        return ProviderSpec(type="")
    given = checks.fields(raw, here, issues, _PROVIDER_EXPECTED, ("type", "address", "timeout"))
    if given is None:
        return ProviderSpec(type="")
    kind = checks.choice(given, "type", here, issues, PROVIDERS)
    timeout = _positive_duration(given, "timeout", here, issues, "would stop every query at once")
    return ProviderSpec(
        type=kind,
        address=_provider_address(given, kind, here, issues),
        timeout=ProviderSpec(type=kind).timeout if timeout is None else timeout.total_seconds(),
    )


def _provider_address(
    given: Mapping[str, Any], kind: str, path: Path, issues: Issues
) -> str | None:
    raw, here = given.get("address"), (*path, "address")
    if kind == "builtin" and raw is not None:
        message = (
            "the builtin provider reads the samples posted to relman's API and takes no "
            "address; remove it, or use type: prometheus"
        )
        issues.add(here, message, "no address with type: builtin")
        return None
    if kind != "prometheus":
        return None
    if raw is None:
        issues.add(here, "required field 'address' is missing", _PROMETHEUS_EXPECTED)
        return None
    text = checks.string(raw, here, issues, _PROMETHEUS_EXPECTED)
    problem = checks.url_problem(text) if isinstance(raw, str) else None
    if problem:
        issues.add(here, problem, _PROMETHEUS_EXPECTED)
    return text


def _limits(found: Mapping[str, Any], path: Path, issues: Issues) -> AnalysisLimits:
    """The schedule and limits; what is left out takes AnalysisLimits' defaults."""
    default = AnalysisLimits()
    interval = _positive_duration(
        found, "interval", path, issues, "would leave no time between measurements"
    )
    delay = checks.optional_duration(found, "initial_delay", path, issues)
    return AnalysisLimits(
        count=_count(found, path, issues),
        interval=default.interval if interval is None else interval,
        initial_delay=default.initial_delay if delay is None else delay,
        failure_limit=_limit(found, "failure_limit", path, issues, default.failure_limit),
        inconclusive_limit=_limit(
            found, "inconclusive_limit", path, issues, default.inconclusive_limit
        ),
        consecutive_error_limit=_limit(
            found, "consecutive_error_limit", path, issues, default.consecutive_error_limit
        ),
    )


def _positive_duration(
    found: Mapping[str, Any], key: str, path: Path, issues: Issues, zero_would: str
) -> timedelta | None:
    duration = checks.optional_duration(found, key, path, issues)
    if duration == timedelta(0):
        issues.add((*path, key), f"{key} 0s {zero_would}", "a duration above 0s")
        return None
    return duration


def _count(found: Mapping[str, Any], path: Path, issues: Issues) -> int | None:
    raw = found.get("count")
    if raw is None:
        return None
    if not checks.is_int(raw) or raw < 1:
        expected = "a whole number ≥ 1, or no count to measure until the deployment ends"
        issues.add((*path, "count"), f"got {checks.describe(raw)}", expected)
        return None
    return int(raw)


def _limit(found: Mapping[str, Any], key: str, path: Path, issues: Issues, default: int) -> int:
    raw = found.get(key)
    if raw is None:
        return default
    if not checks.is_int(raw) or raw < 0:
        message = (
            f"{key} can't be negative" if checks.is_int(raw) else f"got {checks.describe(raw)}"
        )
        issues.add((*path, key), message, "a whole number ≥ 0")
        return default
    return int(raw)


# --- metrics ---------------------------------------------------------------------------------

_THRESHOLD_FIELDS = ("query", "success_condition", "failure_condition")
_JUDGE_FIELDS = ("judge", "requests", "errors")
_METRIC_EXPECTED = (
    "a metric: name, and either query with success_condition and/or failure_condition, or "
    "judge with requests and errors"
)
_CONDITION_EXPECTED = "a condition over result, like 'result < 0.01'"
_JUDGE_EXPECTED = "judge: {type: sequential, alpha: 0.01, beta: 0.1, ratio: 2, min_requests: 1000}"
_JUDGE_RANGES = "alpha and beta above 0 and below 0.5, ratio above 1, min_requests ≥ 0"


def _metrics(found: Mapping[str, Any], path: Path, issues: Issues) -> tuple[MetricSpec, ...]:
    items = checks.required_list(found, "metrics", path, issues, "a non-empty list of metrics")
    here = (*path, "metrics")
    metrics = [_metric(item, (*here, index), issues) for index, item in enumerate(items)]
    checks.check_unique([metric.name for metric in metrics], "metric", here, issues)
    return tuple(metrics)


def _metric(raw: object, path: Path, issues: Issues) -> MetricSpec:
    allowed = ("name", *_THRESHOLD_FIELDS, *_JUDGE_FIELDS)
    found = checks.fields(raw, path, issues, _METRIC_EXPECTED, allowed)
    if found is None:
        return MetricSpec(name="")
    name = checks.required_name(found, path, issues, "metric")
    threshold = [key for key in _THRESHOLD_FIELDS if found.get(key) is not None]
    judge = [key for key in _JUDGE_FIELDS if found.get(key) is not None]
    if threshold and judge:
        message = (
            f"the metric has both {threshold[0]} and {judge[0]}; a metric is either a query "
            "with conditions or a judge with requests and errors: make it two metrics"
        )
        issues.add(path, message, _METRIC_EXPECTED)
    elif judge:
        return _judged_metric(name, found, path, issues)
    elif threshold:
        return _threshold_metric(name, found, path, issues)
    else:
        issues.add(path, "the metric has neither a query nor a judge", _METRIC_EXPECTED)
    return MetricSpec(name=name)


def _threshold_metric(
    name: str, found: Mapping[str, Any], path: Path, issues: Issues
) -> MetricSpec:
    conditions = [found.get(key) for key in ("success_condition", "failure_condition")]
    if all(condition is None for condition in conditions):
        message = "the query has no success_condition or failure_condition to judge it by"
        expected = "success_condition: 'result < 0.01', failure_condition: …, or both"
        issues.add(path, message, expected)
    return MetricSpec(
        name=name,
        query=_query(found, "query", path, issues, QUERY_PLACEHOLDERS),
        success_condition=_condition(found, "success_condition", path, issues),
        failure_condition=_condition(found, "failure_condition", path, issues),
    )


def _condition(found: Mapping[str, Any], key: str, path: Path, issues: Issues) -> str | None:
    raw = found.get(key)
    if raw is None:
        return None
    text = checks.string(raw, (*path, key), issues, _CONDITION_EXPECTED)
    if isinstance(raw, str):
        try:
            parse_expression(text, names=("result",))
        except InvalidInput as exc:
            issues.add((*path, key), exc.message, _CONDITION_EXPECTED)
    return text


def _judged_metric(name: str, found: Mapping[str, Any], path: Path, issues: Issues) -> MetricSpec:
    return MetricSpec(
        name=name,
        judge=_judge(found.get("judge"), (*path, "judge"), issues),
        requests=_query(found, "requests", path, issues, JUDGE_PLACEHOLDERS, needs_slot=True),
        errors=_query(found, "errors", path, issues, JUDGE_PLACEHOLDERS, needs_slot=True),
    )


def _judge(raw: object, path: Path, issues: Issues) -> SequentialJudge | None:
    """A sequential judge; its own check of the numbers is reported at the judge."""
    if raw is None:
        issues.add(path, "required field 'judge' is missing", _JUDGE_EXPECTED)
        return None
    allowed = ("type", "alpha", "beta", "ratio", "min_requests")
    given = checks.fields(raw, path, issues, _JUDGE_EXPECTED, allowed)
    if given is None:
        return None
    checks.choice(given, "type", path, issues, JUDGES)
    default = SequentialJudge()
    try:
        return SequentialJudge(
            alpha=_number(given, "alpha", path, issues, default.alpha),
            beta=_number(given, "beta", path, issues, default.beta),
            ratio=_number(given, "ratio", path, issues, default.ratio),
            min_requests=_whole(given, "min_requests", path, issues, default.min_requests),
        )
    except InvalidInput as exc:
        issues.add(path, exc.message, _JUDGE_RANGES)
        return None


def _number(
    given: Mapping[str, Any], key: str, path: Path, issues: Issues, default: float
) -> float:
    raw = given.get(key)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        issues.add((*path, key), f"got {checks.describe(raw)}", "a number, like 0.01")
        return default
    return float(raw)


def _whole(given: Mapping[str, Any], key: str, path: Path, issues: Issues, default: int) -> int:
    raw = given.get(key)
    if raw is None:
        return default
    if not checks.is_int(raw):
        issues.add((*path, key), f"got {checks.describe(raw)}", "a whole number, like 1000")
        return default
    return int(raw)


# --- queries ---------------------------------------------------------------------------------
# A placeholder is `{name}`: an identifier (letters, digits, _) between two braces, nothing
# else. PromQL never writes that: its braces hold label matchers, each with an operator
# (`{job="a"}`, `{code=~"5.."}`, `{__name__="x"}`), or nothing (`{}`); a regex's `{2}` starts
# with a digit. So `{candidate_slott}` is a misspelt placeholder, and every other brace is
# PromQL's own and left alone — the engine fills exactly these `{name}`s, inside quotes too
# (`slot="{candidate_slot}"`). Spaces (`{ slot }`) or a '-' (`{candidate-slot}`) inside count
# as a try at a placeholder: PromQL would refuse them anyway, at the first measurement.
_PLACEHOLDER = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_-]*\s*\}", re.ASCII)


def _query(
    found: Mapping[str, Any],
    key: str,
    path: Path,
    issues: Issues,
    allowed: Sequence[str],
    *,
    needs_slot: bool = False,
) -> str | None:
    here = (*path, key)
    expected = _query_expected(needs_slot=needs_slot)
    raw = found.get(key)
    if raw is None:
        issues.add(here, f"required field '{key}' is missing", expected)
        return None
    text = checks.string(raw, here, issues, expected)
    if not isinstance(raw, str):
        return text
    problem = _query_problem(text, allowed, key=key, needs_slot=needs_slot)
    if problem:
        issues.add(here, problem, expected)
    return text


def _query_problem(text: str, allowed: Sequence[str], *, key: str, needs_slot: bool) -> str | None:
    if not text.strip():
        return "the query is empty"
    known = {"{" + name + "}" for name in allowed}
    for match in _PLACEHOLDER.finditer(text):
        written = match.group()
        if written == "{slot}" and not needs_slot:
            return (
                f"{{slot}} works only in a judge's requests and errors; in '{text}' write "
                "{candidate_slot} or {stable_slot}"
            )
        if written not in known:
            available = ", ".join("{" + name + "}" for name in allowed)
            return f"unknown placeholder {written} in '{text}'; available: {available}"
    if needs_slot and "{slot}" not in text:
        return (
            f"{key} has no {{slot}}: the judge runs it once for the candidate's slot and once "
            "for the stable one, and without {slot} both sides would get the same count"
        )
    return None


def _query_expected(*, needs_slot: bool) -> str:
    if needs_slot:
        return "a counter query with {slot}, like 'sum(http_requests_total{slot=\"{slot}\"})'"
    return "a query with known placeholders, like 'up{slot=\"{candidate_slot}\"}'"
