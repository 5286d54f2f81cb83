"""Measuring an SLO through a metric provider (relman.domain.slo has the rules)."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from relman.domain.slo import SloSpec, SloStatus, WindowCounts, evaluate_slo
from relman.metrics import MetricProvider
from relman.metrics.prometheus import MetricQueryError, MetricsUnavailable

__all__ = ["measure_slo"]


def measure_slo(spec: SloSpec, provider: MetricProvider, at: datetime | None = None) -> SloStatus:
    """The SLO's status at `at` (default: now): its good and total queries run over the SLO's
    window, then over each burn-rate window, all at the same instant so that good and total
    count the same events. A vector of several series counts as their sum, an empty one as no
    data. A provider that refuses a query or does not answer makes the status pending, with
    its message as the reason; the queries after it are not asked."""
    when = at or datetime.now(UTC)
    measured: list[WindowCounts] = []
    try:
        for window in spec.windows:
            good, total = spec.queries(window)
            counts = _count(provider.query(good, when)), _count(provider.query(total, when))
            measured.append(WindowCounts(window, *counts))
    except (MetricQueryError, MetricsUnavailable) as exc:
        return evaluate_slo(spec, measured, problem=exc.message)
    return evaluate_slo(spec, measured)


def _count(answer: float | list[float]) -> float | None:
    if isinstance(answer, list):
        return math.fsum(answer) if answer else None
    return answer
