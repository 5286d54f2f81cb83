"""The SLO gate against a real Prometheus (Debian's package; `make test` installs it) holding
30 days of known request counts, loaded with promtool's backfill instead of waiting for scrapes.

The history (one sample a minute, every series at the same instants, ending at `end`):
- `service="healthy"`: 2,000 requests a minute, 1 of them failing (0.05%) all along;
- `service="incident"`: the same until the last 2 hours, then 100 of 2,000 failing (5%).

Worked out by hand for objective 99.9% (budget 0.1%) over 28d:
- healthy: error ratio 0.05% everywhere, so 50% of the budget left and every window burns 0.5×;
- incident, at `end`: 1h is all incident, 5% / 0.1% = 50×; 6h is 2 h at 5% and 4 h at 0.05%,
  (120·100 + 240·1) / (360·2,000) = 1.7%, 17×; 28d: (120·100 + 40,200·1) / (40,320·2,000)
  = 0.0647%, so 35.27% of the budget left.

Counters that grow at constant rates, sampled at the same instants, give increase() the same
extrapolation factor for good and total (both are sums of series sampled together), so the
ratios above come out exact but for float rounding: the tolerances are 0.01 percentage points
of budget and 0.01× of burn rate.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from relman.domain.gates import Verdict
from relman.domain.slo import SloSpec, slo_from_dict
from relman.metrics.prometheus import PrometheusProvider
from relman.metrics.slo import measure_slo
from tests.e2e.infra import eventually
from tests.e2e.servers import free_port, running_server

pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None or shutil.which("promtool") is None,
    reason="Prometheus or its promtool is not installed ('make test' installs the package)",
)

MINUTES = 30 * 24 * 60  # of history, more than the 28d window
INCIDENT_MINUTES = 120
GATE = {"min_budget_remaining": "10%", "max_burn_rate": {"1h": 14.4, "6h": 6}}


@dataclass
class History:
    address: str  # Prometheus' URL
    end: datetime  # the newest sample


def openmetrics(end: int) -> str:
    """Counters of requests by service and code, one sample a minute for MINUTES until `end`
    (a Unix time in seconds), in the OpenMetrics text format promtool backfills from."""
    lines = ["# HELP http_requests Requests served.", "# TYPE http_requests counter"]
    for service in ("healthy", "incident"):
        incident = service == "incident"
        ok = failed = 0
        series: dict[str, list[str]] = {"200": [], "500": []}
        for minute in range(MINUTES + 1):
            if minute:
                burning = incident and minute > MINUTES - INCIDENT_MINUTES
                ok, failed = (ok + 1_900, failed + 100) if burning else (ok + 1_999, failed + 1)
            at = end - (MINUTES - minute) * 60
            series["200"].append(f'http_requests_total{{code="200",service="{service}"}} {ok} {at}')
            series["500"].append(
                f'http_requests_total{{code="500",service="{service}"}} {failed} {at}'
            )
        lines += series["200"] + series["500"]  # each series' samples together, oldest first
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backfill(root: Path, end: int) -> Path:
    """TSDB blocks of the history in root/data. --max-block-duration lets promtool write a few
    long blocks (aligned to 486h) instead of one per 2 hours: 0.1 s instead of 10 s here."""
    source, data = root / "history.om", root / "data"
    source.write_text(openmetrics(end))
    subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            "--quiet",
            "--max-block-duration=744h",
            str(source),
            str(data),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return data


def ready(address: str) -> bool:
    try:
        return httpx.get(f"{address}/-/ready", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    """Prometheus serving the backfilled history; nothing to scrape. Its retention is raised
    from the default 15d, which would drop blocks of the 28d window."""
    root = tmp_path_factory.mktemp("slo-prometheus")
    end = int(time.time()) // 60 * 60
    data = backfill(root, end)
    (root / "prometheus.yml").write_text("global: {}\n")
    address = f"http://127.0.0.1:{free_port()}"
    log = (root / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={root / 'prometheus.yml'}",
            f"--storage.tsdb.path={data}",
            "--storage.tsdb.retention.time=400d",
            f"--web.listen-address={address.removeprefix('http://')}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            eventually(lambda: ready(address), 15, "Prometheus ready")
        except AssertionError:
            said = (root / "prometheus.log").read_text()[-2000:]
            raise AssertionError(f"Prometheus did not get ready:\n{said}") from None
        yield History(address, datetime.fromtimestamp(end, UTC))
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def slo(history: History, service: str, **changes: object) -> SloSpec:
    """The contract's example, counting the requests of `service`."""
    selector = f'service="{service}"'
    data: dict[str, object] = {
        "name": f"{service}-availability",
        "provider": {"type": "prometheus", "address": history.address},
        "objective": 99.9,
        "window": "28d",
        "good": f'sum(increase(http_requests_total{{{selector},code!~"5.."}}[{{window}}]))',
        "total": f"sum(increase(http_requests_total{{{selector}}}[{{window}}]))",
        "gate": GATE,
    }
    data.update(changes)
    return slo_from_dict(data)


def provider(history: History) -> PrometheusProvider:
    return PrometheusProvider(history.address, timeout=5)


def test_a_healthy_service_passes_with_half_its_budget_left(history: History) -> None:
    status = measure_slo(slo(history, "healthy"), provider(history))  # now, seconds after `end`
    assert status.verdict is Verdict.PASS, status.reason
    assert status.budget_remaining == pytest.approx(50, abs=0.01)
    assert [burn.rate for burn in status.burn_rates] == [
        pytest.approx(0.5, abs=0.01),
        pytest.approx(0.5, abs=0.01),
    ]
    assert status.reason == (
        "error budget 50% left (spent 50% of 0.1% errors allowed over 28d; the gate requires "
        "10%); burning 0.5× the sustainable rate over 1h (limit 14.4) and 0.5× over 6h (limit 6)"
    )


def test_a_recent_incident_burns_too_fast_over_both_windows(history: History) -> None:
    status = measure_slo(slo(history, "incident"), provider(history), at=history.end)
    assert status.verdict is Verdict.FAIL
    assert [burn.rate for burn in status.burn_rates] == [
        pytest.approx(50, abs=0.01),
        pytest.approx(17, abs=0.01),
    ]
    assert status.budget_remaining == pytest.approx(35.27, abs=0.01)  # the budget alone: fine
    assert status.reason == (
        "burning 50× the sustainable rate over 1h (limit 14.4) and 17× over 6h (limit 6)"
    )
    evidence = status.evidence()
    assert evidence["measurements"][1]["total"] == pytest.approx(60 * 2_000, abs=1)
    assert evidence["measurements"][1]["queries"]["total"] == (
        'sum(increase(http_requests_total{service="incident"}[1h]))'
    )


def test_a_stricter_objective_finds_the_budget_over_spent(history: History) -> None:
    # 0.0647% errors of the 0.05% that 99.95 allows: 129.46% spent
    spec = slo(history, "incident", objective=99.95, gate={"min_budget_remaining": 10})
    status = measure_slo(spec, provider(history), at=history.end)
    assert status.verdict is Verdict.FAIL
    assert status.budget_remaining == pytest.approx(-29.46, abs=0.01)
    assert status.reason == (
        "error budget over-spent: -29.5% left, below the 10% the gate requires (spent 129.5% of "
        "0.05% errors allowed over 28d)"
    )


def test_a_service_without_series_is_pending(history: History) -> None:
    status = measure_slo(slo(history, "ghost"), provider(history), at=history.end)
    assert status.verdict is Verdict.PENDING
    assert status.reason == (
        "no data over 28d: no series for the good and total queries; the gate waits"
    )


def test_a_query_prometheus_refuses_is_pending_with_its_error(history: History) -> None:
    spec = slo(history, "healthy", good="sum(increase(http_requests_total[{window}])")
    status = measure_slo(spec, provider(history), at=history.end)
    assert status.verdict is Verdict.PENDING
    assert status.reason.startswith("can't measure the SLO: Prometheus refused the query")


def test_a_prometheus_that_does_not_answer_is_pending() -> None:
    address = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    spec = slo(History(address, datetime.now(UTC)), "healthy")
    status = measure_slo(spec, PrometheusProvider(address, timeout=1, retries=0))
    assert status.verdict is Verdict.PENDING
    assert status.reason.startswith(f"can't measure the SLO: Prometheus at {address} is unavail")


def test_the_slo_gate_and_slo_status_through_the_server(history: History, tmp_path: Path) -> None:
    """relman.yaml's slos: and an environment's `slo` gate, from the CLI against a real server:
    the incident's SLO blocks production, the healthy one lets it through."""

    def slo_entry(service: str) -> str:
        counted = "sum(increase(http_requests_total{%s}[{window}]))"
        good = counted % f'service="{service}",code!~"5.."'
        total = counted % f'service="{service}"'
        return (
            f"  - name: {service}-availability\n"
            f"    provider: {{type: prometheus, address: '{history.address}'}}\n"
            "    objective: 99.9\n"
            "    window: 28d\n"
            f"    good: '{good}'\n"
            f"    total: '{total}'\n"
            "    gate: {min_budget_remaining: 10%, max_burn_rate: {'1h': 14.4, '6h': 6}}\n"
        )

    config = tmp_path / "relman.yaml"
    config.write_text(
        "version: 1\n"
        "environments:\n"
        "  - name: production\n"
        "    tier: production\n"
        "    gates: [{slo: incident-availability}]\n"
        "  - name: staging\n"
        "    tier: staging\n"
        "    gates: [{slo: healthy-availability}]\n"
        "lifecycles:\n"
        "  - {name: any, phases: [{name: all, environments: [staging, production], minimum: 1}]}\n"
        "services:\n"
        "  - {name: shop, lifecycle: any, run: {driver: script, deploy: ['true']}}\n"
        "slos:\n" + slo_entry("healthy") + slo_entry("incident")
    )
    with running_server(tmp_path / "home") as server:
        admin = server.cli("token", "create", "--user", "root", "--role", "admin").stdout.strip()
        applied = server.cli("apply", "-f", str(config), token=admin)
        assert applied.returncode == 0, applied.stderr
        assert "slo/incident-availability" in applied.stdout
        status = json.loads(server.cli("slo", "status", "--json", token=admin).stdout)
        by_name = {s["slo"]: s for s in status}
        assert by_name["healthy-availability"]["verdict"] == "pass"
        assert by_name["healthy-availability"]["budget_remaining"] == pytest.approx(50, abs=0.5)
        assert by_name["incident-availability"]["verdict"] == "fail"
        table = server.cli("slo", "status", token=admin)
        assert "incident-availability" in table.stdout
        assert "burning" in table.stdout

        assert (
            server.cli("release", "create", "shop", "--version", "1.0.0", token=admin).returncode
            == 0
        )
        no_go = server.cli(
            "promote", "shop", "1.0.0", "--to", "production", "--dry-run", "--json", token=admin
        )
        assert no_go.returncode == 5
        gate = next(g for g in json.loads(no_go.stdout)["gates"] if g["gate"] == "slo")
        assert gate["verdict"] == "fail"
        assert "sustainable rate over 1h (limit 14.4)" in gate["reason"]
        assert gate["evidence"]["measurements"][0]["queries"]["total"].endswith("[28d]))")
        refused = server.cli("promote", "shop", "1.0.0", "--to", "production", token=admin)
        assert refused.returncode == 5
        assert "SLO incident-availability: burning" in refused.stderr
        go = server.cli("promote", "shop", "1.0.0", "--to", "staging", "--dry-run", token=admin)
        assert go.returncode == 0, go.stdout
