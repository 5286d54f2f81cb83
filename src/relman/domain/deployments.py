"""Deployment states (contract: DESIGN.md §3), the moves between them, and step states."""

from __future__ import annotations

from enum import StrEnum

from relman.errors import Conflict, InvalidInput

__all__ = [
    "ACTIVE_STATES",
    "CONTROLS",
    "OPEN_STATES",
    "RECORDABLE_STATES",
    "DeploymentState",
    "StepState",
    "check_control",
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
# A waiting one does not (it runs nothing): when its gates clear it queues, and as the older
# one it starts before deployments asked for later.
ACTIVE_STATES = (DeploymentState.RUNNING, DeploymentState.PAUSED)
# Not ended yet: a promotion asked again returns the one in these states.
OPEN_STATES = (DeploymentState.QUEUED, DeploymentState.WAITING, *ACTIVE_STATES)

_S = DeploymentState
# Every move a deployment may make; the engine's one door checks against this table.
TRANSITIONS: dict[DeploymentState, frozenset[DeploymentState]] = {
    # waiting or failed: its gates, judged again as it starts, no longer pass (a new lock)
    _S.QUEUED: frozenset({_S.RUNNING, _S.WAITING, _S.FAILED, _S.ABORTED}),
    # failed: a gate said no for good while it waited (a rejection, failed tests)
    _S.WAITING: frozenset({_S.QUEUED, _S.FAILED, _S.ABORTED}),
    # rolled_back from running: a canary whose traffic went back to the stable slot
    _S.RUNNING: frozenset({_S.PAUSED, _S.SUCCEEDED, _S.FAILED, _S.ROLLED_BACK, _S.ABORTED}),
    _S.PAUSED: frozenset({_S.RUNNING, _S.SUCCEEDED, _S.FAILED, _S.ABORTED}),
    _S.SUCCEEDED: frozenset({_S.ROLLED_BACK}),
    _S.FAILED: frozenset({_S.ROLLED_BACK}),
    _S.ROLLED_BACK: frozenset(),
    _S.ABORTED: frozenset(),
}

# What a person may ask of a deployment: the state it asks for, from the states that allow it.
# (Only a worker starts a queued deployment: resume is for paused ones.)
CONTROLS: dict[str, tuple[DeploymentState, frozenset[DeploymentState]]] = {
    "pause": (_S.PAUSED, frozenset({_S.RUNNING})),
    "resume": (_S.RUNNING, frozenset({_S.PAUSED})),
    "abort": (_S.ABORTED, frozenset({_S.QUEUED, _S.WAITING, _S.RUNNING, _S.PAUSED})),
    # a canary or blue-green: skip to full traffic on the candidate
    "promote": (_S.RUNNING, frozenset({_S.RUNNING, _S.PAUSED})),
}


def check_transition(deployment_id: int, current: DeploymentState, to: DeploymentState) -> None:
    """Raise Conflict unless a deployment may move from `current` to `to`."""
    if to not in TRANSITIONS[current]:
        can = [s for s, targets in TRANSITIONS.items() if to in targets]
        _refuse(deployment_id, current, f"move to {to.value}", can)


def check_control(deployment_id: int, current: DeploymentState, action: str) -> DeploymentState:
    """The state `action` (pause, resume, abort) asks for; Conflict when `current` refuses it."""
    if action not in CONTROLS:
        raise InvalidInput(
            f"Unknown action '{action}'; actions: {', '.join(CONTROLS)}",
            details={"action": action, "allowed": list(CONTROLS)},
        )
    target, sources = CONTROLS[action]
    if current not in sources:
        _refuse(deployment_id, current, action, [s for s in DeploymentState if s in sources])
    return target


def _refuse(
    deployment_id: int, current: DeploymentState, verb: str, can: list[DeploymentState]
) -> None:
    names = " or ".join(s.value for s in can)
    hint = f"only a deployment that is {names} can" if can else "nothing can"
    raise Conflict(
        f"Deployment {deployment_id} is {current.value}; {hint} {verb}",
        details={"id": deployment_id, "state": current.value, "requested": verb},
    )


class StepState(StrEnum):
    PENDING = "pending"  # not begun, or waiting for its next attempt (the deployment's due_at)
    RUNNING = "running"  # an attempt has begun and has no recorded outcome
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the deployment was aborted while the step ran
    SKIPPED = "skipped"  # never run: the deployment was promoted past it, or rolled back
