"""Waking workers on PostgreSQL: `NOTIFY` when work appears, a `LISTEN`ing thread per worker.

A notification is sent when the transaction that made the work commits, so a worker never
wakes before it can see the work. On SQLite there is nothing to send or hear: the in-process
worker is woken directly, and other workers poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

__all__ = ["WorkListener", "announce_work"]

CHANNEL = "relman_work"
logger = logging.getLogger("relman.engine")


def announce_work(session: Session) -> None:
    """Tell listening workers, once this transaction commits, that there may be work."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


class WorkListener:
    """A daemon thread that calls `wake` on each notification, until `stop`."""

    def __init__(self, url: str, wake: Callable[[], None]) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.wake = wake
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relman-listener", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:  # the server went away: polling covers the gap
                self.listening.clear()
                logger.warning("LISTEN %s failed (%s); retrying", CHANNEL, type(exc).__name__)
                self._stop.wait(2.0)

    def _listen(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self.wake()  # work may have appeared before we listened
            while not self._stop.is_set():
                for _ in connection.notifies(timeout=1.0):
                    self.wake()
