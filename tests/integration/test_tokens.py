from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from relman.domain.roles import Role
from relman.errors import InvalidInput, NotFound, Unauthenticated
from relman.services.tokens import authenticate, create_token, list_tokens, revoke_token
from relman.store.database import Database
from relman.store.tables import AuditEventRow, TokenRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FrozenClock


def _issue(database: Database, clock: FrozenClock, role: str = "deployer"):  # type: ignore[no-untyped-def]
    with UnitOfWork(database, clock) as uow:
        return create_token(uow, user="ci-bot", role=role, actor="admin")


def test_a_token_authenticates_as_its_user_and_role(database: Database, clock: FrozenClock) -> None:
    issued = _issue(database, clock)
    principal = authenticate(database, issued.secret, clock)
    assert principal.user == "ci-bot"
    assert principal.role is Role.DEPLOYER
    assert principal.token_id == issued.row.id
    assert issued.secret.startswith(f"relman_{issued.row.id}_")


def test_only_a_hash_of_the_token_is_stored(database: Database, clock: FrozenClock) -> None:
    issued = _issue(database, clock)
    secret_part = issued.secret.removeprefix(f"relman_{issued.row.id}_")
    assert len(secret_part) >= 40
    with read_session(database) as session:
        row = session.get_one(TokenRow, issued.row.id)
        audit = session.scalars(select(AuditEventRow)).all()
    assert secret_part not in row.secret_hash
    assert len(row.secret_hash) == 64
    assert all(secret_part not in str(event.details) for event in audit)


@pytest.mark.parametrize(
    "text",
    [None, "", "relman_", "nonsense", "relman_0123456789_wrong", "Bearer relman_x"],
)
def test_missing_or_unknown_tokens_are_refused(
    database: Database, clock: FrozenClock, text: str | None
) -> None:
    _issue(database, clock)
    with pytest.raises(Unauthenticated):
        authenticate(database, text, clock)


def test_a_tampered_secret_with_a_real_id_is_refused(
    database: Database, clock: FrozenClock
) -> None:
    issued = _issue(database, clock)
    with pytest.raises(Unauthenticated, match="Unknown token"):
        authenticate(database, issued.secret[:-2] + "xx", clock)


def test_a_revoked_token_stops_working_and_says_when(
    database: Database, clock: FrozenClock
) -> None:
    issued = _issue(database, clock)
    with UnitOfWork(database, clock) as uow:
        revoke_token(uow, issued.row.id, actor="admin")
    with pytest.raises(Unauthenticated, match="revoked on 2026-01-05 09:00"):
        authenticate(database, issued.secret, clock)
    with read_session(database) as session:
        active, _ = list_tokens(session, include_revoked=False, limit=10, offset=0)
        every, _ = list_tokens(session, include_revoked=True, limit=10, offset=0)
    assert active == []
    assert [t.id for t in every] == [issued.row.id]


def test_last_use_is_recorded_at_most_once_a_minute(database: Database, clock: FrozenClock) -> None:
    issued = _issue(database, clock)
    authenticate(database, issued.secret, clock)
    first = clock.now
    clock.advance(timedelta(seconds=30))
    authenticate(database, issued.secret, clock)
    with read_session(database) as session:
        assert session.get_one(TokenRow, issued.row.id).last_used_at == first
    clock.advance(timedelta(minutes=2))
    authenticate(database, issued.secret, clock)
    with read_session(database) as session:
        assert session.get_one(TokenRow, issued.row.id).last_used_at == clock.now


def test_bad_roles_users_and_ids_are_refused_clearly(
    database: Database, clock: FrozenClock
) -> None:
    with pytest.raises(InvalidInput, match="Unknown role 'root'; roles: viewer, deployer"):
        _issue(database, clock, role="root")
    with UnitOfWork(database, clock) as uow, pytest.raises(InvalidInput, match="Bad user name"):
        create_token(uow, user="has space", role="viewer", actor="admin")
    with UnitOfWork(database, clock) as uow, pytest.raises(NotFound, match="relman token list"):
        revoke_token(uow, "nope", actor="admin")
