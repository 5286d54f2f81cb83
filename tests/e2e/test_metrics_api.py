"""The builtin provider's API and CLI against a real server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from .servers import Server, running_server

SAMPLES = "/api/v1/metrics/samples"
QUERY = "/api/v1/metrics/query"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("metrics") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    made = {}
    for role in ("viewer", "deployer"):
        result = server.cli("token", "create", "--user", f"metrics-{role}", "--role", role)
        assert result.returncode == 0, result.stderr
        made[role] = result.stdout.strip()
    return made


def post(server: Server, samples: list[dict[str, Any]], token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(server.url + SAMPLES, json={"samples": samples}, headers=headers)


def ask(server: Server, query: str, at: datetime | None = None) -> httpx.Response:
    params = {"query": query} | ({"at": at.isoformat()} if at else {})
    return httpx.get(server.url + QUERY, params=params)


def sample(name: str, value: float, at: datetime | None = None, /, **labels: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "labels": labels, "value": value}
    if at is not None:
        body["at"] = at.isoformat()
    return body


def test_a_deployer_posts_samples_a_viewer_may_not_and_a_token_is_needed(
    server: Server, tokens: dict[str, str]
) -> None:
    samples = [sample("posted_total", 1, slot="green"), sample("posted_total", 2, slot="blue")]
    accepted = post(server, samples, tokens["deployer"])
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {"accepted": 2}

    viewer = post(server, samples, tokens["viewer"])
    assert viewer.status_code == 403
    assert "needs role 'deployer'" in viewer.json()["error"]["message"]

    anonymous = post(server, samples, None)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"

    assert ask(server, "sum(posted_total)").json() == {"query": "sum(posted_total)", "result": 3}


def test_a_bad_sample_is_422_naming_its_index_and_field_and_nothing_is_stored(
    server: Server, tokens: dict[str, str]
) -> None:
    samples = [sample("refused_total", 1), sample("refused_total", 2, **{"bad-label": "x"})]
    response = post(server, samples, tokens["deployer"])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["message"].startswith("1 bad sample, none stored: samples.1.labels: 'bad-label'")
    [problem] = error["details"]["problems"]
    assert problem["index"] == 1
    assert problem["field"] == "samples.1.labels"
    assert ask(server, "refused_total").json()["result"] == []

    naive = sample("refused_total", 1) | {"at": "2026-11-30T12:00:00"}
    response = post(
        server, [sample("refused_total", 1), sample("refused_total", 1), naive], tokens["deployer"]
    )
    assert response.status_code == 422
    [problem] = response.json()["error"]["details"]["problems"]
    assert problem["field"] == "samples.2.at"
    assert "has no time zone" in problem["message"]
    assert ask(server, "refused_total").json()["result"] == []


def test_a_sample_body_of_the_wrong_shape_is_422_with_its_path(
    server: Server, tokens: dict[str, str]
) -> None:
    response = post(server, [sample("x", 1), {"name": "x", "value": "many"}], tokens["deployer"])
    assert response.status_code == 422
    fields = [p["field"] for p in response.json()["error"]["details"]["problems"]]
    assert fields == ["samples.1.value"]


def test_the_query_endpoint_answers_as_an_analysis_would(
    server: Server, tokens: dict[str, str]
) -> None:
    at = datetime.now(UTC).replace(microsecond=0)
    samples = []
    for seconds, ok, errors in ((40, 100, 1), (10, 400, 4)):
        when = at - timedelta(seconds=seconds)
        samples.append(sample("canary_requests_total", ok, when, slot="green", code="200"))
        samples.append(sample("canary_requests_total", errors, when, slot="green", code="500"))
    assert post(server, samples, tokens["deployer"]).status_code == 202

    ratio = (
        'sum(rate(canary_requests_total{slot="green", code=~"5.."}[1m]))'
        ' / sum(rate(canary_requests_total{slot="green"}[1m]))'
    )
    assert ask(server, ratio, at).json()["result"] == pytest.approx(3 / 303)
    assert ask(server, 'increase(canary_requests_total{code="200"}[1m])', at).json() == {
        "query": 'increase(canary_requests_total{code="200"}[1m])',
        "result": 300,
    }
    assert ask(server, "canary_requests_total", at).json()["result"] == [400, 4]
    assert ask(server, "0 / 0").json()["result"] == "NaN"
    assert ask(server, "-1 / 0").json()["result"] == "-Inf"

    bad = ask(server, "sum(rate(canary_requests_total[1m])")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["position"] == 35


def test_the_cli_pushes_a_sample_and_queries_it(server: Server, tokens: dict[str, str]) -> None:
    pushed = server.cli(
        "metrics", "push", "cli_requests_total", "7", "--label", "slot=green", "-l", "code=500",
        token=tokens["deployer"],
    )  # fmt: skip
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.strip() == "Accepted 1 sample."

    asked = server.cli("metrics", "query", 'cli_requests_total{slot="green"}', "--json")
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout) == {"query": 'cli_requests_total{slot="green"}', "result": 7}
    assert server.cli("metrics", "query", "cli_requests_total * 2").stdout.strip() == "14"
    assert server.cli("metrics", "query", "0/0").stdout.strip() == "NaN"
    empty = server.cli("metrics", "query", "nothing_here")
    assert empty.stdout.startswith("No data")


def test_the_cli_reports_refusals_with_exit_codes(server: Server, tokens: dict[str, str]) -> None:
    viewer = server.cli("metrics", "push", "x", "1", token=tokens["viewer"])
    assert viewer.returncode == 6
    assert "needs role 'deployer'" in viewer.stderr

    bad_query = server.cli("metrics", "query", "avg(x)")
    assert bad_query.returncode == 2
    assert "expected one of the functions increase, rate, sum, found 'avg'" in bad_query.stderr

    as_json = server.cli("metrics", "query", "avg(x)", "--json")
    assert json.loads(as_json.stdout)["error"]["details"]["position"] == 0

    bad_label = server.cli("metrics", "push", "x", "1", "--label", "slot", token=tokens["deployer"])
    assert bad_label.returncode == 2
    assert "use NAME=VALUE" in bad_label.stderr

    bad_value = server.cli("metrics", "push", "x", "nan", token=tokens["deployer"])
    assert bad_value.returncode == 2
    assert "finite number" in bad_value.stderr

    bad_name = server.cli("metrics", "push", "1x", "1", token=tokens["deployer"])
    assert bad_name.returncode == 2
    assert "samples.0.name: '1x' is not a metric name" in bad_name.stderr
