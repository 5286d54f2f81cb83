"""The run-driver port: how a deployment's steps are planned and run.

A driver turns a service's `run` settings into a plan of named steps and runs one step at a
time. The engine persists the plan, hands each step to `run` with an idempotency key, and records
the result; delivery is at-least-once, so a step cut off by a crash may be run again, but only
when the plan marked it `idempotent`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "DEFAULT_SLOT",
    "Driver",
    "LogSink",
    "PlannedStep",
    "StepResult",
    "StepRun",
    "Traffic",
    "fill",
]

DEFAULT_SLOT = "default"  # all-at-once deployments have one slot; blue-green brings blue/green

LogSink = Callable[[str], None]


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with its `{name}` placeholders filled in; ValueError naming an unknown one
    and the available ones, or what is wrong with the braces."""
    try:
        return template.format_map(values)
    except KeyError as exc:
        available = ", ".join(f"{{{key}}}" for key in values)
        raise ValueError(f"unknown placeholder {{{exc.args[0]}}}; available: {available}") from None
    except (ValueError, IndexError) as exc:
        raise ValueError(f"bad placeholder in '{template}': {exc}") from None


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """One step of a plan. `timeout` is in seconds (None: no limit); `retries` counts the extra
    attempts after a failure; `idempotent` allows re-running it when a crash cut it off."""

    name: str
    timeout: float | None = None
    retries: int = 0
    idempotent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "timeout": self.timeout,
            "retries": self.retries,
            "idempotent": self.idempotent,
        }


@dataclass(frozen=True, slots=True)
class StepRun:
    """Everything a driver needs to run one attempt of one step."""

    deployment_id: int
    step_index: int
    step: str
    attempt: int
    service: str
    version: str
    previous_version: str | None
    environment: str
    settings: Mapping[str, Any]
    timeout: float | None = None
    slot: str = DEFAULT_SLOT
    target: str = ""  # a rolling deployment's host, one at a time

    @property
    def idempotency_key(self) -> str:
        """Unique per deployment, step, attempt (and target, in a rolling batch):
        `<deployment>-<step index>-<attempt>[-<target>]`."""
        key = f"{self.deployment_id}-{self.step_index}-{self.attempt}"
        return f"{key}-{self.target}" if self.target else key

    def placeholders(self) -> dict[str, str]:
        """The values of `{service}`, `{version}`, … in commands and URLs."""
        return {
            "service": self.service,
            "version": self.version,
            "previous_version": self.previous_version or "",
            "environment": self.environment,
            "slot": self.slot,
            "target": self.target,
            "deployment_id": str(self.deployment_id),
        }


@dataclass(frozen=True, slots=True)
class StepResult:
    """What an attempt came to: `ok`, and one line for the timeline ("exit 0", "timed out…")."""

    ok: bool
    summary: str
    details: Mapping[str, Any] = field(default_factory=dict)


class Driver(Protocol):
    """Plans and runs the steps of a deployment for one kind of `run.driver`."""

    name: str

    def plan(self, settings: Mapping[str, Any], *, rollback: bool) -> list[PlannedStep]:
        """The steps of a deployment (`rollback`: of a rollback), from the service's settings."""
        ...

    def run(self, step: StepRun, log: LogSink, cancel: threading.Event) -> StepResult:
        """Run one attempt; stream output lines to `log`; stop early when `cancel` is set.

        Raises nothing for a failed step: a failure is `StepResult(ok=False, …)`.
        """
        ...


class Traffic(Protocol):
    """Moves users between a service's slots (the `traffic` driver: HAProxy, the development
    router). Weights are percentages by slot; a slot left out gets 0."""

    def apply(self, weights: Mapping[str, int]) -> None:
        """Set every slot's weight at once; raise a RelmanError naming what is wrong."""
        ...

    def current(self) -> dict[str, int]:
        """The weights the load balancer holds now."""
        ...

    def ensure(self, weights: Mapping[str, int]) -> bool:
        """Re-apply `weights` if the load balancer lost them (a reload); True if it did."""
        ...
