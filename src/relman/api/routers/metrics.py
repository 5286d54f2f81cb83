"""Samples for the `builtin` metric provider: post them (deployer), try a query (viewer).

Posting is telemetry, like Prometheus' remote write: it is not audited per call.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from relman.api.deps import AppContext, Reading, Writer, allow, context
from relman.domain.roles import Permission
from relman.errors import InvalidInput
from relman.metrics.builtin import MAX_QUERY_LENGTH, BuiltinProvider
from relman.metrics.prometheus import MetricQueryError
from relman.services.metric_samples import MAX_SAMPLES, PostedSample, record_samples
from relman.services.tokens import Principal

__all__ = ["MetricQueryRead", "MetricSampleCreate", "MetricSamplesAccepted", "router"]

router = APIRouter(prefix="/api/v1/metrics", tags=["metrics"])
Deploying = Annotated[Principal, Depends(allow(Permission.DEPLOY))]
Context = Annotated[AppContext, Depends(context)]


class MetricSampleCreate(BaseModel):
    """A counter's or a gauge's value; names and labels as in Prometheus."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(examples=["http_requests_total"])
    labels: dict[str, str] = Field(
        default={}, examples=[{"service": "web", "slot": "green", "code": "500"}]
    )
    value: float = Field(strict=True, examples=[17])
    at: datetime | None = Field(
        default=None,
        description="When it was measured, with a time zone; default: when the server got it",
        examples=["2026-11-30T12:00:00Z"],
    )


class MetricSamplesCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: list[MetricSampleCreate] = Field(max_length=MAX_SAMPLES)


class MetricSamplesAccepted(BaseModel):
    accepted: int = Field(description="How many samples were stored (all of them)")


Number = float | Literal["NaN", "+Inf", "-Inf"]  # JSON has no NaN nor infinities


class MetricQueryRead(BaseModel):
    query: str
    result: Number | list[Number] = Field(
        description="One series or a number: a number; several series: a list; none: []. "
        'NaN and infinities are the strings "NaN", "+Inf", "-Inf", as Prometheus writes them'
    )


@router.post("/samples", response_model=MetricSamplesAccepted, status_code=202)
def post_samples(body: MetricSamplesCreate, uow: Writer, _: Deploying) -> MetricSamplesAccepted:
    """Store samples for the builtin provider, all or none (422 names each bad one by index
    and field). Samples older than a day are deleted as new ones come. Not audited."""
    posted = [PostedSample(s.name, s.labels, s.value, s.at) for s in body.samples]
    return MetricSamplesAccepted(accepted=record_samples(uow, posted))


@router.get("/query", response_model=MetricQueryRead)
def get_query(
    ctx: Context,
    _: Reading,
    query: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_LENGTH)],
    at: Annotated[
        datetime | None, Query(description="When to evaluate it, with a time zone; default: now")
    ] = None,
) -> MetricQueryRead:
    """Answer a query of the builtin provider as an analysis would get it (docs/metrics.md)."""
    if at is not None and at.utcoffset() is None:
        raise InvalidInput(
            f"at: {at.isoformat()} has no time zone; add 'Z' or an offset like +00:00",
            details={"field": "at", "value": at.isoformat()},
        )
    try:
        result = BuiltinProvider(ctx.database, ctx.clock).query(query, at)
    except MetricQueryError as exc:
        raise InvalidInput(exc.message, details=exc.details) from None
    shown = [_json(v) for v in result] if isinstance(result, list) else _json(result)
    return MetricQueryRead(query=query, result=shown)


def _json(value: float) -> Number:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value
