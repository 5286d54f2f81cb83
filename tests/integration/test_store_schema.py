from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from relman.store.database import Database
from relman.store.tables import Base


def test_the_migrations_create_exactly_the_tables_the_code_declares(database: Database) -> None:
    with database.writer.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_upgrading_a_current_schema_changes_nothing(database: Database) -> None:
    before = sorted(inspect(database.reader).get_table_names())
    database.upgrade()
    database.upgrade()
    assert sorted(inspect(database.reader).get_table_names()) == before
    assert "releases" in before
    assert database.has_schema()


def test_a_fresh_sqlite_file_gets_its_folder_and_schema(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/new/home/relman.db"
    database = Database(url)
    assert not database.has_schema()
    database.upgrade()
    assert database.has_schema()
    assert (tmp_path / "new" / "home" / "relman.db").exists()
    database.dispose()
