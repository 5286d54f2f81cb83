"""Fakes of the progressive-delivery ports: traffic (a load balancer) and metrics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from relman.errors import RelmanError

__all__ = ["FakeMetrics", "FakeTraffic"]


class FakeTraffic:
    """A load balancer in memory: `applied` keeps every set of weights, oldest first. Set
    `broken` to a message to make every call fail like an unreachable one."""

    def __init__(self) -> None:
        self.weights: dict[str, int] = {}
        self.applied: list[dict[str, int]] = []
        self.broken: str | None = None

    def apply(self, weights: Mapping[str, int]) -> None:
        self._check()
        self.weights = dict(weights)
        self.applied.append(dict(weights))

    def current(self) -> dict[str, int]:
        self._check()
        return dict(self.weights)

    def ensure(self, weights: Mapping[str, int]) -> bool:
        if self.current() == dict(weights):
            return False
        self.apply(weights)
        return True

    def reload(self) -> None:
        """What an HAProxy reload does to runtime weights: back to the file's."""
        self.weights = {}

    def _check(self) -> None:
        if self.broken is not None:
            raise RelmanError(self.broken)


Answer = float | list[float] | Exception


class FakeMetrics:
    """A metric provider answering from `answer(query)`: a number, a list, or an exception to
    raise; `queries` keeps what was asked."""

    def __init__(self, answer: Callable[[str], Answer]) -> None:
        self.answer = answer
        self.queries: list[str] = []

    def query(self, text: str, at: datetime | None = None) -> float | list[float]:
        self.queries.append(text)
        value = self.answer(text)
        if isinstance(value, Exception):
            raise value
        return value
