"""Evaluating every gate of a promotion: the facts from the store, the verdicts from the domain.

`evaluate` is called for `relman promote --dry-run` (the go/no-go report), when a promotion is
asked (go, wait or refuse) and by the worker for each waiting deployment until it may go.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from relman.domain.approvals import (
    ApprovalFact,
    ApprovalRule,
    Parties,
    evaluate_approvals,
    merge_rules,
)
from relman.domain.checks import Defined, Issues
from relman.domain.deployments import DeploymentState
from relman.domain.expressions import ExpressionError, parse_expression
from relman.domain.freezes import active_freezes, freeze_from_dict
from relman.domain.gate_specs import (
    Dependency,
    GateSpec,
    MetricCheck,
    SloCheck,
    TestsCheck,
    WebhookCheck,
    parse_depends_on,
    parse_gates,
)
from relman.domain.gates import GateReport, GateResult, Verdict, next_check, report_of
from relman.domain.lifecycles import check_promotion, lifecycle_from_dict
from relman.domain.slo import slo_from_dict
from relman.domain.versions import parse_version
from relman.engine.evidence import seal
from relman.engine.rollout import ProviderFactory
from relman.engine.transitions import SYSTEM, move, note, running_deployment
from relman.errors import RelmanError
from relman.metrics.slo import measure_slo
from relman.store.notifications import announce_work
from relman.store.tables import (
    ApprovalRow,
    DeploymentRow,
    EnvironmentLockRow,
    EnvironmentRow,
    FreezeRow,
    GateOverrideRow,
    LifecycleRow,
    ReleaseCommitRow,
    ReleaseRow,
    ServiceRow,
    SloRow,
    TestReportRow,
)
from relman.store.unit_of_work import UnitOfWork
from relman.webhooks import ask_webhook

__all__ = [
    "Candidate",
    "approval_rule",
    "candidate_of",
    "evaluate",
    "nudge",
    "parties_of",
    "recheck",
    "schedule_gate",
]

logger = logging.getLogger("relman.gates")
_UNCHECKED = Defined("name", None)  # the server's copy: names were checked on apply
STOP = "stop"  # the source of the stop-the-line freeze


@dataclass(frozen=True)
class Candidate:
    """What is asked: this release of this service to this environment, by `requester`; the
    deployment when it exists already (approvals and exceptions belong to it)."""

    service: ServiceRow
    environment: EnvironmentRow
    release: ReleaseRow
    requester: str
    deployment: DeploymentRow | None = None


def candidate_of(session: Session, row: DeploymentRow) -> Candidate:
    """The promotion a deployment is, as its gates see it."""
    return Candidate(
        session.get_one(ServiceRow, row.service_id),
        session.get_one(EnvironmentRow, row.environment_id),
        session.get_one(ReleaseRow, row.release_id),
        requester=row.created_by,
        deployment=row,
    )


def gates_of(candidate: Candidate) -> list[GateSpec]:
    """The environment's gates and the service's gates scoped to that environment."""
    issues = Issues()
    env_gates = parse_gates(
        candidate.environment.spec.get("gates"), ("gates",), issues, slos=_UNCHECKED
    )
    service_gates = parse_gates(
        candidate.service.spec.get("gates"),
        ("gates",),
        issues,
        slos=_UNCHECKED,
        environments=_UNCHECKED,
    )
    name = candidate.environment.name
    return [*env_gates, *(gate for gate in service_gates if gate.applies_in(name))]


def dependencies_of(service: ServiceRow) -> tuple[Dependency, ...]:
    return parse_depends_on(
        service.spec.get("depends_on"), ("depends_on",), Issues(), _UNCHECKED, service.name
    )


def approval_rule(candidate: Candidate) -> ApprovalRule | None:
    """The merged approval rule of the promotion, or None when it needs no approval."""
    return merge_rules(
        gate.check for gate in gates_of(candidate) if isinstance(gate.check, ApprovalRule)
    )


def parties_of(session: Session, candidate: Candidate) -> Parties:
    authors = session.execute(
        select(ReleaseCommitRow.author, ReleaseCommitRow.email)
        .where(ReleaseCommitRow.release_id == candidate.release.id)
        .distinct()
    ).all()
    return Parties(
        requester=candidate.requester,
        release_author=candidate.release.created_by,
        commit_authors=tuple((name, email) for name, email in authors),
    )


def evaluate(
    session: Session, candidate: Candidate, now: datetime, providers: ProviderFactory | None = None
) -> GateReport:
    results: list[GateResult] = [
        _lifecycle(session, candidate, now),
        _lock(session, candidate.environment, now),
        _freezes(session, candidate, now),
    ]
    if candidate.deployment is not None and candidate.deployment.not_before is not None:
        results.append(schedule_gate(candidate.deployment.not_before, now))
    gates = gates_of(candidate)
    rule = approval_rule(candidate)
    if rule is not None:
        facts = _approvals(session, candidate)
        results.append(evaluate_approvals(rule, facts, parties_of(session, candidate)))
    for gate in gates:
        if isinstance(gate.check, TestsCheck):
            results.append(_tests(session, candidate.release, gate.check))
        elif isinstance(gate.check, MetricCheck):
            results.append(_guarded("metric", partial(_metric, gate.check, providers, now)))
        elif isinstance(gate.check, SloCheck):
            slo = partial(_slo, session, gate.check.slo, providers, now)
            results.append(_guarded("slo", slo))
        elif isinstance(gate.check, WebhookCheck):
            results.append(_guarded("webhook", partial(_webhook, gate.check, candidate)))
    for dependency in dependencies_of(candidate.service):
        results.append(_dependency(session, candidate.environment, dependency))
    return report_of(now, results)


def _guarded(gate: str, judge: Callable[[], GateResult]) -> GateResult:
    """A gate that asks another system (a metric provider, a webhook): an error in asking keeps
    it pending and never stops the worker, which would otherwise meet the same deployment again
    at once. Store errors still end the transaction."""
    try:
        return judge()
    except SQLAlchemyError:
        raise
    except Exception as exc:
        logger.exception("%s gate: unexpected error", gate)
        return GateResult(
            gate,
            gate,
            Verdict.PENDING,
            f"could not be judged ({type(exc).__name__}); the server log has the details",
        )


# --- one gate each ---------------------------------------------------------------------------


def _lifecycle(session: Session, candidate: Candidate, now: datetime) -> GateResult:
    """The lifecycle's order and soak time (domain/lifecycles.py): pass or fail."""
    service, release, env = candidate.service, candidate.release, candidate.environment
    lifecycle = lifecycle_from_dict(session.get_one(LifecycleRow, service.lifecycle_id).spec)
    rows = session.execute(
        select(EnvironmentRow.name, func.min(DeploymentRow.finished_at))
        .join(EnvironmentRow, DeploymentRow.environment_id == EnvironmentRow.id)
        .where(
            DeploymentRow.release_id == release.id,
            DeploymentRow.state == DeploymentState.SUCCEEDED.value,
        )
        .group_by(EnvironmentRow.name)
    )
    successes = {env_name: when for env_name, when in rows if when is not None}
    verdict = check_promotion(lifecycle, env.name, successes, now)
    name = f"lifecycle {lifecycle.name}"
    if verdict.allowed:
        return GateResult(
            "lifecycle", name, Verdict.PASS, "the lifecycle allows it", verdict.details
        )
    tail = "".join(f"; {_running_text(session, service, n)}" for n in verdict.missing)
    return GateResult("lifecycle", name, Verdict.FAIL, verdict.reason + tail, verdict.details)


def _running_text(session: Session, service: ServiceRow, environment: str) -> str:
    env_row = session.scalar(select(EnvironmentRow).where(EnvironmentRow.name == environment))
    current = running_deployment(session, service.id, env_row.id) if env_row else None
    if current is None:
        return f"{service.name} has never been deployed to {environment}"
    version = session.get_one(ReleaseRow, current.release_id).version
    return f"last {environment} deployment of {service.name} is {version}"


def _lock(session: Session, env: EnvironmentRow, now: datetime) -> GateResult:
    lock = session.scalar(
        select(EnvironmentLockRow).where(EnvironmentLockRow.environment_id == env.id)
    )
    name = f"lock on {env.name}"
    if lock is None or (lock.until is not None and lock.until <= now):
        return GateResult("lock", name, Verdict.PASS, f"{env.name} is not locked")
    until = f" until {lock.until:%Y-%m-%d %H:%M} UTC" if lock.until else ""
    return GateResult(
        "lock",
        name,
        Verdict.PENDING,
        f"{env.name} is locked by {lock.locked_by}{until}: {lock.reason}",
        {
            "locked_by": lock.locked_by,
            "locked_at": lock.locked_at.isoformat(),
            "reason": lock.reason,
            "until": lock.until.isoformat() if lock.until else None,
        },
        clears_at=lock.until,
    )


def _freezes(session: Session, candidate: Candidate, now: datetime) -> GateResult:
    """Pending while a freeze window covers the environment and service (or the line is
    stopped), unless a release-manager granted this deployment an exception."""
    env, service = candidate.environment.name, candidate.service.name
    rows = session.scalars(select(FreezeRow).order_by(FreezeRow.name)).all()
    stop = next((row for row in rows if row.source == STOP), None)
    windows = active_freezes(
        [freeze_from_dict(row.spec) for row in rows if row.source != STOP], env, service, now
    )
    name = "freezes"
    if stop is None and not windows:
        return GateResult("freeze", name, Verdict.PASS, f"no freeze covers {service} in {env}")
    evidence: dict[str, Any] = {
        "windows": [
            {"freeze": w.name, "start": w.start.isoformat(), "end": w.end.isoformat()}
            for w in windows
        ],
        "stop_the_line": None
        if stop is None
        else {"by": stop.created_by, "at": stop.created_at.isoformat(), **stop.spec},
    }
    parts = [f"{w.name} until {w.end:%Y-%m-%d %H:%M} UTC" for w in windows]
    if stop is not None:
        parts.insert(0, f"the line is stopped by {stop.created_by}: {stop.spec.get('reason')}")
    exception = _exception(session, candidate.deployment)
    if exception is not None:
        evidence["exception"] = {
            "granted_by": exception.granted_by,
            "reason": exception.reason,
            "at": exception.at.isoformat(),
        }
        return GateResult(
            "freeze",
            name,
            Verdict.PASS,
            f"exception granted by {exception.granted_by} ({exception.reason}) for: "
            + "; ".join(parts),
            evidence,
        )
    clears = None if stop is not None else max(w.end for w in windows)
    return GateResult("freeze", name, Verdict.PENDING, "; ".join(parts), evidence, clears)


def _exception(session: Session, deployment: DeploymentRow | None) -> GateOverrideRow | None:
    if deployment is None:
        return None
    return session.scalar(
        select(GateOverrideRow).where(
            GateOverrideRow.deployment_id == deployment.id, GateOverrideRow.gate == "freeze"
        )
    )


def schedule_gate(not_before: datetime, now: datetime) -> GateResult:
    """`relman promote --at TIME`: pending until then."""
    evidence = {"not_before": not_before.astimezone(UTC).isoformat()}
    if now >= not_before:
        return GateResult(
            "schedule", "scheduled start", Verdict.PASS, "its time has come", evidence
        )
    return GateResult(
        "schedule",
        "scheduled start",
        Verdict.PENDING,
        f"scheduled for {not_before.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
        evidence,
        clears_at=not_before,
    )


def _approvals(session: Session, candidate: Candidate) -> list[ApprovalFact]:
    if candidate.deployment is None:
        return []
    rows = session.scalars(
        select(ApprovalRow).where(ApprovalRow.deployment_id == candidate.deployment.id)
    )
    return [ApprovalFact(r.user, r.role, r.decision, r.comment, r.at) for r in rows]


def _tests(session: Session, release: ReleaseRow, check: TestsCheck) -> GateResult:
    report = session.scalar(
        select(TestReportRow)
        .where(TestReportRow.release_id == release.id)
        .order_by(TestReportRow.id.desc())
        .limit(1)
    )
    name = "tests"
    if report is None:
        return GateResult(
            "tests",
            name,
            Verdict.PENDING,
            f"no test report for {release.version} yet; CI sends one with 'relman report tests'",
        )
    evidence: dict[str, Any] = {
        "report": report.id,
        "tests": report.tests,
        "failures": report.failures,
        "errors": report.errors,
        "skipped": report.skipped,
        "coverage": report.coverage,
        "source": report.source,
        "reported_by": report.reported_by,
        "reported_at": report.reported_at.isoformat(),
        "require": check.require,
        "min_coverage": check.min_coverage,
    }
    counts = f"{report.tests} tests, {report.failures} failed, {report.errors} errors"
    if check.require == "passed":
        if report.tests == 0:
            return GateResult("tests", name, Verdict.FAIL, "the report has no tests", evidence)
        if report.failures or report.errors:
            return GateResult("tests", name, Verdict.FAIL, counts, evidence)
    if check.min_coverage is not None:
        if report.coverage is None:
            return GateResult(
                "tests",
                name,
                Verdict.FAIL,
                f"{counts}; no coverage reported, {check.min_coverage:g}% required "
                "('relman report tests --coverage PCT')",
                evidence,
            )
        if report.coverage < check.min_coverage:
            short = check.min_coverage - report.coverage
            return GateResult(
                "tests",
                name,
                Verdict.FAIL,
                f"{counts}; coverage {report.coverage:g}% is {short:.3g} points below the "
                f"{check.min_coverage:g}% required",
                evidence,
            )
    coverage = f", coverage {report.coverage:g}%" if report.coverage is not None else ""
    return GateResult("tests", name, Verdict.PASS, counts + coverage, evidence)


def _dependency(session: Session, env: EnvironmentRow, dependency: Dependency) -> GateResult:
    name = f"depends on {dependency.service} {dependency.versions}"
    other = session.scalar(select(ServiceRow).where(ServiceRow.name == dependency.service))
    evidence: dict[str, Any] = {"service": dependency.service, "version": str(dependency.versions)}
    current = running_deployment(session, other.id, env.id) if other else None
    if current is None:
        return GateResult(
            "dependency",
            name,
            Verdict.PENDING,
            f"{dependency.service} does not run in {env.name} yet; it needs "
            f"{dependency.versions} there first",
            evidence,
        )
    version = session.get_one(ReleaseRow, current.release_id).version
    evidence["running"] = version
    if dependency.versions.matches(parse_version(version)):
        return GateResult(
            "dependency",
            name,
            Verdict.PASS,
            f"{dependency.service} {version} runs in {env.name}",
            evidence,
        )
    return GateResult(
        "dependency",
        name,
        Verdict.PENDING,
        f"{dependency.service} {version} runs in {env.name}, which is not "
        f"{dependency.versions}; deploy a matching {dependency.service} there first",
        evidence,
    )


def _slo(
    session: Session, name: str, providers: ProviderFactory | None, now: datetime
) -> GateResult:
    """The error-budget policy (domain/slo.py): fail when the budget is spent or burning too
    fast in every listed window; pending without data."""
    label = f"SLO {name}"
    row = session.scalar(select(SloRow).where(SloRow.name == name))
    if row is None:
        return GateResult("slo", label, Verdict.FAIL, f"no SLO '{name}': define it in slos:")
    if providers is None:
        return GateResult("slo", label, Verdict.PENDING, "not measured in this check")
    spec = slo_from_dict(row.spec)
    status = measure_slo(spec, providers(spec.provider), now)
    return GateResult("slo", label, status.verdict, status.reason, status.evidence())


def _webhook(check: WebhookCheck, candidate: Candidate) -> GateResult:
    """A signed POST to the webhook (relman/webhooks.py); its answer is the verdict.
    `deployment` is null when asked before the deployment exists (a dry run, or the first
    judgement of a promotion)."""
    name = f"webhook {check.url}"
    secret = os.environ.get(check.secret_env)
    if not secret:
        return GateResult(
            "webhook",
            name,
            Verdict.PENDING,
            f"the server has no {check.secret_env} to sign the call with; set it where relman "
            "serve and relman worker run",
        )
    deployment = candidate.deployment
    payload = {
        "deployment": None if deployment is None else deployment.id,
        "service": candidate.service.name,
        "version": candidate.release.version,
        "environment": candidate.environment.name,
        "requested_by": candidate.requester,
    }
    verdict, reason, seen = ask_webhook(check.url, payload, secret, check.timeout.total_seconds())
    return GateResult("webhook", name, Verdict(verdict), reason, seen)


def _metric(check: MetricCheck, providers: ProviderFactory | None, now: datetime) -> GateResult:
    name = f"metric {check.query[:60]}"
    evidence: dict[str, Any] = {"query": check.query, "success_condition": check.success_condition}
    if providers is None:
        return GateResult("metric", name, Verdict.PENDING, "not measured in this check", evidence)
    try:
        value = providers(check.provider).query(check.query, now)
    except RelmanError as exc:
        return GateResult("metric", name, Verdict.PENDING, f"query failed: {exc.message}", evidence)
    evidence["value"] = value
    if value == []:
        return GateResult("metric", name, Verdict.PENDING, "no data", evidence)
    try:
        ok = parse_expression(check.success_condition).test({"result": value})
    except ExpressionError as exc:
        return GateResult("metric", name, Verdict.FAIL, str(exc), evidence)
    verdict = Verdict.PASS if ok else Verdict.FAIL
    return GateResult(
        "metric",
        name,
        verdict,
        f"{check.success_condition} is {str(ok).lower()} for {value}",
        evidence,
    )


def recheck(
    uow: UnitOfWork, row: DeploymentRow, now: datetime, providers: ProviderFactory | None
) -> GateReport:
    """Judge a waiting (or starting) deployment's gates again: all pass → queued; one fails for
    good → failed, with the reason; some pending → waiting, looked at again at `next_check`."""
    session = uow.session
    report = evaluate(session, candidate_of(session, row), now, providers)
    row.gates = report.to_dict()
    state = DeploymentState(row.state)
    if report.verdict is Verdict.PASS:
        row.due_at = None
        if state is DeploymentState.WAITING:
            move(uow, row, DeploymentState.QUEUED, actor=SYSTEM, reason=report.summary)
    elif report.verdict is Verdict.FAIL:
        move(uow, row, DeploymentState.FAILED, actor=SYSTEM, reason=report.summary)
        seal(uow, row)
    else:
        row.due_at = next_check(report, now)
        if state is not DeploymentState.WAITING:
            move(uow, row, DeploymentState.WAITING, actor=SYSTEM, reason=report.summary)
        elif row.reason != report.summary:
            row.reason = report.summary
            note(uow, row.id, report.summary, SYSTEM, kind="gates")
    return report


def nudge(session: Session, **where: int) -> None:
    """Judge the waiting deployments matching `where` (deployment_id, environment_id,
    release_id; nothing: all) at once: something they wait for changed (an unlock, a test
    report, a freeze deleted)."""
    columns = {
        "deployment_id": DeploymentRow.id,
        "environment_id": DeploymentRow.environment_id,
        "release_id": DeploymentRow.release_id,
    }
    conditions = [columns[key] == value for key, value in where.items()]  # none: all
    rows = session.scalars(
        select(DeploymentRow).where(
            DeploymentRow.state == DeploymentState.WAITING.value, *conditions
        )
    ).all()
    for waiting in rows:
        waiting.due_at = waiting.created_at  # in the past by any clock: due now
    if rows:
        announce_work(session)
