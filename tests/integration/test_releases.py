from __future__ import annotations

import pytest

from relman.domain.releases import ReleaseContent
from relman.errors import Conflict, NotFound
from relman.services.releases import create_release, get_release, list_releases
from relman.store.database import Database
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FrozenClock

from .concurrency import run_together

DIGEST = "sha256:" + "ab" * 32


def _create(database: Database, version: str, **fields: object):  # type: ignore[no-untyped-def]
    content = ReleaseContent.build(version, **fields)  # type: ignore[arg-type]
    with UnitOfWork(database, FrozenClock()) as uow:
        return create_release(uow, "api", content, actor="ci")


def test_a_release_is_stored_with_its_content(catalog: Database) -> None:
    created = _create(
        catalog, "1.4.0", commit="abc1234", notes="Faster.", artifacts=[("api.tar", DIGEST)]
    )
    assert created.created
    with read_session(catalog) as session:
        row = get_release(session, "api", "1.4.0")
    assert (row.version, row.commit_sha, row.notes) == ("1.4.0", "abc1234", "Faster.")
    assert row.artifacts == {"api.tar": DIGEST}
    assert row.created_by == "ci"


def test_creating_an_identical_release_again_returns_the_first(catalog: Database) -> None:
    first = _create(catalog, "1.4.0", commit="abc1234")
    again = _create(catalog, "1.4.0", commit="abc1234")
    assert not again.created
    assert again.release.id == first.release.id


def test_a_release_with_different_content_is_refused_naming_the_difference(
    catalog: Database,
) -> None:
    _create(catalog, "1.4.0", commit="abc1234", artifacts=[("api.tar", DIGEST)])
    with pytest.raises(Conflict) as caught:
        _create(catalog, "1.4.0", commit="def5678", artifacts=[("api.tar", DIGEST)])
    assert "commit" in caught.value.message
    assert caught.value.details["differs"] == {
        "commit": {"existing": "abc1234", "requested": "def5678"}
    }


def test_build_metadata_does_not_make_a_second_release_of_the_same_version(
    catalog: Database,
) -> None:
    _create(catalog, "1.4.0+build.1")
    with pytest.raises(Conflict, match="build metadata does not make a new version"):
        _create(catalog, "1.4.0+build.2")


def test_releases_list_in_semver_precedence_on_every_database(catalog: Database) -> None:
    order = ["1.10.0", "1.9.0", "1.9.0-rc.10", "1.9.0-rc.2", "1.9.0-alpha", "0.10.0", "0.9.9"]
    for version in [
        "0.9.9",
        "1.9.0-rc.2",
        "1.10.0",
        "1.9.0-alpha",
        "1.9.0",
        "0.10.0",
        "1.9.0-rc.10",
    ]:
        _create(catalog, version)
    with read_session(catalog) as session:
        rows, total = list_releases(session, service="api", limit=50, offset=0)
        page, _ = list_releases(session, service="api", limit=2, offset=2)
    assert [row.version for row, _ in rows] == order
    assert total == 7
    assert [row.version for row, _ in page] == order[2:4]


def test_an_unknown_service_is_named_with_a_suggestion(catalog: Database) -> None:
    expected = r"Unknown service 'apii' \(did you mean 'api'\?\)"
    with pytest.raises(NotFound, match=expected), UnitOfWork(catalog) as uow:
        create_release(uow, "apii", ReleaseContent.build("1.0.0"), actor="ci")


def test_a_missing_release_lists_the_newest_ones(catalog: Database) -> None:
    _create(catalog, "1.0.0")
    _create(catalog, "1.1.0")
    with (
        read_session(catalog) as session,
        pytest.raises(NotFound, match=r"newest: 1\.1\.0, 1\.0\.0"),
    ):
        get_release(session, "api", "2.0.0")


def test_concurrent_writers_queue_instead_of_failing(catalog: Database) -> None:
    _, errors = run_together(8, lambda n: _create(catalog, f"2.0.{n}"))
    assert errors == []
    with read_session(catalog) as session:
        _, total = list_releases(session, service="api", limit=1, offset=0)
    assert total == 8


def test_racing_identical_creates_all_succeed_with_one_release(catalog: Database) -> None:
    ids, errors = run_together(6, lambda _: _create(catalog, "3.0.0", commit="abc1234").release.id)
    assert errors == []
    assert len(ids) == 6
    assert len(set(ids)) == 1


def test_a_lookup_with_build_metadata_must_match_it_exactly(catalog: Database) -> None:
    _create(catalog, "1.4.0+build.5")
    with read_session(catalog) as session:
        assert get_release(session, "api", "1.4.0").version == "1.4.0+build.5"
        assert get_release(session, "api", "1.4.0+build.5").version == "1.4.0+build.5"
        with pytest.raises(NotFound, match=r"no release 1\.4\.0\+build\.6"):
            get_release(session, "api", "1.4.0+build.6")


def test_the_longest_allowed_prerelease_fits_the_store(catalog: Database) -> None:
    version = "1.0.0-" + ".".join(["1"] * 61)
    assert len(version) == 127
    assert _create(catalog, version).created
