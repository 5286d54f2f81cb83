"""API tokens: shown once, stored as a SHA-256 hash, listed and revoked by id.

A token reads `relman_<id>_<secret>`: the prefix makes leaked tokens easy to spot (and to scan
for), the id finds the row, and only the hash of the whole token is stored. Tokens carry 240 bits
of randomness, so a fast hash is the right one (a slow password hash protects low-entropy input).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from relman.domain.roles import Role, parse_role
from relman.errors import InvalidInput, NotFound, Unauthenticated
from relman.store.database import Database
from relman.store.tables import TokenRow
from relman.store.unit_of_work import Clock, UnitOfWork, read_session, utcnow

__all__ = [
    "TOKEN_PREFIX",
    "IssuedToken",
    "Principal",
    "authenticate",
    "create_token",
    "list_tokens",
    "revoke_token",
]

TOKEN_PREFIX = "relman_"  # noqa: S105 (a prefix, not a secret)
_ID_LENGTH = 10
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,99}$")
_TOUCH_EVERY = timedelta(minutes=1)
_DESCRIPTION_MAX = 200


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's user and role."""

    user: str
    role: Role
    token_id: str | None = None


@dataclass(frozen=True)
class IssuedToken:
    row: TokenRow
    secret: str  # the whole token text; shown once, never stored


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    uow: UnitOfWork, *, user: str, role: str, actor: str, description: str | None = None
) -> IssuedToken:
    if not _USER.fullmatch(user):
        raise InvalidInput(
            f"Bad user name '{user}'; use letters, digits and . _ @ : + - (at most 100)",
            details={"field": "user", "value": user},
        )
    if description is not None and len(description) > _DESCRIPTION_MAX:
        raise InvalidInput(
            f"Token description is {len(description)} characters; at most {_DESCRIPTION_MAX}",
            details={"field": "description"},
        )
    parsed = parse_role(role)
    token_id = secrets.token_hex(_ID_LENGTH // 2)
    text = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(30)}"
    row = TokenRow(
        id=token_id,
        user=user,
        role=parsed.value,
        secret_hash=_hash(text),
        description=description,
        created_at=uow.clock(),
        created_by=actor,
    )
    uow.session.add(row)
    uow.audit(actor, "token.create", f"token/{token_id}", user=user, role=parsed.value)
    uow.commit()
    return IssuedToken(row, text)


def authenticate(database: Database, text: str | None, clock: Clock = utcnow) -> Principal:
    """The principal behind a token text, or Unauthenticated saying why not.

    The lookup reads through the reader engine; `last_used_at` is written at most once a minute,
    so authenticated reads do not queue behind the write lock.
    """
    if not text:
        raise Unauthenticated(
            "No token given; send 'Authorization: Bearer <token>' (CLI: set RELMAN_TOKEN). "
            "An admin makes one with 'relman token create --user NAME --role ROLE'"
        )
    token_id = _id_of(text)
    with read_session(database) as session:
        row = session.get(TokenRow, token_id) if token_id else None
    if row is None or not hmac.compare_digest(row.secret_hash, _hash(text)):
        raise Unauthenticated("Unknown token; check RELMAN_TOKEN or ask an admin for a new one")
    if row.revoked_at is not None:
        raise Unauthenticated(
            f"Token {row.id} was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC; ask an admin "
            "for a new one"
        )
    now = clock()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        with UnitOfWork(database, clock) as uow:
            uow.session.execute(
                update(TokenRow).where(TokenRow.id == row.id).values(last_used_at=now)
            )
            uow.commit()
    return Principal(user=row.user, role=Role(row.role), token_id=row.id)


def _id_of(text: str) -> str | None:
    if not text.startswith(TOKEN_PREFIX):
        return None
    rest = text[len(TOKEN_PREFIX) :]
    if len(rest) <= _ID_LENGTH or rest[_ID_LENGTH] != "_":
        return None
    return rest[:_ID_LENGTH]


def list_tokens(
    session: Session, *, include_revoked: bool, limit: int, offset: int
) -> tuple[list[TokenRow], int]:
    query = select(TokenRow)
    if not include_revoked:
        query = query.where(TokenRow.revoked_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(TokenRow.created_at, TokenRow.id).limit(limit).offset(offset)
    )
    return list(rows), total


def revoke_token(uow: UnitOfWork, token_id: str, *, actor: str) -> TokenRow:
    row = uow.session.get(TokenRow, token_id)
    if row is None:
        raise NotFound(
            f"No token with id '{token_id}'; see 'relman token list'", details={"id": token_id}
        )
    if row.revoked_at is None:
        row.revoked_at = uow.clock()
        uow.audit(actor, "token.revoke", f"token/{token_id}", user=row.user)
        uow.commit()
    return row
