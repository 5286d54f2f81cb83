"""The one place that wires concrete adapters together."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.engine import make_url

from relman.api.app import create_app
from relman.settings import Settings
from relman.store.database import Database
from relman.store.unit_of_work import Clock, utcnow

__all__ = ["build_app", "open_database", "safe_url"]


def open_database(settings: Settings, *, upgrade: bool = True) -> Database:
    """The store named by the settings, its schema brought up to date."""
    database = Database(settings.database_url)
    if upgrade:
        database.upgrade()
    return database


def build_app(settings: Settings, *, clock: Clock = utcnow) -> FastAPI:
    return create_app(open_database(settings), clock=clock, anonymous_read=settings.anonymous_read)


def safe_url(url: str) -> str:
    """A database URL fit for logs: the password masked."""
    return make_url(url).render_as_string(hide_password=True)
