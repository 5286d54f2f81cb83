"""Deployment strategies, and the plan of steps each one makes for a deployment.

A service has two slots, `blue` and `green`. The stable version runs in one; a candidate goes to
the other (the idle one), traffic moves to it by weight, and on success its slot becomes the
stable one; the old slot stays for an instant switch back until it is stopped. Rolling
deployments use targets (hosts) instead of slots.

The plan is a list of steps the engine runs one at a time (persisted, so a crash resumes it):

| kind | what it does |
| --- | --- |
| `deploy` | the run driver puts the version into a slot (or onto a batch of targets) |
| `verify` | the run driver's check of what was deployed |
| `weight` | the traffic driver gives the candidate `weight` percent (the stable slot the rest) |
| `pause` | waits `duration`, or for a person (`duration` None) to resume or promote |
| `analysis` | runs the named analysis; failure rolls back, inconclusive pauses |
| `promote` | the candidate's slot becomes the stable one |
| `stop` | the run driver stops the old slot (after a blue-green's `scale_down_delay`) |

Strategies:
- **all-at-once** (the default): deploy, verify, promote.
- **canary**: deploy to the idle slot, verify, then the strategy's steps (`set_weight`, `pause`,
  `analysis`), ending at 100% if the steps did not; a `background_analysis` runs beside the
  steps from the first weight on. A first deployment, with nothing stable yet, goes straight to
  100% once deployed and verified.
- **blue-green**: deploy to the idle slot at weight 0 (a preview), verify, the optional
  `pre_promotion_analysis`, a pause for a person unless `auto_promote`, all traffic at once,
  the optional `post_promotion_analysis`, then after `scale_down_delay` stop the old slot and
  promote (until the old slot stops, a failure or an abort switches straight back to it).
- **rolling**: the targets in batches (`batch` a count, or a percentage like "25%"), each
  deployed then verified.

Rolling back from any step puts all traffic on the stable slot at once and stops the candidate:
`rollback_plan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "SLOTS",
    "AllAtOnce",
    "BlueGreen",
    "Canary",
    "CanaryStep",
    "Plan",
    "PlanStep",
    "Rolling",
    "Strategy",
    "batch_size",
    "idle_slot",
    "plan_for",
    "rollback_plan",
]

SLOTS = ("blue", "green")


@dataclass(frozen=True, slots=True)
class PlanStep:
    kind: str  # deploy, verify, weight, pause, analysis, promote, stop
    slot: str | None = None
    weight: int | None = None
    duration: timedelta | None = None  # a pause: None waits for a person
    analysis: str | None = None
    targets: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """A short, unique-enough label for timelines: 'weight 10', 'pause 30s', …"""
        if self.kind == "weight":
            return f"weight {self.weight}"
        if self.kind == "pause":
            return "pause" if self.duration is None else f"pause {_seconds(self.duration)}"
        if self.kind == "analysis":
            return f"analysis {self.analysis}"
        if self.kind == "deploy" and self.targets:
            return f"deploy {','.join(self.targets)}"
        if self.kind == "verify" and self.targets:
            return f"verify {','.join(self.targets)}"
        return self.kind


@dataclass(frozen=True, slots=True)
class CanaryStep:
    """One of a canary's steps as written: exactly one of the three fields is set; a pause
    with no duration (`pause: {}`) waits for a person."""

    set_weight: int | None = None
    pause: bool = False
    duration: timedelta | None = None
    analysis: str | None = None


@dataclass(frozen=True, slots=True)
class Canary:
    steps: tuple[CanaryStep, ...]
    background_analysis: str | None = None


@dataclass(frozen=True, slots=True)
class BlueGreen:
    auto_promote: bool = False
    pre_promotion_analysis: str | None = None
    post_promotion_analysis: str | None = None
    scale_down_delay: timedelta = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Rolling:
    targets: tuple[str, ...]
    batch: int | str = 1  # a count, or a percentage like "25%"


@dataclass(frozen=True, slots=True)
class AllAtOnce:
    pass


Strategy = Canary | BlueGreen | Rolling | AllAtOnce


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[PlanStep, ...]
    candidate_slot: str | None
    stable_slot: str | None
    background_analysis: str | None = None


def idle_slot(stable: str | None) -> str:
    """The slot a candidate goes to: the one the stable version is not in (blue at first)."""
    if stable is None:
        return SLOTS[0]
    if stable not in SLOTS:
        raise ValueError(f"unknown slot {stable!r}; slots are {', '.join(SLOTS)}")
    return SLOTS[1] if stable == SLOTS[0] else SLOTS[0]


def plan_for(strategy: Strategy, stable: str | None) -> Plan:
    """The steps that deploy a candidate with `strategy`, the stable version being in slot
    `stable` (None: nothing runs yet)."""
    if isinstance(strategy, Rolling):
        return Plan(_rolling(strategy), None, None)
    if isinstance(strategy, AllAtOnce):
        return Plan((PlanStep("deploy"), PlanStep("verify"), PlanStep("promote")), None, None)
    candidate = idle_slot(stable)
    start = (PlanStep("deploy", slot=candidate), PlanStep("verify", slot=candidate))
    if stable is None:  # nothing to shift traffic from: straight to 100% once verified
        rest = (PlanStep("weight", slot=candidate, weight=100), PlanStep("promote", slot=candidate))
        return Plan(start + rest, candidate, None)
    if isinstance(strategy, Canary):
        promote = (PlanStep("promote", slot=candidate),)
        return Plan(
            start + _canary(strategy, candidate) + promote,
            candidate,
            stable,
            strategy.background_analysis,
        )
    return Plan(start + _blue_green(strategy, candidate, stable), candidate, stable)


def rollback_plan(candidate: str | None, stable: str | None) -> tuple[PlanStep, ...]:
    """All traffic back on the stable slot at once, then the candidate stopped."""
    if candidate is None or stable is None:
        return ()
    return (PlanStep("weight", slot=candidate, weight=0), PlanStep("stop", slot=candidate))


def _canary(strategy: Canary, candidate: str) -> tuple[PlanStep, ...]:
    steps: list[PlanStep] = []
    weight = 0
    for step in strategy.steps:
        if step.set_weight is not None:
            weight = step.set_weight
            steps.append(PlanStep("weight", slot=candidate, weight=weight))
        elif step.pause:
            steps.append(PlanStep("pause", duration=step.duration))
        elif step.analysis is not None:
            steps.append(PlanStep("analysis", analysis=step.analysis))
    if weight != 100:
        steps.append(PlanStep("weight", slot=candidate, weight=100))
    return tuple(steps)


def _blue_green(strategy: BlueGreen, candidate: str, stable: str) -> tuple[PlanStep, ...]:
    steps = [PlanStep("weight", slot=candidate, weight=0)]  # the preview: up, no users
    if strategy.pre_promotion_analysis:
        steps.append(PlanStep("analysis", analysis=strategy.pre_promotion_analysis))
    if not strategy.auto_promote:
        steps.append(PlanStep("pause"))  # until a person promotes
    steps.append(PlanStep("weight", slot=candidate, weight=100))
    if strategy.post_promotion_analysis:
        steps.append(PlanStep("analysis", analysis=strategy.post_promotion_analysis))
    # Until the old slot is stopped, a failure or an abort switches straight back to it: so
    # the candidate is promoted (becomes the stable slot) only after that.
    steps.append(PlanStep("pause", duration=strategy.scale_down_delay))
    steps.append(PlanStep("stop", slot=stable))
    steps.append(PlanStep("promote", slot=candidate))
    return tuple(steps)


def _rolling(strategy: Rolling) -> tuple[PlanStep, ...]:
    size = batch_size(strategy.batch, len(strategy.targets))
    steps: list[PlanStep] = []
    for start in range(0, len(strategy.targets), size):
        batch = strategy.targets[start : start + size]
        steps.extend((PlanStep("deploy", targets=batch), PlanStep("verify", targets=batch)))
    steps.append(PlanStep("promote"))
    return tuple(steps)


def batch_size(batch: int | str, targets: int) -> int:
    """A batch as a count, or a percentage of the targets rounded up (never below 1)."""
    if isinstance(batch, str):
        percent = float(batch.rstrip("%"))
        return max(1, math.ceil(targets * percent / 100))
    return max(1, batch)


def _seconds(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    if total % 3600 == 0 and total:
        return f"{total // 3600}h"
    if total % 60 == 0 and total:
        return f"{total // 60}m"
    return f"{total}s"
