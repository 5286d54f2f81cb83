"""Fakes that ship with relman's ports, for tests of relman and of code that uses it."""

from relman.testing.clock import FrozenClock
from relman.testing.delivery import FakeMetrics, FakeTraffic
from relman.testing.drivers import FakeDriver
from relman.testing.history import FakeHistory

__all__ = ["FakeDriver", "FakeHistory", "FakeMetrics", "FakeTraffic", "FrozenClock"]
