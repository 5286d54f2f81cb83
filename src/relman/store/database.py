"""Engines for the embedded SQLite default and for PostgreSQL, and schema upgrades.

SQLite: WAL, synchronous=FULL, busy timeout, foreign keys, and `BEGIN IMMEDIATE` for writers so
two writers queue instead of failing on lock upgrade; reads go through a separate engine so they
never take the write lock. PostgreSQL: one pooled engine serves both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

__all__ = ["Database"]

MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """The writer and reader engines for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.created = False  # set by bootstrap when its upgrade made a new store
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            _ensure_parent_dir(url)
            self.writer = _sqlite_engine(url, immediate=True)
            self.reader = _sqlite_engine(url, immediate=False)
        else:
            self.writer = create_engine(url, pool_pre_ping=True)
            self.reader = self.writer

    def upgrade(self) -> bool:
        """Bring the schema to the newest migration (safe on every start).

        Returns True when the store was empty before: a new store was just made.
        """
        was_empty = not self.has_schema()
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.writer.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
        return was_empty

    def has_schema(self) -> bool:
        return inspect(self.reader).has_table("alembic_version")

    def dispose(self) -> None:
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()


def _ensure_parent_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
