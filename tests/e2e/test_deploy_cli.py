"""Deployments from the CLI as a user runs them: a real server with its in-process worker, and
services whose `run` uses the script driver with real local commands that keep a ledger.

Each test works on its own service, so the tests share one server and one workspace. Each
`relman` process takes over a second to start, so what a test only prepares (further releases,
deployments it builds on, polling) goes through the HTTP API; what a test asserts runs the CLI.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from .servers import RELMAN, Server, running_server

ADMIN = "deploy-admin"
VIEWER = "deploy-watcher"
FINAL = {"succeeded", "failed", "rolled_back", "aborted"}
WAIT = 20.0  # seconds any one wait of this file may take at most
_T = TypeVar("_T")

# What every step of every service runs: `step.sh STEP SERVICE VERSION ENVIRONMENT`. A step for
# which a hold-KEY file exists waits (up to 30 s) until go-KEY exists; a verify for which a
# broken-KEY file exists fails. A step that succeeds appends a line to the ledger.
STEP_SCRIPT = """\
#!/bin/sh
step=$1 service=$2 version=$3 environment=$4
here=$(dirname "$0")
key="$step-$service-$version-$environment"
echo "$step $service $version to $environment"
if [ -e "$here/hold-$key" ]; then
  echo "waiting for go-$key"
  tries=0
  while [ ! -e "$here/go-$key" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ]; then echo "gave up waiting"; exit 3; fi
    sleep 0.1
  done
fi
if [ "$step" = verify ] && [ -e "$here/broken-$key" ]; then
  echo "health check of $service $version failed"
  exit 1
fi
echo "$step $service $version $environment #$RELMAN_DEPLOYMENT_ID" >> "$here/ledger"
echo "$step done"
"""

CONFIG = """\
version: 1
environments:
  - {name: dev, tier: development}
  - {name: staging, tier: staging}
  - {name: production, tier: production, on_failure: rollback}
lifecycles:
  - name: default
    phases:
      - {name: develop, environments: [dev]}
      - {name: test, environments: [staging]}
      - {name: prod, environments: [production], soak: 1h}
  - name: fast
    phases:
      - {name: develop, environments: [dev]}
      - {name: prod, environments: [production]}
services:
  - name: api
    lifecycle: default
    run: &run
      driver: script
      deploy: ["STEP", "deploy", "{service}", "{version}", "{environment}"]
      verify: ["STEP", "verify", "{service}", "{version}", "{environment}"]
      rollback: ["STEP", "rollback", "{service}", "{version}", "{environment}"]
      timeout: 45s
  - {name: web, lifecycle: default, run: *run}
  - {name: cart, lifecycle: fast, run: *run}
  - {name: checkout, lifecycle: fast, run: *run}
  - {name: billing, lifecycle: default, run: *run}
  - {name: search, lifecycle: default, run: *run}
  - {name: reports, lifecycle: default, run: *run}
  - {name: mailer, lifecycle: default, run: *run}
"""


@dataclass
class Workspace:
    """The directory the step script, its ledger and its hold/go/broken files live in."""

    root: Path

    def ledger(self, service: str) -> list[str]:
        path = self.root / "ledger"
        lines = path.read_text().splitlines() if path.exists() else []
        return [line for line in lines if line.split()[1] == service]

    def runs(self, service: str) -> list[str]:
        """The ledger's lines of the service without their deployment ids."""
        return [line.rsplit(" #", 1)[0] for line in self.ledger(service)]

    def hold(self, step: str, service: str, version: str, environment: str) -> Path:
        """Make the step wait; return the file that lets it go on once created."""
        key = f"{step}-{service}-{version}-{environment}"
        (self.root / f"hold-{key}").touch()
        return self.root / f"go-{key}"

    def break_verify(self, service: str, version: str, environment: str) -> None:
        (self.root / f"broken-verify-{service}-{version}-{environment}").touch()


@dataclass
class Api:
    """The HTTP API, for what a test only prepares or waits for."""

    url: str
    token: str

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, headers=self._auth(), timeout=10)
        assert response.is_success, response.text
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(f"{self.url}{path}", json=body, headers=self._auth(), timeout=10)
        assert response.is_success, response.text
        return response.json()

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def release(self, service: str, *versions: str) -> None:
        for version in versions:
            self.post("/api/v1/releases", {"service": service, "version": version})

    def start(self, service: str, version: str, environment: str) -> int:
        body = {"service": service, "version": version, "environment": environment}
        deployment_id: int = self.post("/api/v1/promotions", body)["id"]
        return deployment_id

    def deployment(self, deployment_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.get(f"/api/v1/deployments/{deployment_id}")
        return found

    def wait_for(
        self, deployment_id: int, what: str, check: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        return eventually(
            lambda: d if check(d := self.deployment(deployment_id)) else None,
            f"deployment {deployment_id}: {what}",
        )

    def ended(self, deployment_id: int) -> dict[str, Any]:
        return self.wait_for(deployment_id, "ended", lambda d: d["state"] in FINAL)

    def deploy(self, service: str, version: str, environment: str) -> int:
        """Promote and wait; the deployment must succeed."""
        deployment_id = self.start(service, version, environment)
        assert self.ended(deployment_id)["state"] == "succeeded"
        return deployment_id

    def log_lines(self, deployment_id: int) -> list[str]:
        page = self.get(f"/api/v1/deployments/{deployment_id}/logs")
        return [line["line"] for line in page["items"]]


def eventually(check: Callable[[], _T | None], what: str) -> _T:
    """Poll `check` until it returns something, for at most WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while (value := check()) is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {WAIT:g}s waiting for {what}")
        time.sleep(0.1)
    return value


def together(
    server: Server, token: str | None, *commands: list[str]
) -> list[subprocess.CompletedProcess[str]]:
    """Run independent CLI commands at the same time (each takes a while to start)."""
    started = [
        subprocess.Popen(
            [RELMAN, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=server.env(token),
        )
        for args in commands
    ]
    try:
        outputs = [process.communicate(timeout=60) for process in started]
        return [
            subprocess.CompletedProcess(args, process.returncode, out, err)
            for args, process, (out, err) in zip(commands, started, outputs, strict=True)
        ]
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait()


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stdout, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("deploy-cli") / "home") as running:
        yield running


@pytest.fixture(scope="module")
def tokens(server: Server) -> dict[str, str]:
    made = together(
        server,
        None,
        ["token", "create", "--user", ADMIN, "--role", "admin"],
        ["token", "create", "--user", VIEWER, "--role", "viewer"],
    )
    for result in made:
        assert result.returncode == 0, result.stderr
    return {"admin": made[0].stdout.strip(), "viewer": made[1].stdout.strip()}


@pytest.fixture(scope="module")
def admin(tokens: dict[str, str]) -> str:
    return tokens["admin"]


@pytest.fixture(scope="module")
def workspace(
    server: Server, admin: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("workspace")
    script = root / "step.sh"
    script.write_text(STEP_SCRIPT)
    script.chmod(0o755)
    config = root / "relman.yaml"
    config.write_text(CONFIG.replace("STEP", str(script)))
    applied = server.cli("apply", "-f", str(config), token=admin)
    assert applied.returncode == 0, applied.stderr
    yield Workspace(root)
    for hold in root.glob("hold-*"):  # a test that failed may have left a step waiting
        (root / hold.name.replace("hold-", "go-", 1)).touch()


@pytest.fixture(scope="module")
def api(server: Server, admin: str) -> Api:
    return Api(server.url, admin)


def _cell(status: dict[str, Any], service: str, environment: str) -> dict[str, Any]:
    line = next(s for s in status["services"] if s["name"] == service)
    cell: dict[str, Any] = line["cells"][environment]
    return cell


def test_promote_with_wait_runs_the_deploy_and_prints_the_ended_deployment_as_json(
    server: Server, admin: str, workspace: Workspace
) -> None:
    released = server.cli("release", "create", "api", "--version", "1.0.0", token=admin)
    assert released.returncode == 0, released.stderr

    promoted = server.cli("promote", "api", "1.0.0", "--to", "dev", "--wait", "--json", token=admin)

    assert promoted.returncode == 0, promoted.stderr
    ended = _json(promoted)
    assert isinstance(ended["id"], int)
    assert (ended["service"], ended["version"], ended["environment"], ended["state"]) == (
        "api",
        "1.0.0",
        "dev",
        "succeeded",
    )
    run = f"api 1.0.0 dev #{ended['id']}"
    assert workspace.ledger("api") == [f"deploy {run}", f"verify {run}"]
    dev = _cell(_json(server.cli("status", "--json", token=admin)), "api", "dev")
    assert (dev["version"], dev["deployment_id"], dev["deployed_by"]) == (
        "1.0.0",
        ended["id"],
        ADMIN,
    )


def test_promote_is_refused_with_exit_5_before_staging_and_during_the_soak(
    server: Server, admin: str, api: Api, workspace: Workspace
) -> None:
    api.release("web", "2.0.0")

    early = server.cli("promote", "web", "2.0.0", "--to", "production", token=admin)

    assert early.returncode == 5
    assert "cannot go to production: it has not succeeded in staging" in early.stderr
    assert workspace.ledger("web") == []
    assert api.get("/api/v1/deployments", service="web")["items"] == []

    api.deploy("web", "2.0.0", "dev")
    api.deploy("web", "2.0.0", "staging")
    ledger = workspace.ledger("web")
    soaking = server.cli("promote", "web", "2.0.0", "--to", "production", "--json", token=admin)

    assert soaking.returncode == 5
    error = _json(soaking)["error"]
    assert error["code"] == "refused"
    assert "web 2.0.0 cannot go to production: phase 'prod' needs 1h of soak" in error["message"]
    assert (error["details"]["rule"], error["details"]["soak"]) == ("RequireSoakTime", "1h")
    assert workspace.ledger("web") == ledger


def test_a_failing_verify_ends_the_followed_deployment_failed_with_exit_9_and_the_reason(
    server: Server, admin: str, api: Api, workspace: Workspace
) -> None:
    api.release("cart", "0.9.0")
    workspace.break_verify("cart", "0.9.0", "dev")

    promoted = server.cli("promote", "cart", "0.9.0", "--to", "dev", "--wait", token=admin)

    assert promoted.returncode == 9
    assert "ended failed: step 'verify' failed: exit 1" in promoted.stderr
    assert workspace.runs("cart") == ["deploy cart 0.9.0 dev"]


def test_a_failed_deployment_to_production_rolls_back_to_the_previous_version(
    server: Server, admin: str, api: Api, workspace: Workspace
) -> None:
    api.release("checkout", "1.0.0", "1.1.0")
    api.deploy("checkout", "1.0.0", "dev")
    before = api.deploy("checkout", "1.0.0", "production")
    api.deploy("checkout", "1.1.0", "dev")
    workspace.break_verify("checkout", "1.1.0", "production")
    # Held, the automatic rollback cannot end before `--wait` has seen the failure.
    rollback_may_go = workspace.hold("rollback", "checkout", "1.0.0", "production")

    promoted = server.cli(
        "promote", "checkout", "1.1.0", "--to", "production", "--wait", token=admin
    )

    assert promoted.returncode == 9
    assert "ended failed: step 'verify' failed: exit 1" in promoted.stderr
    failed_id = next(
        d["id"]
        for d in api.get("/api/v1/deployments", service="checkout", environment="production")[
            "items"
        ]
        if d["version"] == "1.1.0"
    )
    rollback_may_go.touch()
    api.wait_for(failed_id, "rolled back", lambda d: d["state"] == "rolled_back")
    production = _cell(_json(server.cli("status", "--json", token=admin)), "checkout", "production")
    assert (production["version"], production["latest"]) == ("1.0.0", None)
    assert production["deployment_id"] not in (before, failed_id)
    assert workspace.ledger("checkout")[-2].startswith("rollback checkout 1.0.0 production #")


def test_rollback_puts_back_the_version_before_and_refuses_one_that_never_ran_there(
    server: Server, admin: str, api: Api, workspace: Workspace
) -> None:
    api.release("billing", "1.0.0", "1.1.0", "1.2.0")
    api.deploy("billing", "1.0.0", "dev")
    undone_id = api.deploy("billing", "1.1.0", "dev")

    rolled = server.cli("rollback", "billing", "--env", "dev", "--wait", "--json", token=admin)

    assert rolled.returncode == 0, rolled.stderr
    ended = _json(rolled)
    assert (ended["kind"], ended["version"], ended["state"]) == ("rollback", "1.0.0", "succeeded")
    assert workspace.ledger("billing")[-2] == f"rollback billing 1.0.0 dev #{ended['id']}"

    status, shown, never = together(
        server,
        admin,
        ["status", "--json"],
        ["deployments", "show", str(undone_id), "--json"],
        ["rollback", "billing", "--env", "dev", "--to", "1.2.0"],
    )

    dev = _cell(_json(status), "billing", "dev")
    assert (dev["version"], dev["deployment_id"]) == ("1.0.0", ended["id"])
    undone = _json(shown)
    assert (undone["version"], undone["state"]) == ("1.1.0", "rolled_back")
    assert never.returncode == 5
    assert "billing 1.2.0 never ran in dev, so it is no rollback" in never.stderr


def test_logs_print_the_steps_output_and_follow_returns_once_the_deployment_ended(
    server: Server, admin: str, api: Api, workspace: Workspace
) -> None:
    api.release("search", "1.0.0")
    go = workspace.hold("deploy", "search", "1.0.0", "dev")
    deployment_id = api.start("search", "1.0.0", "dev")
    eventually(lambda: api.log_lines(deployment_id) or None, "the deploy step to begin")

    following = subprocess.Popen(
        [RELMAN, "deployments", "logs", str(deployment_id), "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=server.env(admin, PYTHONUNBUFFERED="1"),
    )
    try:
        assert following.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(following.stdout, selectors.EVENT_READ)
            assert selector.select(WAIT), "logs --follow printed nothing"
        first = following.stdout.readline()
        assert "deploy deploy search 1.0.0 to dev" in first
        assert api.deployment(deployment_id)["state"] == "running"
        go.touch()
        rest, errors = following.communicate(timeout=WAIT)
    finally:
        if following.poll() is None:
            following.kill()
            following.wait()

    assert following.returncode == 0, errors
    assert api.deployment(deployment_id)["state"] == "succeeded"
    assert "verify verify search 1.0.0 to dev" in rest
    assert rest.rstrip().endswith("verify verify done")

    printed = server.cli("deployments", "logs", str(deployment_id), token=admin)

    assert printed.returncode == 0, printed.stderr
    lines = [line.split(" ", 1)[1] for line in printed.stdout.splitlines()]
    assert lines == [
        "deploy deploy search 1.0.0 to dev",
        "deploy waiting for go-deploy-search-1.0.0-dev",
        "deploy deploy done",
        "verify verify search 1.0.0 to dev",
        "verify verify done",
    ]


def test_a_paused_deployment_stops_before_verify_and_goes_on_when_resumed(
    server: Server, admin: str, api: Api, workspace: Workspace
) -> None:
    api.release("reports", "1.0.0")
    go = workspace.hold("deploy", "reports", "1.0.0", "dev")
    deployment_id = api.start("reports", "1.0.0", "dev")
    eventually(lambda: api.log_lines(deployment_id) or None, "the deploy step to begin")

    paused = server.cli("deployments", "pause", str(deployment_id), token=admin)

    assert paused.returncode == 0, paused.stderr
    assert f"Deployment {deployment_id} reports 1.0.0 → dev: paused" in paused.stdout
    go.touch()
    stopped = api.wait_for(
        deployment_id, "its deploy step to end", lambda d: d["steps"][0]["state"] != "running"
    )
    assert stopped["state"] == "paused"
    assert [s["state"] for s in stopped["steps"]] == ["succeeded", "pending"]
    assert [line.split()[0] for line in workspace.ledger("reports")] == ["deploy"]

    # All at once: `watch` follows the deployment until, resumed, it ends.
    shown, watched, resumed = together(
        server,
        admin,
        ["deployments", "show", str(deployment_id), "--json"],
        ["deployments", "watch", str(deployment_id), "--json"],
        ["deployments", "resume", str(deployment_id)],
    )

    timeline = [(e["actor"], e["kind"], e["details"].get("to")) for e in _json(shown)["events"]]
    assert (ADMIN, "state", "paused") in timeline
    assert resumed.returncode == 0, resumed.stderr
    assert f"{ADMIN}: paused → running: resume by {ADMIN}" in resumed.stdout
    assert watched.returncode == 0, watched.stderr
    assert _json(watched)["state"] == "succeeded"
    assert [line.split()[0] for line in workspace.ledger("reports")] == ["deploy", "verify"]


def test_an_aborted_queued_deployment_never_runs_and_cannot_be_paused(
    server: Server, admin: str, api: Api, workspace: Workspace
) -> None:
    api.release("mailer", "1.0.0", "1.1.0")
    go = workspace.hold("deploy", "mailer", "1.0.0", "dev")
    ahead = api.start("mailer", "1.0.0", "dev")
    api.wait_for(ahead, "running", lambda d: d["state"] == "running")
    queued = api.start("mailer", "1.1.0", "dev")
    assert (api.deployment(queued)["state"], api.deployment(queued)["queue_position"]) == (
        "queued",
        1,
    )

    retried = server.cli("promote", "mailer", "1.0.0", "--to", "dev", token=admin)
    assert retried.returncode == 0, retried.stderr
    assert f"Deployment {ahead} of mailer 1.0.0 to dev is running already" in retried.stderr

    aborted = server.cli("deployments", "abort", str(queued), token=admin)

    assert aborted.returncode == 0, aborted.stderr
    assert f"Deployment {queued} mailer 1.1.0 → dev: aborted" in aborted.stdout

    pause = server.cli("deployments", "pause", str(queued), token=admin)

    assert pause.returncode == 5
    assert f"Deployment {queued} is aborted; only a deployment that is running can pause" in (
        pause.stderr
    )
    go.touch()
    assert api.ended(ahead)["state"] == "succeeded"
    later = api.deployment(queued)
    assert (later["state"], later["started_at"]) == ("aborted", None)
    assert all(" 1.1.0 " not in line for line in workspace.ledger("mailer"))


def test_a_viewer_token_cannot_promote_and_exits_6(
    server: Server, tokens: dict[str, str], api: Api, workspace: Workspace
) -> None:
    api.release("api", "9.0.0")

    refused = server.cli("promote", "api", "9.0.0", "--to", "dev", token=tokens["viewer"])

    assert refused.returncode == 6
    assert "Role 'viewer' may not deploy; it needs role 'deployer' or higher" in refused.stderr
    listed = api.get("/api/v1/deployments", service="api")["items"]
    assert all(d["version"] != "9.0.0" for d in listed)
