"""Metric providers: where an analysis gets its measurements — Prometheus' HTTP API, or the
`builtin` store of samples posted to relman's API."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["MetricProvider"]


class MetricProvider(Protocol):
    """Answers an analysis' instant queries: one number for one series, a list for several,
    [] for none; raises MetricQueryError for a query it refuses (asking again gives the same
    answer) and MetricsUnavailable when it cannot answer now (after its own retries)."""

    def query(self, text: str, at: datetime | None = None) -> float | list[float]: ...
