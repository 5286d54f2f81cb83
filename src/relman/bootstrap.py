"""The one place that wires concrete adapters together."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from relman.drivers.base import Driver
from relman.drivers.process import ProcessDriver
from relman.drivers.script import ScriptDriver
from relman.errors import InvalidInput, StoreUnavailable
from relman.settings import Settings
from relman.store.database import Database

__all__ = ["default_drivers", "open_database", "safe_url"]


def default_drivers() -> dict[str, Driver]:
    """Every run driver relman ships, by the name `run.driver` uses in relman.yaml."""
    drivers: list[Driver] = [ScriptDriver(), ProcessDriver()]
    return {driver.name: driver for driver in drivers}


def open_database(settings: Settings, *, upgrade: bool = True) -> Database:
    """The store named by the settings, its schema brought up to date.

    `database.created` tells whether the upgrade found an empty store and made it new.
    """
    where = safe_url(settings.database_url)
    _check_backend(settings.database_url)
    try:
        database = Database(settings.database_url)
        if upgrade:
            database.created = database.upgrade()
    except (SQLAlchemyError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreUnavailable(
            f"Cannot open the store at {where}: {reason}. Check RELMAN_DATABASE_URL "
            "(e.g. postgresql+psycopg://user@127.0.0.1/relman) or RELMAN_HOME",
            details={"store": where},
        ) from None
    return database


_BACKENDS = ("sqlite", "postgresql")


def _check_backend(url: str) -> None:
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = None
    if backend == "sqlite" and make_url(url).database in (None, "", ":memory:"):
        raise InvalidInput(
            "RELMAN_DATABASE_URL names an in-memory SQLite database, which would lose "
            "everything on exit; name a file, e.g. sqlite:///var/lib/relman/relman.db",
            details={"backend": backend},
        )
    if backend in _BACKENDS:
        return
    hint = " (write postgresql+psycopg://…)" if backend == "postgres" else ""
    raise InvalidInput(
        f"RELMAN_DATABASE_URL names '{backend or url}'{hint}; relman stores its data in "
        "SQLite or PostgreSQL, e.g. postgresql+psycopg://user@127.0.0.1:5432/relman",
        details={"backend": backend},
    )


def safe_url(url: str) -> str:
    """A database URL fit for logs: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"
