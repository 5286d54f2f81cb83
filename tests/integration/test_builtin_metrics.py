"""The builtin metric provider against the real store: samples posted, queried, pruned."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, func, select

from relman.errors import InvalidInput
from relman.metrics.builtin import RETENTION, BuiltinProvider
from relman.metrics.prometheus import MetricQueryError
from relman.services import metric_samples
from relman.services.metric_samples import MAX_AHEAD, PostedSample, record_samples
from relman.store.database import Database
from relman.store.tables import MetricSampleRow
from relman.store.unit_of_work import UnitOfWork, read_session
from relman.testing import FrozenClock

ERROR_RATIO = (
    'sum(rate(http_requests_total{service="web", slot="green", code=~"5.."}[1m]))'
    ' / sum(rate(http_requests_total{service="web", slot="green"}[1m]))'
)


def post(database: Database, clock: FrozenClock, *samples: PostedSample) -> int:
    with UnitOfWork(database, clock) as uow:
        return record_samples(uow, samples)


def requests(slot: str, code: str, value: float) -> PostedSample:
    labels = {"service": "web", "slot": slot, "code": code}
    return PostedSample("http_requests_total", labels, value)


def stored(database: Database) -> int:
    with read_session(database) as session:
        return session.scalar(select(func.count()).select_from(MetricSampleRow)) or 0


@pytest.fixture
def traffic(database: Database, clock: FrozenClock) -> BuiltinProvider:
    """A router's counters posted every 15 seconds for a minute: green errs 1 in 10."""
    for step in range(5):
        post(
            database,
            clock,
            requests("blue", "200", 100 * step),
            requests("green", "200", 9 * step),
            requests("green", "500", 1 * step),
        )
        clock.advance(timedelta(seconds=15))
    clock.advance(timedelta(seconds=-15))  # now: the time of the last post
    return BuiltinProvider(database, clock)


def test_the_error_ratio_of_the_canary_slot(traffic: BuiltinProvider) -> None:
    assert traffic.query(ERROR_RATIO) == pytest.approx(0.1)


def test_selectors_rates_and_sums_read_the_store(traffic: BuiltinProvider) -> None:
    assert traffic.query('http_requests_total{slot="green"}') == [36.0, 4.0]
    # A range is (at - 1m, at]: the post of exactly a minute ago is left out.
    assert traffic.query('increase(http_requests_total{slot="blue"}[1m])') == 300.0
    assert traffic.query('increase(http_requests_total{slot="blue"}[61s])') == 400.0
    assert traffic.query("sum(rate(http_requests_total[30s]))") == pytest.approx(110 / 15)
    assert traffic.query('http_requests_total{slot="purple"}') == []


def test_a_query_at_an_earlier_time_and_staleness(
    traffic: BuiltinProvider, clock: FrozenClock
) -> None:
    blue = 'http_requests_total{slot="blue"}'
    assert traffic.query(blue, clock.now - timedelta(seconds=30)) == 200.0
    assert traffic.query(blue, clock.now + timedelta(minutes=4)) == 400.0
    assert traffic.query(blue, clock.now + timedelta(minutes=5)) == []


def test_a_ratio_without_traffic_is_nan(database: Database, clock: FrozenClock) -> None:
    post(database, clock, requests("green", "200", 0), requests("green", "500", 0))
    clock.advance(timedelta(seconds=10))
    post(database, clock, requests("green", "200", 0), requests("green", "500", 0))
    value = BuiltinProvider(database, clock).query(ERROR_RATIO)
    assert isinstance(value, float)
    assert math.isnan(value)


def test_a_counter_reset_between_posts(database: Database, clock: FrozenClock) -> None:
    for value in (50, 80, 3, 10):  # the router restarted after 80
        post(database, clock, PostedSample("c", {}, value))
        clock.advance(timedelta(seconds=10))
    assert BuiltinProvider(database, clock).query("increase(c[1m])") == 40.0


def test_a_time_with_another_zone_is_the_same_instant(
    database: Database, clock: FrozenClock
) -> None:
    tokyo = timezone(timedelta(hours=9))
    post(database, clock, PostedSample("g", {"city": "東京"}, 7, clock.now.astimezone(tokyo)))
    provider = BuiltinProvider(database, clock)
    assert provider.query('g{city="東京"}') == 7.0
    assert provider.query("g", clock.now - timedelta(seconds=1)) == []


def test_each_selector_is_one_sql_query_by_name(traffic: BuiltinProvider) -> None:
    with statements(traffic.database) as seen:
        traffic.query(ERROR_RATIO)
    reads = [s for s in seen if "metric_samples" in s]
    assert len(reads) == 2
    assert all("metric_samples.name =" in s and "metric_samples.at >" in s for s in reads)


def test_a_bad_query_is_a_metric_query_error(traffic: BuiltinProvider) -> None:
    with pytest.raises(MetricQueryError) as caught:
        traffic.query("sum(rate(http_requests_total[1m])")
    assert caught.value.details["position"] == 33


# --- posting -------------------------------------------------------------------------------


def test_nothing_is_stored_when_one_sample_is_bad(database: Database, clock: FrozenClock) -> None:
    good = requests("green", "200", 1)
    ahead = clock.now + MAX_AHEAD + timedelta(seconds=1)
    with pytest.raises(InvalidInput) as caught:
        post(database, clock, good, good, PostedSample("x", {}, 1, ahead))
    [problem] = caught.value.details["problems"]
    assert problem["index"] == 2
    assert problem["field"] == "samples.2.at"
    assert "ahead of the server's clock" in problem["message"]
    assert stored(database) == 0


@pytest.mark.parametrize(
    ("sample", "field", "words"),
    [
        (PostedSample("http-requests", {}, 1), "name", "is not a metric name"),
        (PostedSample("x" * 201, {}, 1), "name", "at most 200"),
        (PostedSample("x", {"a-b": "1"}, 1), "labels", "is not a label name"),
        (PostedSample("x", {"a": "v" * 201}, 1), "labels.a", "at most 200"),
        (PostedSample("x", {f"l{i}": "v" for i in range(21)}, 1), "labels", "at most 20"),
        (PostedSample("x", {}, math.nan), "value", "not a finite number"),
        (PostedSample("x", {}, -math.inf), "value", "not a finite number"),
    ],
)
def test_each_rule_names_the_index_and_the_field(
    database: Database, clock: FrozenClock, sample: PostedSample, field: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        post(database, clock, PostedSample("ok", {}, 1), sample)
    [problem] = caught.value.details["problems"]
    assert problem["field"] == f"samples.1.{field}"
    assert words in problem["message"]
    assert caught.value.message.startswith("1 bad sample, none stored: samples.1.")


def test_a_sample_without_time_is_stamped_with_the_server_clock(
    database: Database, clock: FrozenClock
) -> None:
    assert post(database, clock, PostedSample("x", {}, 1)) == 1
    with read_session(database) as session:
        row = session.scalars(select(MetricSampleRow)).one()
    assert row.at == clock.now
    assert row.labels == {}


def test_too_many_samples_are_refused(database: Database, clock: FrozenClock) -> None:
    many = [PostedSample("x", {}, 1)] * (metric_samples.MAX_SAMPLES + 1)
    with pytest.raises(InvalidInput, match="5001 samples; at most 5000"):
        post(database, clock, *many)


def test_posting_prunes_samples_older_than_the_retention(
    database: Database, clock: FrozenClock
) -> None:
    post(database, clock, PostedSample("old", {}, 1), PostedSample("old", {}, 2))
    clock.advance(RETENTION)
    post(database, clock, PostedSample("new", {}, 3))
    assert stored(database) == 3  # exactly the retention old: kept
    clock.advance(timedelta(seconds=1))
    post(database, clock, PostedSample("new", {}, 4))
    assert stored(database) == 2


def test_pruning_is_bounded_by_a_window_of_the_oldest_ids(
    database: Database, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metric_samples, "PRUNE_WINDOW", 3)
    post(database, clock, *[PostedSample("old", {}, i) for i in range(5)])
    clock.advance(RETENTION + timedelta(seconds=1))
    post(database, clock, PostedSample("new", {}, 1))
    assert stored(database) == 3  # 3 of the 5 old ones went, the window being 3
    post(database, clock, PostedSample("new", {}, 2))
    assert stored(database) == 2  # the other 2


def test_a_late_sample_with_an_old_time_waits_for_those_posted_before_it(
    database: Database, clock: FrozenClock
) -> None:
    post(database, clock, PostedSample("first", {}, 1))
    old = clock.now - RETENTION + timedelta(minutes=1)
    post(database, clock, PostedSample("late", {}, 2, old))
    clock.advance(timedelta(minutes=2))  # "late" has expired, "first" not
    post(database, clock, PostedSample("new", {}, 3))
    assert stored(database) == 3
    clock.advance(RETENTION)
    post(database, clock, PostedSample("new", {}, 4))
    assert stored(database) == 2


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(database.reader, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.reader, "before_cursor_execute", record)
