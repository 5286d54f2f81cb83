"""The hash-chained audit log on SQLite and PostgreSQL: appends, verification, tampering."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from itertools import pairwise

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from relman.services.audit import AuditFilter, entries, page, verify_log
from relman.store.database import MIGRATIONS, Database
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FrozenClock


def write(database: Database, clock: FrozenClock, count: int, actor: str = "ana") -> None:
    for n in range(count):
        with UnitOfWork(database, clock) as uow:
            uow.audit(actor, "lock.create", f"environment/e{n}", reason=f"reason {n}", n=n)
            uow.commit()


def verify(database: Database):  # type: ignore[no-untyped-def]
    with read_session(database) as session:
        return verify_log(session)


def sql(database: Database, statement: str, **params: object) -> None:
    with database.writer.begin() as connection:
        connection.execute(text(statement), params)


def test_entries_are_numbered_and_chained_in_commit_order(
    database: Database, clock: FrozenClock
) -> None:
    write(database, clock, 3)
    with UnitOfWork(database, clock) as uow, uow.batch():
        uow.audit("bo", "token.create", "token/x")
        uow.commit()  # deferred: the entries are chained at the batch's one commit
        uow.audit("bo", "token.revoke", "token/x", reason="left")
    with UnitOfWork(database, clock) as uow:
        uow.audit("eve", "lock.create", "environment/gone")  # rolled back: leaves no gap
    report = verify(database)
    assert report.intact, report.problem
    assert (report.entries, report.head_id) == (5, 5)
    with read_session(database) as session:
        log = list(entries(session))
        assert [e.id for e in log] == [1, 2, 3, 4, 5]
        assert [e.action for e in log[3:]] == ["token.create", "token.revoke"]
        assert all(e.prev_hash == before.hash for before, e in pairwise(log))
        rows, total = page(session, AuditFilter(action="token.*"), limit=1, offset=0)
        assert total == 2
        assert [(r.id, r.details) for r in rows] == [(5, {"reason": "left"})]
        _, by_actor = page(session, AuditFilter(actor="ana", object="environment/e1"), 50, 0)
        assert by_actor == 1


def test_an_edited_row_is_named(database: Database, clock: FrozenClock) -> None:
    write(database, clock, 4)
    sql(database, "UPDATE audit_events SET actor = 'mallory' WHERE id = 3")
    report = verify(database)
    assert report.problem is not None
    assert (report.problem.entry, report.problem.kind) == (3, "changed")
    assert "by mallory) was changed after it was written" in report.problem.message
    assert report.entries == 2


def test_an_edited_reason_is_named(database: Database, clock: FrozenClock) -> None:
    write(database, clock, 3)
    with UnitOfWork(database, clock) as uow:
        uow.audit("ana", "freeze.exception", "deployment/7", reason="hotfix for the outage")
        uow.commit()
    sql(
        database,
        """UPDATE audit_events SET details = '{"reason": "routine"}' WHERE id = 4""",
    )
    report = verify(database)
    assert report.problem is not None
    assert (report.problem.entry, report.problem.kind) == (4, "changed")


def test_a_deleted_row_is_named(database: Database, clock: FrozenClock) -> None:
    write(database, clock, 5)
    sql(database, "DELETE FROM audit_events WHERE id = 2")
    report = verify(database)
    assert report.problem is not None
    assert (report.problem.entry, report.problem.kind) == (2, "deleted")
    assert "entry 2 is missing" in report.problem.message


def test_deleting_the_newest_rows_is_caught_by_the_head(
    database: Database, clock: FrozenClock
) -> None:
    write(database, clock, 5)
    sql(database, "DELETE FROM audit_events WHERE id >= 4")
    report = verify(database)
    assert report.problem is not None
    assert (report.problem.entry, report.problem.kind) == (4, "truncated")
    assert "relman wrote up to entry 5" in report.problem.message


def test_a_forged_row_added_behind_relmans_back_is_caught(
    database: Database, clock: FrozenClock
) -> None:
    write(database, clock, 2)
    with read_session(database) as session:
        last = list(entries(session))[-1]
    sql(
        database,
        "INSERT INTO audit_events (id, at, actor, action, object, details, prev_hash, hash) "
        "VALUES (3, :at, 'mallory', 'x', 'y', '{}', :prev, :hash)",
        at=datetime(2026, 11, 30, 10, tzinfo=UTC),
        prev=last.hash,
        hash="0" * 64,
    )
    report = verify(database)
    assert report.problem is not None
    assert report.problem.entry == 3


def test_writers_in_parallel_keep_one_gapless_chain(database: Database) -> None:
    """Several threads auditing at once (PostgreSQL: concurrent transactions on the head row)."""
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            for n in range(15):
                with UnitOfWork(database) as uow:
                    uow.audit(name, "lock.create", f"environment/{name}-{n}")
                    uow.commit()
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    report = verify(database)
    assert report.intact, report.problem
    assert report.entries == 60


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_migration_chains_the_entries_written_before_it(
    backend: str, request: pytest.FixtureRequest, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        database = Database(f"sqlite:///{tmp_path}/old.db")
    else:
        database = request.getfixturevalue("postgres_database")
        sql(database, "DROP SCHEMA public CASCADE")
        sql(database, "CREATE SCHEMA public")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with database.writer.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0004")
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for old_id in (3, 7, 8):  # ids with gaps, as rolled-back inserts leave on PostgreSQL
        sql(
            database,
            "INSERT INTO audit_events (id, at, actor, action, object, details) VALUES "
            "(:id, :at, 'ana', 'config.create', :object, '{\"n\": 1}')",
            id=old_id,
            at=at,
            object=f"service/s{old_id}",
        )
    database.upgrade()
    write(database, FrozenClock(), 1)
    report = verify(database)
    assert report.intact, report.problem
    with read_session(database) as session:
        assert [(e.id, e.object) for e in entries(session)] == [
            (1, "service/s3"),
            (2, "service/s7"),
            (3, "service/s8"),
            (4, "environment/e0"),
        ]
    if backend == "sqlite":
        database.dispose()
