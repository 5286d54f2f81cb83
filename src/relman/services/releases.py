"""Registering and reading release candidates."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relman.domain.releases import ReleaseContent, release_differences
from relman.domain.versions import parse_version
from relman.errors import Conflict, NotFound
from relman.services.lookups import get_service
from relman.store.tables import ReleaseRow, ServiceRow
from relman.store.unit_of_work import UnitOfWork

__all__ = ["ReleaseCreated", "create_release", "get_release", "list_releases"]


@dataclass(frozen=True)
class ReleaseCreated:
    release: ReleaseRow
    service: str
    created: bool


def _content_of(row: ReleaseRow) -> ReleaseContent:
    return ReleaseContent(
        version=parse_version(row.version),
        version_text=row.version,
        commit=row.commit_sha,
        notes=row.notes,
        artifacts=tuple(sorted(row.artifacts.items())),
    )


def create_release(
    uow: UnitOfWork, service_name: str, content: ReleaseContent, *, actor: str
) -> ReleaseCreated:
    """Create the release, or return the existing identical one; refuse a different one.

    Two identical requests racing (CI retries) both succeed: the loser of the unique index
    finds the winner's row and compares with it.
    """
    session = uow.session
    service = get_service(session, service_name)
    key = content.version.sort_key()
    existing = _find(session, service.id, key)
    if existing is None:
        row = ReleaseRow(
            service_id=service.id,
            version=content.version_text,
            version_key=key,
            commit_sha=content.commit,
            notes=content.notes,
            artifacts=dict(content.artifacts),
            created_at=uow.clock(),
            created_by=actor,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            existing = _find(session, service.id, key)
            if existing is None:
                raise
        else:
            uow.audit(
                actor,
                "release.create",
                f"release/{service.name}/{row.version}",
                commit=content.commit,
                artifacts=dict(content.artifacts),
            )
            uow.commit()
            return ReleaseCreated(row, service.name, created=True)
    differs = release_differences(_content_of(existing), content)
    if "version" in differs:
        raise Conflict(
            f"{service.name} {existing.version} already exists and {content.version_text} has "
            "the same precedence (build metadata does not make a new version); bump the "
            "version instead",
            details={"service": service.name, "version": existing.version, "differs": differs},
        )
    if differs:
        raise Conflict(
            f"{service.name} {existing.version} already exists with a different "
            f"{', '.join(differs)}; releases are immutable, so register a new version instead",
            details={"service": service.name, "version": existing.version, "differs": differs},
        )
    return ReleaseCreated(existing, service.name, created=False)


def _find(session: Session, service_id: int, key: str) -> ReleaseRow | None:
    return session.scalar(
        select(ReleaseRow).where(ReleaseRow.service_id == service_id, ReleaseRow.version_key == key)
    )


def list_releases(
    session: Session, *, service: str | None, limit: int, offset: int
) -> tuple[list[tuple[ReleaseRow, str]], int]:
    """Releases newest version first (SemVer precedence), with their service names."""
    query = select(ReleaseRow, ServiceRow.name).join(ServiceRow)
    if service is not None:
        query = query.where(ServiceRow.id == get_service(session, service).id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(ServiceRow.name, ReleaseRow.version_key.desc()).limit(limit).offset(offset)
    )
    return list(rows), total


def get_release(session: Session, service_name: str, version: str) -> ReleaseRow:
    service = get_service(session, service_name)
    wanted = parse_version(version)
    row = _find(session, service.id, wanted.sort_key())
    if row is not None and wanted.build and row.version != str(wanted):
        row = None  # 1.4.0+b2 names a build that was not registered, not 1.4.0+b1
    if row is None:
        newest = session.scalars(
            select(ReleaseRow.version)
            .where(ReleaseRow.service_id == service.id)
            .order_by(ReleaseRow.version_key.desc())
            .limit(5)
        ).all()
        known = ", ".join(newest) if newest else "none yet"
        raise NotFound(
            f"{service.name} has no release {version}; newest: {known}",
            details={"service": service.name, "version": version, "newest": list(newest)},
        )
    return row
