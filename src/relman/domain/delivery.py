"""Progressive delivery settings of relman.yaml: a service's `traffic` and `strategies`, and
the file's `analyses`, as frozen specs.

`relman.domain.config` parses them from a loaded file (with the file's other sections, so one
run reports every problem), with the readers of `relman.domain.delivery_config`; the `parse_*`
functions here read the same plain data back from the server's copy, and the `*_to_dict`
functions write it, in the file's own syntax (a round trip gives equal specs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any

from relman.domain.analysis import AnalysisLimits
from relman.domain.durations import format_duration
from relman.domain.judge import SequentialJudge
from relman.domain.strategies import BlueGreen, Canary, CanaryStep, Rolling, Strategy

__all__ = [
    "ADDRESS_FIELDS",
    "JUDGES",
    "JUDGE_PLACEHOLDERS",
    "PROVIDERS",
    "QUERY_PLACEHOLDERS",
    "STRATEGY_TYPES",
    "TRAFFIC_DRIVERS",
    "AnalysisSpec",
    "MetricSpec",
    "ProviderSpec",
    "TrafficSpec",
    "analysis_to_dict",
    "moves_traffic",
    "parse_analysis",
    "parse_strategy",
    "parse_traffic",
    "referenced_analyses",
    "strategy_to_dict",
    "traffic_to_dict",
]

TRAFFIC_DRIVERS = ("haproxy", "router")  # router: relman's own development router
PROVIDERS = ("prometheus", "builtin")
STRATEGY_TYPES = ("canary", "blue-green", "rolling", "all-at-once")
JUDGES = ("sequential",)
QUERY_PLACEHOLDERS = (  # what a metric's query may use; the engine fills them in
    "service",
    "environment",
    "version",
    "stable_version",
    "candidate_slot",
    "stable_slot",
    "weight",
    "deployment_id",
)
JUDGE_PLACEHOLDERS = (*QUERY_PLACEHOLDERS, "slot")  # a judge's queries run once per slot
ADDRESS_FIELDS = {"haproxy": "socket", "router": "address"}  # how the file names `address`


@dataclass(frozen=True, slots=True)
class TrafficSpec:
    """How users reach a service's two slots. `address` is the HAProxy admin socket (a UNIX
    path, or host:port) or the development router's address; `slots` maps each slot (blue,
    green) to the load balancer's name for it (HAProxy: the server in `backend`)."""

    driver: str
    address: str
    backend: str
    slots: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """Where an analysis reads its metrics: `prometheus` (HTTP API at `address`) or `builtin`
    (samples posted to relman's API; no address)."""

    type: str
    address: str | None = None
    timeout: float = 10.0  # seconds per query


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric of an analysis. Either a `query` judged by `success_condition` and/or
    `failure_condition` (expressions over `result`), or a sequential `judge` comparing the
    candidate with the stable version from two counter queries, `requests` and `errors`,
    each run once per slot with `{slot}` set to the candidate's and then the stable one."""

    name: str
    query: str | None = None
    success_condition: str | None = None
    failure_condition: str | None = None
    judge: SequentialJudge | None = None
    requests: str | None = None
    errors: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisSpec:
    name: str
    provider: ProviderSpec
    metrics: tuple[MetricSpec, ...]
    limits: AnalysisLimits = field(default_factory=AnalysisLimits)


# --- the server's copy: plain data in the file's syntax, and back ------------------------------
# The readers live in relman.domain.delivery_config, which imports the specs above: importing it
# at the top of this module would be circular, so each function imports it when called.


def parse_traffic(data: object) -> TrafficSpec:
    """A service's `traffic` as plain data (as `traffic_to_dict` writes it, e.g. from the
    server's copy of a service); ConfigError listing what is wrong."""
    from relman.domain import delivery_config

    return delivery_config.checked(
        lambda issues: delivery_config.read_traffic(data, ("traffic",), issues)
    )


def parse_strategy(data: object, environment: str) -> Strategy:
    """The strategy of `environment` as plain data (as `strategy_to_dict` writes it);
    ConfigError listing what is wrong. Which analyses it names is not checked here: the file
    was checked when it was applied, and the deployment keeps the analyses it names."""
    from relman.domain import delivery_config

    path = ("strategies", environment)
    return delivery_config.checked(lambda issues: delivery_config.read_strategy(data, path, issues))


def parse_analysis(data: object) -> AnalysisSpec:
    """An analysis as plain data (as `analysis_to_dict` writes it); ConfigError listing what
    is wrong."""
    from relman.domain import delivery_config

    name = data.get("name") if isinstance(data, Mapping) else None
    path = ("analyses", name) if isinstance(name, str) else ("analyses",)
    return delivery_config.checked(lambda issues: delivery_config.read_analysis(data, path, issues))


def traffic_to_dict(spec: TrafficSpec) -> dict[str, Any]:
    """The file's syntax: `socket:` for haproxy, `address:` for the router."""
    return {
        "driver": spec.driver,
        ADDRESS_FIELDS.get(spec.driver, "address"): spec.address,
        "backend": spec.backend,
        "slots": dict(spec.slots),
    }


def strategy_to_dict(strategy: Strategy) -> dict[str, Any]:
    """The file's syntax, defaults included; durations as "30s"."""
    if isinstance(strategy, Canary):
        return {
            "type": "canary",
            "steps": [_canary_step_to_dict(step) for step in strategy.steps],
            "background_analysis": strategy.background_analysis,
        }
    if isinstance(strategy, BlueGreen):
        return {
            "type": "blue-green",
            "auto_promote": strategy.auto_promote,
            "pre_promotion_analysis": strategy.pre_promotion_analysis,
            "post_promotion_analysis": strategy.post_promotion_analysis,
            "scale_down_delay": format_duration(strategy.scale_down_delay),
        }
    if isinstance(strategy, Rolling):
        return {"type": "rolling", "targets": list(strategy.targets), "batch": strategy.batch}
    return {"type": "all-at-once"}


def _canary_step_to_dict(step: CanaryStep) -> dict[str, Any]:
    if step.set_weight is not None:
        return {"set_weight": step.set_weight}
    if step.pause:  # {} waits for a person
        return {"pause": {} if step.duration is None else format_duration(step.duration)}
    return {"analysis": step.analysis}


def analysis_to_dict(spec: AnalysisSpec) -> dict[str, Any]:
    """The file's syntax, defaults included; durations as "30s", a missing count as None."""
    limits = spec.limits
    return {
        "name": spec.name,
        "provider": {
            "type": spec.provider.type,
            "address": spec.provider.address,
            "timeout": format_duration(timedelta(seconds=spec.provider.timeout)),
        },
        "interval": format_duration(limits.interval),
        "count": limits.count,
        "initial_delay": format_duration(limits.initial_delay),
        "failure_limit": limits.failure_limit,
        "inconclusive_limit": limits.inconclusive_limit,
        "consecutive_error_limit": limits.consecutive_error_limit,
        "metrics": [_metric_to_dict(metric) for metric in spec.metrics],
    }


def _metric_to_dict(metric: MetricSpec) -> dict[str, Any]:
    if metric.judge is None:
        return {
            "name": metric.name,
            "query": metric.query,
            "success_condition": metric.success_condition,
            "failure_condition": metric.failure_condition,
        }
    judge = metric.judge
    return {
        "name": metric.name,
        "judge": {
            "type": "sequential",
            "alpha": judge.alpha,
            "beta": judge.beta,
            "ratio": judge.ratio,
            "min_requests": judge.min_requests,
        },
        "requests": metric.requests,
        "errors": metric.errors,
    }


# --- what a strategy needs -------------------------------------------------------------------


def moves_traffic(strategy: Strategy) -> bool:
    """Canary and blue-green put the candidate in a slot of its own and move users to it: the
    service needs `traffic`, and a run that deploys into a slot and stops one."""
    return isinstance(strategy, Canary | BlueGreen)


def referenced_analyses(strategy: Strategy) -> tuple[str, ...]:
    """The analyses a strategy names, each once, in the order written."""
    names: list[str | None] = []
    if isinstance(strategy, Canary):
        names = [step.analysis for step in strategy.steps]
        names.append(strategy.background_analysis)
    elif isinstance(strategy, BlueGreen):
        names = [strategy.pre_promotion_analysis, strategy.post_promotion_analysis]
    return tuple(dict.fromkeys(name for name in names if name))
