"""Test results CI reports for a release: stored for the `tests` gate and the evidence."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from relman.domain.testreports import TestSummary
from relman.engine.gates import nudge
from relman.errors import InvalidInput
from relman.services.releases import get_release
from relman.store.tables import TestReportRow
from relman.store.unit_of_work import UnitOfWork

__all__ = ["record_test_report", "reports_of"]


def record_test_report(
    uow: UnitOfWork,
    service: str,
    version: str,
    summary: TestSummary,
    *,
    coverage: float | None,
    source: str,
    actor: str,
) -> TestReportRow:
    """Add a report to the release (the newest one counts); promotions waiting for it are
    judged again at once."""
    if coverage is not None and not 0 <= coverage <= 100:
        raise InvalidInput(f"coverage {coverage} is not a percentage from 0 to 100")
    session = uow.session
    release = get_release(session, service, version)
    row = TestReportRow(
        release_id=release.id,
        tests=summary.tests,
        failures=summary.failures,
        errors=summary.errors,
        skipped=summary.skipped,
        coverage=coverage,
        summary=summary.to_dict(),
        source=source[:200],
        reported_by=actor,
        reported_at=uow.clock(),
    )
    session.add(row)
    session.flush()
    uow.audit(
        actor,
        "release.tests",
        f"release/{service}/{release.version}",
        report=row.id,
        tests=summary.tests,
        failures=summary.failures,
        errors=summary.errors,
        coverage=coverage,
        verdict=summary.verdict,
    )
    nudge(session, release_id=release.id)
    uow.commit()
    return row


def reports_of(session: Session, service: str, version: str) -> list[TestReportRow]:
    """The release's reports, newest first."""
    release = get_release(session, service, version)
    return list(
        session.scalars(
            select(TestReportRow)
            .where(TestReportRow.release_id == release.id)
            .order_by(TestReportRow.id.desc())
        )
    )
