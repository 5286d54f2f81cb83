"""A run driver that runs nothing: it records each step and answers as told."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from relman.drivers.base import LogSink, PlannedStep, StepResult, StepRun

__all__ = ["FakeDriver"]


class FakeDriver:
    """Plans like the script driver (deploy, verify when set; rollback when set) and succeeds,
    except `fail[(step, version)] = n`, which fails the first n attempts of that step.

    `calls` lists every attempt run; `during(step_run)` is called inside each run (a test can
    pause or abort the deployment there); `retries` and `idempotent` go into every plan step.
    """

    def __init__(
        self,
        name: str = "script",
        *,
        retries: int = 0,
        idempotent: bool = True,
        during: Callable[[StepRun], None] | None = None,
    ) -> None:
        self.name = name
        self.retries = retries
        self.idempotent = idempotent
        self.during = during
        self.fail: dict[tuple[str, str], int] = {}
        self.calls: list[StepRun] = []
        self._lock = threading.Lock()

    def plan(self, settings: Mapping[str, Any], *, rollback: bool) -> list[PlannedStep]:
        first = "rollback" if rollback and settings.get("rollback") else "deploy"
        names = [first, *(["verify"] if settings.get("verify") else [])]
        return [PlannedStep(n, None, self.retries, self.idempotent) for n in names]

    def run(self, step: StepRun, log: LogSink, cancel: threading.Event) -> StepResult:
        with self._lock:
            self.calls.append(step)
        if self.during is not None:
            self.during(step)
        log(f"{step.step} {step.service} {step.version} to {step.environment}")
        key = (step.step, step.version)
        with self._lock:
            failures_left = self.fail.get(key, 0)
            if failures_left:
                self.fail[key] = failures_left - 1
        if failures_left:
            return StepResult(False, "exit 1")
        return StepResult(True, "exit 0")

    def ran(self) -> list[tuple[str, str, str]]:
        """(step, version, environment) of every attempt, in order."""
        return [(c.step, c.version, c.environment) for c in self.calls]
