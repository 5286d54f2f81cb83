"""Capturing a step's output into the deployment log, a few lines per transaction."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from relman.store.database import Database
from relman.store.tables import DeploymentLogRow
from relman.store.unit_of_work import Clock, UnitOfWork

__all__ = ["LogWriter"]

logger = logging.getLogger("relman.engine")

MAX_LINE = 4000


class LogWriter:
    """Buffers lines and writes them at most every `interval` seconds: a line that arrives
    sooner waits for a timer, so the last line before a quiet spell shows up too."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        deployment_id: int,
        position: int,
        attempt: int,
        interval: float = 0.2,
    ) -> None:
        self.database = database
        self.clock = clock
        self.key = (deployment_id, position, attempt)
        self.interval = interval
        self._lines: list[tuple[datetime, str]] = []
        self._lock = threading.Lock()
        self._last = 0.0
        self._timer: threading.Timer | None = None

    def write(self, line: str) -> None:
        with self._lock:
            self._lines.append((self.clock(), line[:MAX_LINE]))
            wait = self.interval - (time.monotonic() - self._last)
            if wait <= 0:
                self._flush()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self._on_timer)
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._flush()

    def _on_timer(self) -> None:
        with self._lock:
            self._timer = None
            self._flush()

    def _flush(self) -> None:
        self._last = time.monotonic()
        if not self._lines:
            return
        deployment_id, position, attempt = self.key
        try:
            with UnitOfWork(self.database, self.clock) as uow:
                uow.session.add_all(
                    DeploymentLogRow(
                        deployment_id=deployment_id,
                        position=position,
                        attempt=attempt,
                        at=at,
                        line=line,
                    )
                    for at, line in self._lines
                )
                uow.commit()
        except Exception:  # the log must never stop a deployment; the lines wait for next time
            logger.warning(
                "could not write %d log lines of deployment %d", len(self._lines), deployment_id
            )
            return
        self._lines.clear()
