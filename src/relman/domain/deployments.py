"""Deployment states (contract: DESIGN.md §3), the moves between them, and step states."""

from __future__ import annotations

from enum import StrEnum

from relman.errors import Conflict, InvalidInput

__all__ = [
    "ACTIVE_STATES",
    "RECORDABLE_STATES",
    "DeploymentState",
    "StepState",
    "check_transition",
    "parse_state",
]


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


# A deployment in one of these holds its (service, environment): later ones queue behind it.
ACTIVE_STATES = (DeploymentState.RUNNING, DeploymentState.PAUSED, DeploymentState.WAITING)

_S = DeploymentState
# Every move a deployment may make; the engine's one door checks against this table.
TRANSITIONS: dict[DeploymentState, frozenset[DeploymentState]] = {
    _S.QUEUED: frozenset({_S.RUNNING, _S.ABORTED}),
    _S.WAITING: frozenset({_S.QUEUED, _S.RUNNING, _S.ABORTED}),
    _S.RUNNING: frozenset({_S.PAUSED, _S.SUCCEEDED, _S.FAILED, _S.ABORTED}),
    _S.PAUSED: frozenset({_S.RUNNING, _S.SUCCEEDED, _S.FAILED, _S.ABORTED}),
    _S.SUCCEEDED: frozenset({_S.ROLLED_BACK}),
    _S.FAILED: frozenset({_S.ROLLED_BACK}),
    _S.ROLLED_BACK: frozenset(),
    _S.ABORTED: frozenset(),
}

# What a person asks for, named as the CLI names it, for messages.
_VERBS = {_S.PAUSED: "pause", _S.RUNNING: "resume", _S.ABORTED: "abort"}


def check_transition(deployment_id: int, current: DeploymentState, to: DeploymentState) -> None:
    """Raise Conflict unless a deployment may move from `current` to `to`."""
    if to in TRANSITIONS[current]:
        return
    verb = _VERBS.get(to, f"move to {to.value}")
    can = sorted(s.value for s, targets in TRANSITIONS.items() if to in targets)
    hint = f"only a deployment that is {' or '.join(can)} can" if can else "nothing can"
    raise Conflict(
        f"Deployment {deployment_id} is {current.value}; {hint} {verb}",
        details={"id": deployment_id, "state": current.value, "requested": to.value},
    )


class StepState(StrEnum):
    PENDING = "pending"  # not begun, or waiting for its next attempt (the deployment's due_at)
    RUNNING = "running"  # an attempt has begun and has no recorded outcome
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the deployment was aborted while the step ran
