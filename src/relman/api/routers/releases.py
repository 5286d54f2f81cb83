"""Release candidates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from relman.api.deps import Page, Reader, Reading, Writer, allow
from relman.api.schemas import (
    Artifact,
    PageOf,
    ReleaseChanges,
    ReleaseCreate,
    ReleaseRead,
    TestReportCreate,
    TestReportRead,
)
from relman.domain.releases import ReleaseContent
from relman.domain.roles import Permission
from relman.domain.testreports import TestSummary, parse_junit
from relman.services.releases import (
    ContainedCommit,
    ReleaseHistory,
    commit_count,
    commit_counts,
    create_release,
    get_release,
    list_releases,
    promotion_changes,
)
from relman.services.test_reports import record_test_report, reports_of
from relman.services.tokens import Principal
from relman.store.tables import ReleaseRow, TestReportRow

router = APIRouter(prefix="/api/v1", tags=["releases"])


def _read(row: ReleaseRow, service: str, commits: int) -> ReleaseRead:
    return ReleaseRead(
        id=row.id,
        service=service,
        version=row.version,
        commit=row.commit_sha,
        notes=row.notes,
        artifacts=[Artifact(name=n, digest=d) for n, d in sorted(row.artifacts.items())],
        changes=row.changes,
        commit_count=commits,
        created_at=row.created_at,
        created_by=row.created_by,
    )


@router.post(
    "/releases",
    response_model=ReleaseRead,
    status_code=201,
    responses={200: {"description": "An identical release existed already"}},
)
def post_release(
    body: ReleaseCreate,
    uow: Writer,
    response: Response,
    caller: Annotated[Principal, Depends(allow(Permission.CREATE_RELEASE))],
) -> ReleaseRead:
    """Register an immutable release; repeating an identical request is harmless (200)."""
    content = ReleaseContent.build(
        body.version, body.commit, body.notes, [(a.name, a.digest) for a in body.artifacts]
    )
    history = ReleaseHistory(
        changes=None if body.changes is None else [s.model_dump() for s in body.changes],
        commits=[
            ContainedCommit(c.hash, c.author, c.email, _aware(c.authored_at)) for c in body.commits
        ],
    )
    result = create_release(uow, body.service, content, actor=caller.user, history=history)
    if not result.created:
        response.status_code = 200
    row = result.release
    return _read(row, result.service, commit_count(uow.session, row.id))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get("/releases", response_model=PageOf[ReleaseRead])
def list_all_releases(
    session: Reader,
    page: Page,
    _: Reading,
    service: Annotated[str | None, Query(description="Only this service's releases")] = None,
) -> PageOf[ReleaseRead]:
    rows, total = list_releases(session, service=service, limit=page.limit, offset=page.offset)
    counts = commit_counts(session, [row.id for row, _ in rows])
    items = [_read(row, name, counts.get(row.id, 0)) for row, name in rows]
    return page.of(items, total)


@router.get("/releases/{service}/{version}", response_model=ReleaseRead)
def read_release(service: str, version: str, session: Reader, _: Reading) -> ReleaseRead:
    row = get_release(session, service, version)
    return _read(row, service, commit_count(session, row.id))


@router.get("/releases/{service}/{version}/changes", response_model=ReleaseChanges)
def read_promotion_changes(
    service: str,
    version: str,
    session: Reader,
    _: Reading,
    environment: Annotated[str, Query(description="The environment the candidate would go to")],
) -> ReleaseChanges:
    """What promoting this release to `environment` changes: every release between what runs
    there and this one, with its notes (pre-releases in between left out)."""
    found = promotion_changes(session, service, version, environment)
    counts = commit_counts(session, [row.id for row in found.releases])
    return ReleaseChanges(
        service=found.service,
        environment=found.environment,
        running=found.running.version if found.running else None,
        candidate=found.candidate.version,
        direction=found.direction,
        releases=[_read(row, found.service, counts.get(row.id, 0)) for row in found.releases],
    )


@router.post(
    "/releases/{service}/{version}/test-reports", response_model=TestReportRead, status_code=201
)
def post_test_report(
    service: str,
    version: str,
    body: TestReportCreate,
    uow: Writer,
    caller: Annotated[Principal, Depends(allow(Permission.CREATE_RELEASE))],
) -> TestReportRead:
    """Record CI's test results for the release (the `tests` gate reads the newest); 422 with
    the line and column when the XML is not a JUnit report."""
    summary = parse_junit(body.junit.encode(), body.source)
    row = record_test_report(
        uow,
        service,
        version,
        summary,
        coverage=body.coverage,
        source=body.source,
        actor=caller.user,
    )
    return _report(row)


@router.get("/releases/{service}/{version}/test-reports", response_model=list[TestReportRead])
def list_test_reports(
    service: str, version: str, session: Reader, _: Reading
) -> list[TestReportRead]:
    """The release's test reports, newest first."""
    return [_report(row) for row in reports_of(session, service, version)]


def _report(row: TestReportRow) -> TestReportRead:
    summary = TestSummary.from_dict(row.summary)
    return TestReportRead(
        id=row.id,
        tests=row.tests,
        failures=row.failures,
        errors=row.errors,
        skipped=row.skipped,
        coverage=row.coverage,
        passed=summary.passed,
        verdict=summary.verdict,
        summary=row.summary,
        source=row.source,
        reported_by=row.reported_by,
        reported_at=row.reported_at,
    )
