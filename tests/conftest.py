"""Shared fixtures: a migrated store on SQLite and on PostgreSQL, a frozen clock.

PostgreSQL: RELMAN_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test.
Each test run creates its own database next to `test` and drops it at the end. When the server is
not reachable the PostgreSQL tests are skipped, and the run says so loudly at start and end.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from relman.store.database import Database
from relman.testing import FrozenClock
from relman.testing.store import empty_postgres_store

PG_URL = os.environ.get(
    "RELMAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_pg_problem: str | None = None


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _probe_postgres() -> str | None:
    try:
        with psycopg.connect(_pg_dsn(PG_URL), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"


def pytest_configure(config: pytest.Config) -> None:
    global _pg_problem
    _pg_problem = _probe_postgres()


def pytest_report_header(config: pytest.Config) -> str:
    if _pg_problem is None:
        return f"postgresql: {make_url(PG_URL).render_as_string(hide_password=True)} reachable"
    return f"!!! POSTGRESQL NOT REACHABLE ({_pg_problem}): its store tests will be SKIPPED !!!"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _pg_problem is not None:
        terminalreporter.write_sep(
            "!", f"PostgreSQL tests were SKIPPED: {_pg_problem}", red=True, bold=True
        )


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "relman.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    return path


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "relman.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if _pg_problem is not None:
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432 ({_pg_problem})")
    name = f"relman_test_{uuid.uuid4().hex[:10]}"
    admin = _pg_dsn(PG_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    database.upgrade()
    database.dispose()
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    yield database
    empty_postgres_store(database)
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """The store on each database relman supports."""
    db: Database = request.getfixturevalue(f"{request.param}_database")
    return db
