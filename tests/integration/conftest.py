from __future__ import annotations

import pytest

from relman.configfile import load_config
from relman.services.config_apply import apply_config
from relman.store.database import Database
from relman.store.unit_of_work import UnitOfWork
from relman.testing import FrozenClock

CATALOG = """
version: 1
environments:
  - {name: dev, tier: development}
  - {name: staging, tier: staging}
  - {name: production, tier: production}
lifecycles:
  - name: default
    phases:
      - {name: test, environments: [dev, staging], minimum: 1}
      - {name: prod, environments: [production], soak: 10m}
  - name: prod-only
    phases:
      - {name: prod, environments: [production]}
services:
  - name: api
    lifecycle: default
    run: {driver: script, deploy: ["./deploy.sh", "{version}"]}
  - name: web
    lifecycle: prod-only
"""


@pytest.fixture
def catalog(database: Database, clock: FrozenClock) -> Database:
    """The store with three environments, two lifecycles and two services."""
    with UnitOfWork(database, clock) as uow:
        apply_config(uow, load_config(CATALOG), actor="setup")
    return database
