"""Reading a deployment's evidence record, and checking it was not changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relman.engine.evidence import body_hash, build_evidence, sealed_hash_in_audit
from relman.services.deployments import get_deployment
from relman.store.tables import EvidenceRow

__all__ = ["evidence_of"]


def evidence_of(session: Session, deployment_id: int) -> dict[str, Any]:
    view = get_deployment(session, deployment_id)  # NotFound names what exists
    sealed = session.scalar(select(EvidenceRow).where(EvidenceRow.deployment_id == deployment_id))
    if sealed is None:
        return {
            "deployment": deployment_id,
            "sealed": False,
            "sealed_at": None,
            "hash": None,
            "intact": None,
            "problem": None,
            "body": build_evidence(session, view.row),
        }
    recomputed = body_hash(sealed.body)
    logged = sealed_hash_in_audit(session, deployment_id)
    problem = None
    if recomputed != sealed.hash:
        problem = "the record no longer matches its own hash: it was changed after it was sealed"
    elif logged != sealed.hash:
        problem = "the record's hash is not the one the audit log recorded when it was sealed"
    return {
        "deployment": deployment_id,
        "sealed": True,
        "sealed_at": sealed.sealed_at.isoformat(),
        "hash": sealed.hash,
        "intact": problem is None,
        "problem": problem,
        "body": sealed.body,
    }
