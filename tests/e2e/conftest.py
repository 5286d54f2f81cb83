from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from relman.api.app import create_app
from relman.services.tokens import create_token
from relman.store.database import Database
from relman.store.unit_of_work import UnitOfWork
from relman.testing import FrozenClock

CONFIG = """
version: 1
environments:
  - {name: staging, tier: staging}
  - {name: production, tier: production}
lifecycles:
  - name: default
    phases:
      - {name: test, environments: [staging]}
      - {name: prod, environments: [production], soak: 10m}
services:
  - name: api
    lifecycle: default
    run: {driver: script, deploy: ["./deploy.sh", "{version}"]}
"""


class Api:
    """An in-process client with a token per role."""

    def __init__(self, client: TestClient, database: Database, clock: FrozenClock) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}
        for role in ("viewer", "deployer", "release-manager", "admin"):
            with UnitOfWork(database, clock) as uow:
                self.tokens[role] = create_token(
                    uow, user=f"{role}-user", role=role, actor="setup"
                ).secret

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


@pytest.fixture
def api(database: Database, clock: FrozenClock) -> Iterator[Api]:
    with TestClient(create_app(database, clock=clock)) as client:
        yield Api(client, database, clock)


@pytest.fixture
def configured(api: Api) -> Api:
    response = api.client.post(
        "/api/v1/config/apply", json={"text": CONFIG}, headers=api.auth("admin")
    )
    assert response.status_code == 200, response.text
    return api
