"""Approving and rejecting a waiting deployment, under its approval rule."""

from __future__ import annotations

from sqlalchemy import select

from relman.domain.approvals import check_approver
from relman.domain.deployments import DeploymentState
from relman.domain.roles import Role
from relman.engine.gates import approval_rule, candidate_of, parties_of, recheck
from relman.engine.rollout import ProviderFactory
from relman.errors import Conflict, InvalidInput, NotFound
from relman.services.lookups import require_in
from relman.store.tables import ApprovalRow, DeploymentRow
from relman.store.unit_of_work import UnitOfWork

__all__ = ["DECISIONS", "decide"]

DECISIONS = ("approve", "reject")


def decide(
    uow: UnitOfWork,
    deployment_id: int,
    decision: str,
    *,
    user: str,
    role: Role,
    comment: str | None = None,
    providers: ProviderFactory | None = None,
) -> ApprovalRow:
    """Record `user`'s approval or rejection. Forbidden (audited at the edge) when the rule
    does not name them or separation of duties bars them; Conflict when the deployment does
    not wait for approvals. A later decision of the same person replaces the earlier one.
    The deployment's gates are judged again at once: it may go (queued) or fail (rejected)."""
    if decision not in DECISIONS:
        raise InvalidInput(f"Unknown decision '{decision}'; decisions: approve, reject")
    if decision == "reject" and not (comment or "").strip():
        raise InvalidInput("A rejection needs a reason (--reason): the requester reads it")
    session = uow.session
    row = session.get(DeploymentRow, deployment_id, with_for_update=True)
    if row is None:
        raise NotFound(
            f"No deployment {deployment_id}; 'relman deployments list' shows them",
            details={"deployment": deployment_id},
        )
    candidate = candidate_of(session, row)
    rule = approval_rule(candidate)
    if rule is None:
        raise Conflict(
            f"Deployment {row.id} needs no approval: no approval gate applies to "
            f"{candidate.service.name} in {candidate.environment.name}",
            details={"deployment": row.id},
        )
    if row.state != DeploymentState.WAITING.value:
        raise Conflict(
            f"Deployment {row.id} is {row.state}, so it no longer waits for approvals",
            details={"deployment": row.id, "state": row.state},
        )
    require_in(candidate.environment, "approve", user, role)
    check_approver(rule, user, role, parties_of(session, candidate), row.id)
    now = uow.clock()
    approval = session.scalar(
        select(ApprovalRow).where(ApprovalRow.deployment_id == row.id, ApprovalRow.user == user)
    )
    if approval is None:
        approval = ApprovalRow(deployment_id=row.id, user=user)
        session.add(approval)
    approval.role, approval.decision, approval.comment, approval.at = (
        role.value,
        decision,
        comment,
        now,
    )
    uow.audit(
        user,
        f"deployment.{decision}",
        f"deployment/{row.id}",
        role=role.value,
        **({"reason": comment} if comment else {}),
    )
    session.flush()
    recheck(uow, row, now, providers)
    uow.commit()
    return approval
