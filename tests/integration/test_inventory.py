from __future__ import annotations

from datetime import timedelta

import pytest

from relman.domain.releases import ReleaseContent
from relman.errors import InvalidInput, NotFound
from relman.services.deployments import get_deployment, list_deployments, record_deployment
from relman.services.inventory import build_inventory
from relman.services.releases import create_release
from relman.store.database import Database
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FrozenClock


def _release(db: Database, clock: FrozenClock, service: str, version: str) -> None:
    with UnitOfWork(db, clock) as uow:
        create_release(uow, service, ReleaseContent.build(version), actor="ci")


def _record(
    db: Database,
    clock: FrozenClock,
    service: str,
    version: str,
    env: str,
    state: str = "succeeded",
    by: str = "alice",
) -> int:
    clock.advance(timedelta(minutes=5))
    with UnitOfWork(db, clock) as uow:
        view = record_deployment(
            uow, service=service, version=version, environment=env, state=state, actor=by
        )
    return view.row.id


def test_each_cell_shows_the_last_successful_deployment(
    catalog: Database, clock: FrozenClock
) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        _release(catalog, clock, "api", version)
    _record(catalog, clock, "api", "1.0.0", "production")
    _record(catalog, clock, "api", "1.1.0", "staging", by="bob")
    last_prod = _record(catalog, clock, "api", "1.1.0", "production")
    _record(catalog, clock, "api", "1.2.0", "production", state="failed")
    with read_session(catalog) as session:
        inventory = build_inventory(session).to_dict()
    assert [e["name"] for e in inventory["environments"]] == ["dev", "staging", "production"]
    api = next(s for s in inventory["services"] if s["name"] == "api")
    assert api["cells"]["dev"] == {
        "version": None,
        "state": None,
        "deployed_at": None,
        "deployed_by": None,
        "deployment_id": None,
        "latest": None,
    }
    assert api["cells"]["staging"]["version"] == "1.1.0"
    assert api["cells"]["staging"]["deployed_by"] == "bob"
    assert api["cells"]["staging"]["latest"] is None
    prod = api["cells"]["production"]
    assert (prod["version"], prod["deployment_id"]) == ("1.1.0", last_prod)
    assert prod["latest"]["version"] == "1.2.0"
    assert prod["latest"]["state"] == "failed"


def test_environments_outside_a_services_lifecycle_have_no_cell(
    catalog: Database, clock: FrozenClock
) -> None:
    with read_session(catalog) as session:
        inventory = build_inventory(session).to_dict()
    web = next(s for s in inventory["services"] if s["name"] == "web")
    assert web["cells"]["dev"] is None
    assert web["cells"]["staging"] is None
    assert web["cells"]["production"] is not None


def test_recording_outside_the_lifecycle_is_refused_and_changes_nothing(
    catalog: Database, clock: FrozenClock
) -> None:
    _release(catalog, clock, "web", "1.0.0")
    with pytest.raises(InvalidInput, match="dev is not in the lifecycle of web"):
        _record(catalog, clock, "web", "1.0.0", "dev")
    with pytest.raises(InvalidInput, match="expected one of: succeeded, failed"):
        _record(catalog, clock, "web", "1.0.0", "production", state="running")
    with pytest.raises(NotFound, match=r"web has no release 9\.9\.9"):
        _record(catalog, clock, "web", "9.9.9", "production")
    with read_session(catalog) as session:
        _, total = list_deployments(session, limit=10, offset=0)
    assert total == 0


def test_deployments_list_newest_first_and_filter(catalog: Database, clock: FrozenClock) -> None:
    _release(catalog, clock, "api", "1.0.0")
    _release(catalog, clock, "web", "2.0.0")
    first = _record(catalog, clock, "api", "1.0.0", "dev")
    second = _record(catalog, clock, "web", "2.0.0", "production")
    third = _record(catalog, clock, "api", "1.0.0", "production")
    with read_session(catalog) as session:
        everything, total = list_deployments(session, limit=10, offset=0)
        prod, _ = list_deployments(session, environment="production", limit=10, offset=0)
        api, _ = list_deployments(session, service="api", limit=10, offset=0)
        one = get_deployment(session, second)
        with pytest.raises(NotFound, match="No deployment 999"):
            get_deployment(session, 999)
    assert [v.row.id for v in everything] == [third, second, first]
    assert total == 3
    assert [v.row.id for v in prod] == [third, second]
    assert [v.row.id for v in api] == [third, first]
    assert (one.service, one.environment, one.version) == ("web", "production", "2.0.0")
