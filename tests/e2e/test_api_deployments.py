"""Deployments over HTTP: promote, roll back, control, logs; auth and errors as JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from relman.api.app import create_app
from relman.engine.worker import Worker, WorkerOptions
from relman.store.database import Database
from relman.testing import FakeDriver, FrozenClock

from .conftest import CONFIG, Api


class Deploying(Api):
    def __init__(
        self, client: TestClient, database: Database, clock: FrozenClock, driver: FakeDriver
    ) -> None:
        super().__init__(client, database, clock)
        self.driver = driver
        options = WorkerOptions(poll=0.01, retry_delay=0.0, slots=1)
        self.worker = Worker(database, {"script": driver}, options=options, clock=clock)
        self.clock = clock
        self.woken = 0

    def post(self, path: str, body: dict[str, object], role: str = "deployer") -> dict:  # type: ignore[type-arg]
        response = self.client.post(path, json=body, headers=self.auth(role))
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    def release(self, version: str) -> None:
        self.post("/api/v1/releases", {"service": "api", "version": version})

    def ship(self, version: str, env: str) -> dict:  # type: ignore[type-arg]
        body = {"service": "api", "version": version, "environment": env}
        created = self.post("/api/v1/promotions", body)
        self.worker.run_until_idle()
        self.clock.advance(timedelta(minutes=15))
        return self.client.get(f"/api/v1/deployments/{created['id']}").json()  # type: ignore[no-any-return]


@pytest.fixture
def deploying(database: Database, clock: FrozenClock) -> Iterator[Deploying]:
    driver = FakeDriver()
    holder: list[Deploying] = []

    def wake() -> None:
        holder[0].woken += 1

    app = create_app(database, clock=clock, drivers={"script": driver}, wake=wake)
    with TestClient(app) as client:
        holder.append(Deploying(client, database, clock, driver))
        applied = client.post(
            "/api/v1/config/apply", json={"text": CONFIG}, headers=holder[0].auth("admin")
        )
        assert applied.status_code == 200, applied.text
        yield holder[0]


def test_a_promotion_is_created_queued_with_its_plan_and_wakes_the_worker(
    deploying: Deploying,
) -> None:
    deploying.release("1.0.0")
    body = {"service": "api", "version": "1.0.0", "environment": "staging"}
    created = deploying.post("/api/v1/promotions", body)
    assert created["state"] == "queued"
    assert created["kind"] == "deploy"
    assert created["queue_position"] == 1
    assert [s["name"] for s in created["steps"]] == ["deploy"]
    assert created["events"][0]["actor"] == "deployer-user"
    assert deploying.woken == 1
    deploying.worker.run_until_idle()
    done = deploying.client.get(f"/api/v1/deployments/{created['id']}").json()
    assert done["state"] == "succeeded"
    assert done["steps"][0]["summary"] == "exit 0"
    assert done["queue_position"] is None


def test_a_refused_promotion_is_409_with_the_rule(deploying: Deploying) -> None:
    deploying.release("1.0.0")
    response = deploying.client.post(
        "/api/v1/promotions",
        json={"service": "api", "version": "1.0.0", "environment": "production"},
        headers=deploying.auth("deployer"),
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "refused"
    assert error["details"]["rule"] == "RequirePreviousPhase"
    assert error["message"].startswith("api 1.0.0 cannot go to production")
    assert deploying.client.get("/api/v1/deployments").json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/promotions", {"service": "api", "version": "1.0.0", "environment": "staging"}),
        ("/api/v1/rollbacks", {"service": "api", "environment": "staging"}),
        ("/api/v1/deployments/1/pause", {}),
        ("/api/v1/deployments/1/abort", {}),
    ],
)
def test_deploying_needs_a_deployer_token(
    deploying: Deploying, path: str, body: dict[str, str]
) -> None:
    assert deploying.client.post(path, json=body).status_code == 401
    viewer = deploying.client.post(path, json=body, headers=deploying.auth("viewer"))
    assert viewer.status_code == 403
    assert viewer.json()["error"]["code"] == "forbidden"


def test_a_rollback_over_http_puts_back_the_previous_version(deploying: Deploying) -> None:
    deploying.release("1.0.0")
    deploying.release("1.1.0")
    first = deploying.ship("1.0.0", "staging")
    second = deploying.ship("1.1.0", "staging")
    rollback = deploying.post("/api/v1/rollbacks", {"service": "api", "environment": "staging"})
    assert rollback["kind"] == "rollback"
    assert rollback["version"] == "1.0.0"
    assert rollback["rollback_of"] == second["id"]
    deploying.worker.run_until_idle()
    undone = deploying.client.get(f"/api/v1/deployments/{second['id']}").json()
    assert undone["state"] == "rolled_back"
    cell = deploying.client.get("/api/v1/inventory").json()["services"][0]["cells"]["staging"]
    assert cell["version"] == "1.0.0"
    assert first["state"] == "succeeded"


def test_pause_resume_and_abort_answer_with_the_deployment_or_a_conflict(
    deploying: Deploying,
) -> None:
    deploying.release("1.0.0")
    body = {"service": "api", "version": "1.0.0", "environment": "staging"}
    created = deploying.post("/api/v1/promotions", body)
    path = f"/api/v1/deployments/{created['id']}"
    refused = deploying.client.post(f"{path}/pause", headers=deploying.auth("deployer"))
    assert refused.status_code == 409
    assert "is queued" in refused.json()["error"]["message"]
    aborted = deploying.post(f"{path}/abort", {"reason": "wrong build"})
    assert aborted["state"] == "aborted"
    assert aborted["reason"] == "wrong build"
    assert aborted["events"][-1]["actor"] == "deployer-user"
    missing = deploying.client.post(
        "/api/v1/deployments/999/resume", headers=deploying.auth("deployer")
    )
    assert missing.status_code == 404


def test_logs_page_through_the_output_with_after(deploying: Deploying) -> None:
    deploying.release("1.0.0")
    shipped = deploying.ship("1.0.0", "staging")
    path = f"/api/v1/deployments/{shipped['id']}/logs"
    page = deploying.client.get(path).json()
    assert page["state"] == "succeeded"
    assert [line["line"] for line in page["items"]] == ["deploy api 1.0.0 to staging"]
    assert (page["items"][0]["step"], page["items"][0]["step_name"]) == (0, "deploy")
    assert page["items"][0]["attempt"] == 1
    after = deploying.client.get(path, params={"after": page["next_after"]}).json()
    assert after["items"] == []
    assert after["next_after"] == page["next_after"]
    assert deploying.client.get("/api/v1/deployments/999/logs").status_code == 404


def test_a_retried_promotion_answers_200_with_the_same_deployment(deploying: Deploying) -> None:
    deploying.release("1.0.0")
    body = {"service": "api", "version": "1.0.0", "environment": "staging"}
    first = deploying.client.post(
        "/api/v1/promotions", json=body, headers=deploying.auth("deployer")
    )
    again = deploying.client.post(
        "/api/v1/promotions", json=body, headers=deploying.auth("deployer")
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert deploying.client.get("/api/v1/deployments").json()["total"] == 1
