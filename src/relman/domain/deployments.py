"""Deployment states (contract: DESIGN.md §3)."""

from __future__ import annotations

from enum import StrEnum

from relman.errors import InvalidInput

__all__ = ["RECORDABLE_STATES", "DeploymentState", "parse_state"]


class DeploymentState(StrEnum):
    QUEUED = "queued"
    WAITING = "waiting"
    RUNNING = "running"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"
    ABORTED = "aborted"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset(
    {
        DeploymentState.SUCCEEDED,
        DeploymentState.FAILED,
        DeploymentState.ROLLED_BACK,
        DeploymentState.ABORTED,
    }
)

# A deployment done outside relman can be recorded once it has ended.
RECORDABLE_STATES = tuple(s for s in DeploymentState if s.is_final)


def parse_state(
    text: str, allowed: tuple[DeploymentState, ...] = tuple(DeploymentState)
) -> DeploymentState:
    try:
        state = DeploymentState(text)
    except ValueError:
        state = None
    if state is None or state not in allowed:
        names = ", ".join(s.value for s in allowed)
        raise InvalidInput(
            f"Bad deployment state '{text}'; expected one of: {names}",
            details={"field": "state", "value": text, "allowed": [s.value for s in allowed]},
        )
    return state
