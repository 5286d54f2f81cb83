"""Release candidates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from relman.api.deps import Page, Reader, Reading, Writer, allow
from relman.api.schemas import Artifact, PageOf, ReleaseCreate, ReleaseRead
from relman.domain.releases import ReleaseContent
from relman.domain.roles import Permission
from relman.services.releases import create_release, get_release, list_releases
from relman.services.tokens import Principal
from relman.store.tables import ReleaseRow

router = APIRouter(prefix="/api/v1", tags=["releases"])


def _read(row: ReleaseRow, service: str) -> ReleaseRead:
    return ReleaseRead(
        id=row.id,
        service=service,
        version=row.version,
        commit=row.commit_sha,
        notes=row.notes,
        artifacts=[Artifact(name=n, digest=d) for n, d in sorted(row.artifacts.items())],
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
    result = create_release(uow, body.service, content, actor=caller.user)
    if not result.created:
        response.status_code = 200
    return _read(result.release, result.service)


@router.get("/releases", response_model=PageOf[ReleaseRead])
def list_all_releases(
    session: Reader,
    page: Page,
    _: Reading,
    service: Annotated[str | None, Query(description="Only this service's releases")] = None,
) -> PageOf[ReleaseRead]:
    rows, total = list_releases(session, service=service, limit=page.limit, offset=page.offset)
    items = [_read(row, name) for row, name in rows]
    return page.of(items, total)


@router.get("/releases/{service}/{version}", response_model=ReleaseRead)
def read_release(service: str, version: str, session: Reader, _: Reading) -> ReleaseRead:
    return _read(get_release(session, service, version), service)
