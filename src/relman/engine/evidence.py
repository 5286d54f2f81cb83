"""A deployment's evidence record: what it shipped and why it was allowed to, sealed once.

The record is built from the store when the deployment starts (its gates passed, or it is a
rollback, which has none) or fails at its gates, and written once: release, commits, notes,
every gate verdict with its inputs, approvals, freeze exceptions, test reports. Its SHA-256
goes into the hash-chained audit log (`deployment.evidence`), so a record changed afterwards no
longer matches the log.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relman.domain.audit import canonical_details
from relman.store.tables import (
    ApprovalRow,
    AuditEventRow,
    DeploymentRow,
    EnvironmentRow,
    EvidenceRow,
    GateOverrideRow,
    ReleaseCommitRow,
    ReleaseRow,
    ServiceRow,
    TestReportRow,
)
from relman.store.unit_of_work import UnitOfWork

__all__ = ["body_hash", "build_evidence", "seal", "sealed_hash_in_audit"]


def body_hash(body: dict[str, Any]) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def build_evidence(session: Session, row: DeploymentRow) -> dict[str, Any]:
    """The record as the store holds it now (JSON-able)."""
    release = session.get_one(ReleaseRow, row.release_id)
    commits = session.scalars(
        select(ReleaseCommitRow)
        .where(ReleaseCommitRow.release_id == release.id)
        .order_by(ReleaseCommitRow.position)
    )
    approvals = session.scalars(
        select(ApprovalRow).where(ApprovalRow.deployment_id == row.id).order_by(ApprovalRow.at)
    )
    exceptions = session.scalars(
        select(GateOverrideRow).where(GateOverrideRow.deployment_id == row.id)
    )
    reports = session.scalars(
        select(TestReportRow)
        .where(TestReportRow.release_id == release.id)
        .order_by(TestReportRow.id.desc())
    )
    body = {
        "deployment": {
            "id": row.id,
            "service": session.get_one(ServiceRow, row.service_id).name,
            "environment": session.get_one(EnvironmentRow, row.environment_id).name,
            "version": release.version,
            "kind": row.kind,
            "state": row.state,
            "requested_by": row.created_by,
            "requested_at": _iso(row.created_at),
            "not_before": _iso(row.not_before),
            "rollback_of": row.rollback_of_id,
        },
        "release": {
            "version": release.version,
            "commit": release.commit_sha,
            "registered_by": release.created_by,
            "registered_at": _iso(release.created_at),
            "artifacts": release.artifacts,
            "notes": release.notes,
        },
        "commits": [
            {
                "hash": c.hash,
                "author": c.author,
                "email": c.email,
                "authored_at": _iso(c.authored_at),
            }
            for c in commits
        ],
        "gates": row.gates,
        "approvals": [
            {
                "user": a.user,
                "role": a.role,
                "decision": a.decision,
                "comment": a.comment,
                "at": _iso(a.at),
            }
            for a in approvals
        ],
        "freeze_exceptions": [
            {"granted_by": e.granted_by, "reason": e.reason, "at": _iso(e.at)} for e in exceptions
        ],
        "test_reports": [
            {
                "id": t.id,
                "tests": t.tests,
                "failures": t.failures,
                "errors": t.errors,
                "skipped": t.skipped,
                "coverage": t.coverage,
                "source": t.source,
                "reported_by": t.reported_by,
                "reported_at": _iso(t.reported_at),
            }
            for t in reports
        ],
    }
    return canonical_details(body)


def seal(uow: UnitOfWork, row: DeploymentRow) -> EvidenceRow | None:
    """Write the deployment's record unless it has one (sealing twice changes nothing)."""
    session = uow.session
    if session.scalar(select(EvidenceRow.id).where(EvidenceRow.deployment_id == row.id)):
        return None
    session.flush()  # the gate report and state of this transaction belong in the record
    body = build_evidence(session, row)
    digest = body_hash(body)
    evidence = EvidenceRow(deployment_id=row.id, body=body, hash=digest, sealed_at=uow.clock())
    session.add(evidence)
    uow.audit("relman", "deployment.evidence", f"deployment/{row.id}", hash=digest)
    return evidence


def sealed_hash_in_audit(session: Session, deployment_id: int) -> str | None:
    """The hash the audit log recorded when the record was sealed."""
    details = session.scalar(
        select(AuditEventRow.details)
        .where(
            AuditEventRow.object == f"deployment/{deployment_id}",
            AuditEventRow.action == "deployment.evidence",
        )
        .order_by(AuditEventRow.id)
        .limit(1)
    )
    return None if details is None else str(details.get("hash"))
