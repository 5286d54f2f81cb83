"""Promoting a release through its lifecycle, and rolling back: both plan a deployment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from relman.domain.deployments import ACTIVE_STATES, DeploymentState
from relman.domain.lifecycles import check_promotion, lifecycle_from_dict
from relman.drivers.base import Driver
from relman.engine.rollout import rollback_settings, rollout_settings
from relman.engine.transitions import (
    NewDeployment,
    create_deployment,
    current_deployment,
    planned_rollback,
)
from relman.errors import Conflict, InvalidInput, NotFound, Refused
from relman.services.lookups import get_environment, get_service
from relman.services.releases import get_release
from relman.store.tables import (
    DeploymentRow,
    EnvironmentRow,
    LifecycleRow,
    ReleaseRow,
    ServiceRow,
)
from relman.store.unit_of_work import UnitOfWork

__all__ = ["Promotion", "promote", "roll_back"]

Drivers = Mapping[str, Driver]


@dataclass(frozen=True)
class Promotion:
    row: DeploymentRow
    created: bool  # False: the same promotion was queued or running already


def promote(
    uow: UnitOfWork,
    drivers: Drivers,
    *,
    service: str,
    version: str,
    environment: str,
    actor: str,
) -> Promotion:
    """Queue a deployment of the release to the environment if its lifecycle allows it now.

    Asked again while that deployment is still queued or under way (a CI job that retries),
    it returns that deployment instead of queueing a second one.
    """
    session = uow.session
    service_row = get_service(session, service)
    env_row = get_environment(session, environment)
    release = get_release(session, service, version)
    uow.lock(f"promote/{service_row.id}/{env_row.id}")  # two identical requests: one deployment
    pending = _pending(uow, release, env_row)
    if pending is not None:
        return Promotion(pending, created=False)
    lifecycle = lifecycle_from_dict(session.get_one(LifecycleRow, service_row.lifecycle_id).spec)
    verdict = check_promotion(lifecycle, env_row.name, _successes(uow, release), uow.clock())
    if not verdict.allowed:
        what = f"{service_row.name} {release.version} cannot go to {env_row.name}"
        tail = "".join(f"; {_running_text(uow, service_row, name)}" for name in verdict.missing)
        raise Refused(
            f"{what}: {verdict.reason}{tail}",
            details={**verdict.details, "service": service_row.name, "version": release.version},
        )
    driver, settings = _driver_of(drivers, service_row)
    rollout = rollout_settings(service_row.spec, env_row.name)
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
    )
    _audit(uow, actor, "deployment.promote", row, service_row, env_row, release)
    uow.commit()
    return Promotion(row, created=True)


def _pending(
    uow: UnitOfWork, release: ReleaseRow, environment: EnvironmentRow
) -> DeploymentRow | None:
    """The release's deploy to the environment that has not ended yet, if there is one."""
    return uow.session.scalar(
        select(DeploymentRow)
        .where(
            DeploymentRow.release_id == release.id,
            DeploymentRow.environment_id == environment.id,
            DeploymentRow.kind == "deploy",
            DeploymentRow.state.in_(
                [DeploymentState.QUEUED.value, *(s.value for s in ACTIVE_STATES)]
            ),
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
) -> DeploymentRow:
    """Queue a deployment that puts back an earlier successful release of the environment
    (the one before what runs now, or `to_version`) and marks what runs now rolled back."""
    session = uow.session
    service_row = get_service(session, service)
    env_row = get_environment(session, environment)
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


def _successes(uow: UnitOfWork, release: ReleaseRow) -> dict[str, datetime]:
    """Environment → the release's earliest successful deployment there."""
    rows = uow.session.execute(
        select(EnvironmentRow.name, func.min(DeploymentRow.finished_at))
        .join(EnvironmentRow, DeploymentRow.environment_id == EnvironmentRow.id)
        .where(
            DeploymentRow.release_id == release.id,
            DeploymentRow.state == DeploymentState.SUCCEEDED.value,
        )
        .group_by(EnvironmentRow.name)
    )
    return {name: when for name, when in rows if when is not None}


def _running_text(uow: UnitOfWork, service: ServiceRow, environment: str) -> str:
    env_row = get_environment(uow.session, environment)
    current = current_deployment(uow, service.id, env_row.id)
    if current is None:
        return f"{service.name} has never been deployed to {environment}"
    version = uow.session.get_one(ReleaseRow, current.release_id).version
    return f"last {environment} deployment of {service.name} is {version}"


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
