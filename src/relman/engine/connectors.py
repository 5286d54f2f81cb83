"""The real traffic drivers and metric providers, by the names relman.yaml uses."""

from __future__ import annotations

from relman.domain.delivery import ProviderSpec, TrafficSpec
from relman.drivers.base import Traffic
from relman.engine.rollout import ProviderFactory, TrafficFactory
from relman.errors import InvalidInput
from relman.metrics import MetricProvider
from relman.store.database import Database

__all__ = ["provider_factory", "traffic_factory"]


def traffic_factory() -> TrafficFactory:
    def traffic_for(spec: TrafficSpec) -> Traffic:
        if spec.driver == "haproxy":
            from relman.drivers.haproxy import HAProxyRuntime, HAProxyTraffic

            return HAProxyTraffic(HAProxyRuntime(spec.address), spec.backend, dict(spec.slots))
        if spec.driver == "router":
            from relman.drivers.router import RouterTraffic

            return RouterTraffic(spec.address, spec.backend)
        raise InvalidInput(f"unknown traffic driver '{spec.driver}'; known: haproxy, router")

    return traffic_for


def provider_factory(database: Database) -> ProviderFactory:
    def provider_for(spec: ProviderSpec) -> MetricProvider:
        if spec.type == "prometheus":
            from relman.metrics.prometheus import PrometheusProvider

            return PrometheusProvider(spec.address or "", timeout=spec.timeout)
        if spec.type == "builtin":
            from relman.metrics.builtin import BuiltinProvider

            return BuiltinProvider(database)
        raise InvalidInput(f"unknown metric provider '{spec.type}'; known: prometheus, builtin")

    return provider_for
