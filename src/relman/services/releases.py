"""Registering and reading release candidates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from relman.domain.releases import ReleaseContent, release_differences
from relman.domain.versions import parse_version
from relman.engine.transitions import running_deployment
from relman.errors import Conflict, NotFound
from relman.services.lookups import get_environment, get_service
from relman.store.tables import ReleaseCommitRow, ReleaseRow, ServiceRow
from relman.store.unit_of_work import UnitOfWork

__all__ = [
    "ContainedCommit",
    "PromotionChanges",
    "ReleaseCreated",
    "ReleaseHistory",
    "commit_count",
    "commit_counts",
    "create_release",
    "get_release",
    "list_releases",
    "promotion_changes",
]


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


@dataclass(frozen=True)
class ReleaseHistory:
    """What a release computed from git brings beside its content: the notes as data and the
    commits it contains (newest first). Derived from the commit, so not part of its identity."""

    changes: list[dict[str, Any]] | None = None
    commits: Sequence[ContainedCommit] = ()


@dataclass(frozen=True)
class ContainedCommit:
    hash: str
    author: str
    email: str
    authored_at: datetime


def create_release(
    uow: UnitOfWork,
    service_name: str,
    content: ReleaseContent,
    *,
    actor: str,
    history: ReleaseHistory | None = None,
) -> ReleaseCreated:
    """Create the release, or return the existing identical one; refuse a different one.

    Two identical requests racing (CI retries) both succeed: the loser of the unique index
    finds the winner's row and compares with it.
    """
    history = history or ReleaseHistory()
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
            changes=history.changes,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
                _add_commits(session, row.id, history.commits)
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
                commits=len(history.commits),
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
            f"{service.name} {existing.version} already exists and differs in "
            f"{', '.join(differs)}; releases are immutable, so register a new version instead",
            details={"service": service.name, "version": existing.version, "differs": differs},
        )
    return ReleaseCreated(existing, service.name, created=False)


def _add_commits(session: Session, release_id: int, commits: Sequence[ContainedCommit]) -> None:
    if commits:
        session.execute(
            insert(ReleaseCommitRow),
            [
                {
                    "release_id": release_id,
                    "position": position,
                    "hash": commit.hash,
                    "author": commit.author,
                    "email": commit.email,
                    "authored_at": commit.authored_at,
                }
                for position, commit in enumerate(commits)
            ],
        )


def commit_count(session: Session, release_id: int) -> int:
    return commit_counts(session, [release_id]).get(release_id, 0)


def commit_counts(session: Session, release_ids: list[int]) -> dict[int, int]:
    """How many commits each release contains (absent: none recorded)."""
    if not release_ids:
        return {}
    rows = session.execute(
        select(ReleaseCommitRow.release_id, func.count())
        .where(ReleaseCommitRow.release_id.in_(release_ids))
        .group_by(ReleaseCommitRow.release_id)
    )
    return {release_id: count for release_id, count in rows}


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


@dataclass(frozen=True)
class PromotionChanges:
    """What deploying `candidate` to `environment` changes: the releases it adds (forward) or
    takes away (back), newest first."""

    service: str
    environment: str
    running: ReleaseRow | None
    candidate: ReleaseRow
    direction: str  # forward, back or none
    releases: list[ReleaseRow]


def promotion_changes(
    session: Session, service_name: str, version: str, environment_name: str
) -> PromotionChanges:
    """Every release between what the environment runs and the candidate.

    Going forward, pre-releases in between are left out (their changes are in the releases
    that followed them); the candidate is always in, pre-release or not. A team that skipped
    1.4.x in production sees 1.4.0 and 1.4.1 when it promotes 1.5.0.
    """
    candidate = get_release(session, service_name, version)
    service = get_service(session, service_name)
    environment = get_environment(session, environment_name)
    current = running_deployment(session, service.id, environment.id)
    running = session.get_one(ReleaseRow, current.release_id) if current else None
    low, high, direction = "", candidate.version_key, "forward"
    if running is not None:
        if running.version_key == candidate.version_key:
            return PromotionChanges(service.name, environment.name, running, candidate, "none", [])
        if running.version_key < candidate.version_key:
            low = running.version_key
        else:
            low, high, direction = candidate.version_key, running.version_key, "back"
    rows = session.scalars(
        select(ReleaseRow)
        .where(
            ReleaseRow.service_id == service.id,
            ReleaseRow.version_key > low,
            ReleaseRow.version_key <= high,
        )
        .order_by(ReleaseRow.version_key.desc())
    ).all()
    edge = high  # the newest end is kept even when it is a pre-release
    releases = [
        row
        for row in rows
        if row.version_key == edge or not parse_version(row.version).is_prerelease
    ]
    return PromotionChanges(service.name, environment.name, running, candidate, direction, releases)
