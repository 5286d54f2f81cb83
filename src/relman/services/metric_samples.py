"""Samples posted for the `builtin` metric provider: checked, stored, and old ones pruned.

Posting is telemetry, like Prometheus' remote write: it is not audited per call. Either every
sample of a post is stored or none is (InvalidInput lists every bad one, by index and field).

Pruning is part of posting, and bounded: a post looks at the oldest stored sample and, if it has
expired (older than RETENTION), deletes the expired ones among the next ids, a window of twice
the post's size (at least PRUNE_WINDOW). Ids grow as samples are posted, and a sample's `at` is
at most MAX_AHEAD past its posting, so samples expire roughly in id order; a post costs one
indexed lookup when nothing has expired, and work in proportion to its own size otherwise, never
to the size of the table. Deleting up to twice what comes in keeps up; a sample posted late with
an old `at` waits for the samples posted before it (up to about a day more).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from relman.domain.durations import format_duration
from relman.errors import InvalidInput
from relman.metrics.builtin import RETENTION
from relman.store.tables import MetricSampleRow
from relman.store.unit_of_work import UnitOfWork

__all__ = [
    "MAX_AHEAD",
    "MAX_LABELS",
    "MAX_LABEL_VALUE",
    "MAX_SAMPLES",
    "PRUNE_WINDOW",
    "RETENTION",
    "PostedSample",
    "prune_samples",
    "record_samples",
]

MAX_SAMPLES = 5000  # per post
MAX_LABELS = 20  # per sample
MAX_LABEL_VALUE = 200  # characters
MAX_NAME = 200  # characters: the column's size
MAX_AHEAD = timedelta(minutes=5)  # how far ahead of the server's clock `at` may be
PRUNE_WINDOW = 1000  # ids a post looks at, at least
_SHOWN_PROBLEMS = 100

_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True, slots=True)
class PostedSample:
    name: str
    labels: Mapping[str, str]
    value: float
    at: datetime | None = None  # None: the server's time


def record_samples(uow: UnitOfWork, samples: Sequence[PostedSample]) -> int:
    """Store `samples` (all or none), prune old ones, commit; how many were stored."""
    if len(samples) > MAX_SAMPLES:
        too_many = f"{len(samples)} samples; at most {MAX_SAMPLES} in one post"
        raise _invalid([_problem(None, "samples", too_many)])
    now = uow.clock()
    problems = [p for i, sample in enumerate(samples) for p in _problems(i, sample, now)]
    if problems:
        raise _invalid(problems)
    if samples:
        rows = [
            {"name": s.name, "labels": dict(s.labels), "value": float(s.value), "at": s.at or now}
            for s in samples
        ]
        uow.session.execute(insert(MetricSampleRow), rows)
    prune_samples(uow.session, now - RETENTION, window=max(PRUNE_WINDOW, 2 * len(samples)))
    uow.commit()
    return len(samples)


def prune_samples(session: Session, before: datetime, *, window: int = PRUNE_WINDOW) -> int:
    """When the oldest sample is older than `before`, delete those older than `before` among
    the `window` ids from it; how many were deleted."""
    row = MetricSampleRow
    oldest = session.execute(select(row.id, row.at).order_by(row.id).limit(1)).first()
    if oldest is None or oldest.at >= before:
        return 0
    result = session.execute(
        delete(row)
        .where(row.id >= oldest.id, row.id < oldest.id + window, row.at < before)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _problems(index: int, sample: PostedSample, now: datetime) -> list[dict[str, Any]]:
    found = []
    if len(sample.name) > MAX_NAME:
        found.append(
            _problem(index, "name", f"is {len(sample.name)} characters; at most {MAX_NAME}")
        )
    elif not _METRIC.fullmatch(sample.name):
        found.append(
            _problem(
                index,
                "name",
                f"{sample.name!r} is not a metric name; use letters, digits, '_' and ':', not "
                "starting with a digit (like http_requests_total)",
            )
        )
    found += _label_problems(index, sample.labels)
    if not math.isfinite(sample.value):
        found.append(_problem(index, "value", f"{sample.value} is not a finite number"))
    if sample.at is not None:
        found += _time_problems(index, sample.at, now)
    return found


def _label_problems(index: int, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    if len(labels) > MAX_LABELS:
        return [_problem(index, "labels", f"{len(labels)} labels; at most {MAX_LABELS}")]
    found = []
    for name, value in labels.items():
        if not _LABEL.fullmatch(name):
            found.append(
                _problem(
                    index,
                    "labels",
                    f"{name[:100]!r} is not a label name; use letters, digits and '_', not "
                    "starting with a digit (like slot)",
                )
            )
        elif len(value) > MAX_LABEL_VALUE:
            found.append(
                _problem(
                    index,
                    f"labels.{name}",
                    f"the value is {len(value)} characters; at most {MAX_LABEL_VALUE}",
                )
            )
    return found


def _time_problems(index: int, at: datetime, now: datetime) -> list[dict[str, Any]]:
    if at.tzinfo is None or at.utcoffset() is None:
        advice = "has no time zone; add 'Z' or an offset like +00:00"
        return [_problem(index, "at", f"{at.isoformat()} {advice}")]
    ahead = at - now
    if ahead <= MAX_AHEAD:
        return []
    by = format_duration(timedelta(seconds=int(ahead.total_seconds())))
    message = (
        f"{at.isoformat()} is {by} ahead of the server's clock ({now.isoformat()}); at most "
        f"{format_duration(MAX_AHEAD)} ahead is accepted: check the sender's clock"
    )
    return [_problem(index, "at", message)]


def _problem(index: int | None, field: str, message: str) -> dict[str, Any]:
    where = field if index is None else f"samples.{index}.{field}"
    return {"index": index, "field": where, "message": message}


def _invalid(problems: list[dict[str, Any]]) -> InvalidInput:
    shown = "; ".join(f"{p['field']}: {p['message']}" for p in problems[:3])
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    bad = len({p["index"] for p in problems} - {None})
    head = f"{bad} bad sample{'s' if bad != 1 else ''}, none stored" if bad else "Nothing stored"
    return InvalidInput(
        f"{head}: {shown}{more}",
        details={"problems": problems[:_SHOWN_PROBLEMS], "count": len(problems)},
    )
