"""Unit of work: one write transaction that rolls back unless `commit()` is called."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from relman.domain.audit import canonical_details, entry_hash
from relman.errors import StoreUnavailable
from relman.store.database import Database
from relman.store.tables import AuditEventRow, AuditHeadRow

__all__ = ["Clock", "UnitOfWork", "read_session", "utcnow"]

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    """`with UnitOfWork(db) as uow: ...; uow.commit()` — leaving without commit rolls back."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self.database = database
        self.clock = clock
        self._session: Session | None = None
        self._deferred = False
        self._audits: list[tuple[datetime, str, str, str, dict[str, Any]]] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside its 'with' block")
        return self._session

    def __enter__(self) -> Self:
        # The transaction begins lazily at the first statement (BEGIN IMMEDIATE on SQLite).
        self._session = Session(self.database.writer, expire_on_commit=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        self._audits.clear()
        session.expunge_all()  # rows handed out stay readable after the block
        session.rollback()
        session.close()
        self._session = None

    def commit(self) -> None:
        if self._deferred:
            self.session.flush()
            return
        self._chain_audit()
        self.session.commit()

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Defer the commits made inside to one commit at the end: all of it or none."""
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False
        self.commit()

    def lock(self, name: str) -> None:
        """Queue behind other transactions that take the same lock, until this one ends.

        PostgreSQL: a transaction-scoped advisory lock. SQLite needs none: its writers already
        run one at a time (BEGIN IMMEDIATE).
        """
        bind = self.session.get_bind()
        if bind.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    def audit(self, actor: str, action: str, obj: str, **details: Any) -> None:
        """Record a state change; it commits (or rolls back) with the change itself."""
        self._audits.append((self.clock(), actor, action, obj, canonical_details(details)))

    def _chain_audit(self) -> None:
        """Append this transaction's audit entries to the hash chain (domain/audit.py).

        Done last, just before the commit, so the head's row lock (which orders writers on
        PostgreSQL; SQLite's writers are ordered already) is held only for these inserts.
        """
        if not self._audits:
            return
        session = self.session
        head = session.scalars(
            select(AuditHeadRow)
            .where(AuditHeadRow.id == 1)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if head is None:  # the migration writes it; only a hand on the database removes it
            raise StoreUnavailable(
                "The audit log's head (table audit_head) is missing, so relman cannot append "
                "to the audit log; the database was changed outside relman. "
                "'relman audit verify' shows what else changed"
            )
        for at, actor, action, obj, details in self._audits:
            entry_id = head.entry_id + 1
            digest = entry_hash(head.hash, entry_id, at, actor, action, obj, details)
            session.add(
                AuditEventRow(
                    id=entry_id,
                    at=at,
                    actor=actor,
                    action=action,
                    object=obj,
                    details=details,
                    prev_hash=head.hash,
                    hash=digest,
                )
            )
            head.entry_id, head.hash = entry_id, digest
        self._audits.clear()


def read_session(database: Database) -> Session:
    """A session on the reader engine, for queries that change nothing."""
    return Session(database.reader, expire_on_commit=False)
