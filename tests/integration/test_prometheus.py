"""The prometheus metric provider against a real Prometheus (Debian's package; `make test`
installs it) scraping a tiny exporter on loopback."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator

import httpx
import pytest

from relman.metrics.prometheus import MetricQueryError, MetricsUnavailable, PrometheusProvider
from tests.e2e.infra import running_prometheus
from tests.e2e.servers import free_port, tiny_http_server

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None,
    reason="Prometheus is not installed ('make test' installs it)",
)

EXPOSITION = """\
# TYPE http_requests_total counter
http_requests_total{slot="blue",code="200"} 990
http_requests_total{slot="blue",code="500"} 10
http_requests_total{slot="green",code="200"} 95
http_requests_total{slot="green",code="500"} 5
"""


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusProvider]:
    root = tmp_path_factory.mktemp("prometheus")
    exporter = tiny_http_server(EXPOSITION, "text/plain; version=0.0.4")
    target = f"127.0.0.1:{exporter.server_address[1]}"
    try:
        query = 'count(http_requests_total{job="app"})'
        with running_prometheus(root, [target], query, lambda value: value == 4.0) as provider:
            yield provider
    finally:
        exporter.shutdown()
        exporter.server_close()


def test_one_series_is_a_number_and_an_error_ratio_reads_as_written(
    prometheus: PrometheusProvider,
) -> None:
    ratio = prometheus.query(
        'sum(http_requests_total{slot="green",code=~"5.."})'
        ' / sum(http_requests_total{slot="green"})'
    )
    assert ratio == pytest.approx(0.05)


def test_several_series_are_a_list_and_none_is_an_empty_list(
    prometheus: PrometheusProvider,
) -> None:
    by_slot = prometheus.query('sort(sum by (slot) (http_requests_total{code="500"}))')
    assert by_slot == [5.0, 10.0]
    assert prometheus.query('http_requests_total{slot="purple"}') == []


def test_nan_stays_nan_for_the_analysis_to_call_it_no_data(prometheus: PrometheusProvider) -> None:
    value = prometheus.query('sum(http_requests_total{slot="purple"}) / 0 or vector(0) / 0')
    assert isinstance(value, float)
    assert math.isnan(value)
    scalar = prometheus.query("scalar(vector(0) / 0)")
    assert isinstance(scalar, float)
    assert math.isnan(scalar)


def test_a_bad_query_is_an_error_of_the_analysis_not_retried(
    prometheus: PrometheusProvider,
) -> None:
    with pytest.raises(MetricQueryError) as caught:
        prometheus.query("sum(rate(http_requests_total[1m])")
    assert "Prometheus refused the query" in caught.value.message
    assert caught.value.details["status"] == 400
    with pytest.raises(MetricQueryError, match="gives a range vector"):
        prometheus.query("http_requests_total[1m]")


def test_an_unreachable_prometheus_is_asked_again_then_reported_unavailable() -> None:
    waits: list[float] = []
    provider = PrometheusProvider(
        f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.01, sleep=waits.append
    )
    with pytest.raises(MetricsUnavailable, match="unavailable after 3 attempts: cannot connect"):
        provider.query("up")
    assert waits == [0.01, 0.02]


def test_a_503_is_retried_and_a_later_answer_is_used() -> None:
    answers = iter(
        [
            httpx.Response(503, json={"status": "error", "error": "starting"}),
            httpx.Response(
                200,
                json={
                    "status": "success",
                    "data": {
                        "resultType": "vector",
                        "result": [{"metric": {}, "value": [1, "0.5"]}],
                    },
                },
            ),
        ]
    )
    provider = PrometheusProvider(
        "http://prometheus.invalid",
        transport=httpx.MockTransport(lambda request: next(answers)),
        sleep=lambda seconds: None,
    )
    assert provider.query("up") == 0.5
