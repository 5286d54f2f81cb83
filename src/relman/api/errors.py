"""Errors mapped once at the HTTP edge: every error is `{"error": {code, message, details}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from relman.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Refused,
    RelmanError,
    StoreUnavailable,
    Unauthenticated,
)
from relman.store.unit_of_work import UnitOfWork

__all__ = ["STATUS_OF", "install_error_handlers"]

logger = logging.getLogger("relman.api")

STATUS_OF: dict[type[RelmanError], int] = {
    InvalidInput: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    StoreUnavailable: 503,
}


def _status(exc: RelmanError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 500


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


async def _relman_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RelmanError)
    if isinstance(exc, Forbidden | Refused):
        await run_in_threadpool(_record_refusal, request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=_status(exc), headers=headers
    )


def _record_refusal(request: Request, exc: RelmanError) -> None:
    """Audit a refusal in a transaction of its own: the refused change itself rolled back.

    Refusals are a token's role lacking a permission (403) and a rule saying no (409
    `refused`); an unknown token (401) names nobody, and bad input is not a decision.
    """
    principal = getattr(request.state, "principal", None)
    ctx = request.app.state.relman
    with UnitOfWork(ctx.database, ctx.clock) as uow:
        uow.audit(
            principal.user if principal is not None else "anonymous",
            "request.refused",
            f"{request.method} {request.url.path}"[:300],
            code=exc.code,
            reason=exc.message,
            **({"role": principal.role.value} if principal is not None else {}),
        )
        uow.commit()


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(p) for p in err["loc"] if p != "body"),
            "message": err["msg"],
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
    return JSONResponse(
        error_body("invalid_input", f"Invalid request: {summary}", {"problems": problems}),
        status_code=422,
    )


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _store_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.error("store error: %s", type(exc).__name__)
    return JSONResponse(
        error_body(
            "store_unavailable",
            "The store could not complete the request; try again, and check the server's "
            "database if it persists",
        ),
        status_code=503,
    )


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unexpected error", exc_info=exc)
    return JSONResponse(
        error_body("internal", "Unexpected error in relman; the server log has the details"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Exception, _unexpected_error)
    app.add_exception_handler(SQLAlchemyError, _store_error)
    app.add_exception_handler(RelmanError, _relman_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
