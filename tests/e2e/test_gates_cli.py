"""Gates as a user meets them from the CLI: the go/no-go report, a promotion that waits for an
approval and a lock, separation of duties, and the audit trail of it all."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .servers import Server, running_server

CONFIG = """\
version: 1
environments:
  - {name: staging, tier: staging}
  - name: production
    tier: production
    gates:
      - approval: {required: 1, from: [release-manager], forbid: [requester]}
lifecycles:
  - name: default
    phases:
      - {name: test, environments: [staging]}
      - {name: prod, environments: [production]}
services:
  - name: api
    lifecycle: default
    run: {driver: script, deploy: ["true"]}
"""


def _json(result: Any) -> Any:
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


def _until(server: Server, token: str, deployment: int, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        d = _json(server.cli("deployments", "show", str(deployment), "--json", token=token))
        if d["state"] == state or time.monotonic() > deadline:
            assert d["state"] == state, d
            return d  # type: ignore[no-any-return]
        time.sleep(0.2)


def test_a_promotion_waits_for_an_approval_and_a_lock_and_says_why(tmp_path: Path) -> None:
    config = tmp_path / "relman.yaml"
    config.write_text(CONFIG)
    with running_server(tmp_path / "home") as server:

        def token(user: str, role: str) -> str:
            made = server.cli("token", "create", "--user", user, "--role", role)
            return made.stdout.strip()

        admin, ci = token("root", "admin"), token("ci", "deployer")
        rita, rex = token("rita", "release-manager"), token("rex", "release-manager")
        assert server.cli("apply", "-f", str(config), token=admin).returncode == 0
        assert (
            server.cli("release", "create", "api", "--version", "1.0.0", token=ci).returncode == 0
        )
        staged = server.cli("promote", "api", "1.0.0", "--to", "staging", "--wait", token=ci)
        assert staged.returncode == 0, staged.stderr

        report = server.cli("promote", "api", "1.0.0", "--to", "production", "--dry-run", token=ci)
        assert report.returncode == 11, report.stderr
        assert "WAIT" in report.stdout
        assert "needs 1 approval from a release-manager: 0 of 1" in report.stdout
        as_json = _json(
            server.cli(
                "promote", "api", "1.0.0", "--to", "production", "--dry-run", "--json", token=ci
            )
        )
        assert as_json["verdict"] == "pending"
        assert {g["gate"]: g["verdict"] for g in as_json["gates"]} == {
            "permission": "pass",
            "lifecycle": "pass",
            "lock": "pass",
            "freeze": "pass",
            "approval": "pending",
        }

        asked = _json(
            server.cli("promote", "api", "1.0.0", "--to", "production", "--json", token=rex)
        )
        deployment = asked["id"]
        assert asked["state"] == "waiting"
        shown = server.cli("deployments", "show", str(deployment), token=ci)
        assert "waiting for approval: needs 1 approval from a release-manager" in shown.stdout

        own = server.cli("approve", str(deployment), token=rex)
        assert own.returncode == 6
        assert "rex requested this deployment" in own.stderr
        assert "separation of duties" in own.stderr
        not_listed = server.cli("approve", str(deployment), token=ci)
        assert not_listed.returncode == 6
        assert "ci (deployer) may not approve deployment" in not_listed.stderr

        locked = server.cli("lock", "production", "--reason", "incident 42", token=rita)
        assert locked.returncode == 0, locked.stderr
        status = server.cli("status", token=ci)
        assert "production is locked by rita: incident 42" in status.stdout

        approved = server.cli("approve", str(deployment), "--comment", "looks good", token=rita)
        assert approved.returncode == 0, approved.stderr
        assert "approved; it is waiting" in approved.stdout
        assert "lock on production" in approved.stdout
        assert (
            _json(server.cli("deployments", "show", str(deployment), "--json", token=ci))["state"]
            == "waiting"
        )

        assert server.cli("unlock", "production", token=rita).returncode == 0
        done = _until(server, ci, deployment, "succeeded")
        assert [(a["user"], a["decision"]) for a in done["approvals"]] == [("rita", "approve")]
        assert (
            "approved by rita (release-manager): looks good"
            in server.cli("deployments", "show", str(deployment), token=ci).stdout
        )

        record = server.cli("evidence", str(deployment), token=ci)
        assert record.returncode == 0, record.stderr
        assert f"Evidence of deployment {deployment}: deploy of api 1.0.0 to production" in (
            record.stdout
        )
        assert "(intact)" in record.stdout
        assert "approved by rita (release-manager)" in record.stdout
        sealed = _json(server.cli("evidence", str(deployment), "--json", token=ci))
        assert sealed["sealed"] is True
        assert sealed["body"]["gates"]["verdict"] == "pass"

        audit = _json(server.cli("audit", "list", "--json", "--limit", "100", token=admin))
        actions = [(e["actor"], e["action"]) for e in audit["items"]]
        assert ("relman", "deployment.evidence") in actions
        assert ("rex", "request.refused") in actions
        assert ("ci", "request.refused") in actions
        assert ("rita", "environment.lock") in actions
        assert ("rita", "deployment.approve") in actions
        assert ("rita", "environment.unlock") in actions
        assert ("relman", "deployment.queued") in actions
        assert server.cli("audit", "verify", token=admin).returncode == 0


TESTED = """\
version: 1
environments:
  - name: production
    tier: production
    gates:
      - tests: {require: passed, min_coverage: 80}
lifecycles:
  - name: direct
    phases:
      - {name: prod, environments: [production]}
services:
  - name: web
    lifecycle: direct
    run: {driver: script, deploy: ["true"]}
"""

SAMPLE = """\
import pytest

def test_one():
    assert 1 + 1 == 2

def test_two():
    assert "relman".upper() == "RELMAN"

@pytest.mark.skip(reason="not on this platform")
def test_skipped():
    pass
"""


def _junit(tmp_path: Path, name: str, extra: str = "") -> Path:
    """A real JUnit report, written by pytest running a small test module."""
    module = tmp_path / f"test_{name}.py"
    module.write_text(SAMPLE + extra)
    report = tmp_path / f"{name}.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(module),
            f"--junitxml={report}",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
        ],
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert report.exists()
    return report


def test_ci_test_reports_open_and_close_the_tests_gate(tmp_path: Path) -> None:
    config = tmp_path / "relman.yaml"
    config.write_text(TESTED)
    failing = _junit(tmp_path, "failing", "\ndef test_broken():\n    assert 2 + 2 == 5, 'math'\n")
    passing = _junit(tmp_path, "passing")
    with running_server(tmp_path / "home") as server:
        admin = server.cli("token", "create", "--user", "root", "--role", "admin").stdout.strip()
        ci = server.cli("token", "create", "--user", "ci", "--role", "deployer").stdout.strip()
        assert server.cli("apply", "-f", str(config), token=admin).returncode == 0
        assert (
            server.cli("release", "create", "web", "--version", "2.0.0", token=ci).returncode == 0
        )

        before = _json(
            server.cli(
                "promote", "web", "2.0.0", "--to", "production", "--dry-run", "--json", token=ci
            )
        )
        tests_gate = next(g for g in before["gates"] if g["gate"] == "tests")
        assert tests_gate["verdict"] == "pending"
        assert "no test report for 2.0.0 yet" in tests_gate["reason"]

        sent = server.cli(
            "report",
            "tests",
            "--release",
            "web@2.0.0",
            "--junit",
            str(failing),
            "--coverage",
            "91%",
            token=ci,
        )
        assert sent.returncode == 0, sent.stderr
        assert "web 2.0.0: failed: 1 failure, 0 errors in 4 tests, coverage 91%" in sent.stdout
        assert "test_broken: AssertionError: math" in sent.stdout
        refused = server.cli("promote", "web", "2.0.0", "--to", "production", token=ci)
        assert refused.returncode == 5
        assert (
            "web 2.0.0 cannot go to production: tests: 4 tests, 1 failed, 0 errors"
            in refused.stderr
        )

        low = server.cli(
            "report",
            "tests",
            "--release",
            "web@2.0.0",
            "--junit",
            str(passing),
            "--coverage",
            "79.5",
            token=ci,
        )
        assert low.returncode == 0, low.stderr
        no_go = server.cli("promote", "web", "2.0.0", "--to", "production", "--dry-run", token=ci)
        assert no_go.returncode == 5
        assert "coverage 79.5% is 0.5 points below the 80% required" in no_go.stdout

        server.cli(
            "report",
            "tests",
            "--release",
            "web@2.0.0",
            "--junit",
            str(passing),
            "--coverage",
            "80",
            token=ci,
        )
        go = server.cli("promote", "web", "2.0.0", "--to", "production", "--dry-run", token=ci)
        assert go.returncode == 0, go.stdout
        assert "GO" in go.stdout

        bad = tmp_path / "bad.xml"
        bad.write_text("<testsuites><testsuite></testsuites>")
        refused_xml = server.cli(
            "report", "tests", "--release", "web@2.0.0", "--junit", str(bad), token=ci
        )
        assert refused_xml.returncode == 2
        assert "bad.xml:1:" in refused_xml.stderr
        assert "mismatched tag" in refused_xml.stderr
        unknown = server.cli(
            "report", "tests", "--release", "web", "--junit", str(passing), token=ci
        )
        assert unknown.returncode == 2
        assert "is not SERVICE@VERSION" in unknown.stderr


def test_freezes_stop_the_line_and_an_exception_from_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "relman.yaml"
    config.write_text(
        CONFIG.replace(
            "      - approval: {required: 1, from: [release-manager], forbid: [requester]}\n",
            "      - tests: {require: reported}\n",
        )
    )
    today = datetime.now(UTC).date()
    with running_server(tmp_path / "home") as server:

        def token(user: str, role: str) -> str:
            return server.cli("token", "create", "--user", user, "--role", role).stdout.strip()

        admin, rita, rex = (
            token("root", "admin"),
            token("rita", "release-manager"),
            token("rex", "release-manager"),
        )
        assert server.cli("apply", "-f", str(config), token=admin).returncode == 0
        made = server.cli(
            "freeze",
            "create",
            "holidays",
            "--start",
            f"{today - timedelta(days=1)}T00:00",
            "--end",
            f"{today + timedelta(days=2)}T00:00",
            "--env",
            "staging",
            "--reason",
            "year-end",
            token=rita,
        )
        assert made.returncode == 0, made.stderr
        assert "Freeze holidays created: in force until" in made.stdout
        bad = server.cli(
            "freeze", "create", "odd", "--rrule", "FREQ=HOURLY", "--duration", "1h", token=rita
        )
        assert bad.returncode == 2
        assert "FREQ=HOURLY" in bad.stderr
        listed = server.cli("freeze", "list", token=rita)
        assert "holidays" in listed.stdout
        assert "year-end" in listed.stdout

        assert (
            server.cli("release", "create", "api", "--version", "1.0.0", token=rex).returncode == 0
        )
        held = _json(server.cli("promote", "api", "1.0.0", "--to", "staging", "--json", token=rex))
        assert held["state"] == "waiting"
        assert "holidays until" in held["reason"]
        own = server.cli("freeze", "exception", str(held["id"]), "--reason", "mine", token=rex)
        assert own.returncode == 6
        assert "rex asked for deployment" in own.stderr
        granted = server.cli(
            "freeze", "exception", str(held["id"]), "--reason", "security fix", token=rita
        )
        assert granted.returncode == 0, granted.stderr
        _until(server, rita, held["id"], "succeeded")

        stopped = server.cli("stop-the-line", "--reason", "incident 7", token=rita)
        assert stopped.returncode == 0, stopped.stderr
        assert "STOPPED" in server.cli("freeze", "list", token=rita).stdout
        assert server.cli("freeze", "delete", "holidays", token=rita).returncode == 0
        assert (
            server.cli("release", "create", "api", "--version", "1.0.1", token=rex).returncode == 0
        )
        second = _json(
            server.cli("promote", "api", "1.0.1", "--to", "staging", "--json", token=rex)
        )
        assert second["reason"] == "waiting for freezes: the line is stopped by rita: incident 7"
        assert server.cli("stop-the-line", "--lift", token=rita).returncode == 0
        _until(server, rita, second["id"], "succeeded")
        audit = _json(server.cli("audit", "list", "--action", "freeze.*", "--json", token=admin))
        assert [(e["actor"], e["action"]) for e in reversed(audit["items"])] == [
            ("rita", "freeze.create"),
            ("rita", "freeze.exception"),
            ("rita", "freeze.stop_the_line"),
            ("rita", "freeze.delete"),
            ("rita", "freeze.lift"),
        ]
