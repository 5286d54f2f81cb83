"""The SLOs of relman.yaml, measured now (`relman slo status`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from relman.domain.slo import SloStatus, evaluate_slo, slo_from_dict
from relman.engine.rollout import ProviderFactory
from relman.metrics.slo import measure_slo
from relman.store.tables import SloRow

__all__ = ["slo_statuses"]


def slo_statuses(
    session: Session, providers: ProviderFactory | None, now: datetime
) -> list[SloStatus]:
    out = []
    for row in session.scalars(select(SloRow).order_by(SloRow.name)):
        spec = slo_from_dict(row.spec)
        if providers is None:
            out.append(evaluate_slo(spec, [], problem="no metric providers on this server"))
        else:
            out.append(measure_slo(spec, providers(spec.provider), now))
    return out
