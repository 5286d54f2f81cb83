"""The `prometheus` metric provider: instant queries over Prometheus' HTTP API.

What a query gives an analysis as `result`:
- a vector of one sample: that sample's value, a float (`sum(rate(...)) / sum(rate(...))`);
- a vector of several samples: their values, a list of floats, in Prometheus' order;
- an empty vector: an empty list, which the analysis counts as no data (inconclusive);
- a scalar: its value; NaN stays NaN (inconclusive too).

A query Prometheus refuses (HTTP 400 or 422: bad syntax, a range vector, a timeout inside the
query) is an error of the analysis, not retried: asking again gives the same answer. A Prometheus
that is unavailable (HTTP 503, no answer, a timeout, a refused connection) is asked again, a few
times, then reported as unavailable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from relman.errors import RelmanError

__all__ = ["MetricQueryError", "MetricsUnavailable", "PrometheusProvider"]


class MetricQueryError(RelmanError):
    """The metrics backend refused the query; asking again would give the same answer."""

    code = "metric_query_error"


class MetricsUnavailable(RelmanError):
    """The metrics backend did not answer, after retries."""

    code = "metrics_unavailable"


@dataclass(frozen=True)
class PrometheusProvider:
    address: str  # http://127.0.0.1:9090
    timeout: float = 10.0
    retries: int = 2  # extra attempts when Prometheus is unavailable
    backoff: float = 0.5  # seconds before the first retry, doubled each time
    transport: httpx.BaseTransport | None = None  # tests swap the network
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def query(self, promql: str, at: datetime | None = None) -> float | list[float]:
        """The value of an instant query (see the module docstring for its shape)."""
        params = {"query": promql}
        if at is not None:
            params["time"] = f"{at.timestamp():.3f}"
        url = self.address.rstrip("/") + "/api/v1/query"
        delay, last = self.backoff, ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(delay)
                delay *= 2
            try:
                with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                    response = client.get(url, params=params)
            except httpx.TimeoutException:
                last = f"no answer within {self.timeout:g}s"
                continue
            except httpx.TransportError as exc:
                last = f"cannot connect: {exc}"
                continue
            if response.status_code in (400, 422):
                raise MetricQueryError(
                    f"Prometheus refused the query {promql!r}: {_error_of(response)}",
                    details={"query": promql, "status": response.status_code},
                )
            if response.status_code == 503 or response.status_code >= 500:
                last = f"HTTP {response.status_code}: {_error_of(response)}"
                continue
            if response.status_code != 200:
                raise MetricQueryError(
                    f"Prometheus at {self.address} answered HTTP {response.status_code} to "
                    f"{promql!r}; is the address that of Prometheus?",
                    details={"query": promql, "status": response.status_code},
                )
            return _value(promql, _json(response, promql))
        raise MetricsUnavailable(
            f"Prometheus at {self.address} is unavailable after {self.retries + 1} attempts: "
            f"{last}",
            details={"address": self.address, "query": promql},
        )


def _json(response: httpx.Response, promql: str) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise MetricQueryError(
            f"Prometheus answered {promql!r} with something that is not JSON",
            details={"query": promql},
        ) from None
    if not isinstance(body, dict) or body.get("status") != "success":
        said = body.get("error") if isinstance(body, dict) else repr(body)[:200]
        raise MetricQueryError(
            f"Prometheus did not answer {promql!r}: {said}", details={"query": promql}
        )
    data = body.get("data")
    if not isinstance(data, dict):
        raise MetricQueryError(f"Prometheus' answer to {promql!r} has no data")
    return data


def _value(promql: str, data: dict[str, Any]) -> float | list[float]:
    kind, result = data.get("resultType"), data.get("result") or []
    if kind == "scalar":
        return _number(result[1])
    if kind == "vector":
        values = [_number(sample["value"][1]) for sample in result]
        return values[0] if len(values) == 1 else values
    if kind == "matrix":
        raise MetricQueryError(
            f"{promql!r} gives a range vector; an analysis needs one value per series: wrap it "
            "in a function like rate() or avg_over_time()",
            details={"query": promql},
        )
    raise MetricQueryError(
        f"{promql!r} gives a {kind}; an analysis needs a number or a vector",
        details={"query": promql},
    )


def _number(text: object) -> float:
    try:
        return float(str(text))  # Prometheus writes "NaN", "+Inf", "0.01"
    except ValueError:
        return math.nan


def _error_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    return str(body.get("error") or body) if isinstance(body, dict) else str(body)[:200]
