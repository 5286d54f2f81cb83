"""The relational schema; the Alembic migrations create exactly this (a test compares)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "AnalysisMeasurementRow",
    "ApprovalRow",
    "AuditEventRow",
    "AuditHeadRow",
    "Base",
    "DeploymentEventRow",
    "DeploymentLogRow",
    "DeploymentRow",
    "DeploymentStepRow",
    "EnvironmentLockRow",
    "EnvironmentRow",
    "EvidenceRow",
    "FreezeRow",
    "GateOverrideRow",
    "LifecycleRow",
    "MetricSampleRow",
    "ReleaseCommitRow",
    "ReleaseRow",
    "ServiceRow",
    "SloRow",
    "TestReportRow",
    "TokenRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Byte order on every database, so SemVer sort keys sort by precedence.
SortKey = String(512).with_variant(String(512, collation="C"), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class EnvironmentRow(Base):
    __tablename__ = "environments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    tier: Mapped[str] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LifecycleRow(Base):
    __tablename__ = "lifecycles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ServiceRow(Base):
    __tablename__ = "services"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    lifecycle_id: Mapped[int] = mapped_column(ForeignKey("lifecycles.id"))
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReleaseRow(Base):
    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("service_id", "version_key", name="uq_releases_version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    version: Mapped[str] = mapped_column(String(200))
    version_key: Mapped[str] = mapped_column(SortKey)
    commit_sha: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    artifacts: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    # The notes as data (sections of entries), for releases computed from git.
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)


class ReleaseCommitRow(Base):
    """A commit a release contains (newest first by position), for lead time and authorship."""

    __tablename__ = "release_commits"
    __table_args__ = (
        UniqueConstraint("release_id", "position", name="uq_release_commits_position"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"))
    position: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64), index=True)
    author: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    authored_at: Mapped[datetime]


# A deployment that holds its (service, environment) cell: at most one per cell, enforced here.
# A `waiting` one does not: it runs nothing, and a rollback must not queue behind it.
ACTIVE_STATES = ("running", "paused")
_ACTIVE = text("state IN ('running', 'paused')")


class DeploymentRow(Base):
    """A deployment: recorded after the fact (`kind` record) or run by the engine (deploy,
    rollback) as a persisted plan of steps (`deployment_steps`) and a `cursor` into it."""

    __tablename__ = "deployments"
    __table_args__ = (
        Index("ix_deployments_cell", "service_id", "environment_id", "created_at"),
        Index("ix_deployments_state", "state"),
        Index(
            "ux_deployments_active_cell",
            "service_id",
            "environment_id",
            unique=True,
            postgresql_where=_ACTIVE,
            sqlite_where=_ACTIVE,
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id"))
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    previous_release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id"))
    rollback_of_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    spec: Mapped[dict[str, Any] | None]
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    gates: Mapped[dict[str, Any] | None]  # the newest gate report (domain/gates.py)
    not_before: Mapped[datetime | None]  # a scheduled start: `relman promote --at`


class DeploymentStepRow(Base):
    """One step of a deployment's plan; `attempts` counts the attempts begun."""

    __tablename__ = "deployment_steps"
    __table_args__ = (
        UniqueConstraint("deployment_id", "position", name="uq_deployment_steps_position"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(50))
    # run: the run driver's step `name` (or params["action"]); weight, pause, analysis,
    # promote: the engine's own (domain/strategies.py), with their `params`.
    kind: Mapped[str] = mapped_column(String(20), default="run", server_default="run")
    params: Mapped[dict[str, Any] | None]
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    timeout: Mapped[float | None] = mapped_column(Float)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    idempotent: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    summary: Mapped[str | None] = mapped_column(Text)


class DeploymentEventRow(Base):
    """The timeline of a deployment: state changes and step outcomes, with actor and reason."""

    __tablename__ = "deployment_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]


class AnalysisMeasurementRow(Base):
    """One measurement of an analysis metric: what was asked, what came back, the verdict.
    `position` is the analysis step's; None for a background analysis."""

    __tablename__ = "analysis_measurements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    position: Mapped[int | None] = mapped_column(Integer)
    analysis: Mapped[str] = mapped_column(String(63))
    metric: Mapped[str] = mapped_column(String(63))
    at: Mapped[datetime]
    query: Mapped[str] = mapped_column(Text)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    phase: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)


class MetricSampleRow(Base):
    """A sample posted to relman's API for the builtin metric provider (a counter's or a
    gauge's value at `at`, with Prometheus-style labels)."""

    __tablename__ = "metric_samples"
    __table_args__ = (Index("ix_metric_samples_name_at", "name", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]]
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime]


class DeploymentLogRow(Base):
    """Output lines of a deployment's steps, in order of `id`."""

    __tablename__ = "deployment_logs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    line: Mapped[str] = mapped_column(Text)


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    object: Mapped[str] = mapped_column(String(300), index=True)
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHeadRow(Base):
    """One row (id 1): the id and hash of the newest audit entry, so deleting the newest
    entries breaks the chain too. Written under a row lock with every audit entry."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_id: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class EnvironmentLockRow(Base):
    """`relman lock ENV`: nothing deploys to the environment until it is unlocked or `until`."""

    __tablename__ = "environment_locks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment_id: Mapped[int] = mapped_column(ForeignKey("environments.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    locked_by: Mapped[str] = mapped_column(String(100))
    locked_at: Mapped[datetime]
    until: Mapped[datetime | None]


class FreezeRow(Base):
    """A freeze window: from relman.yaml (`source` config, kept by `apply`), made with `relman
    freeze create` (cli), or the one stop-the-line (stop)."""

    __tablename__ = "freezes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    source: Mapped[str] = mapped_column(String(10))
    spec: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class SloRow(Base):
    """An SLO of relman.yaml's `slos:`, kept by `relman apply`; the `slo` gate names it."""

    __tablename__ = "slos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApprovalRow(Base):
    """A person's decision on a deployment; a later decision of the same person replaces it."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("deployment_id", "user", name="uq_approvals_user"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    user: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    decision: Mapped[str] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class GateOverrideRow(Base):
    """A freeze exception: one deployment let through the freezes by a release-manager."""

    __tablename__ = "gate_overrides"
    __table_args__ = (UniqueConstraint("deployment_id", "gate", name="uq_gate_overrides_gate"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    gate: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    granted_by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime]


class TestReportRow(Base):
    """Test results CI reported for a release (`relman report tests`)."""

    __tablename__ = "test_reports"
    __test__ = False  # not a pytest test class, whatever its name says
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    tests: Mapped[int] = mapped_column(Integer)
    failures: Mapped[int] = mapped_column(Integer)
    errors: Mapped[int] = mapped_column(Integer)
    skipped: Mapped[int] = mapped_column(Integer)
    coverage: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(200))
    reported_by: Mapped[str] = mapped_column(String(100))
    reported_at: Mapped[datetime]


class EvidenceRow(Base):
    """A deployment's evidence, sealed once as it starts (or fails at its gates) and never
    changed: release, commits, notes, gate verdicts with their inputs, approvals, test reports.
    Its SHA-256 is in the hash-chained audit log (`deployment.evidence`)."""

    __tablename__ = "deployment_evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), unique=True)
    body: Mapped[dict[str, Any]]
    hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime]
