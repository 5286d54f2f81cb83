"""Promoting a release through its lifecycle, and rolling back: both plan a deployment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from relman.domain.deployments import OPEN_STATES, DeploymentState
from relman.domain.gates import (
    GateReport,
    GateResult,
    Verdict,
    next_check,
    report_from_dict,
    report_of,
)
from relman.domain.roles import Role
from relman.drivers.base import Driver
from relman.engine.gates import Candidate, evaluate, schedule_gate
from relman.engine.rollout import ProviderFactory, rollback_settings, rollout_settings
from relman.engine.transitions import (
    NewDeployment,
    create_deployment,
    current_deployment,
    planned_rollback,
)
from relman.errors import Conflict, Forbidden, InvalidInput, NotFound, Refused
from relman.services.lookups import get_environment, get_service, require_in
from relman.services.releases import get_release
from relman.store.tables import (
    DeploymentRow,
    EnvironmentRow,
    ReleaseRow,
    ServiceRow,
)
from relman.store.unit_of_work import UnitOfWork

__all__ = ["Promotion", "go_no_go", "promote", "roll_back"]

Drivers = Mapping[str, Driver]


@dataclass(frozen=True)
class Promotion:
    row: DeploymentRow
    created: bool  # False: the same promotion was waiting, queued or running already
    report: GateReport | None = None


def promote(
    uow: UnitOfWork,
    drivers: Drivers,
    *,
    service: str,
    version: str,
    environment: str,
    actor: str,
    providers: ProviderFactory | None = None,
    at: datetime | None = None,
    role: Role | None = None,
) -> Promotion:
    """Ask for a deployment of the release to the environment, judged by every gate.

    All gates pass: it is queued. Some are pending (an approval, a freeze, a lock, the time
    given with `at`): it waits, and the worker moves it on when they clear. One fails: Refused,
    naming it. Asked again while that deployment has not ended (a CI job that retries), it
    returns that deployment instead of making a second one.
    """
    session = uow.session
    at = None if at is None else at.astimezone(UTC)
    service_row = get_service(session, service)
    env_row = get_environment(session, environment)
    release = get_release(session, service, version)
    require_in(env_row, "deploy", actor, role)
    uow.lock(f"promote/{service_row.id}/{env_row.id}")  # two identical requests: one deployment
    pending = _open(session, release, env_row)
    if pending is not None:
        return Promotion(pending, created=False, report=_report_of(pending))
    now = uow.clock()
    report = _judge(session, service_row, env_row, release, actor, now, providers, at)
    driver, settings = _driver_of(drivers, service_row)
    rollout = rollout_settings(service_row.spec, env_row.name)
    waiting = report.verdict is Verdict.PENDING
    row = create_deployment(
        uow,
        NewDeployment(
            service_id=service_row.id,
            environment_id=env_row.id,
            release_id=release.id,
            kind="deploy",
            driver=driver.name,
            settings=settings,
            on_failure=_on_failure(service_row, env_row),
            plan=[] if rollout else driver.plan(settings, rollback=False),
            rollout=rollout,
        ),
        actor=actor,
        state=DeploymentState.WAITING if waiting else DeploymentState.QUEUED,
        reason=report.summary if waiting else None,
    )
    row.gates = report.to_dict()
    row.not_before = at if at is not None and at > now else None
    if waiting:
        row.due_at = next_check(report, now)
    _audit(uow, actor, "deployment.promote", row, service_row, env_row, release)
    uow.commit()
    return Promotion(row, created=True, report=report)


def go_no_go(
    session: Session,
    drivers: Drivers,
    *,
    service: str,
    version: str,
    environment: str,
    actor: str,
    now: datetime,
    providers: ProviderFactory | None = None,
    at: datetime | None = None,
    role: Role | None = None,
) -> GateReport:
    """What `promote` would decide now, changing nothing (`relman promote --dry-run`): every
    gate with its verdict. A failing gate is a verdict here, not an error."""
    service_row = get_service(session, service)
    env_row = get_environment(session, environment)
    release = get_release(session, service, version)
    _driver_of(drivers, service_row)  # a service relman cannot deploy says so now
    # asked again for a promotion that waits: its own approvals and exceptions count
    waiting = _open(session, release, env_row)
    candidate = Candidate(
        service_row,
        env_row,
        release,
        requester=waiting.created_by if waiting else actor,
        deployment=waiting,
    )
    report = _with_schedule(evaluate(session, candidate, now, providers), at, now)
    if role is None:
        return report
    return report_of(now, [_permission(env_row, actor, role), *report.results])


def _permission(env: EnvironmentRow, actor: str, role: Role) -> GateResult:
    """Whether the one asking may deploy here at all (the environment's permissions)."""
    try:
        require_in(env, "deploy", actor, role)
    except Forbidden as refused:
        return GateResult("permission", "permission", Verdict.FAIL, refused.message)
    return GateResult("permission", "permission", Verdict.PASS, f"{actor} may deploy to {env.name}")


def _judge(
    session: Session,
    service: ServiceRow,
    env: EnvironmentRow,
    release: ReleaseRow,
    actor: str,
    now: datetime,
    providers: ProviderFactory | None,
    at: datetime | None,
) -> GateReport:
    candidate = Candidate(service, env, release, requester=actor)
    report = _with_schedule(evaluate(session, candidate, now, providers), at, now)
    if report.verdict is Verdict.FAIL:
        raise _refusal(service, env, release, report)
    return report


def _with_schedule(report: GateReport, at: datetime | None, now: datetime) -> GateReport:
    if at is None or at <= now:
        return report
    return report_of(now, [*report.results, schedule_gate(at, now)])


def _refusal(
    service: ServiceRow, env: EnvironmentRow, release: ReleaseRow, report: GateReport
) -> Refused:
    failed = report.having(Verdict.FAIL)
    details: dict[str, Any] = {}
    for result in failed:
        if result.gate == "lifecycle":
            details.update(result.evidence)  # names the rule, as before gates existed
    details.setdefault("rule", failed[0].gate)
    reasons = "; ".join(
        result.reason if result.gate == "lifecycle" else f"{result.name}: {result.reason}"
        for result in failed
    )
    return Refused(
        f"{service.name} {release.version} cannot go to {env.name}: {reasons}",
        details={
            **details,
            "service": service.name,
            "version": release.version,
            "gates": report.to_dict(),
        },
    )


def _report_of(row: DeploymentRow) -> GateReport | None:
    return None if row.gates is None else report_from_dict(row.gates)


def _open(
    session: Session, release: ReleaseRow, environment: EnvironmentRow
) -> DeploymentRow | None:
    """The release's deploy to the environment that has not ended yet, if there is one."""
    return session.scalar(
        select(DeploymentRow)
        .where(
            DeploymentRow.release_id == release.id,
            DeploymentRow.environment_id == environment.id,
            DeploymentRow.kind == "deploy",
            DeploymentRow.state.in_([s.value for s in OPEN_STATES]),
        )
        .order_by(DeploymentRow.id)
        .limit(1)
    )


def roll_back(
    uow: UnitOfWork,
    drivers: Drivers,
    *,
    service: str,
    environment: str,
    actor: str,
    to_version: str | None = None,
    role: Role | None = None,
) -> DeploymentRow:
    """Queue a deployment that puts back an earlier successful release of the environment
    (the one before what runs now, or `to_version`) and marks what runs now rolled back."""
    session = uow.session
    service_row = get_service(session, service)
    env_row = get_environment(session, environment)
    require_in(env_row, "deploy", actor, role)
    current = current_deployment(uow, service_row.id, env_row.id)
    if current is None:
        raise NotFound(
            f"Nothing of {service_row.name} has succeeded in {env_row.name}, so there is "
            "nothing to roll back; see 'relman status'",
            details={"service": service_row.name, "environment": env_row.name},
        )
    target = _rollback_target(uow, service_row, env_row, current, to_version)
    driver, settings = _driver_of(drivers, service_row)
    new = planned_rollback(current, target.id, driver, settings)
    rollout = rollout_settings(service_row.spec, env_row.name)
    if rollout:  # back through the slots: the plan is made when it starts
        new = replace(new, plan=[], rollout=rollback_settings(rollout))
    row = create_deployment(
        uow,
        new,
        actor=actor,
        reason=f"roll back deployment {current.id}",
    )
    _audit(uow, actor, "deployment.rollback", row, service_row, env_row, target)
    uow.commit()
    return row


def _rollback_target(
    uow: UnitOfWork,
    service: ServiceRow,
    environment: EnvironmentRow,
    current: DeploymentRow,
    to_version: str | None,
) -> ReleaseRow:
    succeeded_here = select(DeploymentRow.release_id).where(
        DeploymentRow.service_id == service.id,
        DeploymentRow.environment_id == environment.id,
        DeploymentRow.state.in_(
            [DeploymentState.SUCCEEDED.value, DeploymentState.ROLLED_BACK.value]
        ),
    )
    running = uow.session.get_one(ReleaseRow, current.release_id)
    if to_version is not None:
        target = get_release(uow.session, service.name, to_version)
        if target.id == running.id:
            raise Conflict(
                f"{service.name} {target.version} is what runs in {environment.name} already",
                details={"service": service.name, "version": target.version},
            )
        if uow.session.scalar(succeeded_here.where(DeploymentRow.release_id == target.id)) is None:
            raise Refused(
                f"{service.name} {target.version} never ran in {environment.name}, so it is no "
                f"rollback; deploy it with 'relman promote {service.name} {target.version} "
                f"--to {environment.name}'",
                details={"rule": "RollbackToEarlierRelease", "version": target.version},
            )
        return target
    earlier = uow.session.scalar(
        succeeded_here.where(
            DeploymentRow.state == DeploymentState.SUCCEEDED.value,
            DeploymentRow.id < current.id,
            DeploymentRow.release_id != running.id,
        )
        .order_by(DeploymentRow.id.desc())
        .limit(1)
    )
    if earlier is None:
        raise NotFound(
            f"{service.name} {running.version} is the only release that ran in "
            f"{environment.name}; there is nothing earlier to roll back to",
            details={"service": service.name, "environment": environment.name},
        )
    return uow.session.get_one(ReleaseRow, earlier)


def _driver_of(drivers: Drivers, service: ServiceRow) -> tuple[Driver, dict[str, Any]]:
    run = service.spec.get("run")
    if not run:
        raise InvalidInput(
            f"{service.name} has no run settings, so relman cannot deploy it; add "
            "'run: {driver: script, deploy: [...]}' to the service in relman.yaml and apply it "
            "(or record deployments done elsewhere with 'relman deployments record')",
            details={"service": service.name},
        )
    driver = drivers.get(run["driver"])
    if driver is None:
        known = ", ".join(sorted(drivers)) or "none"
        raise InvalidInput(
            f"{service.name} uses the run driver '{run['driver']}', which this server does not "
            f"have; available: {known}",
            details={"service": service.name, "driver": run["driver"]},
        )
    settings: dict[str, Any] = run.get("settings") or {}
    return driver, settings


def _on_failure(service: ServiceRow, environment: EnvironmentRow) -> str:
    choice = service.spec.get("on_failure") or environment.spec.get("on_failure")
    return str(choice or "fail")


def _audit(
    uow: UnitOfWork,
    actor: str,
    action: str,
    row: DeploymentRow,
    service: ServiceRow,
    environment: EnvironmentRow,
    release: ReleaseRow,
) -> None:
    uow.audit(
        actor,
        action,
        f"deployment/{row.id}",
        service=service.name,
        environment=environment.name,
        version=release.version,
    )
