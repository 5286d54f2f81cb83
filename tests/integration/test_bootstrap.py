from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from relman.bootstrap import open_database
from relman.errors import InvalidInput, StoreUnavailable
from relman.services.demo import seed_demo
from relman.services.inventory import build_inventory
from relman.services.releases import commit_counts, promotion_changes
from relman.settings import Settings
from relman.store.database import Database
from relman.store.tables import DeploymentRow, ReleaseRow
from relman.store.unit_of_work import read_session
from relman.testing import FrozenClock


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("mysql://u@127.0.0.1/x", "names 'mysql'"),
        ("postgres://u@127.0.0.1/x", "write postgresql+psycopg://"),
    ],
)
def test_an_unsupported_database_url_is_refused_clearly(url: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match="SQLite or PostgreSQL") as caught:
        open_database(Settings.from_env({"RELMAN_DATABASE_URL": url}))
    assert fragment in caught.value.message


@pytest.mark.postgres
def test_an_unreachable_store_is_named_without_its_password(postgres_url: str) -> None:
    url = "postgresql+psycopg://no_such_role:hunter2@127.0.0.1:5432/test"
    with pytest.raises(StoreUnavailable) as caught:
        open_database(Settings.from_env({"RELMAN_DATABASE_URL": url}))
    assert "no_such_role" in caught.value.message
    assert "hunter2" not in caught.value.message
    assert "***" in caught.value.message


def test_a_new_store_says_it_is_new_once(tmp_path: Path) -> None:
    settings = Settings.from_env({"RELMAN_HOME": str(tmp_path / "home")})
    first = open_database(settings)
    second = open_database(settings)
    assert (first.created, second.created) == (True, False)
    first.dispose()
    second.dispose()


def test_the_demo_seeds_an_empty_store_once_with_dated_history(database: Database) -> None:
    clock = FrozenClock()
    assert seed_demo(database, clock) is True
    assert seed_demo(database, clock) is False
    with read_session(database) as session:
        releases = session.scalar(select(func.count()).select_from(ReleaseRow))
        oldest = session.scalar(select(func.min(DeploymentRow.created_at)))
        first_release = session.scalar(select(func.min(ReleaseRow.created_at)))
        inventory = build_inventory(session).to_dict()
    assert releases == 16  # shop 1.0.0, 1.1.0 and 1.2.0 are for the live canary
    assert oldest == first_release
    assert (clock.now - oldest).days == 14
    cells = {s["name"]: s["cells"] for s in inventory["services"]}
    assert cells["api"]["production"]["version"] == "1.3.0"
    assert cells["billing"]["production"]["latest"]["state"] == "failed"
    assert cells["docs-site"]["dev"] is None


def test_the_demo_releases_carry_notes_and_a_promotion_shows_what_it_brings(
    database: Database,
) -> None:
    seed_demo(database, FrozenClock())
    with read_session(database) as session:
        found = promotion_changes(session, "web", "3.2.0", "production")
        notes = [(row.version, row.notes or "") for row in found.releases]
        counts = commit_counts(session, [row.id for row in found.releases])
    assert (found.running.version if found.running else None) == "3.1.0"
    assert [version for version, _ in notes] == ["3.2.0", "3.1.1"]
    assert "### Breaking changes\n\n- **checkout:** one-page checkout" in notes[0][1]
    assert "the /checkout/step-2 URL is gone" in notes[0][1]
    assert "- **cart:** an empty cart no longer shows a total (#61)" in notes[1][1]
    assert sorted(counts.values()) == [1, 3]


def test_an_in_memory_sqlite_store_is_refused() -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        with pytest.raises(InvalidInput, match="in-memory SQLite"):
            open_database(Settings.from_env({"RELMAN_DATABASE_URL": url}))


def test_a_demo_seed_that_fails_half_way_leaves_an_empty_store(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import relman.services.demo as demo

    calls = {"n": 0}
    original = demo.record_deployment

    def failing(*args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("power cut")
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(demo, "record_deployment", failing)
    with pytest.raises(RuntimeError, match="power cut"):
        seed_demo(database, FrozenClock())
    with read_session(database) as session:
        assert session.scalar(select(func.count()).select_from(ReleaseRow)) == 0
    monkeypatch.setattr(demo, "record_deployment", original)
    assert seed_demo(database, FrozenClock()) is True
