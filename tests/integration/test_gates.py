"""Gates end to end on each database: the go/no-go report, waiting deployments that move on by
themselves, approvals with separation of duties and merged rules, locks, tests and
dependencies. The fake driver runs the deployments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from relman.configfile import load_config
from relman.domain.gates import Verdict
from relman.domain.releases import ReleaseContent
from relman.domain.roles import Role
from relman.engine.worker import Worker, WorkerOptions
from relman.errors import Conflict, Forbidden, Refused
from relman.services.approvals import decide
from relman.services.config_apply import apply_config
from relman.services.deployments import control_deployment, record_deployment
from relman.services.evidence import evidence_of
from relman.services.locks import lock, unlock
from relman.services.promotions import go_no_go, promote
from relman.services.releases import ContainedCommit, ReleaseHistory, create_release
from relman.store.database import Database
from relman.store.tables import DeploymentRow, EvidenceRow, TestReportRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FakeDriver, FrozenClock

CONFIG = """
version: 1
environments:
  - {name: staging, tier: staging}
  - name: production
    tier: production
    permissions: {deploy: [release-manager, dora], override: [admin]}
    gates:
      - approval:
          required: 2
          from: [release-manager]
          forbid: [requester, release_author, commit_authors]
      - approval: {required: 1, from: [cto]}
      - tests: {require: passed, min_coverage: 80}
lifecycles:
  - name: default
    phases:
      - {name: test, environments: [staging]}
      - {name: prod, environments: [production]}
services:
  - name: auth
    lifecycle: default
    run: {driver: script, deploy: ["./deploy.sh", "{version}"]}
  - name: api
    lifecycle: default
    run: {driver: script, deploy: ["./deploy.sh", "{version}"]}
    depends_on: [{service: auth, version: ">=2.3.0"}]
"""

FAST = WorkerOptions(lease=timedelta(seconds=30), poll=0.01, retry_delay=0.0, slots=1)
AUTHOR = ContainedCommit(
    "c0ffee", "Dana Dev", "dana@example.com", datetime(2026, 11, 1, tzinfo=UTC)
)


class Desk:
    def __init__(self, database: Database, clock: FrozenClock) -> None:
        self.db, self.clock = database, clock
        self.worker = Worker(
            database, {"script": FakeDriver()}, options=FAST, clock=clock, timers_follow_clock=True
        )
        with UnitOfWork(database, clock) as uow:
            apply_config(uow, load_config(CONFIG), actor="setup")

    def release(self, service: str, version: str, by: str = "ci") -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            create_release(
                uow,
                service,
                ReleaseContent.build(version),
                actor=by,
                history=ReleaseHistory(commits=[AUTHOR]),
            )

    def promote(self, service: str, version: str, env: str, by: str = "alice") -> int:
        with UnitOfWork(self.db, self.clock) as uow:
            return promote(
                uow,
                self.worker.drivers,
                service=service,
                version=version,
                environment=env,
                actor=by,
            ).row.id

    def ship(self, service: str, version: str, env: str) -> None:
        deployment = self.promote(service, version, env)
        self.worker.run_until_idle()
        assert self.state(deployment) == "succeeded"

    def state(self, deployment: int) -> str:
        with read_session(self.db) as session:
            return session.get_one(DeploymentRow, deployment).state

    def row(self, deployment: int) -> DeploymentRow:
        with read_session(self.db) as session:
            return session.get_one(DeploymentRow, deployment)

    def decide(
        self,
        deployment: int,
        user: str,
        role: Role,
        decision: str = "approve",
        comment: str | None = None,
    ) -> None:
        with UnitOfWork(self.db, self.clock) as uow:
            decide(uow, deployment, decision, user=user, role=role, comment=comment)

    def report_tests(
        self, service: str, version: str, failures: int = 0, coverage: float | None = 91.5
    ) -> None:
        from relman.services.releases import get_release

        with UnitOfWork(self.db, self.clock) as uow:
            release = get_release(uow.session, service, version)
            uow.session.add(
                TestReportRow(
                    release_id=release.id,
                    tests=120,
                    failures=failures,
                    errors=0,
                    skipped=3,
                    coverage=coverage,
                    summary={},
                    source="report.xml",
                    reported_by="ci",
                    reported_at=self.clock(),
                )
            )
            uow.commit()


@pytest.fixture
def desk(database: Database, clock: FrozenClock) -> Desk:
    d = Desk(database, clock)
    d.release("auth", "2.3.1")
    for env in ("staging", "production"):  # auth runs there (deployed elsewhere)
        with UnitOfWork(database, clock) as uow:
            record_deployment(
                uow,
                service="auth",
                version="2.3.1",
                environment=env,
                state="succeeded",
                actor="ops",
            )
    return d


@pytest.fixture
def staged(desk: Desk) -> Desk:
    desk.release("api", "1.4.0")
    desk.ship("api", "1.4.0", "staging")
    return desk


def report(desk: Desk, by: str = "alice"):  # type: ignore[no-untyped-def]
    with read_session(desk.db) as session:
        return go_no_go(
            session,
            desk.worker.drivers,
            service="api",
            version="1.4.0",
            environment="production",
            actor=by,
            now=desk.clock(),
        )


def test_the_report_lists_every_gate_with_its_verdict_and_changes_nothing(staged: Desk) -> None:
    gates = report(staged)
    assert gates.verdict is Verdict.PENDING
    by_kind = {r.gate: r for r in gates.results}
    assert by_kind["lifecycle"].verdict is Verdict.PASS
    assert by_kind["lock"].verdict is Verdict.PASS
    approval = by_kind["approval"]
    assert approval.verdict is Verdict.PENDING
    # two rules merged: the highest required, the union of approvers
    assert approval.reason == "needs 2 approvals from a release-manager or cto: 0 of 2"
    assert approval.evidence["rule"]["forbid"] == ["requester", "release_author", "commit_authors"]
    assert by_kind["tests"].verdict is Verdict.PENDING
    assert "no test report for 1.4.0 yet" in by_kind["tests"].reason
    assert by_kind["dependency"].verdict is Verdict.PASS
    assert by_kind["dependency"].reason == "auth 2.3.1 runs in production"
    with read_session(staged.db) as session:
        assert session.query(DeploymentRow).filter_by(environment_id=2).count() == 1  # auth's


def test_a_pending_promotion_waits_then_goes_when_its_gates_clear(staged: Desk) -> None:
    deployment = staged.promote("api", "1.4.0", "production")
    row = staged.row(deployment)
    assert row.state == "waiting"
    reason = row.reason or ""
    assert reason.startswith("waiting for approval: needs 2")
    assert "tests: no test report" in reason
    staged.worker.run_until_idle()
    assert staged.state(deployment) == "waiting"

    staged.report_tests("api", "1.4.0")
    staged.decide(deployment, "rita", Role.RELEASE_MANAGER)
    staged.worker.run_until_idle()
    assert staged.state(deployment) == "waiting"
    assert "1 of 2; approved by rita" in (staged.row(deployment).reason or "")
    again = {r.gate: r for r in report(staged, by="bob").results}  # the waiting one's approvals
    assert again["approval"].reason.endswith("1 of 2; approved by rita")
    staged.decide(deployment, "cto", Role.VIEWER, comment="go")  # a user named in the rule
    staged.worker.run_until_idle()
    assert staged.state(deployment) == "succeeded"
    gates = staged.row(deployment).gates
    assert gates is not None
    assert gates["verdict"] == "pass"
    approval = next(g for g in gates["gates"] if g["gate"] == "approval")
    assert approval["evidence"]["counted"] == ["rita", "cto"]


def test_separation_of_duties_refuses_requester_release_author_and_commit_authors(
    staged: Desk,
) -> None:
    staged.release("api", "1.5.0", by="rob")  # rob registered the release
    with UnitOfWork(staged.db, staged.clock) as uow:
        record_deployment(
            uow,
            service="api",
            version="1.5.0",
            environment="staging",
            state="succeeded",
            actor="ops",
        )
    deployment = staged.promote("api", "1.5.0", "production", by="alice")
    refusals = {
        "alice": "alice requested this deployment",
        "rob": "rob registered this release",
        "dana@example.com": "wrote commits of this release (Dana Dev <dana@example.com>)",
        "Dana Dev": "wrote commits of this release",
    }
    for user, why in refusals.items():
        with pytest.raises(Forbidden, match="separation of duties") as refused:
            staged.decide(deployment, user, Role.RELEASE_MANAGER)
        assert why in refused.value.message
    with pytest.raises(Forbidden, match="needs 2 approvals from a release-manager or cto"):
        staged.decide(deployment, "dave", Role.DEPLOYER)  # neither the role nor a named user
    with read_session(staged.db) as session:
        assert staged.row(deployment).state == "waiting"
        from relman.store.tables import ApprovalRow

        assert session.query(ApprovalRow).count() == 0


def test_a_rejection_fails_the_waiting_deployment_with_the_reason(staged: Desk) -> None:
    deployment = staged.promote("api", "1.4.0", "production")
    with pytest.raises(Exception, match="needs a reason"):
        staged.decide(deployment, "rita", Role.RELEASE_MANAGER, "reject")
    staged.decide(
        deployment, "rita", Role.RELEASE_MANAGER, "reject", comment="needs the fix for #42"
    )
    staged.worker.run_until_idle()
    row = staged.row(deployment)
    assert row.state == "failed"
    assert row.reason == "approval: rejected by rita: needs the fix for #42"
    with pytest.raises(Conflict, match="no longer waits for approvals"):
        staged.decide(deployment, "rex", Role.RELEASE_MANAGER)


def test_failed_tests_refuse_the_promotion_at_once(staged: Desk) -> None:
    staged.report_tests("api", "1.4.0", failures=2)
    with pytest.raises(Refused) as refused:
        staged.promote("api", "1.4.0", "production")
    assert refused.value.message == (
        "api 1.4.0 cannot go to production: tests: 120 tests, 2 failed, 0 errors"
    )
    assert refused.value.details["rule"] == "tests"
    staged.report_tests("api", "1.4.0", coverage=71.0)
    with pytest.raises(Refused, match="coverage 71% is 9 points below the 80% required"):
        staged.promote("api", "1.4.0", "production")


def test_a_lock_holds_promotions_until_it_is_lifted_or_expires(staged: Desk) -> None:
    with UnitOfWork(staged.db, staged.clock) as uow:
        lock(uow, "staging", reason="load test until 15:00", actor="ops")
    staged.release("api", "1.4.1")
    deployment = staged.promote("api", "1.4.1", "staging")
    assert staged.state(deployment) == "waiting"
    assert "staging is locked by ops: load test until 15:00" in (
        staged.row(deployment).reason or ""
    )
    with (
        UnitOfWork(staged.db, staged.clock) as uow,
        pytest.raises(Conflict, match="locked already"),
    ):
        lock(uow, "staging", reason="again", actor="eve")
    with UnitOfWork(staged.db, staged.clock) as uow:
        assert unlock(uow, "staging", actor="ops") is not None
    staged.worker.run_until_idle()
    assert staged.state(deployment) == "succeeded"

    until = staged.clock() + timedelta(minutes=30)
    with UnitOfWork(staged.db, staged.clock) as uow:
        lock(uow, "staging", reason="release train", actor="ops", until=until)
    staged.release("api", "1.4.2")
    later = staged.promote("api", "1.4.2", "staging")
    assert staged.row(later).due_at == staged.clock() + timedelta(seconds=30)
    staged.clock.advance(timedelta(minutes=31))
    staged.worker.run_until_idle()
    assert staged.state(later) == "succeeded"


def test_a_dependency_not_yet_there_holds_the_promotion_and_names_it(desk: Desk) -> None:
    desk.release("api", "2.0.0")
    desk.release("auth", "2.2.0")
    with UnitOfWork(desk.db, desk.clock) as uow:
        record_deployment(
            uow,
            service="auth",
            version="2.2.0",
            environment="staging",
            state="succeeded",
            actor="ops",
        )
    deployment = desk.promote("api", "2.0.0", "staging")
    assert staged_reason(desk, deployment) == (
        "waiting for depends on auth >=2.3.0: auth 2.2.0 runs in staging, which is not >=2.3.0; "
        "deploy a matching auth there first"
    )
    desk.ship("auth", "2.3.1", "staging")
    desk.clock.advance(timedelta(seconds=31))
    desk.worker.run_until_idle()
    assert desk.state(deployment) == "succeeded"


def staged_reason(desk: Desk, deployment: int) -> str | None:
    return desk.row(deployment).reason


def test_a_waiting_deployment_can_be_aborted_and_does_not_hold_its_cell(staged: Desk) -> None:
    waiting = staged.promote("api", "1.4.0", "production")
    with UnitOfWork(staged.db, staged.clock) as uow:
        record_deployment(
            uow,
            service="api",
            version="1.4.0",
            environment="production",
            state="succeeded",
            actor="ops",
        )
    with UnitOfWork(staged.db, staged.clock) as uow:
        control_deployment(uow, waiting, "abort", actor="alice", reason="not today")
    assert staged.state(waiting) == "aborted"


def test_asking_again_returns_the_waiting_deployment(staged: Desk) -> None:
    first = staged.promote("api", "1.4.0", "production")
    assert staged.promote("api", "1.4.0", "production") == first


def test_the_evidence_is_sealed_as_it_starts_and_a_changed_record_is_caught(
    staged: Desk,
) -> None:
    deployment = staged.promote("api", "1.4.0", "production")
    with read_session(staged.db) as session:
        draft = evidence_of(session, deployment)
    assert draft["sealed"] is False
    assert draft["body"]["gates"]["verdict"] == "pending"
    staged.report_tests("api", "1.4.0")
    staged.decide(deployment, "rita", Role.RELEASE_MANAGER, comment="fine")
    staged.decide(deployment, "cto", Role.VIEWER)
    staged.worker.run_until_idle()
    assert staged.state(deployment) == "succeeded"
    with read_session(staged.db) as session:
        record = evidence_of(session, deployment)
    assert record["sealed"] is True
    assert record["intact"] is True
    body = record["body"]
    assert body["deployment"]["requested_by"] == "alice"
    assert body["deployment"]["state"] == "running"  # as it started
    assert body["release"]["registered_by"] == "ci"
    assert body["commits"] == [
        {
            "hash": "c0ffee",
            "author": "Dana Dev",
            "email": "dana@example.com",
            "authored_at": "2026-11-01T00:00:00+00:00",
        }
    ]
    assert body["gates"]["verdict"] == "pass"
    assert [(a["user"], a["comment"]) for a in body["approvals"]] == [
        ("rita", "fine"),
        ("cto", None),
    ]
    assert body["test_reports"][0]["coverage"] == 91.5
    with staged.db.writer.begin() as connection:
        connection.execute(
            update(EvidenceRow)
            .where(EvidenceRow.deployment_id == deployment)
            .values(body={**body, "approvals": []})
        )
    with read_session(staged.db) as session:
        tampered = evidence_of(session, deployment)
    assert tampered["intact"] is False
    assert tampered["problem"] == (
        "the record no longer matches its own hash: it was changed after it was sealed"
    )


def test_a_deployment_that_fails_at_its_gates_keeps_its_evidence(staged: Desk) -> None:
    deployment = staged.promote("api", "1.4.0", "production")
    staged.decide(deployment, "rita", Role.RELEASE_MANAGER, "reject", comment="not this week")
    with read_session(staged.db) as session:
        record = evidence_of(session, deployment)
    assert record["sealed"] is True
    assert record["body"]["deployment"]["state"] == "failed"
    approval = next(g for g in record["body"]["gates"]["gates"] if g["gate"] == "approval")
    assert approval["verdict"] == "fail"
    assert approval["reason"] == "rejected by rita: not this week"


def test_the_environments_permissions_decide_who_may_deploy_and_override_there(
    staged: Desk,
) -> None:
    def ask(user: str, role: Role) -> int:
        with UnitOfWork(staged.db, staged.clock) as uow:
            return promote(
                uow,
                staged.worker.drivers,
                service="api",
                version="1.4.0",
                environment="production",
                actor=user,
                role=role,
            ).row.id

    with pytest.raises(Forbidden) as refused:
        ask("dave", Role.DEPLOYER)
    assert refused.value.message == (
        "dave (deployer) may not deploy to or control deployments in production: its "
        "permissions.deploy allows release-manager, dora"
    )
    with read_session(staged.db) as session:
        gates = go_no_go(
            session,
            staged.worker.drivers,
            service="api",
            version="1.4.0",
            environment="production",
            actor="dave",
            now=staged.clock(),
            role=Role.DEPLOYER,
        )
    assert gates.results[0].gate == "permission"
    assert gates.results[0].verdict is Verdict.FAIL
    deployment = ask("dora", Role.DEPLOYER)  # named in the list
    with (
        UnitOfWork(staged.db, staged.clock) as uow,
        pytest.raises(Forbidden, match="control deployments in production"),
    ):
        control_deployment(uow, deployment, "abort", actor="dave", role=Role.DEPLOYER)
    with (
        UnitOfWork(staged.db, staged.clock) as uow,
        pytest.raises(Forbidden, match=r"permissions\.override allows admin"),
    ):
        lock(uow, "production", reason="x", actor="rita", role=Role.RELEASE_MANAGER)
    with UnitOfWork(staged.db, staged.clock) as uow:
        lock(uow, "production", reason="audit week", actor="root", role=Role.ADMIN)
    with UnitOfWork(staged.db, staged.clock) as uow:
        lock(uow, "staging", reason="anyone may", actor="rita", role=Role.RELEASE_MANAGER)


def test_a_scheduled_promotion_takes_its_approvals_early_and_starts_on_time(
    staged: Desk,
) -> None:
    staged.report_tests("api", "1.4.0")
    at = staged.clock() + timedelta(hours=2)
    with UnitOfWork(staged.db, staged.clock) as uow:
        deployment = promote(
            uow,
            staged.worker.drivers,
            service="api",
            version="1.4.0",
            environment="production",
            actor="alice",
            at=at,
        ).row.id
    staged.decide(deployment, "rita", Role.RELEASE_MANAGER)
    staged.decide(deployment, "cto", Role.VIEWER)
    staged.worker.run_until_idle()
    row = staged.row(deployment)
    assert row.state == "waiting"
    assert row.not_before == at
    assert row.reason == "waiting for scheduled start: scheduled for 2026-01-05 11:00 UTC"
    staged.clock.advance(timedelta(hours=1, minutes=59))
    staged.worker.run_until_idle()
    assert staged.state(deployment) == "waiting"
    staged.clock.advance(timedelta(minutes=1))
    staged.worker.run_until_idle()
    assert staged.state(deployment) == "succeeded"
