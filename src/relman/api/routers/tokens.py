"""API tokens (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from relman.api.deps import Page, Reader, Writer, allow
from relman.api.schemas import PageOf, TokenCreate, TokenCreated, TokenRead
from relman.domain.roles import Permission
from relman.services.tokens import Principal, create_token, list_tokens, revoke_token

router = APIRouter(prefix="/api/v1", tags=["tokens"])
Admin = Annotated[Principal, Depends(allow(Permission.MANAGE_TOKENS))]


@router.post("/tokens", response_model=TokenCreated, status_code=201)
def post_token(body: TokenCreate, uow: Writer, caller: Admin) -> TokenCreated:
    """Create a token; the response is the only time its text is shown."""
    issued = create_token(
        uow, user=body.user, role=body.role, description=body.description, actor=caller.user
    )
    read = TokenRead.model_validate(issued.row)
    return TokenCreated(**read.model_dump(), token=issued.secret)


@router.get("/tokens", response_model=PageOf[TokenRead])
def get_tokens(
    session: Reader,
    page: Page,
    _: Admin,
    include_revoked: Annotated[bool, Query()] = False,
) -> PageOf[TokenRead]:
    rows, total = list_tokens(
        session, include_revoked=include_revoked, limit=page.limit, offset=page.offset
    )
    items = [TokenRead.model_validate(r) for r in rows]
    return page.of(items, total)


@router.delete("/tokens/{token_id}", response_model=TokenRead)
def delete_token(token_id: str, uow: Writer, caller: Admin) -> TokenRead:
    """Revoke a token (it stays listed with `include_revoked=true`)."""
    return TokenRead.model_validate(revoke_token(uow, token_id, actor=caller.user))
