"""Reading the audit log: pages, the whole log in order (export) and its verification."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from relman.domain.audit import ChainReport, Entry, check_head, verify_chain
from relman.store.tables import AuditEventRow, AuditHeadRow

__all__ = ["AuditFilter", "entries", "page", "verify_log"]

BATCH = 1000


@dataclass(frozen=True)
class AuditFilter:
    """Exact matches; `action` ending in `*` matches by prefix (`deployment.*`)."""

    actor: str | None = None
    action: str | None = None
    object: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.actor is not None:
            out.append(AuditEventRow.actor == self.actor)
        if self.object is not None:
            out.append(AuditEventRow.object == self.object)
        if self.action is not None:
            if self.action.endswith("*"):
                prefix = self.action[:-1]
                out.append(func.substr(AuditEventRow.action, 1, len(prefix)) == prefix)
            else:
                out.append(AuditEventRow.action == self.action)
        return out


def page(
    session: Session, where: AuditFilter, limit: int, offset: int
) -> tuple[list[AuditEventRow], int]:
    """Newest first."""
    query = select(AuditEventRow).where(*where.conditions())
    rows = session.scalars(
        query.order_by(AuditEventRow.id.desc()).limit(limit).offset(offset)
    ).all()
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return list(rows), total


def entries(session: Session, after: int = 0) -> Iterator[Entry]:
    """Every entry after id `after`, oldest first, read in batches (memory stays flat)."""
    while True:
        rows = session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.id > after)
            .order_by(AuditEventRow.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for row in rows:
            yield Entry(
                row.id,
                row.at,
                row.actor,
                row.action,
                row.object,
                row.details,
                row.prev_hash,
                row.hash,
            )
        after = rows[-1].id
        session.expunge_all()


def verify_log(session: Session) -> ChainReport:
    """Walk the whole chain, then compare its end with the head relman wrote.

    Writers may append while the walk runs. Each commit writes its entries and the head
    together, so the head read after the walk covers everything the walk saw; when it is
    further on, the walk continues from there.
    """
    head: tuple[int, str] | None = None

    def walk() -> Iterator[Entry]:
        nonlocal head
        last, seen = 0, -1
        while last != seen:  # stop when a round finds nothing new (or the head is reached)
            seen = last
            for entry in entries(session, after=last):
                last = entry.id
                yield entry
            row = session.get(AuditHeadRow, 1, populate_existing=True)
            head = None if row is None else (row.entry_id, row.hash)
            if head is None or head[0] <= last:
                return

    return check_head(verify_chain(walk()), head)
