"""Request dependencies: the store, the caller, pagination."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from relman.api.schemas import PageOf
from relman.domain.roles import Permission, Role, require
from relman.drivers.base import Driver
from relman.engine.rollout import ProviderFactory
from relman.errors import Unauthenticated
from relman.services.tokens import Principal, authenticate
from relman.store.database import Database
from relman.store.unit_of_work import Clock, UnitOfWork, read_session

__all__ = [
    "ANONYMOUS",
    "AppContext",
    "Page",
    "Reader",
    "Reading",
    "Writer",
    "allow",
    "context",
    "identified",
]

T = TypeVar("T")
MAX_ID = 2**31 - 1  # ids and offsets are 32-bit integers in the store

ANONYMOUS = Principal(user="anonymous", role=Role.VIEWER)


def _no_worker() -> None:
    """Without an in-process worker, a worker process finds new work on its next poll."""


@dataclass(frozen=True)
class AppContext:
    database: Database
    clock: Clock
    anonymous_read: bool
    drivers: Mapping[str, Driver] = field(default_factory=dict)
    providers: ProviderFactory | None = None  # metric providers for metric and SLO gates
    wake: Callable[[], None] = _no_worker  # tells the in-process worker to look for work


def context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.relman
    return ctx


# Declares the scheme in OpenAPI (the Authorize button in /docs); we read the header ourselves.
_scheme = HTTPBearer(auto_error=False, description="A relman token: relman_<id>_<secret>")


def _bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; never echoes what was sent."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    problem = "has no token after 'Bearer'" if scheme.lower() == "bearer" else "is not 'Bearer'"
    raise Unauthenticated(
        f"The Authorization header {problem}; send 'Authorization: Bearer <token>'"
    )


def allow(permission: Permission) -> Callable[..., Principal]:
    """A dependency that authenticates the caller and checks `permission`."""

    def dependency(
        request: Request,
        ctx: Annotated[AppContext, Depends(context)],
        _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
    ) -> Principal:
        token = _bearer(request)
        if token is None and permission is Permission.READ and ctx.anonymous_read:
            return ANONYMOUS
        principal = authenticate(ctx.database, token, ctx.clock)
        request.state.principal = principal  # names the actor if the request is refused
        require(principal.role, permission)
        return principal

    return dependency


def identified(
    request: Request,
    ctx: Annotated[AppContext, Depends(context)],
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_scheme)],
) -> Principal:
    """The caller, authenticated whatever their role (never anonymous): for acts whose rules
    name who may (an approval)."""
    principal = authenticate(ctx.database, _bearer(request), ctx.clock)
    request.state.principal = principal
    return principal


def _reader(ctx: Annotated[AppContext, Depends(context)]) -> Iterator[Session]:
    with read_session(ctx.database) as session:
        yield session


def _writer(ctx: Annotated[AppContext, Depends(context)]) -> Iterator[UnitOfWork]:
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        yield uow


Reader = Annotated[Session, Depends(_reader)]
Writer = Annotated[UnitOfWork, Depends(_writer)]


@dataclass(frozen=True)
class Pagination:
    limit: int
    offset: int

    def of(self, items: list[T], total: int) -> PageOf[T]:
        """The page holding `items`, out of `total`."""
        return PageOf(items=items, total=total, limit=self.limit, offset=self.offset)


def _page(
    limit: Annotated[int, Query(ge=1, le=500, description="How many items at most")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="How many items to skip")] = 0,
) -> Pagination:
    return Pagination(limit, offset)


Page = Annotated[Pagination, Depends(_page)]
Reading = Annotated[Principal, Depends(allow(Permission.READ))]
